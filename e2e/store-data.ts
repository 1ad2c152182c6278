// Deterministic OpenMetrics history for the store gateway e2e test: three days of
// samples every 60 s, a few dozen series per cluster (counter, classic histogram, gauge,
// up), with counter resets, a series that appears half-way and a gap longer than the
// lookback delta. Sample timestamps sit 1.234 s past the minute, so query windows whose
// edges are placed at :30.5 never touch a sample (Prometheus 2.x's closed range
// selectors and 3.x's left-open ones then agree).

import { rng } from '@thanos-ts/testutil';

/** 2024-03-04T00:00:00Z, aligned to the 2h block grid. */
export const T0 = Date.UTC(2024, 2, 4);
export const STEP_MS = 60_000;
/** Offset of every sample from the minute grid. */
export const SAMPLE_OFFSET_MS = 1234;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** Samples per series over the three days. */
export const STEPS = (3 * DAY) / STEP_MS;

export const PATHS = ['/a', '/b', '/c'] as const;
export const CODES = ['200', '500'] as const;
export const BUCKETS = ['0.1', '0.25', '0.5', '1', '2.5', '+Inf'] as const;
export const ROOMS = ['kitchen', 'lab', 'office'] as const;
export const TARGETS: readonly [job: string, instance: string][] = [
  ['api', 'a:9090'],
  ['api', 'b:9090'],
  ['node', 'c:9100'],
];

/** What differs between clusters. Steps are indexes into the 60 s grid from T0. */
export interface ClusterSpec {
  name: string;
  seed: number;
  /** Counter series [path, code] whose value drops back to 0 at `step`. */
  counterReset?: { path: string; code: string; step: number };
  /** All histogram series restart from 0 at this step. */
  histogramReset?: number;
  /** demo_requests_total{path="/new",code="200"} exists from this step on. */
  newSeriesFrom?: number;
  /** up{job="node"} has no samples in [from, to). */
  upGap?: [number, number];
  /** Steps covered (default [0, STEPS)). */
  range?: [number, number];
}

export const EU: ClusterSpec = { name: 'eu', seed: 11, counterReset: { path: '/b', code: '200', step: 2000 }, histogramReset: 3000 };
export const US: ClusterSpec = { name: 'us', seed: 29, counterReset: { path: '/a', code: '500', step: 3100 }, newSeriesFrom: 2200, upGap: [2400, 2460] };
/** Added while a store runs: 1.5 h inside the 2h block [T0+10h, T0+12h). */
export const AP: ClusterSpec = { name: 'ap', seed: 43, range: [600, 690] };

/** Timestamp (ms) of sample `step`. */
export const sampleTime = (step: number): number => T0 + step * STEP_MS + SAMPLE_OFFSET_MS;

interface Series {
  /** `name{a="b",...}` without the cluster label; `{` and the labels part kept apart. */
  name: string;
  labels: string;
  /** Value at each step, NaN where the series has no sample. */
  values: Float64Array;
}

function emptyValues(): Float64Array {
  return new Float64Array(STEPS).fill(NaN);
}

