import { afterAll, describe, expect, it } from 'vitest';
import { nopLogger } from '@thanos-ts/runtime';
import { io, prometheus, snappyCompress, StoreAPIError, StoreClient, thanos } from '@thanos-ts/storeapi';
import { chunkFromBytes, labelsToString, ValueType } from '@thanos-ts/tsdb';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { Receive } from './receive.js';
import { config } from './receive-fixture.js';
import { limitsConfigContent } from './limits.js';
import { validateSeriesLabels } from './writer.js';

afterAll(() => removeTempDirs());

type Series = { labels: Record<string, string>; samples: [number, number][] };

function body(series: Series[]): Uint8Array {
  const w = prometheus.WriteRequest.encode({
    timeseries: series.map((s) => ({ labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })), samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })) })),
  }).finish();
  return snappyCompress(w);
}

async function post(r: Receive, data: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${r.remoteWriteAddress}/api/v1/receive`, { method: 'POST', body: data, headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', ...headers } });
  return { status: res.status, text: await res.text() };
}

async function query(r: Receive, metric: string): Promise<Map<string, [number, number][]>> {
  const c = new StoreClient(r.grpcAddress);
  try {
    const out = new Map<string, [number, number][]>();
    for await (const f of c.series({ minTime: 0, maxTime: Date.now() + 3600_000, matchers: [{ type: 0, name: '__name__', value: metric }] })) {
      if (!f.series) continue;
      const samples: [number, number][] = [];
      for (const ch of f.series.chunks) {
        const it = chunkFromBytes(ch.raw!.type + 1, ch.raw!.data).iterator();
        while (it.next() !== ValueType.None) samples.push([it.atT(), it.atF()]);
      }
      out.set(labelsToString(f.series.labels), samples);
    }
    return out;
  } finally {
    c.close();
  }
}

describe('validateSeriesLabels', () => {
  it('applies Thanos labelpb checks', () => {
    expect(validateSeriesLabels([{ name: '__name__', value: 'a' }, { name: 'b', value: 'c' }])).toBeNull();
    expect(validateSeriesLabels([])).toBe('label set contains a label with empty name or value');
    expect(validateSeriesLabels([{ name: 'a', value: '' }])).toBe('label set contains a label with empty name or value');
    expect(validateSeriesLabels([{ name: 'b', value: '1' }, { name: 'a', value: '1' }])).toBe('out of order labels');
    expect(validateSeriesLabels([{ name: 'a', value: '1' }, { name: 'a', value: '2' }])).toBe('label set contains duplicate label names');
  });
});

describe('Receive', () => {
  it('writes, answers Thanos status codes, serves tenants over StoreAPI and keeps data over a restart', async () => {
    const dir = await tempDir('receive');
    let r = new Receive(config(dir));
    await r.start();
    try {
      const ok = await post(r, body([{ labels: { __name__: 'm', job: 'a' }, samples: [[1000, 1], [2000, 2]] }]));
      expect(ok).toEqual({ status: 200, text: '' });
      expect((await post(r, body([{ labels: { __name__: 'm', job: 'a' }, samples: [[3000, 3]] }]), { 'THANOS-TENANT': 'team-b' })).status).toBe(200);

      const bad = await post(r, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 1));
      expect(bad.status).toBe(400);
      expect(bad.text).toMatch(/^snappy decode error: /);
      const badProto = await post(r, snappyCompress(Uint8Array.of(0x0a, 0x50, 1, 2)));
      expect(badProto.status).toBe(400);
      expect(badProto.text).toMatch(/^proto: decode prometheus\.WriteRequest: /);
      expect((await post(r, body([]), { 'THANOS-TENANT': '..' })).status).toBe(400);

      // One sample out of order, one series with unsorted labels, one good sample: 409, the good one kept.
      const conflict = await post(r, body([
        { labels: { __name__: 'm', job: 'a' }, samples: [[500, 9], [4000, 4]] },
        { labels: { job: 'x', __name__: 'm' }, samples: [[4000, 4]] },
      ]));
      expect(conflict.status).toBe(409);
      expect(conflict.text).toBe('forwarding request to endpoint {}: writing locally: 2 errors: add 1 samples: out of order sample; add 1 series: out of order labels\n');

      const info = await query(r, 'm');
      expect(Object.fromEntries(info)).toEqual({
        '{__name__="m", cluster="eu1", job="a", tenant_id="default-tenant"}': [[1000, 1], [2000, 2], [4000, 4]],
        '{__name__="m", cluster="eu1", job="a", tenant_id="team-b"}': [[3000, 3]],
      });
      const metrics = await (await fetch(`http://${r.httpAddress}/metrics`)).text();
      expect(metrics).toMatch(/thanos_receive_write_samples_count\{code="409",tenant="default-tenant"\} 1/);
    } finally {
      await r.stop();
    }

    r = new Receive(config(dir));
    await r.start();
    try {
      expect((await query(r, 'm')).size).toBe(2);
      expect((await post(r, body([{ labels: { __name__: 'm', job: 'a' }, samples: [[5000, 5]] }]))).status).toBe(200);
    } finally {
      await r.stop();
    }
  });

  it("takes a peer's thanos.WriteRequest over gRPC, read in place or decoded, with Thanos's status codes and texts", async () => {
    const r = new Receive(config(await tempDir('receive-grpc')));
    await r.start();
    const c = new StoreClient(r.grpcAddress);
    const ts = (job: string, samples: [number, number][], extra: object = {}): prometheus.TimeSeries.$Properties => ({
      labels: [{ name: '__name__', value: 'g' }, { name: 'job', value: job }],
      samples: samples.map(([timestamp, value]) => ({ timestamp, value })),
      ...extra,
    });
    const exemplar = { exemplars: [{ value: 1, timestamp: 1, labels: [{ name: 'trace_id', value: 'x' }] }] };
    const send = async (req: thanos.WriteRequest.$Properties): Promise<{ code: number; details: string }> => {
      try {
        await c.remoteWrite(thanos.WriteRequest.encode(req).finish());
        return { code: 0, details: '' };
      } catch (err) {
        if (!(err instanceof StoreAPIError)) throw err;
        return { code: err.code, details: err.details };
      }
    };
    try {
      // Two tenants (fast path), the legacy fields (fast path), exemplars (the codec's path).
      expect(await send({ replica: 1, timeseriesTenantData: [{ tenant: 't1', timeseries: [ts('a', [[1000, 1]])] }, { tenant: 't2', timeseries: [ts('a', [[1000, 2]]), ts('b', [[1000, 3]])] }] })).toEqual({ code: 0, details: '' });
      expect(await send({ tenant: 't3', timeseries: [ts('a', [[1000, 4]])] })).toEqual({ code: 0, details: '' });
      expect(await send({ timeseriesTenantData: [{ tenant: 't1', timeseries: [ts('a', [[2000, 5]], exemplar)] }] })).toEqual({ code: 0, details: '' });
      expect(Object.fromEntries(await query(r, 'g'))).toEqual({
        '{__name__="g", cluster="eu1", job="a", tenant_id="t1"}': [[1000, 1], [2000, 5]],
        '{__name__="g", cluster="eu1", job="a", tenant_id="t2"}': [[1000, 2]],
        '{__name__="g", cluster="eu1", job="b", tenant_id="t2"}': [[1000, 3]],
        '{__name__="g", cluster="eu1", job="a", tenant_id="t3"}': [[1000, 4]],
      });

      // A conflict answers AlreadyExists with the same text on either path.
      const want = { code: 6, details: 'forwarding request to endpoint {}: writing locally: add 1 samples: duplicate sample for timestamp' };
      expect(await send({ timeseriesTenantData: [{ tenant: 't2', timeseries: [ts('a', [[1000, 9]])] }] })).toEqual(want);
      expect(await send({ timeseriesTenantData: [{ tenant: 't2', timeseries: [ts('a', [[1000, 9]], exemplar)] }] })).toEqual(want);
      expect(await send({ replica: 2, timeseriesTenantData: [{ tenant: 't1', timeseries: [ts('a', [[3000, 1]])] }] })).toEqual({ code: 3, details: 'request replica exceeds receiver replication factor' });
      const malformed = await c.remoteWrite(Uint8Array.of(0x22, 0x50, 1)).catch((err: unknown) => err);
      expect(malformed).toBeInstanceOf(StoreAPIError);
      expect((malformed as StoreAPIError).code).toBe(3);
      expect((malformed as StoreAPIError).details).toMatch(/^malformed WriteRequest: /);
    } finally {
      c.close();
      await r.stop();
    }
  });

  it('takes remote write 2.0 (symbols table) and answers with the written counts', async () => {
    const r = new Receive(config(await tempDir('receive-v2')));
    await r.start();
    try {
      const req = io.prometheus.write.v2.Request.encode({
        symbols: ['', '__name__', 'v2_metric', 'job', 'b'],
        timeseries: [{ labelsRefs: [1, 2, 3, 4], samples: [{ value: 7, timestamp: 1000 }, { value: 8, timestamp: 2000 }] }],
      }).finish();
      const headers = { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'X-Prometheus-Remote-Write-Version': '2.0.0' };
      const res = await fetch(`http://${r.remoteWriteAddress}/api/v1/receive`, { method: 'POST', body: snappyCompress(req), headers: { 'Content-Encoding': 'snappy', ...headers } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-prometheus-remote-write-samples-written')).toBe('2');
      expect(Object.fromEntries(await query(r, 'v2_metric'))).toEqual({
        '{__name__="v2_metric", cluster="eu1", job="b", tenant_id="default-tenant"}': [[1000, 7], [2000, 8]],
      });
      const badRef = io.prometheus.write.v2.Request.encode({ symbols: ['', '__name__'], timeseries: [{ labelsRefs: [1, 9], samples: [{ value: 1, timestamp: 1 }] }] }).finish();
      const bad = await fetch(`http://${r.remoteWriteAddress}/api/v1/receive`, { method: 'POST', body: snappyCompress(badRef), headers });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toMatch(/outside of symbols table/);
      const noType = await fetch(`http://${r.remoteWriteAddress}/api/v1/receive`, { method: 'POST', body: snappyCompress(req), headers: { 'X-Prometheus-Remote-Write-Version': '2.0.0', 'Content-Type': 'text/plain' } });
      expect(noType.status).toBe(400);
      expect(await noType.text()).toBe('required headers Content-Type and/or X-Prometheus-Remote-Write-Version not found\n');
    } finally {
      await r.stop();
    }
  });

  it('applies --receive.limits-config: 413 past a request limit, 429 once a tenant is at its head series limit', async () => {
    const yaml = ['write:', '  default:', '    request:', '      series_limit: 3', '  tenants:', '    small:', '      head_series_limit: 2'].join('\n');
    const r = new Receive({ ...config(await tempDir('receive-limits')), limits: { source: limitsConfigContent({ content: yaml }), reloadIntervalMs: 1000 } });
    await r.start();
    try {
      const four = body(Array.from({ length: 4 }, (_, i) => ({ labels: { __name__: 'l', i: String(i) }, samples: [[1000, i]] })));
      expect(await post(r, four)).toEqual({ status: 413, text: 'too many timeseries\n' });
      const two = body(Array.from({ length: 2 }, (_, i) => ({ labels: { __name__: 'l', i: String(i) }, samples: [[1000, i]] })));
      expect((await post(r, two, { 'THANOS-TENANT': 'small' })).status).toBe(200);
      expect(await post(r, two, { 'THANOS-TENANT': 'small' })).toEqual({ status: 429, text: 'tenant is above active series limit\n' });
      expect((await post(r, two, { 'THANOS-TENANT': 'big' })).status).toBe(200);
      const metrics = await (await fetch(`http://${r.httpAddress}/metrics`)).text();
      expect(metrics).toMatch(/thanos_receive_head_series_limited_requests_total\{tenant="small"\} 1/);
    } finally {
      await r.stop();
    }
  });

  it('takes out-of-order samples within --tsdb.out-of-order.time-window and refuses samples too far in the future', async () => {
    const r = new Receive({ ...config(await tempDir('receive-ooo')), outOfOrderTimeWindowMs: 3600_000, tooFarInFutureMs: 60_000 });
    await r.start();
    try {
      const now = Date.now();
      const at = (t: number, v: number): Uint8Array => body([{ labels: { __name__: 'ooo', job: 'a' }, samples: [[t, v]] }]);
      expect((await post(r, at(now, 1))).status).toBe(200);
      expect((await post(r, at(now - 600_000, 2))).status).toBe(200);
      const tooOld = await post(r, at(now - 7200_000, 3));
      expect(tooOld.status).toBe(409);
      expect(tooOld.text).toMatch(/add 1 samples: too old sample/);
      const future = await post(r, at(now + 120_000, 4));
      expect(future.status).toBe(409);
      expect(future.text).toMatch(/add 1 samples: out of bounds/);
      const got = [...(await query(r, 'ooo')).values()][0];
      expect(got).toEqual([[now - 600_000, 2], [now, 1]]);
    } finally {
      await r.stop();
    }
  });
});
