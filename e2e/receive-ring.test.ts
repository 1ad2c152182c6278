// Three receivers in one hashring with replication factor 3, fed by two real Prometheus
// 2.42 replicas (external labels cluster="c1", __replica__="a"/"b") through remote write
// and by a load generator of our own; one `thanos-ts query` over the receivers' StoreAPIs
// deduplicates on __replica__ and receive_replica.
//
//   - a SIGKILLed receiver costs no failed write while two of three are up, and every
//     sample acknowledged with 200 is in the ring afterwards, exactly;
//   - the query answers as each Prometheus does (instant and range);
//   - a receiver whose newest WAL segment lost the end of its last record (SIGKILL, then
//     truncation in the middle of that record) repairs it on start, loses exactly that
//     record's samples, and the ring still serves every acknowledged sample from the
//     other replicas; a write every replica refuses is a 409, one without a quorum of
//     receivers up a 503.
//
// Determinism: the shared exporter's samples carry explicit timestamps on a 2 s grid, so
// both Prometheus store identical samples of it; everything else a Prometheus scrapes
// (itself, the exporter's `up`) is compared per Prometheus, selecting by instance. The
// query is evaluated at a millisecond offset no scrape timestamp has, so no sample sits on
// the boundary of a range (Prometheus 2.42's ranges are closed, ours left-open).

import { open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, removeTempDirs, startExporter, startPrometheus, tempDir, waitFor } from '@thanos-ts/testutil';
import type { Exporter, PrometheusInstance } from '@thanos-ts/testutil';
import { readSegment, record, WAL_PAGE_SIZE, WAL_RECORD_HEADER_SIZE } from '@thanos-ts/tsdb';
import { api } from './api.js';
import { startComponent } from './components.js';
import type { Component } from './components.js';
import { countSamples, diffSamples, LoadGenerator, logLines, pushWrite, receiverPorts, receiverProcess, seriesKey, storeSamples, writeBody } from './receive-load.js';
import type { ReceiverProcess, SampleSet } from './receive-load.js';

const TENANT = 'default-tenant';
/** Labels that tell replicas apart, or that only the query side has. */
const REPLICA_LABELS = ['receive_replica', '__replica__'];
const GRID = 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function exposition(): string {
  const ts = Math.floor(Date.now() / GRID) * GRID;
  const n = ts / GRID;
  return [
    '# TYPE demo_requests_total counter',
    `demo_requests_total{code="200"} ${n * 3} ${ts}`,
    `demo_requests_total{code="500"} ${n} ${ts}`,
    '# TYPE demo_temperature_celsius gauge',
    `demo_temperature_celsius{room="kitchen"} ${20 + (n % 7) * 0.5} ${ts}`,
    `demo_temperature_celsius{room="office"} ${21.25 + (n % 5) * 0.75} ${ts}`,
    '',
  ].join('\n');
}

let exporter: Exporter;
const dirs: string[] = [];
const receivers: ReceiverProcess[] = [];
const proms: { name: string; prom: PrometheusInstance; instance: string }[] = [];
let query: Component;
let qurl: string;
let promsStarted = 0;
/** Samples acknowledged by the ring over the whole file. */
const acked: SampleSet = new Map();