/** The series of one cluster grouped by metric family (in OpenMetrics family order). */
function clusterSeries(spec: ClusterSpec): Map<string, { type: string; series: Series[] }> {
  const rand = rng(spec.seed);
  const [from, to] = spec.range ?? [0, STEPS];
  const families = new Map<string, { type: string; series: Series[] }>();

  const counters: Series[] = [];
  const counterKeys: [string, string][] = PATHS.flatMap((p) => CODES.map((c): [string, string] => [p, c]));
  if (spec.newSeriesFrom !== undefined) counterKeys.push(['/new', '200']);
  counterKeys.forEach(([path, code], k) => {
    const values = emptyValues();
    let v = Math.floor(rand() * 1000);
    const start = path === '/new' ? spec.newSeriesFrom! : from;
    for (let i = start; i < to; i++) {
      if (spec.counterReset && spec.counterReset.path === path && spec.counterReset.code === code && i === spec.counterReset.step) v = 0;
      // Distinct rates per series (k spreads them), so topk has no ties.
      v += Math.floor(rand() * 20) + (code === '500' ? 0 : 3 * (k + 1));
      values[i] = v;
    }
    counters.push({ name: 'demo_requests_total', labels: `path="${path}",code="${code}"`, values });
  });
  families.set('demo_requests', { type: 'counter', series: counters });

  const buckets = BUCKETS.map(emptyValues);
  const sum = emptyValues();
  const count = emptyValues();
  const cum = new Array<number>(BUCKETS.length).fill(0);
  let s = 0;
  for (let i = from; i < to; i++) {
    if (i === spec.histogramReset) {
      cum.fill(0);
      s = 0;
    }
    const n = Math.floor(rand() * 30) + 1;
    for (let j = 0; j < n; j++) {
      // Observations in [0, 3.2): which buckets they fall in.
      const obs = Math.floor(rand() * 3200) / 1000;
      s += obs;
      BUCKETS.forEach((le, b) => {
        if (le === '+Inf' || obs <= Number(le)) cum[b]++;
      });
    }
    BUCKETS.forEach((_, b) => (buckets[b][i] = cum[b]));
    // Rounded so that the OpenMetrics text stays short; still a fraction.
    sum[i] = Math.round(s * 1000) / 1000;
    count[i] = cum[BUCKETS.length - 1];
  }
  families.set('demo_request_duration_seconds', {
    type: 'histogram',
    series: [
      ...BUCKETS.map((le, b) => ({ name: 'demo_request_duration_seconds_bucket', labels: `le="${le}"`, values: buckets[b] })),
      { name: 'demo_request_duration_seconds_sum', labels: '', values: sum },
      { name: 'demo_request_duration_seconds_count', labels: '', values: count },
    ],
  });

  families.set('demo_temperature_celsius', {
    type: 'gauge',
    series: ROOMS.map((room, r) => {
      const values = emptyValues();
      for (let i = from; i < to; i++) values[i] = Math.round((20 + r * 1.5 + 3 * Math.sin(i / 90 + r) + rand()) * 100) / 100;
      return { name: 'demo_temperature_celsius', labels: `room="${room}"`, values };
    }),
  });

  families.set('up', {
    type: 'gauge',
    series: TARGETS.map(([job, instance]) => {
      const values = emptyValues();
      for (let i = from; i < to; i++) {
        if (job === 'node' && spec.upGap && i >= spec.upGap[0] && i < spec.upGap[1]) continue;
        values[i] = rand() < 0.03 ? 0 : 1;
      }
      return { name: 'up', labels: `instance="${instance}",job="${job}"`, values };
    }),
  });
  return families;
}

/**
 * OpenMetrics text (timestamps in seconds with milliseconds) for the given clusters;
 * with `clusterLabel` every series carries `cluster="<name>"` (for a plain Prometheus),
 * without it the clusters must be told apart by external labels (one cluster per file).
 */
export function openMetrics(specs: readonly ClusterSpec[], clusterLabel: boolean): string {
  if (!clusterLabel && specs.length !== 1) throw new Error('openMetrics: several clusters need the cluster label');
  const perCluster = specs.map((s) => ({ name: s.name, families: clusterSeries(s) }));
  const out: string[] = [];
  for (const family of perCluster[0].families.keys()) {
    out.push(`# TYPE ${family} ${perCluster[0].families.get(family)!.type}`);
    for (const c of perCluster) {
      for (const series of c.families.get(family)!.series) {
        const labels = [clusterLabel ? `cluster="${c.name}"` : '', series.labels].filter(Boolean).join(',');
        const prefix = labels === '' ? series.name : `${series.name}{${labels}}`;
        for (let i = 0; i < STEPS; i++) {
          const v = series.values[i];
          if (Number.isNaN(v)) continue;
          out.push(`${prefix} ${v} ${(sampleTime(i) / 1000).toFixed(3)}`);
        }
      }
    }
  }
  out.push('# EOF', '');
  return out.join('\n');
}

/** Number of series of a cluster (as in clusterSeries). */
export function seriesCount(spec: ClusterSpec): number {
  let n = 0;
  for (const f of clusterSeries(spec).values()) n += f.series.length;
  return n;
}
