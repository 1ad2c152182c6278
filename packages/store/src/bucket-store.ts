// The bucket store (Thanos BucketStore): StoreAPI and Info over the blocks of a bucket.
// A periodic sync keeps the set of blocks in step with the bucket (new blocks get an
// index-header built on local disk; gone ones are dropped); queries pick blocks per
// external label set and resolution, stream each block's series in label order in
// batches, and merge the blocks' streams into one sorted stream.

import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MetaFetcher } from '@thanos-ts/block';
import type { MetaFilter } from '@thanos-ts/block';
import type { Bucket } from '@thanos-ts/objstore';
import { Gate, LimitExceededError, mapConcurrent, noop, nopLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import {
  ComponentType,
  hintspb,
  labelsToProto,
  limitList,
  mergeSeriesBatches,
  PrefixRunSorter,
  typeUrl,
  withExternalLabels,
} from '@thanos-ts/storeapi';
import type {
  AggrChunk,
  InfoAPI,
  InfoResponseInit,
  LabelNamesResponse,
  LabelValuesResponse,
  SeriesSink,
  StoreAPI,
  StoreSeries,
  ValidatedLabelNamesRequest,
  ValidatedLabelValuesRequest,
  ValidatedSeriesRequest,
} from '@thanos-ts/storeapi';
import { compareLabels, encodeBlockMeta, isValidUlid, labelsFromRecord, labelsKey, MatchType, newMatcher } from '@thanos-ts/tsdb';
import type { BlockMeta, Labels, Matcher } from '@thanos-ts/tsdb';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { BlockSet } from './block-set.js';
import { BucketBlock } from './bucket-block.js';
import type { BlockSeries } from './bucket-block.js';
import type { IndexCache } from './index-cache.js';
import { LazyIndexHeader } from './lazy-index-header.js';
import { ChunkPool, ChunkSlabs } from './chunk-pool.js';
import { Limiter, MAX_SAMPLES_PER_CHUNK } from './limiter.js';
import { fetchedBytes, newQueryStats } from './stats.js';
import type { QueryStats } from './stats.js';

/** Thanos' SeriesBatchSize: series entries (and their chunks) fetched per round. */
export const SERIES_BATCH_SIZE = 10_000;
/** Series in a block's first batch; batches double from there up to the batch size. */
const FIRST_BATCH = 16;
/** Go's math.MinInt64/MaxInt64 as Thanos reports an empty store's range (saturated numbers). */
const MIN_TIME = -(2 ** 63);
const MAX_TIME = 2 ** 63;

export interface BucketStoreOptions {
  bkt: Bucket;
  /** Local directory for index-headers and meta.json copies. */
  dataDir: string;
  indexCache: IndexCache;
  /** --chunk-pool-size in bytes. */
  chunkPoolBytes: number;
  /** --store.limits.request-series (0: none). */
  seriesLimit?: number;
  /** --store.limits.request-samples / --store.grpc.series-sample-limit (0: none). */
  samplesLimit?: number;
  /** --store.grpc.series-max-concurrency. */
  maxConcurrency?: number;
  /** Series calls allowed to wait for a turn before new ones are refused (default: maxConcurrency × 4). */
  maxQueued?: number;
  blockSyncConcurrency?: number;
  metaFetchConcurrency?: number;
  /** Meta filters (time partition, relabel, deletion marks, consistency delay). */
  filters?: MetaFilter[];
  /** --min-time / --max-time, to clamp what Info advertises. */
  minTime?: number;
  maxTime?: number;
  postingOffsetsInMemSampling?: number;
  /**
   * Read a block's index-header into memory only when a query first needs it (Thanos
   * --store.enable-index-header-lazy-reader); otherwise when the block is added. Default true.
   */
  lazyIndexHeaders?: boolean;
  /** Unload index-headers idle this long (ms); 0 never. */
  indexHeaderIdleTimeoutMs?: number;
  /**
   * Bytes of index-headers kept in memory at most (0: no cap): loading one more unloads
   * the least recently used headers not in use.
   */
  indexHeaderMaxLoadedBytes?: number;
  seriesBatchSize?: number;
  logger?: Logger;
  registry?: Registry;
}

interface LoadedBlock {
  block: BucketBlock;
  setKey: string;
}

export class BucketStore implements StoreAPI, InfoAPI {
  private readonly blocks = new Map<string, LoadedBlock>();
  private readonly sets = new Map<string, BlockSet>();
  private readonly fetcher: MetaFetcher;
  private readonly gate: Gate;
  private readonly pool: ChunkPool;
  private readonly logger: Logger;
  private readonly m: ReturnType<typeof storeMetrics>;
  private readonly maxQueued: number;
  private loadedHeaderBytes = 0;
  private syncing: Promise<void> | null = null;

  constructor(private readonly opts: BucketStoreOptions) {
    this.logger = opts.logger ?? nopLogger();
    this.fetcher = new MetaFetcher(opts.bkt, { concurrency: opts.metaFetchConcurrency ?? 32, filters: opts.filters ?? [] });
    const conc = opts.maxConcurrency ?? 20;
    this.gate = new Gate(conc);
    this.maxQueued = opts.maxQueued ?? conc * 4;
    this.pool = new ChunkPool(opts.chunkPoolBytes);
    this.m = storeMetrics(opts.registry, this);
  }

  /** Blocks being served. */
  get blockCount(): number {
    return this.blocks.size;
  }

  /** meta.json of every block served, by ULID. */
  metas(): BlockMeta[] {
    return [...this.blocks.values()].map((b) => b.block.meta).sort((a, b) => (a.ulid < b.ulid ? -1 : 1));
  }

  blockIds(): string[] {
    return [...this.blocks.keys()].sort();
  }

  /** Bytes of index-headers held in memory now. */
  get indexHeaderBytes(): number {
    return this.loadedHeaderBytes;
  }

  get chunkPoolInUse(): number {
    return this.pool.inUse;
  }

  /**
   * Brings the served blocks in line with the bucket. Concurrent calls share one pass.
   * A block whose index-header cannot be built is skipped (and retried next time).
   */
  async syncBlocks(): Promise<void> {
    this.syncing ??= this.doSync().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    const res = await this.fetcher.fetch();
    for (const [id, err] of res.corrupted) this.logger.warn({ block: id, err: err.message }, 'skipping block with corrupted meta.json');
    this.m.syncs.inc();
    const toAdd = [...res.metas.values()].filter((m) => !this.blocks.has(m.ulid));
    await mapConcurrent(toAdd, this.opts.blockSyncConcurrency ?? 20, async (meta) => {
      const t0 = performance.now();
      try {
        await this.addBlock(meta);
        this.m.blockLoads.inc();
        this.m.blockLoadDuration.observe((performance.now() - t0) / 1000);
      } catch (err) {
        this.m.blockLoadFailures.inc();
        this.logger.warn({ block: meta.ulid, err: (err as Error).message }, 'loading block failed');
      }
    });
    for (const id of [...this.blocks.keys()]) {
      if (res.metas.has(id)) continue;
      try {
        await this.removeBlock(id);
        this.m.blockDrops.inc();
      } catch (err) {
        this.m.blockDropFailures.inc();
        this.logger.warn({ block: id, err: (err as Error).message }, 'dropping block failed');
      }
    }
    if (toAdd.length > 0 || this.blocks.size !== res.metas.size) {
      this.logger.info({ blocks: this.blocks.size, added: toAdd.length, filtered: res.filtered.size, partial: res.partial.size }, 'synchronized blocks');
    }
    this.m.lastLoaded.set(Date.now() / 1000);
  }

  /** Removes local directories of blocks no longer served (after the first sync). */
  async cleanDataDir(): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.opts.dataDir);
    } catch {
      return;
    }
    for (const e of entries) {
      if (isValidUlid(e) && !this.blocks.has(e)) await rm(path.join(this.opts.dataDir, e), { recursive: true, force: true });
    }
  }

  private async addBlock(meta: BlockMeta): Promise<void> {
    const dir = path.join(this.opts.dataDir, meta.ulid);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'meta.json'), encodeBlockMeta(meta));
    const header = new LazyIndexHeader({
      bkt: this.opts.bkt,
      blockId: meta.ulid,
      file: path.join(dir, 'index-header'),
      postingOffsetsInMemSampling: this.opts.postingOffsetsInMemSampling ?? 32,
      logger: this.logger,
      onLoad: (bytes) => {
        this.loadedHeaderBytes += bytes;
        if (bytes > 0) this.capLoadedHeaders();
      },
      // Headers in use cannot be unloaded: a burst of queries may overshoot the cap until they finish.
      onIdle: () => this.capLoadedHeaders(),
    });
    if (!(await fileExists(path.join(dir, 'index-header')))) {
      const fetched = await header.build();
      this.m.indexHeaderBuildBytes.inc(fetched);
    }
    if (this.opts.lazyIndexHeaders === false) {
      // Loaded now, as Thanos's eager reader maps it at sync: the first query finds it ready.
      await header.acquire();
      header.release();
    }
    const block = new BucketBlock({ meta, bkt: this.opts.bkt, header, indexCache: this.opts.indexCache });
    const ext = labelsFromRecord(meta.thanos.labels ?? {});
    const key = labelsKey(ext);
    let set = this.sets.get(key);
    if (set === undefined) this.sets.set(key, (set = new BlockSet(ext)));
    set.add(block);
    this.blocks.set(meta.ulid, { block, setKey: key });
  }

  private async removeBlock(id: string): Promise<void> {
    const b = this.blocks.get(id);
    if (b === undefined) return;
    this.blocks.delete(id);
    const set = this.sets.get(b.setKey);
    set?.remove(id);
    if (set && set.size === 0) this.sets.delete(b.setKey);
    b.block.dropped = true;
    b.block.header.unload();
    this.opts.indexCache.dropBlock(id);
    await rm(path.join(this.opts.dataDir, id), { recursive: true, force: true });
  }

  /** Unloads index-headers idle longer than the configured timeout. */
  unloadIdleHeaders(now = Date.now()): number {
    const idle = this.opts.indexHeaderIdleTimeoutMs ?? 0;
    if (idle <= 0) return 0;
    let n = 0;
    for (const { block } of this.blocks.values()) if (block.header.unloadIfIdle(now - idle)) n++;
    return n;
  }

  /** Unloads least recently used index-headers not in use while over the byte cap. */
  private capLoadedHeaders(): void {
    const cap = this.opts.indexHeaderMaxLoadedBytes ?? 0;
    if (cap <= 0 || this.loadedHeaderBytes <= cap) return;
    const loaded = [...this.blocks.values()].map((b) => b.block.header).filter((h) => h.loaded);
    loaded.sort((a, b) => a.lastUse - b.lastUse);
    for (const h of loaded) {
      if (this.loadedHeaderBytes <= cap) break;
      if (h.unloadIfIdle(Infinity)) this.m.headerEvictions.inc();
    }
  }

  /** Drops every block from memory (shutdown). */
  close(): void {
    for (const { block } of this.blocks.values()) block.header.unload();
  }

  /** [min, max] over all blocks (max inclusive), clamped to --min-time/--max-time. */
  timeRange(): [number, number] {
    let min = Infinity;
    let max = -Infinity;
    for (const s of this.sets.values()) {
      const r = s.timeRange();
      if (r === null) continue;
      if (r[0] < min) min = r[0];
      if (r[1] > max) max = r[1];
    }
    if (min === Infinity) return [MAX_TIME, MIN_TIME];
    if (this.opts.minTime !== undefined && this.opts.minTime > min) min = this.opts.minTime;
    if (this.opts.maxTime !== undefined && this.opts.maxTime < max) max = this.opts.maxTime;
    return [min, max];
  }

  info(): InfoResponseInit {
    const [minTime, maxTime] = this.timeRange();
    const labelSets = [...this.sets.values()].map((s) => s.labels).sort(compareLabels);
    return {
      ComponentType: ComponentType.STORE,
      labelSets: labelSets.map((labels) => ({ labels: labelsToProto(labels) })),
      store: {
        minTime,
        maxTime,
        supportsSharding: false,
        supportsWithoutReplicaLabels: true,
        tsdbInfos: [...this.sets.values()].map((s) => {
          const r = s.timeRange() ?? [minTime, maxTime];
          return { labels: { labels: labelsToProto(s.labels) }, minTime: r[0], maxTime: r[1] };
        }),
      },
    };
  }

  /** A request's time range cut to --min-time/--max-time. */
  private clamp(mint: number, maxt: number): [number, number] {
    return [Math.max(mint, this.opts.minTime ?? -Infinity), Math.min(maxt, this.opts.maxTime ?? Infinity)];
  }

  /** Waits for a Series turn; refuses at once when too many are already waiting. */
  private async acquire(signal: AbortSignal): Promise<void> {
    if (this.gate.inFlight >= (this.opts.maxConcurrency ?? 20) && this.gate.queued >= this.maxQueued) {
      this.m.queriesDropped.inc({ reason: 'concurrency' });
      throw new LimitExceededError(
        `too many concurrent Series calls: ${this.gate.inFlight} running and ${this.gate.queued} waiting (--store.grpc.series-max-concurrency=${this.opts.maxConcurrency ?? 20})`,
      );
    }
    await this.gate.acquire(signal);
  }

  /** The blocks a request reads, each with the matchers left after its external labels. */
  private blocksFor(matchers: readonly Matcher[], mint: number, maxt: number, maxResolution: number): { block: BucketBlock; set: BlockSet; matchers: Matcher[] }[] {
    const out: { block: BucketBlock; set: BlockSet; matchers: Matcher[] }[] = [];
    for (const set of this.sets.values()) {
      const ms = set.labelMatchers(matchers);
      if (ms === null) continue;
      for (const block of set.getFor(mint, maxt, maxResolution)) out.push({ block, set, matchers: ms.length > 0 ? ms : [ALL_SERIES] });
    }
    return out;
  }

  async series(req: ValidatedSeriesRequest, sink: SeriesSink, signal: AbortSignal): Promise<void> {
    const t0 = performance.now();
    await this.acquire(signal);
    const stats = newQueryStats();
    // The chunk bytes of the whole answer live in these slabs until it is written (the
    // merge and a batching sink hold series past their block's batch).
    const slabs = new ChunkSlabs(this.pool);
    try {
      // Only data inside --min-time/--max-time is served, to the chunk (Thanos limitMinTime).
      const [mint, maxt] = this.clamp(req.minTime, req.maxTime);
      const drop = new Set(req.withoutReplicaLabels ?? []);
      const seriesLimiter = new Limiter(this.opts.seriesLimit ?? 0, 'series', this.m.queriesDropped);
      const samples = this.opts.samplesLimit ?? 0;
      const chunksLimiter = new Limiter(samples > 0 ? Math.max(1, Math.floor(samples / MAX_SAMPLES_PER_CHUNK)) : 0, 'chunks', this.m.queriesDropped);
      const jobs = this.blocksFor(req.parsedMatchers, mint, maxt, req.maxResolutionWindow ?? 0);
      stats.blocksQueried = jobs.length;
      // The merge holds a batch of every block at once: with many blocks (a long range
      // of uncompacted 2h blocks) batches shrink so that memory stays about the same, and
      // at most LOADS_PER_REQUEST blocks fetch from the bucket at a time.
      const base = this.opts.seriesBatchSize ?? SERIES_BATCH_SIZE;
      const batch = Math.min(base, Math.max(MIN_BATCH, Math.floor((base * 4) / Math.max(4, jobs.length))));
      const loads = new Gate(LOADS_PER_REQUEST);
      const ctx: BlockSeriesContext = { req, mint, maxt, batch, loads, seriesLimiter, chunksLimiter, stats, slabs, signal };
      const exts = jobs.map((j) => j.set.labels.filter((l) => !drop.has(l.name)));
      const streams = jobs.map((j, i) => this.blockSeries(j.block, j.matchers, exts[i], ctx));
      const limit = Number(req.limit ?? 0);
      let sent = 0;
      // One block's series are sorted and distinct already, nothing to merge, unless an
      // external label overrides a series label (two series may then become one).
      const alone = streams.length === 1 && !(await jobs[0].block.hasAnyLabelName(exts[0].map((l) => l.name)));
      answer: for await (const batch of alone ? streams[0] : mergeSeriesBatches(streams)) {
        for (let i = 0; i < batch.length; i++) {
          const s = batch[i];
          const p = sink.series(s);
          if (p) await p;
          stats.mergedSeries++;
          stats.mergedChunks += s.chunks.length;
          if (limit > 0 && ++sent >= limit) break answer;
        }
      }
      // Query statistics only when asked for, as Thanos does (they cost a message per call).
      const hints = hintspb.SeriesResponseHints.encode({
        queriedBlocks: jobs.map((j) => ({ id: j.block.id })),
        queryStats: !queryStatsEnabled(req) ? null : {
          blocksQueried: stats.blocksQueried,
          mergedSeriesCount: stats.mergedSeries,
          mergedChunksCount: stats.mergedChunks,
          postingsTouched: stats.postingsTouched,
          postingsTouchedSizeSum: stats.postingsTouchedBytes,
          postingsToFetch: stats.postingsFetched,
          postingsFetched: stats.postingsFetched,
          postingsFetchedSizeSum: stats.postingsFetchedBytes,
          postingsFetchCount: stats.postingsFetchCount,
          seriesTouched: stats.seriesTouched,
          seriesTouchedSizeSum: stats.seriesTouchedBytes,
          seriesFetched: stats.seriesFetched,
          seriesFetchedSizeSum: stats.seriesFetchedBytes,
          seriesFetchCount: stats.seriesFetchCount,
          chunksTouched: stats.chunksTouched,
          chunksTouchedSizeSum: stats.chunksTouchedBytes,
          chunksFetched: stats.chunksFetched,
          chunksFetchedSizeSum: stats.chunksFetchedBytes,
          chunksFetchCount: stats.chunksFetchCount,
              dataDownloadedSizeSum: fetchedBytes(stats),
            },
      }).finish();
      // The hints frame also flushes a batching sink: every chunk has been encoded after it.
      const p = sink.hints({ type_url: typeUrl('hintspb.SeriesResponseHints'), value: hints });
      if (p) await p;
    } finally {
      slabs.release();
      this.gate.release();
      this.observe(stats, performance.now() - t0);
    }
  }

  /** The last query's statistics, for tests and the bench. */
  lastStats: QueryStats | null = null;

  private observe(stats: QueryStats, ms: number): void {
    this.lastStats = stats;
    this.m.seriesBlocksQueried.observe(stats.blocksQueried);
    this.m.seriesGetAllDuration.observe(ms / 1000);
    this.m.resultSeries.observe(stats.mergedSeries);
    for (const [type, touched, touchedBytes, fetched, fetchedBytes] of [
      ['postings', stats.postingsTouched, stats.postingsTouchedBytes, stats.postingsFetched, stats.postingsFetchedBytes],
      ['series', stats.seriesTouched, stats.seriesTouchedBytes, stats.seriesFetched, stats.seriesFetchedBytes],
      ['chunks', stats.chunksTouched, stats.chunksTouchedBytes, stats.chunksFetched, stats.chunksFetchedBytes],
    ] as const) {
      this.m.dataTouched.observe({ data_type: type }, touched);
      this.m.dataSizeTouched.observe({ data_type: type }, touchedBytes);
      this.m.dataFetched.observe({ data_type: type }, fetched);
      this.m.dataSizeFetched.observe({ data_type: type }, fetchedBytes);
      this.m.bytesFetched.inc({ data_type: type }, fetchedBytes);
    }
    this.m.seriesRefetches.inc(stats.seriesRefetches);
    this.m.chunkRefetches.inc(stats.chunkRefetches);
  }

  /**
   * One block's matching series with external labels added, sorted, fetched in batches
   * and handed out as such; the next batch is fetched while the current one is consumed.
   */
  private async *blockSeries(block: BucketBlock, matchers: Matcher[], ext: Labels, ctx: BlockSeriesContext): AsyncGenerator<StoreSeries[]> {
    const { req, mint, maxt, batch, loads, seriesLimiter, chunksLimiter, stats, slabs, signal } = ctx;
    await loads.acquire(signal);
    let refs: Uint32Array;
    try {
      refs = await block.expandedPostings(matchers, stats, signal);
    } finally {
      loads.release();
    }
    seriesLimiter.reserve(refs.length);
    const clash = await block.hasAnyLabelName(ext.map((l) => l.name));
    const out: StoreSeries[] = [];
    const sorter = new PrefixRunSorter<AggrChunk[]>((labels, chunks) => {
      out.push({ labels, chunks });
    });
    const load = async (from: number, size: number): Promise<BlockSeries[]> => {
      await loads.acquire(signal);
      try {
        return await loadBatch(from, size);
      } finally {
        loads.release();
      }
    };
    // The first batches are small and double up to `batch`: the querier decodes the
    // first series while the store still reads the chunks of the next ones.
    const sizeAfter = (size: number): number => Math.min(batch, size * 2);
    const loadBatch = async (from: number, size: number): Promise<BlockSeries[]> => {
      const batchRefs = refs.subarray(from, Math.min(refs.length, from + size));
      const entries = await block.loadSeries(batchRefs, stats, signal);
      const kept = await block.decodeSeriesForTime(entries, batchRefs, mint, maxt);
      if (req.skipChunks) return kept;
      let n = 0;
      for (const s of kept) n += s.metaCount;
      chunksLimiter.reserve(n);
      await block.loadChunks(kept, req.aggregates ?? [], stats, slabs, this.pool, signal);
      return kept;
    };
    let size = Math.min(batch, FIRST_BATCH);
    let next: Promise<BlockSeries[]> | null = refs.length > 0 ? load(0, size) : null;
    for (let from = 0; next !== null; from += size, size = sizeAfter(size)) {
      const cur = await next;
      next = from + size < refs.length ? load(from + size, sizeAfter(size)) : null;
      // An abandoned prefetch must not surface as an unhandled rejection.
      next?.catch(noop);
      for (const s of cur) {
        const p = sorter.push(s.labels, withExternalLabels(s.labels, ext), s.chunks);
        if (p) await p;
      }
      if (next === null) {
        const p = sorter.flush();
        if (p) await p;
      }
      // When a series label shares its name with an external label, the external value
      // replaces it and the block's order no longer holds: the slow path sorts the
      // block's whole answer (Thanos re-sorts in this case too).
      if (next === null && clash) out.sort((a, b) => compareLabels(a.labels, b.labels));
      if ((!clash || next === null) && out.length > 0) yield out.splice(0);
    }
  }

  async labelNames(req: ValidatedLabelNamesRequest, signal: AbortSignal): Promise<LabelNamesResponse> {
    const drop = new Set(req.withoutReplicaLabels ?? []);
    const names = new Set<string>();
    const stats = newQueryStats();
    const jobs = this.blocksForLabels(req.parsedMatchers, ...this.clamp(req.start, req.end));
    await mapConcurrent(jobs, 8, async ({ block, set, matchers }) => {
      let found = false;
      if (matchers.length === 0) {
        const hdr = await block.header.acquire();
        try {
          for (const n of hdr.labelNames()) {
            names.add(n);
            found = true;
          }
        } finally {
          block.header.release();
        }
      } else {
        await this.eachSeries(block, matchers, stats, signal, (labels) => {
          found = true;
          for (const l of labels) names.add(l.name);
        });
      }
      if (found) for (const l of set.labels) if (!drop.has(l.name)) names.add(l.name);
    });
    for (const d of drop) names.delete(d);
    return { names: limitList([...names].sort(), req.limit), warnings: [] };
  }

  async labelValues(req: ValidatedLabelValuesRequest, signal: AbortSignal): Promise<LabelValuesResponse> {
    const name = req.label;
    if (req.withoutReplicaLabels?.includes(name)) return { values: [], warnings: [] };
    const values = new Set<string>();
    const stats = newQueryStats();
    const jobs = this.blocksForLabels(req.parsedMatchers, ...this.clamp(req.start, req.end));
    await mapConcurrent(jobs, 8, async ({ block, set, matchers }) => {
      const extValue = set.labels.find((l) => l.name === name)?.value;
      if (extValue !== undefined) {
        // An external label: every series of the block has it.
        if (matchers.length === 0) values.add(extValue);
        else await this.eachSeries(block, matchers, stats, signal, () => values.add(extValue), 1);
        return;
      }
      if (matchers.length === 0) {
        const hdr = await block.header.acquire();
        try {
          for (const v of hdr.labelValues(name)) values.add(v);
        } finally {
          block.header.release();
        }
        return;
      }
      const ms = [...matchers, newMatcher(MatchType.RE, name, '.+')];
      await this.eachSeries(block, ms, stats, signal, (labels) => {
        const v = labels.find((l) => l.name === name)?.value;
        if (v !== undefined) values.add(v);
      });
    });
    return { values: limitList([...values].sort(), req.limit), warnings: [] };
  }

  /** Blocks overlapping [start, end] at any resolution whose external labels pass the matchers. */
  private blocksForLabels(matchers: readonly Matcher[], start: number, end: number): { block: BucketBlock; set: BlockSet; matchers: Matcher[] }[] {
    const out: { block: BucketBlock; set: BlockSet; matchers: Matcher[] }[] = [];
    for (const set of this.sets.values()) {
      const ms = set.labelMatchers(matchers);
      if (ms === null) continue;
      for (const block of set.getFor(start, end, Infinity)) out.push({ block, set, matchers: ms });
    }
    return out;
  }

  /** Calls fn with the labels of each series of a block matching the matchers (stops after `max`). */
  private async eachSeries(block: BucketBlock, matchers: Matcher[], stats: QueryStats, signal: AbortSignal, fn: (labels: Labels) => void, max = Infinity): Promise<void> {
    const refs = await block.expandedPostings(matchers, stats, signal);
    const batch = this.opts.seriesBatchSize ?? SERIES_BATCH_SIZE;
    for (let from = 0; from < refs.length && from < max; from += batch) {
      const batchRefs = refs.subarray(from, Math.min(refs.length, from + batch, max));
      const entries = await block.loadSeries(batchRefs, stats, signal);
      await block.decodeSeries(entries, batchRefs, (e) => fn(e.labels));
    }
  }

  /** Bytes fetched from the bucket by the last Series call (bench, tests). */
  lastFetchedBytes(): number {
    return this.lastStats ? fetchedBytes(this.lastStats) : 0;
  }
}

