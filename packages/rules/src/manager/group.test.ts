import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelsFromRecord, type DB } from '@thanos-ts/tsdb';
import type { QueryFunc, VectorSample } from '../types.js';
import { Group } from './group.js';
import { RecordingRule } from './recording-rule.js';
import { engineQuery, groupContext, metricValue, openDB, rawSeries } from './manager-fixture.js';
import { labelsHash, xxhash64, formatFloatE, formatGoTime } from './go-compat.js';
import { queryEscape } from '../notifier/generator-url.js';

const M = 60_000;

describe('go-compat', () => {
  it('matches Go', () => {
    expect(xxhash64(new Uint8Array()).toString(16)).toBe('ef46db3751d8e999');
    expect(xxhash64(new TextEncoder().encode('abc')).toString(16)).toBe('44bc2cf5ad770999');
    const long = new TextEncoder().encode('Nobody inspects the spammish repetition');
    expect(xxhash64(long).toString(16)).toBe('fbcea83c8a378bf1');
    expect(labelsHash([])).toBe(xxhash64(new Uint8Array()));
    expect(formatFloatE(1)).toBe('1e+00');
    expect(formatFloatE(0.5)).toBe('5e-01');
    expect(formatFloatE(1234.5)).toBe('1.2345e+03');
    expect(formatFloatE(1e100)).toBe('1e+100');
    expect(formatGoTime(null)).toBe('0001-01-01T00:00:00Z');
    expect(formatGoTime(0)).toBe('1970-01-01T00:00:00Z');
    expect(formatGoTime(1500)).toBe('1970-01-01T00:00:01.5Z');
    expect(queryEscape('sum(up) == 0')).toBe('sum%28up%29+%3D%3D+0');
  });
});

function canned(results: VectorSample[][]): QueryFunc & { calls: Array<{ expr: string; t: number; partialResponse?: boolean }> } {
  let i = 0;
  const calls: Array<{ expr: string; t: number; partialResponse?: boolean }> = [];
  const f = (async (expr: string, t: number, o?: { partialResponse?: boolean }) => {
    calls.push({ expr, t, partialResponse: o?.partialResponse });
    return results[Math.min(i++, results.length - 1)];
  }) as QueryFunc & { calls: typeof calls };
  f.calls = calls;
  return f;
}

const up = (job: string, v: number): VectorSample => ({ labels: labelsFromRecord({ __name__: 'up', job }), value: v });