beforeAll(async () => {
  const t0 = Date.now();
  exporter = await startExporter(exposition);
  const ports = await Promise.all([0, 1, 2].map(() => receiverPorts()));
  const hashrings = join(await tempDir('ring-config'), 'hashrings.json');
  await writeFile(hashrings, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => p.grpc) }]));
  for (let i = 0; i < 3; i++) {
    dirs.push(await tempDir(`ring-tsdb-${i}`));
    receivers.push(
      receiverProcess(ports[i], [
        '--tsdb.path', dirs[i],
        '--label', `receive_replica="${i}"`,
        '--receive.hashrings-file', hashrings,
        '--receive.local-endpoint', ports[i].grpc,
        '--receive.replication-factor', '3',
      ]),
    );
  }
  // Prometheus "a" writes to receiver 0, "b" to receiver 1; receiver 2 only gets replicas.
  // They start with the receivers: their first scrape comes seconds after they are ready,
  // and remote write retries until the receivers are.
  const promPorts = [await freePort(), await freePort()];
  const receiversUp = Promise.all(receivers.map((r) => r.start()));
  receiversUp.catch(() => undefined);
  const started = await Promise.all(
    ['a', 'b'].map((name, i) =>
      startPrometheus({
        port: promPorts[i],
        scrapeInterval: '1s',
        externalLabels: { cluster: 'c1', __replica__: name },
        config: {
          scrape_configs: [{ job_name: 'exporter', static_configs: [{ targets: [exporter.target] }] }],
          remote_write: [{ url: `http://${receivers[i].rw}/api/v1/receive`, queue_config: { batch_send_deadline: '500ms', min_backoff: '100ms', max_backoff: '500ms' } }],
        },
      }),
    ),
  );
  promsStarted = Date.now();
  for (const [i, name] of ['a', 'b'].entries()) proms.push({ name, prom: started[i], instance: `127.0.0.1:${promPorts[i]}` });
  await receiversUp;

  query = await startComponent([
    'query',
    ...receivers.flatMap((r) => ['--endpoint', r.grpc]),
    ...REPLICA_LABELS.flatMap((l) => ['--query.replica-label', l]),
    // Receive replicas hold the same samples: merged sample by sample, nothing is thinned out.
    '--deduplication.func', 'chain',
    '--endpoint.info-timeout', '1s',
  ]);
  qurl = `http://${query.httpAddress}`;
  console.log(`receive-ring e2e: stack up in ${Date.now() - t0} ms`);
}, 60_000);

afterAll(async () => {
  await query?.stop();
  await Promise.all(proms.map((p) => p.prom.stop()));
  await Promise.all(receivers.map((r) => r.kill()));
  await exporter?.stop();
  await removeTempDirs();
});

function addAll(into: SampleSet, from: SampleSet): void {
  for (const [k, m] of from) {
    let d = into.get(k);
    if (d === undefined) into.set(k, (d = new Map()));
    for (const [t, v] of m) d.set(t, v);
  }
}

const samplesIn = (s: SampleSet, pred: (t: number) => boolean): number => {
  let n = 0;
  for (const m of s.values()) for (const t of m.keys()) if (pred(t)) n++;
  return n;
};