/** Smallest series batch, however many blocks a request reads. */
const MIN_BATCH = 256;
/** Blocks of one Series call fetching from the bucket at once. */
const LOADS_PER_REQUEST = 16;

interface BlockSeriesContext {
  req: ValidatedSeriesRequest;
  mint: number;
  maxt: number;
  batch: number;
  loads: Gate;
  seriesLimiter: Limiter;
  chunksLimiter: Limiter;
  stats: QueryStats;
  slabs: ChunkSlabs;
  signal: AbortSignal;
}

/** Every series: the index's all-postings key. */
const ALL_SERIES = newMatcher(MatchType.EQ, '', '');


async function fileExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function storeMetrics(registry: Registry | undefined, store: BucketStore) {
  const registers = registry ? [registry] : [];
  const dataType = ['data_type'] as const;
  const sizeBuckets = [1024, 32 * 1024, 256 * 1024, 1024 * 1024, 8 * 1024 * 1024, 64 * 1024 * 1024, 512 * 1024 * 1024];
  const countBuckets = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];
  new Gauge({ name: 'thanos_bucket_store_blocks_loaded', help: 'Number of currently loaded blocks.', registers, collect() { this.set(store.blockCount); } });
  new Gauge({ name: 'thanos_bucket_store_indexheader_loaded_bytes', help: 'Bytes of index-headers currently held in memory (lazy reader).', registers, collect() { this.set(store.indexHeaderBytes); } });
  new Gauge({ name: 'thanos_bucket_store_chunk_pool_in_use_bytes', help: 'Bytes of fetched chunk data reserved from the chunk pool.', registers, collect() { this.set(store.chunkPoolInUse); } });
  return {
    syncs: new Counter({ name: 'thanos_bucket_store_block_syncs_total', help: 'Total number of block syncs against the bucket.', registers }),
    blockLoads: new Counter({ name: 'thanos_bucket_store_block_loads_total', help: 'Total number of remote block loading attempts.', registers }),
    blockLoadFailures: new Counter({ name: 'thanos_bucket_store_block_load_failures_total', help: 'Total number of failed remote block loading attempts.', registers }),
    blockDrops: new Counter({ name: 'thanos_bucket_store_block_drops_total', help: 'Total number of local blocks that were dropped.', registers }),
    blockDropFailures: new Counter({ name: 'thanos_bucket_store_block_drop_failures_total', help: 'Total number of local blocks that failed to be dropped.', registers }),
    lastLoaded: new Gauge({ name: 'thanos_bucket_store_blocks_last_loaded_timestamp_seconds', help: 'Timestamp when last batch of blocks were loaded.', registers }),
    blockLoadDuration: new Histogram({ name: 'thanos_bucket_store_block_load_duration_seconds', help: 'The total time taken to load a block.', buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120], registers }),
    indexHeaderBuildBytes: new Counter({ name: 'thanos_bucket_store_indexheader_build_fetched_bytes_total', help: 'Bytes read from the bucket to build index-headers.', registers }),
    dataTouched: new Histogram({ name: 'thanos_bucket_store_series_data_touched', help: 'Number of items of a data type touched to fulfill a single Store API series request.', labelNames: dataType, buckets: countBuckets, registers }),
    dataFetched: new Histogram({ name: 'thanos_bucket_store_series_data_fetched', help: 'Number of items of a data type retrieved to fulfill a single Store API series request.', labelNames: dataType, buckets: countBuckets, registers }),
    dataSizeTouched: new Histogram({ name: 'thanos_bucket_store_series_data_size_touched_bytes', help: 'Total size of items of a data type touched to fulfill a single Store API series request in Bytes.', labelNames: dataType, buckets: sizeBuckets, registers }),
    dataSizeFetched: new Histogram({ name: 'thanos_bucket_store_series_data_size_fetched_bytes', help: 'Total size of items of a data type fetched to fulfill a single Store API series request in Bytes.', labelNames: dataType, buckets: sizeBuckets, registers }),
    bytesFetched: new Counter({ name: 'thanos_bucket_store_fetched_bytes_total', help: 'Bytes fetched from the bucket by Series calls, by data type.', labelNames: dataType, registers }),
    seriesBlocksQueried: new Histogram({ name: 'thanos_bucket_store_series_blocks_queried', help: 'Number of blocks in a bucket store that were touched to satisfy a query.', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers }),
    seriesGetAllDuration: new Histogram({ name: 'thanos_bucket_store_series_get_all_duration_seconds', help: 'Time it takes until all per-block prepares and loads for a query are finished.', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60], registers }),
    resultSeries: new Histogram({ name: 'thanos_bucket_store_series_result_series', help: 'Number of series observed in the final result of a query.', buckets: countBuckets, registers }),
    queriesDropped: new Counter({ name: 'thanos_bucket_store_queries_dropped_total', help: 'Number of queries that were dropped due to the limit.', labelNames: ['reason'] as const, registers }),
    seriesRefetches: new Counter({ name: 'thanos_bucket_store_series_refetches_total', help: 'Total number of cases where configured estimated series bytes was not enough was to fetch series from index, resulting in refetch.', registers }),
    headerEvictions: new Counter({ name: 'thanos_bucket_store_indexheader_evictions_total', help: 'Index-headers unloaded to stay within the loaded-bytes cap.', registers }),
    chunkRefetches: new Counter({ name: 'thanos_bucket_store_chunk_refetches_total', help: 'Total number of cases where configured estimated chunk bytes was not enough was to fetch chunks from object store, resulting in refetch.', registers }),
  };
}

const SERIES_REQUEST_HINTS = typeUrl('hintspb.SeriesRequestHints');

/** Whether the request's hints (hintspb.SeriesRequestHints) ask for query statistics. */
function queryStatsEnabled(req: ValidatedSeriesRequest): boolean {
  const h = req.hints;
  if (!h || h.type_url !== SERIES_REQUEST_HINTS || !h.value || h.value.length === 0) return false;
  try {
    return hintspb.SeriesRequestHints.decode(h.value).enableQueryStats === true;
  } catch {
    return false;
  }
}
