// The engine over real TSDB blocks (XOR chunks, block index, merged block queriers)
// must answer exactly as over the in-memory test storage holding the same samples.

import { BlocksQueryable, STALE_NAN, SeriesBuilder, labelsFromStrings } from '@thanos-ts/tsdb';
import { removeTempDir, rng, tempDir } from '@thanos-ts/testutil';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemStorage } from '../promqltest/mem-storage.js';
import type { Value } from '../value.js';
import { Engine } from './engine.js';

const H = 3600_000;

/** A value as comparable text, NaN payloads and -0 included. */
function dump(v: Value): string[] {
  const bits = (f: number): string => {
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, f);
    return b.getBigUint64(0).toString(16);
  };
  switch (v.type) {
    case 'vector':
      return v.vector.map((s) => `${JSON.stringify(s.metric)} ${s.t} ${bits(s.f)}`);
    case 'matrix':
      return v.matrix.map((s) => {
        const pts: string[] = [];
        for (let i = 0; i < s.floats.length; i++) pts.push(`${s.floats.t[i]}:${bits(s.floats.f[i])}`);
        return `${JSON.stringify(s.metric)} ${pts.join(' ')}`;
      });
    case 'scalar':
      return [bits(v.scalar.v)];
    case 'string':
      return [v.string.v];
  }
}

describe('engine over TSDB blocks', () => {
  let dir = '';
  let blocks: BlocksQueryable;
  const mem = new MemStorage();

  beforeAll(async () => {
    dir = await tempDir('promql-blocks');
    const b = new SeriesBuilder();
    const rand = rng(7);
    for (let s = 0; s < 12; s++) {
      const ls = labelsFromStrings('__name__', s % 3 === 0 ? 'http_requests_total' : 'cpu_seconds_total', 'instance', `i${s}`, 'job', `j${s % 4}`);
      let v = 0;
      // 5 hours at 15s with jitter and gaps, counter resets and a staleness marker.
      for (let t = 0; t < 5 * H; t += 15_000 + Math.floor(rand() * 3000)) {
        if (rand() < 0.02) continue;
        v = rand() < 0.005 ? 0 : v + Math.floor(rand() * 10);
        const f = s === 5 && t > 2 * H && t < 2 * H + 20_000 ? STALE_NAN : v;
        b.append(ls, t, f);
        mem.appendFloat(ls, t, f);
      }
    }
    await b.writeBlocks(dir, 2 * H);
    blocks = await BlocksQueryable.openDir(dir);
  });

  afterAll(async () => {
    await blocks?.close();
    await removeTempDir(dir);
  });

  const engine = Engine.forTests();
  const queries = [
    'http_requests_total',
    'rate(http_requests_total[5m])',
    'sum by (job) (rate({__name__=~".+_total"}[10m]))',
    'max_over_time(cpu_seconds_total{job="j1"}[1h])',
    'topk(3, increase(cpu_seconds_total[30m]))',
    'cpu_seconds_total / on(instance) group_left http_requests_total or cpu_seconds_total',
    'avg_over_time(rate(cpu_seconds_total[2m])[20m:1m])',
    'resets(cpu_seconds_total[2h]) > 0',
    'count_over_time(cpu_seconds_total{instance="i5"}[3m])',
    'quantile by (job) (0.9, deriv(cpu_seconds_total[15m]))',
  ];

  it('answers range queries across block boundaries like the in-memory storage', async () => {
    for (const q of queries) {
      const a = await engine.rangeQuery(blocks, q, H + 7_000, 3 * H + 7_000, 97_000);
      const b = await engine.rangeQuery(mem, q, H + 7_000, 3 * H + 7_000, 97_000);
      expect(dump(a.value), q).toEqual(dump(b.value));
      expect(a.value.type === 'matrix' && a.value.matrix.length > 0, q).toBe(true);
    }
  });

  it('answers instant queries like the in-memory storage', async () => {
    for (const q of queries) {
      for (const t of [0, 2 * H, 2 * H + 10_000, 4 * H + 1]) {
        const a = await engine.instantQuery(blocks, q, t);
        const b = await engine.instantQuery(mem, q, t);
        expect(dump(a.value), `${q} @ ${t}`).toEqual(dump(b.value));
      }
    }
  });
});
