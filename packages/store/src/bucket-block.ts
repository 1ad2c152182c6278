// One block in the bucket as the store gateway reads it (Thanos bucketBlock): postings,
// series and chunks come from ranged reads of `index` and `chunks/NNNNNN`, merged across
// small gaps, checked against their CRCs and cached; the label index comes from the
// block's local index-header. Nothing here holds data per series between requests except
// through the bounded index cache.

import type { Bucket } from '@thanos-ts/objstore';
import { getRangeBytes } from '@thanos-ts/objstore';
import { thanos } from '@thanos-ts/storeapi';
import type { AggrChunk, StoreChunk } from '@thanos-ts/storeapi';
import {
  AggrType,
  chunkRefOffset,
  chunkRefSegment,
  chunkSegmentFileName,
  CorruptionError,
  decodeAggrChunk,
  decodeSeries,
  decodeSeriesForTime,
  ChunkMetaBuffer,
  emptyPostings,
  expandPostings,
  listPostings,
  merge,
  parseChunkRecord,
  checkChunkRecord,
  CHUNK_CRC_SIZE,
  postingsForMatchers,
  readPostingsList,
  BigEndianPostings,
  CHUNK_ENC_AGGR,
  verifySeriesEntry,
} from '@thanos-ts/tsdb';
import type { BlockMeta, ChunkMeta, IndexPostingsReader, Label, Labels, Matcher, ParsedChunkRecord, Postings, SeriesEntry } from '@thanos-ts/tsdb';
import type { IndexCache } from './index-cache.js';
import type { LazyIndexHeader } from './lazy-index-header.js';
import type { ChunkPool, ChunkSlabs } from './chunk-pool.js';
import { MAX_GAP_BYTES, partitionRanges } from './partitioner.js';
import type { Part } from './partitioner.js';
import { RangeCursor } from './range-cursor.js';
import type { QueryStats } from './stats.js';

/** Thanos' EstimatedMaxSeriesSize: bytes read per series entry when its size is unknown. */
export const ESTIMATED_MAX_SERIES_SIZE = 64 * 1024;
/** Thanos' EstimatedMaxChunkSize. */
export const ESTIMATED_MAX_CHUNK_SIZE = 16000;
/** The least read per chunk once a block's chunk sizes have been seen. */
const MIN_CHUNK_READ = 512;

const Aggr = thanos.Aggr;

/** A series entry of this block with the chunks that overlap the request. */
/** A series of a block kept for a request: its chunk metas are metas[metaFrom, metaFrom + metaCount). */
export interface BlockSeries {
  labels: Labels;
  /** Shared by the series of one batch. */
  metas: ChunkMetaBuffer;
  metaFrom: number;
  metaCount: number;
  chunks: AggrChunk[];
}

export interface BucketBlockOptions {
  meta: BlockMeta;
  bkt: Bucket;
  header: LazyIndexHeader;
  indexCache: IndexCache;
  /** Largest gap bridged by one ranged read. */
  maxGapBytes?: number;
}

// A non-empty stand-in while the matcher plan is worked out (see expandedPostings).
const PLACEHOLDER = (): Postings => listPostings([0]);

export class BucketBlock {
  readonly id: string;
  readonly meta: BlockMeta;
  private readonly indexFile: string;
  private readonly maxGap: number;
  private readonly maxRead: number;
  private readonly seriesSizeEstimate: number;
  /** index_stats.chunk_max_size, 0 when the meta has none (blocks not from a compactor). */
  private readonly metaChunkMax: number;
  /** The largest chunk record read from this block so far. */
  private observedChunkMax = 0;
  /** Set once the block has left the store: running queries finish, new ones skip it. */
  dropped = false;

  constructor(private readonly opts: BucketBlockOptions) {
    this.meta = opts.meta;
    this.id = opts.meta.ulid;
    this.indexFile = `${this.id}/index`;
    this.maxGap = opts.maxGapBytes ?? opts.bkt.rangeGapBytes ?? MAX_GAP_BYTES;
    this.maxRead = opts.bkt.rangeReadMaxBytes ?? Infinity;
    const stats = opts.meta.thanos.index_stats ?? {};
    this.seriesSizeEstimate = stats.series_max_size && stats.series_max_size > 0 ? stats.series_max_size : ESTIMATED_MAX_SERIES_SIZE;
    this.metaChunkMax = stats.chunk_max_size && stats.chunk_max_size > 0 ? stats.chunk_max_size : 0;
  }