describe('Group', () => {
  let db: DB;
  let close: () => Promise<void>;
  beforeEach(async () => ({ db, close } = await openDB()));
  afterEach(async () => close());

  function group(rules: RecordingRule[], query: QueryFunc, o: Partial<ConstructorParameters<typeof Group>[0]> = {}, ctxOver = {}): { g: Group; ctx: ReturnType<typeof groupContext> } {
    const ctx = groupContext({ query, appendable: db, ...ctxOver });
    const g = new Group({ name: 'g', file: 'f.yml', intervalMs: M, limit: 0, queryOffsetMs: null, strategy: 'abort', rules, shouldRestore: false, ...o }, ctx);
    return { g, ctx };
  }

  it('records results with rule and group labels, and marks vanished series stale', async () => {
    const q = canned([[up('a', 1), up('b', 0)], [up('a', 1)]]);
    const rule = new RecordingRule('job:up', 'up', labelsFromRecord({ env: 'prod', team: 'x' }));
    const { g } = group([rule], q);
    await g.eval(M);
    await g.eval(2 * M);
    const got = await rawSeries(db, 'job:up');
    expect([...got.keys()].sort()).toEqual(['{__name__="job:up", env="prod", job="a", team="x"}', '{__name__="job:up", env="prod", job="b", team="x"}']);
    expect(got.get('{__name__="job:up", env="prod", job="a", team="x"}')).toEqual([
      [M, 1],
      [2 * M, 1],
    ]);
    const b = got.get('{__name__="job:up", env="prod", job="b", team="x"}')!;
    expect(b[0]).toEqual([M, 0]);
    expect(b[1][0]).toBe(2 * M);
    expect(b[1][1]).toBe('stale');
    expect(rule.health).toBe('ok');
    expect(q.calls[0]).toEqual({ expr: 'up', t: M, partialResponse: false });
  });

  it('lets later rules read earlier ones of the same evaluation', async () => {
    const { g } = group([new RecordingRule('a:x', 'vector(3)', []), new RecordingRule('b:x', 'a:x * 2', [])], engineQuery(db));
    await g.eval(M);
    expect((await rawSeries(db, 'b:x')).get('{__name__="b:x"}')).toEqual([[M, 6]]);
  });

  it('counts errors, keeps going, and enforces the limit', async () => {
    const failing: QueryFunc = async (expr) => {
      if (expr === 'boom') throw new Error('bad_data: boom');
      return [up('a', 1), up('b', 1)];
    };
    const r1 = new RecordingRule('r1', 'boom', []);
    const r2 = new RecordingRule('r2', 'up', []);
    const { g, ctx } = group([r1, r2], failing, { limit: 1 });
    await g.eval(M);
    expect(r1.health).toBe('err');
    expect(r1.lastError?.message).toBe('bad_data: boom');
    expect(r2.lastError?.message).toBe('exceeded limit of 1 with 2 series');
    const l = { rule_group: 'f.yml;g', strategy: 'abort' };
    expect(await metricValue(ctx.registry, 'prometheus_rule_evaluation_failures_total', l)).toBe(2);
    expect(await metricValue(ctx.registry, 'prometheus_rule_evaluations_total', l)).toBe(2);
    expect(await metricValue(ctx.registry, 'prometheus_rule_group_rules', l)).toBe(2);
    expect(await metricValue(ctx.registry, 'prometheus_rule_group_interval_seconds', l)).toBe(60);
  });

  it('rejects duplicate series after relabelling', async () => {
    const r = new RecordingRule('r', 'up', []);
    const { g } = group([r], canned([[up('a', 1), { labels: labelsFromRecord({ __name__: 'other', job: 'a' }), value: 2 }]]));
    await g.eval(M);
    expect(r.lastError?.message).toBe('vector contains metrics with the same labelset after applying rule labels');
  });

  it('queries and writes at ts - query_offset, with partial response for warn groups', async () => {
    const q = canned([[up('a', 1)]]);
    const { g } = group([new RecordingRule('r', 'up', [])], q, { queryOffsetMs: 30_000, strategy: 'warn' });
    await g.eval(2 * M);
    expect(q.calls[0]).toEqual({ expr: 'up', t: 2 * M - 30_000, partialResponse: true });
    expect((await rawSeries(db, 'r')).get('{__name__="r", job="a"}')).toEqual([[2 * M - 30_000, 1]]);
  });

  it('slots evaluations by a hash of the group', () => {
    const { g } = group([], canned([[]]), { intervalMs: 15_000 });
    const now = 1_700_000_000_123;
    const ts = g.evalTimestamp(now);
    expect(ts).toBeLessThanOrEqual(now);
    expect(now - ts).toBeLessThan(15_000);
    // ts is the slot truncated to ms: the slot itself may lie up to 1ms later.
    expect(g.evalTimestamp(ts + 1)).toBe(ts);
    expect(g.evalTimestamp(ts + 14_999)).toBe(ts);
    expect(g.evalTimestamp(ts + 15_001)).toBe(ts + 15_000);
    // The offset is hash(file, name) mod interval, in ns, truncated to ms.
    const offNs = labelsHash(labelsFromRecord({ name: 'g', file: 'f.yml' })) % 15_000_000_000n;
    expect((((ts - Number(offNs / 1_000_000n)) % 15_000) + 15_000) % 15_000).toBe(0);
  });
});