describe('receive: three receivers, replication factor 3', () => {
  it('takes load while one receiver is SIGKILLed and restarted: no failed write, every acknowledged sample in the ring', async () => {
    const [r0, r1, r2] = receivers;
    const load = new LoadGenerator(
      receivers.map((r) => r.rw),
      { metric: 'ring_load', lanes: 2, seriesPerLane: 10, intervalMs: 50 },
    );
    await sleep(2500);
    // Like a load balancer that took receiver 2 out: its in-flight request is answered first.
    load.targets = [r0.rw, r1.rw];
    await load.settled();
    const killedAt = Date.now();
    await r2.kill();
    await sleep(3000);
    const restartAt = Date.now();
    await r2.start();
    const backAt = Date.now();
    await sleep(1000);
    load.targets = receivers.map((r) => r.rw);
    await sleep(2500);
    await load.stop();

    const byStatus = new Map<number, number>();
    for (const e of load.events) byStatus.set(e.status, (byStatus.get(e.status) ?? 0) + 1);
    console.log(`receive-ring e2e: ${load.events.length} writes ${JSON.stringify([...byStatus])}, receiver 2 down ${restartAt - killedAt} ms, restarted in ${backAt - restartAt} ms`);
    const during = load.events.filter((e) => e.at >= killedAt && e.at <= backAt);
    expect(during.length).toBeGreaterThan(20);
    expect(during.filter((e) => e.status >= 500 || e.status === 0)).toEqual([]);
    // Nothing conflicts either: each series' samples are written in order.
    expect(load.failures()).toEqual([]);
    expect(countSamples(load.acked)).toBe(countSamples(load.sent));

    // Every acknowledged sample is in the ring, once, with its value; nothing else is.
    const ring = await storeSamples(receivers.map((r) => r.grpc), 'ring_load', ['receive_replica']);
    expect(diffSamples(addTenant(load.acked), ring)).toBeNull();
    addAll(acked, load.acked);
    // Receiver 2 has nothing from while it was down, and got writes again after it came back.
    const own2 = await storeSamples([r2.grpc], 'ring_load', ['receive_replica']);
    expect(samplesIn(own2, (t) => t > killedAt + 200 && t < restartAt)).toBe(0);
    expect(samplesIn(own2, (t) => t > backAt)).toBeGreaterThan(0);
    expect(samplesIn(own2, (t) => t < killedAt - 200)).toBeGreaterThan(0);
    // Receivers 0 and 1 took the writes meant for 2 in the meantime.
    for (const r of [r0, r1]) expect(samplesIn(await storeSamples([r.grpc], 'ring_load', ['receive_replica']), (t) => t > killedAt + 200 && t < restartAt)).toBeGreaterThan(0);

    // Through the query, deduplicated: 20 series, every sample counted once.
    const lastTs = Math.max(...[...load.acked.values()].flatMap((m) => [...m.keys()]));
    const at = ((lastTs + 1) / 1000).toFixed(3);
    await waitFor(
      async () => {
        const n = await api(qurl, '/api/v1/query', { query: 'count(ring_load)', time: at });
        const c = await api(qurl, '/api/v1/query', { query: 'sum(count_over_time(ring_load[5m]))', time: at });
        return n.body.data?.result?.[0]?.value[1] === '20' && c.body.data?.result?.[0]?.value[1] === String(countSamples(load.acked));
      },
      { timeoutMs: 15_000, intervalMs: 500, what: 'the query counting every acknowledged sample once' },
    );
    const series = await api(qurl, '/api/v1/series', { 'match[]': 'ring_load', start: String(Math.floor(lastTs / 1000) - 60), end: at });
    expect(series.body.data).toHaveLength(20);
    for (const s of series.body.data as Record<string, string>[]) {
      expect(s).toMatchObject({ tenant_id: TENANT });
      for (const l of REPLICA_LABELS) expect(s).not.toHaveProperty(l);
    }
  }, 60_000);

  it('answers a fixed query list, instant and range, as each Prometheus does', async () => {
    // Every window of every step must lie after both Prometheus' first scrape, so that
    // both sides see whole windows (at the start of a counter, Prometheus 2.42 and our
    // engine extrapolate rate differently; and a Prometheus does not remote-write samples
    // older than its WAL watcher's start, which the exporter's first, grid-timestamped
    // sample may be).
    const firstScrape = Math.max(...(await Promise.all(proms.map(async (p) => {
      const r = await api(p.prom.url, '/api/v1/query', { query: 'min_over_time(timestamp(up)[5m:1s])' });
      return Math.max(...(r.body.data.result as { value: [number, string] }[]).map((s) => Number(s.value[1]) * 1000));
    }))));
    const wait = firstScrape + 1000 + RANGE_MS + MAX_WINDOW_MS + EVAL_DELAY_MS + 2500 - Date.now();
    if (wait > 0) await sleep(wait);
    const t = await evaluationTime();
    expect(t - RANGE_MS - MAX_WINDOW_MS).toBeGreaterThan(firstScrape + 1000);
    const range = { start: ((t - RANGE_MS) / 1000).toFixed(3), end: (t / 1000).toFixed(3), step: '2' };
    let compared = 0;
    for (const [i, p] of proms.entries()) {
      const other = proms[1 - i].instance;
      // What this Prometheus scraped, in the ring: not the other one's self-scrape.
      const ringSel: Sel = (metric, extra) => `${metric}{instance!="${other}"${extra ? ',' + extra : ''}}`;
      const promSel: Sel = (metric, extra) => `${metric}{${extra ?? ''}}`;
      for (const [name, q] of QUERIES) {
        for (const [path, params] of [
          ['/api/v1/query', { time: (t / 1000).toFixed(3) }],
          ['/api/v1/query_range', range],
        ] as const) {
          const what = `${path} ${name} vs Prometheus ${p.name}`;
          const want = await api(p.prom.url, path, { query: q(promSel), ...params });
          expect(want.body.status, what).toBe('success');
          expect(want.body.data.result.length, `${what}: Prometheus has data`).toBeGreaterThan(0);
          let last = '';
          await waitFor(
            async () => {
              const got = await api(qurl, path, { query: q(ringSel), ...params });
              last = got.text;
              if (got.body.status !== 'success' || got.body.warnings !== undefined) return false;
              for (const s of got.body.data.result as { metric: Record<string, string> }[]) for (const l of REPLICA_LABELS) if (l in s.metric) throw new Error(`${l} not deduplicated: ${got.text}`);
              return JSON.stringify(normalize(got.body.data)) === JSON.stringify(normalize(want.body.data));
            },
            { timeoutMs: 15_000, intervalMs: 500, what },
          ).catch(async (err: Error) => {
            throw new Error(`${err.message}\nlast answer: ${last}\nPrometheus: ${want.text}\n${await rawDiff(q(promSel), q(ringSel), p.prom.url, t)}`);
          });
          compared++;
        }
      }
    }
    expect(compared).toBe(proms.length * QUERIES.length * 2);
  }, 70_000);

  it('repairs a WAL segment cut in the middle of its last record; the other replicas still have every acknowledged sample', async () => {
    // A quiet ring, so the victim's last WAL record is the write below.
    await Promise.all(proms.map((p) => p.prom.stop()));
    const [r0, , r2] = receivers;
    const n = 40;
    const ts = Date.now();
    const finalSeries = Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'ring_final', series: String(i) }, samples: [[ts, i + 0.25]] as [number, number][] }));
    expect(await pushWrite(r0.rw, writeBody(finalSeries))).toEqual({ status: 200, text: '' });
    const final: SampleSet = new Map(finalSeries.map((s) => [seriesKey(s.labels), new Map(s.samples)]));
    addAll(acked, final);
    await waitFor(async () => countSamples(await storeSamples([r2.grpc], 'ring_final', ['receive_replica'])) === n, { timeoutMs: 10_000, what: 'receiver 2 has the last write' });
    const before = await storeSamples([r2.grpc], 'ring_.*', ['receive_replica']);

    await r2.kill();
    const walDir = join(dirs[2], TENANT, 'wal');
    const segNames = (await readdir(walDir)).filter((f) => /^\d{8}$/.test(f)).sort();
    const seg = segNames[segNames.length - 1];
    const path = join(walDir, seg);
    const size = (await stat(path)).size;
    const last = lastRecord(await readFile(path));
    expect(last.end, 'the segment ends with a whole record').toBe(size);
    let lastPayload: Uint8Array | null = null;
    for await (const rec of readSegment(walDir, Number(seg))) lastPayload = rec;
    expect(record.recordType(lastPayload!)).toBe(record.RecordType.Samples);
    const lostInRecord = record.decodeSamples(lastPayload!).length;
    expect(lostInRecord).toBeGreaterThan(0);
    const cut = last.start + Math.floor((last.end - last.start) / 2);
    expect(cut).toBeGreaterThan(last.start + WAL_RECORD_HEADER_SIZE);
    const fh = await open(path, 'r+');
    await fh.truncate(cut);
    await fh.close();

    await r2.start();
    console.log(`receive-ring e2e: WAL segment ${seg} cut at ${cut} of ${size} bytes, in its last record [${last.start}, ${last.end}) of ${lostInRecord} samples`);
    const repaired = logLines(r2.runLogs(), 'wal: repaired a damaged tail: cut at the last whole record');
    expect(repaired).toHaveLength(1);
    expect(repaired[0]).toMatchObject({ segment: Number(seg), offset: last.start, droppedBytes: cut - last.start });
    expect(logLines(r2.runLogs(), 'opened tenant TSDB')[0]).toMatchObject({ tenant: TENANT, repaired: { segment: Number(seg), offset: last.start } });

    // The victim lost exactly the samples of the damaged record, all from the last write.
    const after = await storeSamples([r2.grpc], 'ring_.*', ['receive_replica']);
    const lost: SampleSet = new Map();
    for (const [k, m] of before) {
      for (const [t, v] of m) {
        const av = after.get(k)?.get(t);
        if (av === undefined) {
          if (!lost.has(k)) lost.set(k, new Map());
          lost.get(k)!.set(t, v);
        } else expect(av, `${k}@${t}`).toBe(v);
      }
    }
    expect(countSamples(after)).toBe(countSamples(before) - lostInRecord);
    expect(countSamples(lost)).toBe(lostInRecord);
    for (const [k, m] of lost) {
      expect(JSON.parse(k)).toContainEqual(['__name__', 'ring_final']);
      expect([...m.keys()]).toEqual([ts]);
    }

    // Every sample acknowledged over the whole file is still in the ring.
    const ring = await storeSamples(receivers.map((r) => r.grpc), 'ring_.*', ['receive_replica']);
    expect(diffSamples(addTenant(acked), ring)).toBeNull();
    await waitFor(async () => (await api(qurl, '/api/v1/query', { query: 'count(ring_final)', time: ((ts + 1) / 1000).toFixed(3) })).body.data?.result?.[0]?.value[1] === String(n), {
      timeoutMs: 10_000,
      what: 'every series of the last write through the query',
    });
    // The repaired receiver takes writes again.
    expect((await pushWrite(r2.rw, writeBody(finalSeries.map((s) => ({ labels: s.labels, samples: [[ts + 1000, 1]] }))))).status).toBe(200);

    // Refused by every replica: 409. Two of three receivers down: no quorum, 503.
    const older = await pushWrite(r0.rw, writeBody([{ labels: finalSeries[0].labels, samples: [[ts + 500, 2]] }]));
    expect(older.status, older.text).toBe(409);
    await Promise.all([receivers[1].kill(), r2.kill()]);
    const noQuorum = await pushWrite(r0.rw, writeBody([{ labels: finalSeries[0].labels, samples: [[ts + 2000, 3]] }]));
    expect(noQuorum.status, noQuorum.text).toBe(503);
  }, 60_000);
});