  /**
   * Bytes read for a chunk whose length is not known yet: the meta's chunk_max_size, else
   * twice the largest record seen in this block, else Thanos' 16,000. Without the meta's
   * figure (blocks from sidecars and receivers have none) every chunk read used to copy
   * 16 KB for records of a few hundred bytes; a record longer than the guess is read again
   * on its own, and raises the guess.
   */
  private get chunkSizeEstimate(): number {
    if (this.metaChunkMax > 0) return this.metaChunkMax;
    if (this.observedChunkMax === 0) return ESTIMATED_MAX_CHUNK_SIZE;
    return Math.min(ESTIMATED_MAX_CHUNK_SIZE, Math.max(MIN_CHUNK_READ, 2 * this.observedChunkMax));
  }

  private labelNames: Set<string> | null = null;

  /** Whether any series of the block has one of these label names (from the index-header, remembered). */
  async hasAnyLabelName(names: readonly string[]): Promise<boolean> {
    if (names.length === 0) return false;
    if (this.labelNames === null) {
      const hdr = await this.opts.header.acquire();
      try {
        this.labelNames = new Set(hdr.labelNames());
      } finally {
        this.opts.header.release();
      }
    }
    return names.some((n) => this.labelNames!.has(n));
  }

  get header(): LazyIndexHeader {
    return this.opts.header;
  }

  get resolution(): number {
    return this.meta.thanos.downsample?.resolution ?? 0;
  }

  /**
   * The refs of the series matching all matchers (none on external labels), ascending.
   * The matcher plan runs twice: once over placeholders to learn which posting lists it
   * reads, then, after one batched fetch of those, over the real lists, so the result
   * has exactly Prometheus' PostingsForMatchers semantics.
   */
  async expandedPostings(matchers: readonly Matcher[], stats: QueryStats, signal?: AbortSignal): Promise<Uint32Array> {
    const hdr = await this.opts.header.acquire();
    try {
      const wanted = new Map<string, Set<string>>();
      const want = (name: string, values: Iterable<string>): void => {
        let s = wanted.get(name);
        if (s === undefined) wanted.set(name, (s = new Set()));
        for (const v of values) s.add(v);
      };
      const planner: IndexPostingsReader = {
        postings: (name, ...values) => (want(name, values), PLACEHOLDER()),
        postingsForLabelMatching: (name, match) => (want(name, hdr.labelValues(name, match)), PLACEHOLDER()),
        postingsForAllLabelValues: (name) => (want(name, hdr.labelValues(name)), PLACEHOLDER()),
      };
      postingsForMatchers(planner, matchers);

      const lists = await this.fetchPostings(hdr, wanted, stats, signal);
      const get = (name: string, value: string): Postings => {
        const b = lists.get(name)?.get(value);
        if (b === undefined) return emptyPostings();
        const { start, count } = readPostingsList(b, 0, this.indexFile);
        return new BigEndianPostings(b, start, count);
      };
      const unionOf = (name: string, values: Iterable<string>): Postings => {
        const its: Postings[] = [];
        for (const v of values) {
          const p = get(name, v);
          its.push(p);
        }
        return its.length === 0 ? emptyPostings() : merge(...its);
      };
      const reader: IndexPostingsReader = {
        postings: (name, ...values) => unionOf(name, values),
        postingsForLabelMatching: (name, match) => unionOf(name, [...(lists.get(name)?.keys() ?? [])].filter(match)),
        postingsForAllLabelValues: (name) => unionOf(name, lists.get(name)?.keys() ?? []),
      };
      const p = postingsForMatchers(reader, matchers);
      const refs = expandPostings(p);
      const err = p.err();
      if (err) throw err;
      return refs;
    } finally {
      this.opts.header.release();
    }
  }

