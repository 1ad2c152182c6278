// BlockWriter streams one Prometheus block to disk, laid out as Prometheus'
// LeveledCompactor.write does (tsdb/compact.go):
//
//   <parent>/<ULID>.tmp-for-creation/   while writing; removed on abort or failure
//     chunks/000001 …                  chunks, appended as series are added
//     index                            symbols up front, series as added, postings on close
//     meta.json                        on close
//     tombstones                       on close: empty (magic, version, CRC of nothing)
//   <parent>/<ULID>/                   the tmp dir, fsynced and renamed by close()
//
// Memory holds the symbol set and, inside the index writer, one (name, value, series)
// triple per label of every series for the postings; never samples or chunks.

import { mkdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { renameDirAtomic, writeFileAtomic } from '@thanos-ts/runtime';
import { CHUNK_ENC_AGGR, EncHistogram, EncFloatHistogram, EncXOR } from '../chunkenc/index.js';
import { ChunkWriter } from '../chunks/index.js';
import {
  encodePromBlockMeta,
  META_FILENAME,
  TSDB_VERSION_1,
  writeBlockMeta,
  type BlockMetaCompaction,
  type BlockStats,
  type PromBlockMeta,
  type ThanosMeta,
} from '../block-meta/index.js';
import { IndexWriter, type ChunkMeta } from '../index/index.js';
import { compareLabels, labelsToString, validateLabels, type Labels } from '../labels/index.js';
import type { SeriesChunk } from '../storage/index.js';
import { encodeTombstones, MemTombstones, TOMBSTONES_FILENAME } from '../tombstones/index.js';
import { isValidUlid, ulid as newUlid } from '../ulid/index.js';

/** Suffix of a block directory being written (tsdb.tmpForCreationBlockDirSuffix). */
export const TMP_FOR_CREATION_SUFFIX = '.tmp-for-creation';

export interface BlockWriterOptions {
  /** Start of the block's time range (ms, inclusive); meta.json minTime. */
  mint: number;
  /** End of the block's time range (ms, exclusive); meta.json maxTime. */
  maxt: number;
  /**
   * Every label name and value the series will use, unique and sorted in UTF-8 byte
   * order (compareStrings): the index stores symbols before any series.
   */
  symbols: Iterable<string>;
  /** The block ID; a new ULID by default. */
  ulid?: string;
  /** Default: level 1, sources [ulid], as a block cut from a head. */
  compaction?: BlockMetaCompaction;
  /**
   * The `thanos` section of meta.json. Without it the meta.json is exactly what
   * Prometheus writes (no `thanos` key).
   */
  thanos?: ThanosMeta;
  /** Maximum chunk segment file size (default 512 MiB, as Prometheus). */
  chunkSegmentSize?: number;
}

/** meta.json as written: the Prometheus part, and the Thanos section when one was given. */
export type WrittenBlockMeta = PromBlockMeta & { thanos?: ThanosMeta };

/** Counters of what a block holds, as meta.json `stats`. */
export interface BlockWriterStats {
  numSeries: number;
  numChunks: number;
  numSamples: number;
  numFloatSamples: number;
  numHistogramSamples: number;
}

const STATE_OPEN = 0;
const STATE_FAILED = 1;
const STATE_DONE = 2;

/**
 * Writes one block. Add series in strictly increasing label order with their encoded
 * chunks, then close() (or abort()). A rejected series (bad order, unknown symbol,
 * bad chunks) throws before anything is written, so the writer stays usable; an I/O
 * error leaves it failed, to be aborted. Nothing appears under `<parent>/<ULID>`
 * unless close() succeeds.
 */
export class BlockWriter {
  readonly ulid: string;
  /** The final block directory, `<parent>/<ULID>`. */
  readonly dir: string;
  /** Where the block is written until close(), `<parent>/<ULID>.tmp-for-creation`. */
  readonly tmpDir: string;
  readonly mint: number;
  readonly maxt: number;

  private readonly symbols = new Set<string>();
  private readonly cw: ChunkWriter;
  private readonly iw: IndexWriter;
  private readonly compaction: BlockMetaCompaction;
  private readonly thanos: ThanosMeta | undefined;
  private lastLabels: Labels | null = null;
  private state = STATE_OPEN;
  private failure: unknown = null;
  private readonly metas: ChunkMeta[] = [];
  private readonly st: BlockWriterStats = { numSeries: 0, numChunks: 0, numSamples: 0, numFloatSamples: 0, numHistogramSamples: 0 };

  /**
   * Creates `<parent>/<ULID>.tmp-for-creation` (replacing a leftover one), opens the
   * chunk and index writers and writes the symbol table.
   * @throws Error for an invalid range, ULID or unsorted symbols (nothing is left behind)
   */
  constructor(
    readonly parent: string,
    opts: BlockWriterOptions,
  ) {
    if (!Number.isSafeInteger(opts.mint) || !Number.isSafeInteger(opts.maxt) || opts.mint >= opts.maxt) {
      throw new RangeError(`block writer: invalid time range [${opts.mint}, ${opts.maxt})`);
    }
    this.ulid = opts.ulid ?? newUlid();
    if (!isValidUlid(this.ulid)) throw new Error(`block writer: invalid ULID ${JSON.stringify(this.ulid)}`);
    this.mint = opts.mint;
    this.maxt = opts.maxt;
    this.compaction = opts.compaction ?? { level: 1, sources: [this.ulid] };
    this.thanos = opts.thanos;
    this.dir = join(parent, this.ulid);
    this.tmpDir = this.dir + TMP_FOR_CREATION_SUFFIX;

    rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true });
    let cw: ChunkWriter | null = null;
    let iw: IndexWriter | null = null;
    try {
      cw = new ChunkWriter(join(this.tmpDir, 'chunks'), { segmentSize: opts.chunkSegmentSize });
      iw = new IndexWriter(join(this.tmpDir, 'index'));
      for (const s of opts.symbols) {
        iw.addSymbol(s);
        this.symbols.add(s);
      }
    } catch (err) {
      iw?.abort();
      // The chunk writer has opened no file yet: segments are cut on the first chunk.
      rmSync(this.tmpDir, { recursive: true, force: true });
      throw new Error(`write block ${this.ulid}: ${(err as Error).message}`, { cause: err });
    }
    this.cw = cw;
    this.iw = iw;
  }

  /** What has been added so far. */
  stats(): BlockWriterStats {
    return { ...this.st };
  }

  /**
   * Writes a series: its chunks to the segment files, its entry to the index.
   * Series must come in strictly increasing label order (compareLabels); chunks in
   * time order, not overlapping, each non-empty and inside [mint, maxt) of the block.
   * A series without chunks is skipped, as Prometheus' compactor does.
   * `chunks[i].chunk.bytes()` is copied before returning.
   */
  addSeries(labels: Labels, chunks: readonly SeriesChunk[]): void {
    if (this.state !== STATE_OPEN) throw this.notOpen();
    this.validate(labels, chunks);
    this.lastLabels = labels;
    if (chunks.length === 0) return;

    const metas = this.metas;
    metas.length = 0;
    let samples = 0;
    let floats = 0;
    let histograms = 0;
    try {
      for (const c of chunks) {
        const ref = this.cw.writeChunk(c.chunk.encoding, c.chunk.bytes());
        metas.push({ mint: c.mint, maxt: c.maxt, ref });
        const n = c.chunk.numSamples();
        samples += n;
        if (c.chunk.encoding === EncXOR) floats += n;
        else if (c.chunk.encoding !== CHUNK_ENC_AGGR) histograms += n;
      }
      this.iw.addSeries(labels, metas);
    } catch (err) {
      this.state = STATE_FAILED;
      this.failure = err;
      throw new Error(`write block ${this.ulid}: add series ${labelsToString(labels)}: ${(err as Error).message}`, { cause: err });
    }
    this.st.numSeries++;
    this.st.numChunks += chunks.length;
    this.st.numSamples += samples;
    this.st.numFloatSamples += floats;
    // Aggregate (0xFF) chunks count to numSamples only, as Thanos' downsampler counts them.
    this.st.numHistogramSamples += histograms;
  }

  private validate(labels: Labels, chunks: readonly SeriesChunk[]): void {
    const fail = (reason: string): never => {
      throw new Error(`write block ${this.ulid}: add series ${labelsToString(labels)}: ${reason}`);
    };
    if (labels.length === 0) fail('empty label set');
    const invalid = validateLabels(labels);
    if (invalid !== null) fail(invalid);
    if (this.lastLabels !== null && compareLabels(labels, this.lastLabels) <= 0) {
      fail(`out-of-order series: not after the previous series ${labelsToString(this.lastLabels)}`);
    }
    for (const l of labels) {
      if (!this.symbols.has(l.name)) fail(`label name ${JSON.stringify(l.name)} is not in the symbol table`);
      if (!this.symbols.has(l.value)) fail(`label value ${JSON.stringify(l.value)} is not in the symbol table`);
    }
    let prevMaxt = -Infinity;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      const enc = c.chunk.encoding;
      if (enc !== EncXOR && enc !== EncHistogram && enc !== EncFloatHistogram && enc !== CHUNK_ENC_AGGR) {
        fail(`chunk ${i}: unsupported encoding ${enc}`);
      }
      if (!Number.isSafeInteger(c.mint) || !Number.isSafeInteger(c.maxt) || c.mint > c.maxt) {
        fail(`chunk ${i}: invalid time range [${c.mint}, ${c.maxt}]`);
      }
      if (c.mint <= prevMaxt) fail(`chunks out of order: chunk ${i} starts at ${c.mint}, not after the previous chunk's end ${prevMaxt}`);
      if (c.mint < this.mint || c.maxt >= this.maxt) {
        fail(`chunk ${i} [${c.mint}, ${c.maxt}] is outside the block range [${this.mint}, ${this.maxt})`);
      }
      // An aggregate chunk's sample count is that of its count aggregate, which may be absent.
      if (c.chunk.numSamples() === 0 && enc !== CHUNK_ENC_AGGR) fail(`chunk ${i} has no samples`);
      prevMaxt = c.maxt;
    }
  }

  /**
   * Finishes the index and chunk files, writes meta.json and an empty tombstones file,
   * fsyncs everything and renames the directory to `<parent>/<ULID>`. On failure the
   * tmp directory is removed and nothing is renamed.
   * @returns the meta.json written
   */
  async close(): Promise<WrittenBlockMeta> {
    if (this.state !== STATE_OPEN) throw this.notOpen();
    this.state = STATE_DONE;
    try {
      await this.cw.close();
      this.iw.close();
      // Zero counts are left out, as Go's omitempty does: the returned meta equals
      // what reading the file back gives.
      const stats: BlockStats = {};
      for (const k of ['numSamples', 'numFloatSamples', 'numHistogramSamples', 'numSeries', 'numChunks'] as const) {
        if (this.st[k] > 0) stats[k] = this.st[k];
      }
      const prom: PromBlockMeta = {
        ulid: this.ulid,
        minTime: this.mint,
        maxTime: this.maxt,
        stats,
        compaction: this.compaction,
        version: TSDB_VERSION_1,
      };
      let meta: WrittenBlockMeta;
      if (this.thanos !== undefined) {
        // A Thanos block (sidecar upload, receive, ruler, backfill) carries its section
        // from the start; Prometheus ignores the unknown key.
        meta = { ...prom, thanos: this.thanos };
        await writeBlockMeta(this.tmpDir, { ...prom, thanos: this.thanos });
      } else {
        // A plain Prometheus block: byte for byte what Prometheus' writeMetaFile writes.
        meta = prom;
        await writeFileAtomic(join(this.tmpDir, META_FILENAME), encodePromBlockMeta(prom));
      }
      await writeFileAtomic(join(this.tmpDir, TOMBSTONES_FILENAME), encodeTombstones(new MemTombstones()));
      await renameDirAtomic(this.tmpDir, this.dir);
      return meta;
    } catch (err) {
      this.iw.abort();
      await rm(this.tmpDir, { recursive: true, force: true });
      throw new Error(`write block ${this.ulid}: close: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Gives up: closes the files and removes the tmp directory. Safe to call twice. */
  async abort(): Promise<void> {
    if (this.state === STATE_DONE) return;
    this.state = STATE_DONE;
    this.iw.abort();
    try {
      // ChunkWriter has no abort; closing releases its file descriptors.
      await this.cw.close();
    } catch {
      // the directory goes anyway
    }
    await rm(this.tmpDir, { recursive: true, force: true });
  }

  private notOpen(): Error {
    if (this.state === STATE_FAILED) {
      return new Error(`write block ${this.ulid}: failed earlier (${(this.failure as Error)?.message}); abort() it`, { cause: this.failure });
    }
    return new Error(`write block ${this.ulid}: already closed`);
  }
}
