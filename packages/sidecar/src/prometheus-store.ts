// StoreAPI over a Prometheus (Thanos pkg/store/prometheus.go): Series is a streamed
// remote read whose XOR chunks pass through untouched, with the external labels added;
// label names and values come from Prometheus's HTTP API.

import { InvalidArgumentError } from '@thanos-ts/runtime';
import { compareLabels, labelsEqual, labelsFromRecord, withoutLabels } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { limitList, matchersToPromProto, matchExternalLabels, PrefixRunSorter, withExternalLabels } from '@thanos-ts/storeapi';
import type {
  AggrChunk,
  LabelNamesResponse,
  LabelValuesResponse,
  SeriesSink,
  StoreAPI,
  ValidatedLabelNamesRequest,
  ValidatedLabelValuesRequest,
  ValidatedSeriesRequest,
} from '@thanos-ts/storeapi';
import type { PromClient } from './promclient.js';

export interface PrometheusStoreOptions {
  client: PromClient;
  /** Current external labels of the Prometheus (sorted). */
  externalLabels: () => Labels;
  /** Current oldest time Prometheus can answer for (ms). */
  minTime: () => number;
}

export class PrometheusStore implements StoreAPI {
  constructor(private readonly opts: PrometheusStoreOptions) {}

  async series(req: ValidatedSeriesRequest, sink: SeriesSink, signal: AbortSignal): Promise<void> {
    const ext = this.opts.externalLabels();
    const matchers = matchExternalLabels(req.parsedMatchers, ext);
    if (matchers === null) return;
    if (matchers.length === 0) throw new InvalidArgumentError('no matchers specified (excluding external labels)');
    const finalExt = req.withoutReplicaLabels?.length ? withoutLabels(ext, req.withoutReplicaLabels) : ext;
    const minTime = Math.max(req.minTime, this.opts.minTime());
    const maxTime = req.maxTime;

    if (req.skipChunks) {
      const sets = await this.opts.client.series(minTime, maxTime, matchers, Number(req.limit ?? 0), signal);
      const out = sets.map((rec) => withExternalLabels(withoutLabels(labelsFromRecord(rec), ext.map((l) => l.name)), finalExt));
      out.sort(compareLabels);
      for (const labels of out) {
        const p = sink.series({ labels, chunks: [] });
        if (p) await p;
      }
      return;
    }

    const extNames = ext.map((l) => l.name);
    // A series may span several frames: gather its chunks before sending it once.
    let cur: { key: Labels; final: Labels; chunks: AggrChunk[] } | null = null;
    const sorter = new PrefixRunSorter<AggrChunk[]>(async (labels, chunks) => {
      const p = sink.series({ labels, chunks });
      if (p) await p;
    });
    let sent = 0;
    const limit = Number(req.limit ?? 0);
    const query = { startTimestampMs: minTime, endTimestampMs: maxTime, matchers: matchersToPromProto(matchers) };
    for await (const frame of this.opts.client.remoteRead(query, signal)) {
      for (const cs of frame.chunkedSeries) {
        // Prometheus merges its external labels in, keeping series order without them.
        const key = withoutLabels(cs.labels, extNames);
        const chunks: AggrChunk[] = cs.chunks.map((c) => ({
          minTime: c.minTimeMs,
          maxTime: c.maxTimeMs,
          // storepb encodings are TSDB's minus one.
          raw: { type: c.type - 1, data: c.data },
        }));
        if (cur !== null && labelsEqual(cur.key, key)) {
          cur.chunks.push(...chunks);
          continue;
        }
        if (cur !== null) {
          await sorter.push(cur.key, cur.final, cur.chunks);
          if (limit > 0 && ++sent >= limit) break;
        }
        cur = { key, final: withExternalLabels(key, finalExt), chunks };
      }
      if (limit > 0 && sent >= limit) break;
    }
    if (cur !== null && !(limit > 0 && sent >= limit)) await sorter.push(cur.key, cur.final, cur.chunks);
    await sorter.flush();
  }

  async labelNames(req: ValidatedLabelNamesRequest, signal: AbortSignal): Promise<LabelNamesResponse> {
    const ext = this.opts.externalLabels();
    const matchers = matchExternalLabels(req.parsedMatchers, ext);
    if (matchers === null) return { names: [], warnings: [] };
    const names = new Set(await this.opts.client.labelNames(Number(req.start), Number(req.end), matchers, signal));
    const drop = new Set(req.withoutReplicaLabels ?? []);
    for (const l of ext) names.add(l.name);
    for (const d of drop) if (ext.some((l) => l.name === d)) names.delete(d);
    return { names: limitList([...names].sort(), req.limit), warnings: [] };
  }

  async labelValues(req: ValidatedLabelValuesRequest, signal: AbortSignal): Promise<LabelValuesResponse> {
    if (req.withoutReplicaLabels?.includes(req.label)) return { values: [], warnings: [] };
    const ext = this.opts.externalLabels();
    const matchers = matchExternalLabels(req.parsedMatchers, ext);
    if (matchers === null) return { values: [], warnings: [] };
    const e = ext.find((l) => l.name === req.label);
    if (e) return { values: [e.value], warnings: [] };
    const values = await this.opts.client.labelValues(req.label, Number(req.start), Number(req.end), matchers as Matcher[], signal);
    return { values: limitList(values.sort(), req.limit), warnings: [] };
  }
}