  /** Posting lists (whole sections, CRC-checked) by name and value; unknown values are left out. */
  private async fetchPostings(
    hdr: Awaited<ReturnType<LazyIndexHeader['acquire']>>,
    wanted: Map<string, Set<string>>,
    stats: QueryStats,
    signal?: AbortSignal,
  ): Promise<Map<string, Map<string, Uint8Array>>> {
    const out = new Map<string, Map<string, Uint8Array>>();
    const missing: { name: string; value: string; start: number; end: number }[] = [];
    for (const [name, set] of wanted) {
      const values = [...set];
      const m = new Map<string, Uint8Array>();
      out.set(name, m);
      const ranges = hdr.postingsRanges(name, values);
      const keys = values.map((value) => ({ name, value }));
      const cached = this.opts.indexCache.fetchPostings(this.id, keys);
      // The second level (memcached) only for what memory did not have.
      if (this.opts.indexCache.fetchPostingsRemote && cached.includes(undefined)) await this.opts.indexCache.fetchPostingsRemote(this.id, keys, cached);
      for (let i = 0; i < values.length; i++) {
        const r = ranges[i];
        if (r === null) continue;
        stats.postingsTouched++;
        stats.postingsTouchedBytes += r.end - r.start;
        const c = cached[i];
        if (c !== undefined) m.set(values[i], c);
        else missing.push({ name, value: values[i], start: r.start, end: r.end });
      }
    }
    if (missing.length === 0) return out;
    missing.sort((a, b) => a.start - b.start);
    const parts = partitionRanges(
      missing.map((x) => x.start),
      missing.map((x) => x.end),
      this.maxGap,
    );
    await Promise.all(
      parts.map(async (part) => {
        signal?.throwIfAborted();
        const buf = await getRangeBytes(this.opts.bkt, this.indexFile, part.start, part.end - part.start);
        stats.postingsFetchCount++;
        stats.postingsFetchedBytes += buf.length;
        if (buf.length < part.end - part.start) {
          throw new CorruptionError(this.indexFile, part.start + buf.length, `read postings: object ends ${part.end - part.start - buf.length} bytes early`);
        }
        for (let i = part.from; i < part.to; i++) {
          const x = missing[i];
          const list = buf.subarray(x.start - part.start, x.end - part.start);
          readPostingsList(list, 0, this.indexFile, x.start); // CRC check before it is cached or used
          stats.postingsFetched++;
          this.opts.indexCache.storePostings(this.id, x.name, x.value, list);
          out.get(x.name)!.set(x.value, list);
        }
      }),
    );
    return out;
  }

  /**
   * The series entries (uvarint length ‖ body ‖ CRC) of ascending refs. Ranges are
   * estimated (up to the next wanted entry, at most the block's largest series size) and
   * an entry that turns out longer is fetched again on its own.
   */
  async loadSeries(refs: Uint32Array, stats: QueryStats, signal?: AbortSignal): Promise<Uint8Array[]> {
    const out = this.opts.indexCache.fetchSeries(this.id, refs) as Uint8Array[];
    if (this.opts.indexCache.fetchSeriesRemote && out.includes(undefined as unknown as Uint8Array)) await this.opts.indexCache.fetchSeriesRemote(this.id, refs, out);
    const idx: number[] = [];
    for (let i = 0; i < refs.length; i++) if (out[i] === undefined) idx.push(i);
    stats.seriesTouched += refs.length;
    if (idx.length > 0) {
      const starts = new Float64Array(idx.length);
      const ends = new Float64Array(idx.length);
      for (let k = 0; k < idx.length; k++) starts[k] = refs[idx[k]] * 16;
      for (let k = 0; k < idx.length; k++) {
        const est = starts[k] + this.seriesSizeEstimate;
        ends[k] = k + 1 < idx.length ? Math.min(est, starts[k + 1]) : est;
      }
      const parts = partitionRanges(starts, ends, this.maxGap);
      await Promise.all(
        parts.map(async (part) => {
          signal?.throwIfAborted();
          const buf = await getRangeBytes(this.opts.bkt, this.indexFile, part.start, part.end - part.start);
          stats.seriesFetchCount++;
          stats.seriesFetchedBytes += buf.length;
          for (let k = part.from; k < part.to; k++) {
            const off = starts[k] - part.start;
            let entry = seriesEntryAt(buf, off);
            if (entry === null) {
              // Longer than estimated: read exactly this entry (its length is known or
              // at least the next estimate is).
              stats.seriesRefetches++;
              const size = seriesEntrySize(buf, off) ?? this.seriesSizeEstimate * 4;
              const again = await getRangeBytes(this.opts.bkt, this.indexFile, starts[k], size);
              stats.seriesFetchCount++;
              stats.seriesFetchedBytes += again.length;
              entry = seriesEntryAt(again, 0);
              if (entry === null) throw new CorruptionError(this.indexFile, starts[k], 'read series: entry runs past the end of the index');
            }
            stats.seriesFetched++;
            // The CRC is checked here, once, before the entry is cached or used; decoding
            // trusts it from then on (cache hits are not re-verified, as in Thanos).
            verifySeriesEntry(entry, 0, this.indexFile, starts[k]);
            this.opts.indexCache.storeSeries(this.id, refs[idx[k]], entry);
            out[idx[k]] = entry;
          }
        }),
      );
    }
    for (const e of out) stats.seriesTouchedBytes += e.length;
    return out;
  }

