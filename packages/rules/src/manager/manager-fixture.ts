// Test helpers: a real DB, a QueryFunc over our PromQL engine, a recording sender and a
// tiny template expander (the real one is the template/ folder's).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, ValueType } from '@thanos-ts/promql';
import { DB, MatchType, isStaleNaN, ValueType as ChunkValueType, labelsFromRecord, labelsToString, newMatcher, type Queryable } from '@thanos-ts/tsdb';
import { nopLogger } from '@thanos-ts/runtime';
import { Registry } from 'prom-client';
import type { Alert, AlertSender, QueryFunc, RuleGroupConfig, RuleNode, TemplateExpander } from '../types.js';
import { FakeClock } from './clock.js';
import { RuleMetrics } from './metrics.js';
import type { GroupContext } from './group.js';

export async function openDB(): Promise<{ db: DB; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rules-manager-'));
  const db = await DB.open(dir, { wal: false, autoCompact: false });
  return {
    db,
    close: async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestQuery extends QueryFunc {
  calls: Array<{ expr: string; t: number; partialResponse?: boolean }>;
}

/** A QueryFunc evaluating with our engine over a Queryable, recording its calls. */
export function engineQuery(q: Queryable): TestQuery {
  const engine = new Engine();
  const calls: TestQuery['calls'] = [];
  const fn = (async (expr, t, opts) => {
    calls.push({ expr, t, partialResponse: opts?.partialResponse });
    const res = await engine.instantQuery(q, expr, t);
    const v = res.value;
    if (v.type === ValueType.Vector) return v.vector.map((s) => ({ labels: s.metric, value: s.f }));
    if (v.type === ValueType.Scalar) return [{ labels: [], value: v.scalar.v }];
    throw new Error('rule result is not a vector or scalar');
  }) as TestQuery;
  fn.calls = calls;
  return fn;
}

export class RecordingSender implements AlertSender {
  readonly batches: Alert[][] = [];
  send(alerts: readonly Alert[]): void {
    this.batches.push([...alerts]);
  }
  get all(): Alert[] {
    return this.batches.flat();
  }
}

/** Expands `{{ $labels.x }}`, `{{ $value }}`, `{{ $externalLabels.x }}` and `{{"literal"}}` only. */
export const simpleExpand: TemplateExpander = async (_name, text, data) =>
  text.replace(/\{\{\s*"([^"]*)"\s*\}\}/g, '$1').replace(/\{\{\s*\$(labels|externalLabels)\.(\w+)\s*\}\}|\{\{\s*\$value\s*\}\}/g, (_m, kind: string | undefined, name: string | undefined) => {
    if (kind === undefined) return String(data.value);
    return (kind === 'labels' ? data.labels : data.externalLabels)[name ?? ''] ?? '';
  });

/** Appends samples: `series` is a record of labels, values at start, start+step, … (null skips). */
export async function load(db: DB, labels: Record<string, string>, start: number, step: number, values: Array<number | null>): Promise<void> {
  const app = db.appender();
  const ls = labelsFromRecord(labels);
  values.forEach((v, i) => {
    if (v !== null) app.append(0, ls, start + i * step, v);
  });
  await app.commit();
}

/**
 * Raw samples of the series of a metric by labels string; stale markers read as 'stale'
 * (V8 may canonicalise NaN payloads in arrays, so they are told apart here).
 */
export async function rawSeries(q: Queryable, name: string, mint = -1e15, maxt = 1e15): Promise<Map<string, Array<[number, number | 'stale']>>> {
  const querier = await q.querier(mint, maxt);
  const out = new Map<string, Array<[number, number | 'stale']>>();
  for await (const s of querier.select({ start: mint, end: maxt }, [newMatcher(MatchType.EQ, '__name__', name)])) {
    const pts: Array<[number, number | 'stale']> = [];
    const it = s.iterator();
    while (it.next() === ChunkValueType.Float) pts.push([it.atT(), isStaleNaN(it.atF()) ? 'stale' : it.atF()]);
    out.set(labelsToString(s.labels), pts);
  }
  await querier.close();
  return out;
}

export function ruleNode(r: Partial<RuleNode> & { expr: string }): RuleNode {
  return {
    record: '',
    alert: '',
    forMs: 0,
    keepFiringForMs: 0,
    labels: {},
    annotations: {},
    pos: { line: 1, column: 1 },
    exprPos: { line: 1, column: 1 },
    ...r,
  };
}

export function groupConfig(g: Partial<RuleGroupConfig> & { name: string; rules: RuleNode[] }): RuleGroupConfig {
  return { intervalMs: 0, queryOffsetMs: null, limit: 0, labels: {}, partialResponseStrategy: 'abort', ...g };
}

export function groupContext(o: Partial<GroupContext> & Pick<GroupContext, 'query' | 'appendable'>): GroupContext & { registry: Registry } {
  const registry = new Registry();
  return {
    expand: simpleExpand,
    notify: () => undefined,
    forStateSource: null,
    resendDelayMs: 60_000,
    forOutageToleranceMs: 3_600_000,
    forGracePeriodMs: 600_000,
    defaultQueryOffsetMs: 0,
    clock: new FakeClock(0),
    metrics: new RuleMetrics(registry),
    logger: nopLogger(),
    registry,
    ...o,
  };
}

/** The value of a metric series in a registry (0 when absent). */
export async function metricValue(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = await reg.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value;
}