/** The series keys of a load set with the tenant label the receivers add. */
function addTenant(s: SampleSet): SampleSet {
  const out: SampleSet = new Map();
  for (const [k, m] of s) out.set(seriesKey({ ...Object.fromEntries(JSON.parse(k) as [string, string][]), tenant_id: TENANT }), m);
  return out;
}

/** Where the last record of a WAL segment starts and ends (fragment headers: type, length(2), crc(4)). */
function lastRecord(buf: Buffer): { start: number; end: number } {
  let start = -1;
  let last = { start: -1, end: -1 };
  for (let page = 0; page < buf.length; page += WAL_PAGE_SIZE) {
    const pageEnd = Math.min(page + WAL_PAGE_SIZE, buf.length);
    let pos = page;
    while (pos + WAL_RECORD_HEADER_SIZE <= pageEnd) {
      const type = buf[pos] & 0x07;
      if (type === 0) break; // the rest of the page is padding
      const len = buf.readUInt16BE(pos + 1);
      if (type === 1 || type === 2) start = pos; // full, first
      pos += WAL_RECORD_HEADER_SIZE + len;
      if (type === 1 || type === 4) last = { start, end: pos }; // full, last
    }
  }
  if (last.start < 0) throw new Error('no record in the segment');
  return last;
}