  /**
   * Decodes the labels of series entries (from loadSeries, so already verified) with the
   * header's symbols. The entry passed to fn is reused for the next one except its labels.
   */
  async decodeSeries(entries: Uint8Array[], refs: Uint32Array, fn: (e: SeriesEntry, i: number) => void): Promise<void> {
    const hdr = await this.opts.header.acquire();
    try {
      const lookup = (ref: number): string => hdr.lookupSymbol(ref);
      const chunks: ChunkMeta[] = [];
      for (let i = 0; i < entries.length; i++) {
        const e: SeriesEntry = { labels: [], chunks };
        decodeSeries(entries[i], 0, this.indexFile, lookup, e, refs[i] * 16, false);
        fn(e, i);
      }
    } finally {
      this.opts.header.release();
    }
  }

  /**
   * The series among `entries` (from loadSeries) with a chunk overlapping [mint, maxt],
   * with only those chunk metas (Thanos' LoadSeriesForTime): metas outside the window are
   * never materialised and labels are resolved only for series that are kept.
   */
  async decodeSeriesForTime(entries: Uint8Array[], refs: Uint32Array, mint: number, maxt: number): Promise<BlockSeries[]> {
    const hdr = await this.opts.header.acquire();
    try {
      const lookup = (ref: number): string => hdr.lookupSymbol(ref);
      const kept: BlockSeries[] = [];
      const metas = new ChunkMetaBuffer(4 * entries.length);
      // Handed out only with a kept series; a skipped series leaves it for the next.
      let labels: Label[] = [];
      for (let i = 0; i < entries.length; i++) {
        const from = metas.length;
        const n = decodeSeriesForTime(entries[i], 0, this.indexFile, lookup, labels, metas, mint, maxt, refs[i] * 16);
        if (n === 0) continue;
        kept.push({ labels, metas, metaFrom: from, metaCount: n, chunks: [] });
        labels = [];
      }
      return kept;
    } finally {
      this.opts.header.release();
    }
  }

