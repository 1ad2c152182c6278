// StoreAPI over a Prometheus (Thanos pkg/store/prometheus.go): Series is a streamed
// remote read whose XOR chunks pass through untouched, with the external labels added;
// label names and values come from Prometheus's HTTP API.

import { InvalidArgumentError } from '@thanos-ts/runtime';
import { compareLabels, labelsEqual, labelsFromRecord, withoutLabels } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { limitList, matchersToPromProto, matchExternalLabels, PrefixRunSorter, withExternalLabels } from '@thanos-ts/storeapi';
import type {
  LabelNamesResponse,
  LabelValuesResponse,
  SeriesSink,
  StoreAPI,
  ValidatedLabelNamesRequest,
  ValidatedLabelValuesRequest,
  ValidatedSeriesRequest,
} from '@thanos-ts/storeapi';
import type { PromClient } from './promclient.js';
import { encodeSeriesResponse, toStoreSeries } from './chunked-series.js';
import type { RawChunkedSeries } from './chunked-series.js';

/**
 * A SeriesSink that also takes a series already encoded, as a thanos.SeriesResponse with
 * its series field set (the pass-through of remote read chunks). Sinks without it get
 * StoreSeries objects.
 */
export interface EncodedSeriesSink extends SeriesSink {
  encodedSeries(response: Uint8Array): Promise<void> | undefined;
}

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

    const extNames = new Set(ext.map((l) => l.name));
    const encoded = typeof (sink as EncodedSeriesSink).encodedSeries === 'function' ? (sink as EncodedSeriesSink) : null;
    // A series may span several frames: gather its parts before sending it once.
    let key: Labels | null = null;
    let final: Labels = [];
    let parts: RawChunkedSeries[] = [];
    const sorter = new PrefixRunSorter<RawChunkedSeries[]>(async (labels, ps) => {
      // fast path: the chunk bytes go to the wire without becoming objects
      const p = encoded !== null ? encoded.encodedSeries(encodeSeriesResponse(labels, ps)) : sink.series(toStoreSeries(labels, ps));
      if (p) await p;
    });
    let sent = 0;
    const limit = Number(req.limit ?? 0);
    const query = { startTimestampMs: minTime, endTimestampMs: maxTime, matchers: matchersToPromProto(matchers) };
    for await (const frame of this.opts.client.remoteReadSeries(query, signal)) {
      for (const cs of frame) {
        // Prometheus merges its external labels in, keeping series order without them.
        const k = extNames.size > 0 ? withoutLabels(cs.labels, extNames) : cs.labels;
        if (key !== null && labelsEqual(key, k)) {
          parts.push(cs);
          continue;
        }
        if (key !== null) {
          await sorter.push(key, final, parts);
          if (limit > 0 && ++sent >= limit) break;
        }
        key = k;
        final = withExternalLabels(k, finalExt);
        parts = [cs];
      }
      if (limit > 0 && sent >= limit) break;
    }
    if (key !== null && !(limit > 0 && sent >= limit)) await sorter.push(key, final, parts);
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