/**
 * For a failed comparison: the raw samples (2 minutes up to t) of the selectors in the
 * two queries, Prometheus's against the query's, where they differ.
 */
async function rawDiff(promQuery: string, ringQuery: string, promUrl: string, t: number): Promise<string> {
  const sels = (q: string): string[] => q.match(/[a-z_]+\{[^}]*\}/g) ?? [];
  const out: string[] = [];
  const [ps, rs] = [sels(promQuery), sels(ringQuery)];
  for (let i = 0; i < ps.length; i++) {
    const raw = async (url: string, sel: string): Promise<Map<string, string>> => {
      const r = await api(url, '/api/v1/query', { query: `${sel}[2m]`, time: (t / 1000).toFixed(3) });
      const m = new Map<string, string>();
      for (const s of (r.body.data?.result ?? []) as { metric: Record<string, string>; values: [number, string][] }[]) {
        const { cluster: _c, tenant_id: _t, ...l } = s.metric;
        for (const [ts, v] of s.values) m.set(`${JSON.stringify(Object.entries(l).sort())}@${ts}`, v);
      }
      return m;
    };
    const [a, b] = [await raw(promUrl, ps[i]), await raw(qurl, rs[i])];
    const d: string[] = [];
    for (const [k, v] of a) if (b.get(k) !== v) d.push(`${k}: Prometheus ${v}, query ${b.get(k)}`);
    for (const [k, v] of b) if (!a.has(k)) d.push(`${k}: Prometheus -, query ${v}`);
    out.push(`raw ${ps[i]}[2m]: ${a.size} samples in Prometheus, ${b.size} through the query; ${d.length} differ: ${d.slice(0, 8).join('; ')}`);
  }
  return out.join('\n');
}