  /**
   * Fills `series[i].chunks` from `series[i].metas` with ranged reads of the chunk
   * segments. Wanted records close together share one read (gaps up to maxGapBytes, as
   * Thanos' partitioner); each read is consumed as it streams in: gaps are dropped and only
   * the wanted records are copied into the call's slabs, which the chunks then point into.
   */
  async loadChunks(series: BlockSeries[], aggrs: readonly number[], stats: QueryStats, slabs: ChunkSlabs, pool: ChunkPool, signal?: AbortSignal): Promise<void> {
    // Every wanted chunk by its ref (segment * 2^32 + offset, so ref order is segment
    // then offset order) and where it goes (series ws[i], chunk wc[i]).
    let n = 0;
    for (let s = 0; s < series.length; s++) n += series[s].metaCount;
    let refs: Float64Array = new Float64Array(n);
    let ws: Uint32Array = new Uint32Array(n);
    let wc: Uint32Array = new Uint32Array(n);
    let sorted = true;
    for (let s = 0, i = 0; s < series.length; s++) {
      const { metas, metaFrom, metaCount } = series[s];
      series[s].chunks = new Array<AggrChunk>(metaCount);
      for (let c = 0; c < metaCount; c++, i++) {
        refs[i] = metas.ref(metaFrom + c);
        ws[i] = s;
        wc[i] = c;
        if (i > 0 && refs[i] < refs[i - 1]) sorted = false;
      }
    }
    // A compacted block writes chunks in series order: most requests are in order already.
    if (!sorted) [refs, ws, wc] = sortWants(refs, ws, wc);
    slabs.beginLoad();
    try {
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < n; ) {
        const seg = chunkRefSegment(refs[i]);
        let j = i + 1;
        while (j < n && chunkRefSegment(refs[j]) === seg) j++;
        const file = `${this.id}/chunks/${chunkSegmentFileName(seg + 1)}`;
        const starts = new Float64Array(j - i);
        const ends = new Float64Array(j - i);
        for (let k = 0; k < starts.length; k++) starts[k] = chunkRefOffset(refs[i + k]);
        for (let k = 0; k < starts.length; k++) {
          // A record ends before the next wanted one starts (records never overlap).
          const est = starts[k] + this.chunkSizeEstimate + 10;
          ends[k] = k + 1 < starts.length && starts[k + 1] > starts[k] ? Math.min(est, starts[k + 1]) : est;
        }
        const g: ChunkGroup = { file, ws: ws.subarray(i, j), wc: wc.subarray(i, j), starts, series, aggrs, stats, slabs, pool };
        const parts = partitionRanges(starts, ends, this.maxGap, this.maxRead);
        if (this.opts.bkt.readRanges !== undefined) {
          // Ranges the bucket reads in one call; a longer one (a record larger than the
          // bucket's longest read) goes on its own.
          const small = parts.filter((p) => p.end - p.start <= this.maxRead);
          if (small.length > 0) jobs.push(this.loadChunkParts(g, small, signal));
          for (const part of parts) if (part.end - part.start > this.maxRead) jobs.push(this.loadChunkPart(g, part, signal));
        } else {
          for (const part of parts) jobs.push(this.loadChunkPart(g, part, signal));
        }
        i = j;
      }
      // Every job settles before the slabs may be given back.
      const res = await Promise.allSettled(jobs);
      for (const r of res) if (r.status === 'rejected') throw r.reason;
    } finally {
      slabs.endLoad();
    }
  }

  /**
   * Every merged read of a segment in one readRanges call (a local bucket): the wanted
   * records are copied out of each range as it is read, without a promise per read.
   */
  private async loadChunkParts(g: ChunkGroup, parts: Part[], signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const { file, stats } = g;
    const from = new Float64Array(parts.length);
    const to = new Float64Array(parts.length);
    for (let i = 0; i < parts.length; i++) {
      from[i] = parts[i].start;
      to[i] = parts[i].end;
    }
    stats.chunksFetchCount += parts.length;
    const again: number[] = [];
    await this.opts.bkt.readRanges!(file, from, to, (i, bytes) => {
      stats.chunksFetchedBytes += bytes.length;
      const a = this.takeRecords(g, parts[i], bytes);
      for (let j = 0; j < a.length; j++) again.push(a[j]);
    });
    await this.refetchChunks(g, again);
  }

  /** Fetches and places, one by one, the records takeRecords left (pairs of index and size). */
  private async refetchChunks(g: ChunkGroup, again: readonly number[]): Promise<void> {
    const { file, starts } = g;
    for (let i = 0; i < again.length; i += 2) {
      const k = again[i];
      const parsed = parseChunkRecord(await this.refetchChunk(g, starts[k], again[i + 1]), 0, file, starts[k]);
      this.placeChunk(g, k, parsed.encoding, parsed.data, parsed.size);
    }
  }

  /** One merged read of a segment: wanted records are copied out as the range streams in. */
  private async loadChunkPart(g: ChunkGroup, part: Part, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const { file, starts, stats, slabs } = g;
    const bkt = this.opts.bkt;
    if (bkt.readRange !== undefined && part.end - part.start <= MAX_RANGE_BUFFER) {
      // The bucket hands over the range in a buffer it reuses: wanted records are copied
      // into the slabs there and then, and no buffer is allocated per read.
      stats.chunksFetchCount++;
      const again = await bkt.readRange(file, part.start, part.end - part.start, (bytes) => {
        stats.chunksFetchedBytes += bytes.length;
        return this.takeRecords(g, part, bytes);
      });
      await this.refetchChunks(g, again);
      return;
    }
    // What the read holds at most at once: the whole range, or one streamed piece of it.
    const release = g.pool.reserve(Math.min(part.end - part.start, MAX_RANGE_BUFFER));
    let cur: RangeCursor | null = null;
    try {
      const stream = await bkt.getRange(file, part.start, part.end - part.start);
      cur = new RangeCursor(stream[Symbol.asyncIterator](), part.start);
      stats.chunksFetchCount++;
      const hdr = new Uint8Array(CHUNK_HEADER_MAX);
      let prev: ParsedChunkRecord | null = null;
      for (let k = part.from; k < part.to; k++) {
        let parsed: ParsedChunkRecord;
        if (k > part.from && starts[k] === starts[k - 1] && prev !== null) {
          // The same record wanted twice: its bytes are in the slab already.
          parsed = prev;
        } else {
          let rec: Uint8Array | null = null;
          let size = -1;
          if (cur.pos <= starts[k] && (await cur.skipTo(starts[k]))) {
            const hl = await cur.read(hdr, 0, Math.min(CHUNK_HEADER_MAX, part.end - starts[k]));
            size = chunkRecordSize(hdr.subarray(0, hl), 0);
            // The record must lie inside the range read; otherwise it is fetched on its own.
            if (size >= hl && starts[k] + size <= part.end) {
              const off = slabs.alloc(size);
              const slab = slabs.slab;
              slab.set(hdr.subarray(0, hl), off);
              if ((await cur.read(slab, off + hl, size - hl)) === size - hl) rec = slab.subarray(off, off + size);
            }
          }
          if (rec === null) rec = await this.refetchChunk(g, starts[k], size);
          parsed = parseChunkRecord(rec, 0, file, starts[k]);
          prev = parsed;
        }
        this.placeChunk(g, k, parsed.encoding, parsed.data, parsed.size);
      }
    } finally {
      if (cur !== null) {
        stats.chunksFetchedBytes += cur.received;
        // Stops the read when the last wanted record ended before the range did.
        await cur.close().catch(() => {});
      }
      release();
    }
  }

  /**
   * Copies the wanted records of `part` out of `bytes` (the range as read) into the slabs
   * and places their chunks; returns the records not wholly inside the range, to be
   * fetched on their own, as pairs of index and size (-1 when the header was cut too).
   */
  private takeRecords(g: ChunkGroup, part: Part, bytes: Uint8Array): number[] {
    const { file, starts, slabs } = g;
    const again: number[] = [];
    // The last record placed (its data in `slab`), for a record wanted twice.
    let prevSize = -1;
    let slab = slabs.slab;
    let encAt = 0;
    let dataEnd = 0;
    for (let k = part.from; k < part.to; k++) {
      if (k > part.from && starts[k] === starts[k - 1]) {
        // The same record wanted twice: its bytes are in the slab already.
        if (prevSize >= 0) this.placeChunk(g, k, slab[encAt], slab.subarray(encAt + 1, dataEnd), prevSize);
        else again.push(k, -1);
        continue;
      }
      prevSize = -1;
      const off = starts[k] - part.start;
      const size = off < bytes.length ? chunkRecordSize(bytes, off) : -1;
      if (size < 0 || off + size > bytes.length) {
        again.push(k, size);
        continue;
      }
      // Copied and checked in place: the data's view is the only object made per chunk.
      const at = slabs.copy(bytes, off, off + size);
      slab = slabs.slab;
      encAt = checkChunkRecord(slab, at, file, starts[k] - at);
      dataEnd = at + size - CHUNK_CRC_SIZE;
      prevSize = size;
      this.placeChunk(g, k, slab[encAt], slab.subarray(encAt + 1, dataEnd), size);
    }
    return again;
  }

  /** The chunk of wanted record k, from its record's encoding, data and size. */
  private placeChunk(g: ChunkGroup, k: number, encoding: number, data: Uint8Array, size: number): void {
    const s = g.series[g.ws[k]];
    const c = g.wc[k];
    if (size > this.observedChunkMax) this.observedChunkMax = size;
    g.stats.chunksFetched++;
    g.stats.chunksTouched++;
    g.stats.chunksTouchedBytes += size;
    const m = s.metaFrom + c;
    s.chunks[c] = toAggrChunk(encoding, data, s.metas.mint(m), s.metas.maxt(m), g.aggrs, g.file, g.starts[k]);
  }

  /**
   * A record that does not lie inside the range read for it, read on its own: exactly when
   * its length is known, else generously (Thanos refetches the same way), and saved.
   */
  private async refetchChunk(g: ChunkGroup, at: number, size: number): Promise<Uint8Array> {
    g.stats.chunkRefetches++;
    const want = size > 0 ? size : ESTIMATED_MAX_CHUNK_SIZE * 4;
    const release = g.pool.reserve(want);
    try {
      const b = await getRangeBytes(this.opts.bkt, g.file, at, want);
      g.stats.chunksFetchCount++;
      g.stats.chunksFetchedBytes += b.length;
      const n = chunkRecordSize(b, 0);
      if (n < 0 || n > b.length) throw new CorruptionError(g.file, at, 'read chunk: record runs past the end of the segment');
      return g.slabs.save(b.subarray(0, n));
    } finally {
      release();
    }
  }
}

