// DB: a head plus the blocks persisted from it in one directory (Prometheus tsdb/db.go).
//
//   - on open, blocks (ULID-named directories) are loaded and the head refuses samples
//     older than the newest block's end (Head.Init(minValidTime)); then the WAL in
//     `<dir>/wal` is replayed into the head (last checkpoint, then later segments; a
//     torn tail is cut at the last whole record and logged, never refused) and opened
//     for appends (see wal-adapter.ts);
//   - a commit writes Series then Samples records before its samples become visible; a
//     failed WAL write fails the commit; deletes write Tombstones records;
//   - compact(): while the head spans more than 1.5 × blockDuration
//     (Head.compactable), the oldest block range [head min, next multiple of
//     blockDuration) is written as a block, the blocks reloaded and the head truncated
//     at the block's end; then the WAL is truncated at the last block's end
//     (Head.truncateWAL: checkpoint, remove the segments it covers, older checkpoints)
//     and blocks beyond the time retention are deleted;
//   - a commit that leaves the head compactable schedules compact() (as
//     dbAppender.Commit signals compactc); a timer re-checks every minute;
//   - queries merge the blocks and the head (blocks first: on equal timestamps a
//     block's sample wins, which only matters in the moment between writing a block
//     and truncating the head);
//   - out of order (outOfOrderTimeWindow > 0, Prometheus 2.42): OOO samples are also
//     logged to `<dir>/wbl` and replayed from it after the WAL; after every compaction
//     that cut an in-order block the head's OOO samples are written as blocks of their
//     own (hint "from-out-of-order", possibly overlapping in-order blocks), the OOO
//     chunks written dropped and the WBL segments before the compaction removed. The
//     head's lower bound on open is the end of the newest in-order block.
//
// Leveled compaction of blocks is not done here (Thanos receive runs with it off; the
// compactor component does it in the bucket).

import { mkdir, rename, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Block } from '../block/index.js';
import type { BlockMeta, ThanosMeta } from '../block-meta/index.js';
import type { Logger } from '@thanos-ts/runtime';
import type { Labels } from '../labels/index.js';
import type { Matcher } from '../matchers/index.js';
import { mergeQueriers, type ChunkQuerier, type ChunkQueryable, type Querier, type Queryable } from '../storage/index.js';
import { isValidUlid } from '../ulid/index.js';
import type { Appender } from './appender.js';
import { Head, type PersistedBlock, type WalTombstone } from './head.js';
import { mergeChunkQueriers } from './merge-chunks.js';
import { rangeForTimestamp } from './mem-series.js';
import { WalAdapter, type DBWalOptions, type WalReplayResult } from './wal-adapter.js';
import { WblAdapter, type WblReplayResult } from './wbl-adapter.js';
import { isOutOfOrderBlock, persistOOOBlocks } from './ooo-compact.js';

export interface DBOptions {
  /** Block duration and head chunk range (ms), Prometheus' min block duration. Default 2h. */
  blockDuration?: number;
  /** Blocks whose end is older than the newest block's end by more than this (ms) are deleted. 0 (default): keep all. */
  retention?: number;
  /**
   * The write-ahead log in `<dir>/wal`: true (default) or its options; false keeps the
   * head in memory only (what is not in a block is lost on restart).
   */
  wal?: boolean | DBWalOptions;
  logger?: Logger;
  /** meta.json `thanos` section of the blocks cut (e.g. source "receive" and external labels). */
  thanos?: ThanosMeta | (() => ThanosMeta);
  /** Compact automatically after commits and every minute. Default true. */
  autoCompact?: boolean;
  /** Called when a background compaction fails (default: ignored, retried on the next trigger). */
  onCompactionError?: (err: Error) => void;
  /**
   * Out-of-order window in ms (tsdb.Options.OutOfOrderTimeWindow, the receiver's
   * --tsdb.out-of-order.time-window). 0 (default): out-of-order samples are refused.
   */
  outOfOrderTimeWindow?: number;
  /** Samples per out-of-order head chunk (OutOfOrderCapMax, 1..255). Default 32. */
  outOfOrderCapMax?: number;
  /**
   * Of the blocks retention would delete, those that may go now (tsdb.Options
   * BlocksToDelete): Thanos's receiver keeps blocks until they are shipped. Default: all.
   */
  blocksToDelete?: (candidates: readonly BlockMeta[]) => Promise<readonly string[]>;
  /** Told of the blocks each compaction wrote (e.g. to ship them at once). */
  onBlocksWritten?: (blocks: readonly PersistedBlock[]) => void;
}

