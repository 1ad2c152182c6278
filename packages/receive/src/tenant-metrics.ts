// The TSDB metrics of every tenant's head, as Thanos's receiver exposes them (each
// tenant's Prometheus TSDB registers its metrics with a `tenant` label): read from the
// heads' counters when /metrics is scraped, so the write path pays nothing for them.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { HeadCounters } from '@thanos-ts/tsdb';
import type { MultiTSDB } from './multitsdb.js';

/** Registers the per-tenant head metrics over `tsdbs` on `registry`. */
export function registerTenantMetrics(tsdbs: MultiTSDB, registry: Registry): void {
  const each = (fn: (tenant: string, head: { counters: HeadCounters; numSeries: number; minTime: number; maxTime: number }) => void): void => {
    for (const id of tsdbs.tenantIds()) {
      const head = tsdbs.get(id)?.db.head;
      if (head !== undefined) fn(id, head);
    }
  };
  const counter = (name: string, help: string, value: (c: HeadCounters) => number, extra: Record<string, string> = {}): void => {
    new Counter({
      name,
      help,
      labelNames: ['tenant', ...Object.keys(extra)],
      registers: [registry],
      collect(): void {
        this.reset();
        each((tenant, h) => this.inc({ tenant, ...extra }, value(h.counters)));
      },
    });
  };
  const gauge = (name: string, help: string, value: (h: { numSeries: number; minTime: number; maxTime: number }) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['tenant'],
      registers: [registry],
      collect(): void {
        this.reset();
        each((tenant, h) => this.set({ tenant }, value(h)));
      },
    });
  };
  gauge('prometheus_tsdb_head_series', 'Total number of series in the head block.', (h) => h.numSeries);
  gauge('prometheus_tsdb_head_min_time', 'Minimum time bound of the head block.', (h) => h.minTime);
  gauge('prometheus_tsdb_head_max_time', 'Maximum timestamp of the head block.', (h) => h.maxTime);
  counter('prometheus_tsdb_head_samples_appended_total', 'Total number of appended samples.', (c) => c.samplesAppended, { type: 'float' });
  counter('prometheus_tsdb_head_series_created_total', 'Total number of series created in the head', (c) => c.seriesCreated);
  counter('prometheus_tsdb_head_series_removed_total', 'Total number of series removed in the head', (c) => c.seriesRemoved);
  counter('prometheus_tsdb_head_chunks_created_total', 'Total number of chunks created in the head', (c) => c.chunksCreated);
  counter('prometheus_tsdb_head_chunks_removed_total', 'Total number of chunks removed in the head', (c) => c.chunksRemoved);
  counter('prometheus_tsdb_head_truncations_total', 'Total number of head truncations attempted.', (c) => c.truncations);
  counter('prometheus_tsdb_out_of_order_samples_total', 'Total number of out of order samples ingestion failed attempts due to out of order being disabled.', (c) => c.outOfOrderSamples, { type: 'float' });
  counter('prometheus_tsdb_out_of_bound_samples_total', 'Total number of out of bound samples ingestion failed attempts with out of order support disabled.', (c) => c.outOfBoundSamples, { type: 'float' });
  counter('prometheus_tsdb_too_old_samples_total', 'Total number of out of order samples ingestion failed attempts with out of support enabled, but sample outside of time window.', (c) => c.tooOldSamples, { type: 'float' });
  counter('prometheus_tsdb_head_out_of_order_samples_appended_total', 'Total number of appended out of order samples.', (c) => c.outOfOrderSamplesAppended, { type: 'float' });
}