/** The wanted chunks ordered by ref (stable: a chunk wanted twice keeps its order). */
function sortWants(refs: Float64Array, ws: Uint32Array, wc: Uint32Array): [Float64Array, Uint32Array, Uint32Array] {
  const order = new Uint32Array(refs.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => refs[a] - refs[b] || a - b);
  const r = new Float64Array(refs.length);
  const s = new Uint32Array(refs.length);
  const c = new Uint32Array(refs.length);
  for (let i = 0; i < order.length; i++) {
    r[i] = refs[order[i]];
    s[i] = ws[order[i]];
    c[i] = wc[order[i]];
  }
  return [r, s, c];
}

/** What the reads of one segment share. */
interface ChunkGroup {
  file: string;
  /** Where each wanted record goes: series ws[k], chunk wc[k]. */
  ws: Uint32Array;
  wc: Uint32Array;
  starts: Float64Array;
  series: BlockSeries[];
  aggrs: readonly number[];
  stats: QueryStats;
  slabs: ChunkSlabs;
  pool: ChunkPool;
}

/** Length varint (at most 5 bytes) and encoding byte: enough to know a record's size. */
const CHUNK_HEADER_MAX = 6;
/** Bytes of a range read held at once at most (larger ranges stream in pieces). */
const MAX_RANGE_BUFFER = 4 * 1024 * 1024;