const DEFAULT_BLOCK_DURATION = 2 * 60 * 60 * 1000;
const TMP_FOR_DELETION_SUFFIX = '.tmp-for-deletion';

export class DB implements Queryable, ChunkQueryable {
  readonly head: Head;
  readonly blockDuration: number;
  readonly retention: number;
  private blockList: Block[] = [];
  private compacting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly wal: WalAdapter | null;
  private readonly wbl: WblAdapter | null;
  private replayResult: WalReplayResult | null = null;
  private wblReplayResult: WblReplayResult | null = null;

  private constructor(
    readonly dir: string,
    private readonly opts: DBOptions,
    withWbl: boolean,
  ) {
    this.blockDuration = opts.blockDuration ?? DEFAULT_BLOCK_DURATION;
    this.retention = opts.retention ?? 0;
    const walOpts = opts.wal ?? true;
    const walConf = walOpts === true || walOpts === false ? {} : walOpts;
    this.wal = walOpts === false ? null : new WalAdapter(dir, walConf, opts.logger);
    this.wbl = walOpts === false || !withWbl ? null : new WblAdapter(dir, walConf, opts.logger);
    this.head = new Head({
      chunkRange: this.blockDuration,
      wal: this.wal ?? undefined,
      wbl: this.wbl ?? undefined,
      outOfOrderTimeWindow: opts.outOfOrderTimeWindow,
      outOfOrderCapMax: opts.outOfOrderCapMax,
    });
  }

  /**
   * Opens (creating) the directory: removes unfinished block directories left by a
   * crash, loads the blocks, bounds the head by the newest one, replays the WAL into the
   * head (repairing a torn tail) and opens it for appends.
   * @throws when the WAL's checkpoint is damaged (a segment's damage is repaired)
   */
  static async open(dir: string, opts: DBOptions = {}): Promise<DB> {
    await mkdir(dir, { recursive: true });
    for (const n of await readdir(dir)) {
      if (n.endsWith('.tmp-for-creation') || n.endsWith(TMP_FOR_DELETION_SUFFIX)) await rm(join(dir, n), { recursive: true, force: true });
    }
    // A WBL left by an earlier run with a window is replayed (and truncated) even without one now.
    const withWbl = (opts.outOfOrderTimeWindow ?? 0) > 0 || (await WblAdapter.exists(dir));
    const db = new DB(dir, opts, withWbl);
    await db.reloadBlocks();
    // OOO blocks may reach past every in-order sample: they do not bound the head (inOrderBlocksMaxTime).
    let inOrderMaxt = -Infinity;
    for (const b of db.blockList) if (!isOutOfOrderBlock(b.meta) && b.maxTime > inOrderMaxt) inOrderMaxt = b.maxTime;
    if (inOrderMaxt !== -Infinity) db.head.setMinValidTime(inOrderMaxt);
    if (db.wal !== null) {
      try {
        db.replayResult = await db.wal.replay(db.head);
        if (db.wbl !== null) db.wblReplayResult = await db.wbl.replay(db.head);
        await db.wal.open();
        await db.wbl?.open();
      } catch (err) {
        await db.wal.close().catch(() => undefined);
        await db.wbl?.close().catch(() => undefined);
        await Promise.all(db.blockList.map((b) => b.close()));
        throw new Error(`open db ${dir}: ${(err as Error).message}`, { cause: err });
      }
    }
    if (opts.autoCompact ?? true) {
      db.timer = setInterval(() => db.triggerCompaction(), 60_000);
      db.timer.unref();
      // A replayed head may already span more than a block.
      if (db.compactable()) db.triggerCompaction();
    }
    return db;
  }

  /** What the WAL replay on open found (null without a WAL). */
  get walReplay(): WalReplayResult | null {
    return this.replayResult;
  }

  /** What the WBL replay on open found (null without a WBL). */
  get wblReplay(): WblReplayResult | null {
    return this.wblReplayResult;
  }

  /** The WBL directory, or null when the DB runs without one. */
  get wblDir(): string | null {
    return this.wbl?.dir ?? null;
  }

  /** The WAL directory, or null when the DB runs without one. */
  get walDir(): string | null {
    return this.wal?.dir ?? null;
  }

  /** The loaded blocks, sorted by minTime. */
  get blocks(): readonly Block[] {
    return this.blockList;
  }