/** A selector builder: `m('up', 'job="x"')`. */
type Sel = (metric: string, extra?: string) => string;

/** The fixed query list: Prometheus's own metrics, scrape metrics and the shared exporter's. */
const QUERIES: [string, (m: Sel) => string][] = [
  ['up', (m) => m('up')],
  ['count by job', (m) => `count by (job) (${m('up')})`],
  ['head samples rate', (m) => `rate(${m('prometheus_tsdb_head_samples_appended_total')}[10s])`],
  ['scrape duration', (m) => `sum(${m('scrape_duration_seconds', 'job="prometheus"')})`],
  ['samples scraped', (m) => m('scrape_samples_scraped', 'job="prometheus"')],
  ['exporter rate by code', (m) => `sum by (code) (rate(${m('demo_requests_total')}[10s]))`],
  ['exporter increase', (m) => `increase(${m('demo_requests_total', 'code="500"')}[6s])`],
  ['exporter gauge', (m) => `max_over_time(${m('demo_temperature_celsius')}[10s]) * 2`],
];
/** Length of the range queries, longest range selector above, and how far in the past they end. */
const RANGE_MS = 10_000;
const MAX_WINDOW_MS = 10_000;
const EVAL_DELAY_MS = 5_000;

/**
 * A time (ms) about EVAL_DELAY_MS ago whose millisecond offset is as far as possible from every
 * scrape timestamp's offset and from the exporter's whole seconds, so that no sample is
 * on the boundary of a range selector or step.
 */
async function evaluationTime(): Promise<number> {
  const used = new Set<number>([0]);
  for (const p of proms) {
    const r = await api(p.prom.url, '/api/v1/query', { query: 'up[2m]' });
    for (const s of r.body.data.result as { values: [number, string][] }[]) for (const [t] of s.values) used.add(Math.round(t * 1000) % 1000);
  }
  let best = 500;
  let bestDist = -1;
  for (let off = 0; off < 1000; off++) {
    let d = 1000;
    for (const u of used) d = Math.min(d, Math.abs(off - u), 1000 - Math.abs(off - u));
    if (d > bestDist) [best, bestDist] = [off, d];
  }
  return Math.floor((Date.now() - EVAL_DELAY_MS - 1000) / 1000) * 1000 + best;
}

/** A result without the labels only the query side has, series sorted, for comparison. */
function normalize(data: { resultType: string; result: { metric: Record<string, string>; value?: unknown; values?: unknown }[] }): unknown {
  return {
    resultType: data.resultType,
    result: data.result
      .map((s) => {
        const { cluster: _c, tenant_id: _t, ...metric } = s.metric;
        return JSON.stringify([Object.entries(metric).sort(), s.value ?? s.values]);
      })
      .sort(),
  };
}