/** The series entry at buf[off] if it is complete, else null. */
function seriesEntryAt(buf: Uint8Array, off: number): Uint8Array | null {
  const size = seriesEntrySize(buf, off);
  if (size === null || off + size > buf.length) return null;
  return buf.subarray(off, off + size);
}

/** Length varint + body + CRC of the entry at buf[off], or null if the varint is cut off. */
function seriesEntrySize(buf: Uint8Array, off: number): number | null {
  let n = 0;
  let mul = 1;
  for (let p = off; p < buf.length && p < off + 10; p++) {
    const b = buf[p];
    n += (b & 0x7f) * mul;
    if (b < 0x80) return p - off + 1 + n + 4;
    mul *= 128;
  }
  return null;
}

/** Whole size of the chunk record at buf[off] (len varint + encoding + data + CRC), or -1 if the varint is cut off. */
function chunkRecordSize(buf: Uint8Array, off: number): number {
  let n = 0;
  let mul = 1;
  for (let p = off; p < buf.length && p < off + 5; p++) {
    const b = buf[p];
    n += (b & 0x7f) * mul;
    if (b < 0x80) return p - off + 1 + 1 + n + 4;
    mul *= 128;
  }
  return -1;
}

/**
 * The wire form of one chunk: raw chunks as they are (encoding − 1, see StoreChunkEncoding),
 * downsampled ones as the requested aggregates.
 */
function toAggrChunk(encoding: number, data: Uint8Array, minTime: number, maxTime: number, aggrs: readonly number[], file: string, off: number): AggrChunk {
  // One literal per shape: adding fields one by one costs V8 a hidden-class transition each.
  if (encoding !== CHUNK_ENC_AGGR) return { minTime, maxTime, raw: { type: encoding - 1, data } };
  const c: AggrChunk = { minTime, maxTime, count: null, sum: null, min: null, max: null, counter: null };
  let parts;
  try {
    parts = decodeAggrChunk(data);
  } catch (err) {
    throw new CorruptionError(file, off, `read aggregate chunk: ${(err as Error).message}`);
  }
  const sub = (t: number): StoreChunk | null => {
    const p = parts[t];
    return p ? { type: p.encoding - 1, data: p.data } : null;
  };
  for (const a of aggrs.length > 0 ? aggrs : [Aggr.COUNT, Aggr.SUM]) {
    if (a === Aggr.COUNT) c.count = sub(AggrType.COUNT);
    else if (a === Aggr.SUM) c.sum = sub(AggrType.SUM);
    else if (a === Aggr.MIN) c.min = sub(AggrType.MIN);
    else if (a === Aggr.MAX) c.max = sub(AggrType.MAX);
    else if (a === Aggr.COUNTER) c.counter = sub(AggrType.COUNTER);
  }
  return c;
}