  /** An appender into the head; a commit that makes the head compactable schedules a compaction. */
  appender(): Appender {
    const app = this.head.appender();
    if (!(this.opts.autoCompact ?? true)) return app;
    return {
      append: (ref: number, labels: Labels, t: number, v: number): number => app.append(ref, labels, t, v),
      getRefByHash: (hash: number, same: (labels: Labels) => boolean): number => app.getRefByHash!(hash, same),
      commit: async (): Promise<void> => {
        await app.commit();
        if (this.compactable()) this.triggerCompaction();
      },
      rollback: (): Promise<void> => app.rollback(),
    };
  }

  /** Head.compactable: the head spans more than 1.5 block durations. */
  compactable(): boolean {
    const h = this.head;
    return !h.isEmpty() && h.maxTime - h.minTime > (this.blockDuration / 2) * 3;
  }

  private triggerCompaction(): void {
    if (this.closed || this.compacting !== null) return;
    this.compact().catch((err: unknown) => this.opts.onCompactionError?.(err as Error));
  }

  /**
   * Cuts blocks from the head while it is compactable, truncates it, then applies
   * retention. Concurrent calls share one run.
   * @returns the blocks written
   */
  async compact(): Promise<PersistedBlock[]> {
    while (this.compacting !== null) await this.compacting;
    const run = this.runCompaction();
    this.compacting = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await run;
    } finally {
      this.compacting = null;
    }
  }

  private async runCompaction(): Promise<PersistedBlock[]> {
    const written: PersistedBlock[] = [];
    let lastBlockMaxt = -Infinity;
    while (!this.closed && this.compactable()) {
      const mint = this.head.minTime;
      const maxt = rangeForTimestamp(mint, this.blockDuration);
      const b = await this.persist(mint, maxt);
      if (b !== null) written.push(b);
      lastBlockMaxt = maxt;
    }
    // Clear disk space before anything else, as DB.Compact does.
    await this.truncateWal(lastBlockMaxt);
    // The head was compacted, so the OOO head is as well.
    if (lastBlockMaxt !== -Infinity && !this.closed) written.push(...(await this.compactOOOHead()));
    await this.applyRetention();
    if (written.length > 0) this.opts.onBlocksWritten?.(written);
    return written;
  }

  /**
   * Writes the head's out-of-order samples as blocks, loads them, drops the OOO chunks
   * written and the WBL segments holding only them (DB.compactOOOHead).
   */
  private async compactOOOHead(): Promise<PersistedBlock[]> {
    const h = this.head;
    if (h.outOfOrderTimeWindow === 0 && h.minOOOTime === Infinity) return [];
    const thanos = typeof this.opts.thanos === 'function' ? this.opts.thanos() : this.opts.thanos;
    const wbl = this.wbl;
    let wblSegment = -1;
    const { blocks, maxSeq } = await persistOOOBlocks(
      h,
      this.dir,
      { thanos },
      wbl === null
        ? undefined
        : async () => {
            wblSegment = await wbl.nextSegment();
          },
    );
    try {
      await this.reloadBlocks();
    } catch (err) {
      throw new Error(`reload blocks after compact ooo head: ${(err as Error).message}`, { cause: err });
    }
    const deleted = h.truncateOOO(maxSeq);
    await this.wal?.seriesDeleted(deleted);
    if (wbl !== null && wblSegment >= 0) {
      try {
        await wbl.truncate(wblSegment);
      } catch (err) {
        throw new Error(`truncate ooo wbl: ${(err as Error).message}`, { cause: err });
      }
    }
    return blocks;
  }

  /**
   * Writes everything in the head as one block and empties the head (Thanos receive's
   * flush on shutdown). Appends below the block's end are refused afterwards.
   */
  async flushHead(): Promise<PersistedBlock | null> {
    while (this.compacting !== null) await this.compacting;
    const h = this.head;
    if (h.isEmpty()) {
      await this.compactOOOHead();
      return null;
    }
    const maxt = h.maxTime + 1;
    const b = await this.persist(h.minTime, maxt);
    await this.truncateWal(maxt);
    // Out-of-order samples go to blocks of their own.
    await this.compactOOOHead();
    return b;
  }

  /** Head.truncateWAL once the head is truncated at mint (no-op without a WAL). */
  private async truncateWal(mint: number): Promise<void> {
    if (this.wal === null || mint === -Infinity || this.closed) return;
    try {
      await this.wal.truncate(mint, this.head);
    } catch (err) {
      throw new Error(`truncate wal: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Writes [mint, maxt) as a block, loads it and truncates the head at maxt (DB.compactHead). */
  private async persist(mint: number, maxt: number): Promise<PersistedBlock | null> {
    // Commits of appenders opened earlier must not land in the range being written.
    if (this.head.minValidTime < maxt) this.head.setMinValidTime(maxt);
    const thanos = typeof this.opts.thanos === 'function' ? this.opts.thanos() : this.opts.thanos;
    let b: PersistedBlock | null;
    try {
      b = await this.head.persistBlock(mint, maxt, this.dir, { thanos });
    } catch (err) {
      throw new Error(`persist head block: ${(err as Error).message}`, { cause: err });
    }
    await this.reloadBlocks();
    const deleted = this.head.truncate(maxt);
    await this.wal?.seriesDeleted(deleted);
    return b;
  }

  /** Loads block directories not loaded yet and drops those gone. */
  private async reloadBlocks(): Promise<void> {
    const names = new Set((await readdir(this.dir)).filter((n) => isValidUlid(n)));
    const kept: Block[] = [];
    const have = new Set<string>();
    for (const b of this.blockList) {
      if (names.has(b.ulid)) {
        kept.push(b);
        have.add(b.ulid);
      } else {
        await b.close();
      }
    }
    for (const n of [...names].sort()) {
      if (have.has(n)) continue;
      kept.push(await Block.open(join(this.dir, n)));
    }
    this.blockList = kept.sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
  }

  /**
   * Deletes the blocks beyond the time retention (BeyondTimeRetention): those whose end
   * is more than `retention` before the newest block's end. Each is renamed to
   * `<ULID>.tmp-for-deletion` first so a crash never leaves half a block loadable.
   */
  private async applyRetention(): Promise<void> {
    if (this.retention <= 0 || this.blockList.length === 0) return;
    const newest = Math.max(...this.blockList.map((b) => b.maxTime));
    let drop = this.blockList.filter((b) => newest - b.maxTime > this.retention);
    if (drop.length === 0) return;
    if (this.opts.blocksToDelete !== undefined) {
      const allowed = new Set(await this.opts.blocksToDelete(drop.map((b) => b.meta)));
      drop = drop.filter((b) => allowed.has(b.meta.ulid));
      if (drop.length === 0) return;
    }
    this.blockList = this.blockList.filter((b) => !drop.includes(b));
    for (const b of drop) {
      await b.close();
      const tmp = b.dir + TMP_FOR_DELETION_SUFFIX;
      await rename(b.dir, tmp);
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Marks the samples of the selected series in [mint, maxt] deleted in the head and logs
   * the tombstones to the WAL (Head.Delete). Blocks are not touched.
   * @returns the tombstones added
   */
  async delete(mint: number, maxt: number, matchers: Matcher[]): Promise<WalTombstone[]> {
    const stones = this.head.delete(mint, maxt, matchers);
    if (this.wal !== null && stones.length > 0) {
      try {
        await this.wal.logTombstones(stones);
      } catch (err) {
        throw new Error(`write to WAL: ${(err as Error).message}`, { cause: err });
      }
    }
    return stones;
  }

  /** A querier over the blocks and the head overlapping [mint, maxt]. */
  async querier(mint: number, maxt: number): Promise<Querier> {
    const qs: Querier[] = [];
    for (const b of this.blockList) if (b.minTime <= maxt && b.maxTime > mint) qs.push(await b.querier(mint, maxt));
    qs.push(await this.head.querier(mint, maxt));
    return mergeQueriers(qs);
  }

  /** A chunk querier over the blocks and the head overlapping [mint, maxt]. */
  async chunkQuerier(mint: number, maxt: number): Promise<ChunkQuerier> {
    const qs: ChunkQuerier[] = [];
    for (const b of this.blockList) if (b.minTime <= maxt && b.maxTime > mint) qs.push(await b.chunkQuerier(mint, maxt));
    qs.push(await this.head.chunkQuerier(mint, maxt));
    return mergeChunkQueriers(qs);
  }

  /**
   * Stops background work, waits for a running compaction, syncs and closes the WAL and
   * closes the blocks. The head is left as is; commits fail afterwards.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    while (this.compacting !== null) await this.compacting;
    await this.wal?.close();
    await this.wbl?.close();
    await Promise.all(this.blockList.map((b) => b.close()));
    this.blockList = [];
  }
}
