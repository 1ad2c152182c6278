// StoreAPI over a local TSDB (Thanos pkg/store/tsdb.go TSDBStore): what receive serves
// for each tenant's DB and the ruler for its own. Series come from the DB's chunk
// querier with their encoded chunks passed through untouched (head chunks included, as
// copies of what was appended so far), the external labels added (winning a clash);
// only raw data, no downsampling.

import { InvalidArgumentError, nopLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { compareLabels, DB, Head, withoutLabels } from '@thanos-ts/tsdb';
import type { ChunkQuerier, ChunkQueryable, Labels, Matcher } from '@thanos-ts/tsdb';
import { labelsToProto, limitList } from './convert.js';
import { matchExternalLabels, PrefixRunSorter, withExternalLabels } from './external-labels.js';
import { ComponentType } from './proto.js';
import type { AggrChunk, InfoResponseInit, LabelNamesResponse, LabelValuesResponse } from './proto.js';
import { MAX_TIME, MIN_TIME } from './proxy.js';
import type { InfoAPI, SeriesSink, StoreAPI, ValidatedLabelNamesRequest, ValidatedLabelValuesRequest, ValidatedSeriesRequest } from './server.js';

/** A TSDB as TSDBStore reads it (Thanos TSDBReader): chunk queriers and its oldest time. */
export interface TSDBReader extends ChunkQueryable {
  /** Oldest time held (ms), Prometheus DB.StartTime; MAX_TIME when empty. */
  startTime(): number;
}

/** Chunk bytes per Series frame before a series is continued in the next (Thanos RemoteReadFrameLimit). */
export const TSDB_STORE_FRAME_BYTES = 1_048_576;

export interface TSDBStoreOptions {
  /** The DB, a bare Head, or anything else that opens chunk queriers and knows its start time. */
  db: DB | Head | TSDBReader;
  /** External labels (sorted by name), added to every series; a function when they can change. */
  externalLabels?: Labels | (() => Labels);
  /** The ComponentType Info announces (default "receive"; the ruler says "rule"). */
  component?: string;
  /** Chunk bytes per frame before a series is split over several (default TSDB_STORE_FRAME_BYTES). */
  maxBytesPerFrame?: number;
  logger?: Logger;
}

/**
 * StoreAPI and Info over one local TSDB. Its time range is [start time of the DB,
 * MaxInt64]: the head keeps growing, so the upper end is never announced (as Thanos).
 */
export class TSDBStore implements StoreAPI, InfoAPI {
  private readonly reader: TSDBReader;
  private readonly ext: () => Labels;
  private readonly frameBytes: number;
  private readonly logger: Logger;

  constructor(private readonly opts: TSDBStoreOptions) {
    this.reader = tsdbReader(opts.db);
    const ext = opts.externalLabels ?? [];
    this.ext = typeof ext === 'function' ? ext : (): Labels => ext;
    this.frameBytes = opts.maxBytesPerFrame ?? TSDB_STORE_FRAME_BYTES;
    this.logger = opts.logger ?? nopLogger();
  }

  /** The external labels now. */
  externalLabels(): Labels {
    return this.ext();
  }

  /** [DB start time, MaxInt64] (Thanos TSDBStore.TimeRange). */
  timeRange(): { minTime: number; maxTime: number } {
    return { minTime: this.reader.startTime(), maxTime: MAX_TIME };
  }

  info(): InfoResponseInit {
    const ext = this.ext();
    const { minTime, maxTime } = this.timeRange();
    return {
      ComponentType: this.opts.component ?? ComponentType.RECEIVE,
      labelSets: ext.length > 0 ? [{ labels: labelsToProto(ext) }] : [],
      store: {
        minTime,
        maxTime,
        supportsSharding: false,
        supportsWithoutReplicaLabels: true,
        tsdbInfos: ext.length > 0 ? [{ labels: { labels: labelsToProto(ext) }, minTime, maxTime }] : [],
      },
    };
  }

  async series(req: ValidatedSeriesRequest, sink: SeriesSink, signal: AbortSignal): Promise<void> {
    const ext = this.ext();
    const matchers = matchExternalLabels(req.parsedMatchers, ext);
    if (matchers === null) return;
    if (matchers.length === 0) throw new InvalidArgumentError('no matchers specified (excluding external labels)');
    const drop = new Set(req.withoutReplicaLabels ?? []);
    const finalExt = drop.size > 0 ? withoutLabels(ext, drop) : ext;
    const limit = Number(req.limit ?? 0);
    const q = await this.reader.chunkQuerier(req.minTime, req.maxTime);
    try {
      // Adding external labels keeps the TSDB's order but for prefix runs (PrefixRunSorter);
      // removing a label the series carry (a replica label written by Prometheus) or
      // replacing one with an external value does not: then the whole answer is sorted
      // before it is sent, as Thanos's resortingServer always does.
      const resort = await this.changesOrder(q, drop, ext);
      const sorted: { labels: Labels; chunks: AggrChunk[] }[] = [];
      let sent = 0;
      const emit = async (labels: Labels, chunks: AggrChunk[]): Promise<void> => {
        if (limit > 0 && sent >= limit) return;
        const p = sink.series({ labels, chunks });
        if (p) await p;
        sent++;
      };
      const sorter = new PrefixRunSorter<AggrChunk[]>(emit);
      const hints = { start: req.minTime, end: req.maxTime, func: req.skipChunks ? 'series' : undefined };
      for await (const cs of q.select(hints, matchers)) {
        signal.throwIfAborted();
        const key = drop.size > 0 ? withoutLabels(cs.labels, drop) : cs.labels;
        const labels = withExternalLabels(key, finalExt);
        for (const chunks of this.frames(cs.chunks(), req.skipChunks)) {
          if (resort) sorted.push({ labels, chunks });
          else await sorter.push(key, labels, chunks);
        }
        if (!resort && limit > 0 && sent >= limit) break;
      }
      if (resort) {
        // Stable: the frames of one series stay in order.
        sorted.sort((a, b) => compareLabels(a.labels, b.labels));
        for (const s of sorted) await emit(s.labels, s.chunks);
      } else {
        await sorter.flush();
      }
    } finally {
      await q.close().catch((err: unknown) => this.logger.warn({ err }, 'close tsdb chunk querier series'));
    }
  }

  /**
   * Whether series labels can change order on their way out: some series of the TSDB
   * carries a label to drop or one named like an external label.
   */
  private async changesOrder(q: ChunkQuerier, drop: ReadonlySet<string>, ext: Labels): Promise<boolean> {
    if (drop.size === 0 && ext.length === 0) return false;
    const names = await q.labelNames([]);
    return names.some((n) => drop.has(n) || ext.some((l) => l.name === n));
  }

  /**
   * A series' chunks as StoreAPI AggrChunks, cut into groups of at most about
   * frameBytes of chunk data (a series over a long range would otherwise be one huge
   * frame; the proxy merges the parts again). No chunks at all with skip_chunks.
   */
  private *frames(chunks: Iterable<{ mint: number; maxt: number; chunk: { encoding: number; bytes(): Uint8Array } }>, skip: boolean): Generator<AggrChunk[]> {
    if (skip) {
      yield [];
      return;
    }
    let out: AggrChunk[] = [];
    let bytes = 0;
    for (const c of chunks) {
      const data = c.chunk.bytes();
      if (bytes > 0 && bytes + data.length > this.frameBytes) {
        yield out;
        out = [];
        bytes = 0;
      }
      // storepb encodings are TSDB's minus one.
      out.push({ minTime: c.mint, maxTime: c.maxt, raw: { type: c.chunk.encoding - 1, data } });
      bytes += data.length;
    }
    if (out.length > 0) yield out;
  }

  async labelNames(req: ValidatedLabelNamesRequest): Promise<LabelNamesResponse> {
    const ext = this.ext();
    const matchers = matchExternalLabels(req.parsedMatchers, ext);
    if (matchers === null) return { names: [], warnings: [] };
    const drop = new Set(req.withoutReplicaLabels ?? []);
    const q = await this.reader.chunkQuerier(...labelsRange(req.start, req.end));
    try {
      const names = new Set(await q.labelNames(matchers));
      // External labels only when some series matched: they name no data by themselves.
      if (names.size > 0) for (const l of ext) names.add(l.name);
      // The series we answer carry no dropped label, so neither do their names.
      for (const d of drop) names.delete(d);
      return { names: limitList([...names].sort(), req.limit), warnings: [] };
    } finally {
      await q.close().catch((err: unknown) => this.logger.warn({ err }, 'close tsdb chunk querier label names'));
    }
  }

  async labelValues(req: ValidatedLabelValuesRequest): Promise<LabelValuesResponse> {
    if (req.label === '') throw new InvalidArgumentError('label name parameter cannot be empty');
    if (req.withoutReplicaLabels?.includes(req.label)) return { values: [], warnings: [] };
    const ext = this.ext();
    const matchers = matchExternalLabels(req.parsedMatchers, ext);
    if (matchers === null) return { values: [], warnings: [] };
    const [mint, maxt] = labelsRange(req.start, req.end);
    const q = await this.reader.chunkQuerier(mint, maxt);
    try {
      const e = ext.find((l) => l.name === req.label);
      if (e !== undefined) {
        // An external label: its one value, if any series matches.
        if (matchers.length === 0) return { values: [e.value], warnings: [] };
        for await (const _ of q.select({ start: mint, end: maxt, func: 'series' }, matchers)) return { values: [e.value], warnings: [] };
        return { values: [], warnings: [] };
      }
      const values = await q.labelValues(req.label, matchers as Matcher[]);
      return { values: limitList(values, req.limit), warnings: [] };
    } finally {
      await q.close().catch((err: unknown) => this.logger.warn({ err }, 'close tsdb chunk querier label values'));
    }
  }
}

/** A label call's range: an end of 0 is no end, and start = end = 0 all time. */
function labelsRange(start: number, end: number): [number, number] {
  if (start === 0 && end === 0) return [MIN_TIME, MAX_TIME];
  return [start, end === 0 ? MAX_TIME : end];
}

/**
 * The TSDBReader of a DB (its oldest block's start, else the head's), of a bare Head,
 * or the reader itself. An empty DB starts at MaxInt64, as Prometheus's.
 */
export function tsdbReader(db: DB | Head | TSDBReader): TSDBReader {
  if (db instanceof DB) {
    return {
      chunkQuerier: (mint, maxt) => db.chunkQuerier(mint, maxt),
      startTime: () => db.blocks[0]?.minTime ?? headStart(db.head),
    };
  }
  if (db instanceof Head) return { chunkQuerier: (mint, maxt) => db.chunkQuerier(mint, maxt), startTime: () => headStart(db) };
  return db;
}

function headStart(h: Head): number {
  // Out-of-order samples not yet in a block may lie before the in-order head.
  const ooo = h.minOOOTime;
  if (h.isEmpty()) return ooo === Infinity ? MAX_TIME : ooo;
  return Math.min(h.minTime, ooo);
}
