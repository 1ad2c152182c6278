// Where a restarted ruler finds the `for` state of its alerts: the last ALERTS_FOR_STATE
// sample of each series in the outage-tolerance window. Thanos reads them from its local
// TSDB when it has one and through its queriers in stateless mode (cmd/thanos/rule.go
// sets ManagerOptions.Queryable to either); both are offered here.

import { METRIC_NAME, MatchType, ValueType, isStaleNaN, newMatcher, type Label, type Labels, type Queryable } from '@thanos-ts/tsdb';
import { formatDurationMs } from '@thanos-ts/promql';
import type { QueryFunc } from '../types.js';

/** The last sample of one ALERTS_FOR_STATE series (labels without __name__). */
export interface ForStateSample {
  labels: Labels;
  /** ms. */
  t: number;
  /** The alert's activeAt, Unix seconds; may be the stale marker. */
  v: number;
}

/** Finds the last sample in [mint, maxt] of every series matching the equality matchers. */
export type ForStateSource = (matchers: readonly Label[], mint: number, maxt: number) => Promise<ForStateSample[]>;

/** Reads a Queryable (the ruler's own DB), as Prometheus's RestoreForState does. */
export function forStateFromQueryable(q: Queryable): ForStateSource {
  return async (matchers, mint, maxt) => {
    const querier = await q.querier(mint, maxt);
    try {
      const out: ForStateSample[] = [];
      const ms = matchers.map((m) => newMatcher(MatchType.EQ, m.name, m.value));
      for await (const s of querier.select({ start: mint, end: maxt }, ms)) {
        const it = s.iterator();
        let t = Number.NaN;
        let v = Number.NaN;
        while (it.next() === ValueType.Float) {
          t = it.atT();
          v = it.atF();
        }
        const err = it.err();
        if (err !== null) throw new Error(`iterate ${ALERTS_FOR_STATE_SERIES}: ${err.message}`, { cause: err });
        // No sample, or the alert had gone inactive: nothing to restore. (Checked here, on
        // the iterator's value: NaN payloads may not survive being stored.)
        if (Number.isNaN(t) || isStaleNaN(v)) continue;
        out.push({ labels: s.labels.filter((l) => l.name !== METRIC_NAME), t, v });
      }
      return out;
    } finally {
      await querier.close();
    }
  };
}

const ALERTS_FOR_STATE_SERIES = 'ALERTS_FOR_STATE';

/**
 * Reads through instant queries (stateless mode, where the results live behind the
 * queriers): last_over_time gives the value and the newest sample timestamp seen by a
 * subquery stepping `stepMs` gives when the series was last written. PromQL cannot see
 * stale markers, so an alert that resolved inside the window looks as if it was active
 * until it resolved (Thanos's querier-backed Queryable has the same blind spot).
 */
export function forStateFromQuery(query: QueryFunc, stepMs = 60_000): ForStateSource {
  return async (matchers, mint, maxt) => {
    const sel = selector(matchers);
    const win = formatDurationMs(Math.max(maxt - mint, 1));
    const step = formatDurationMs(Math.max(stepMs, 1));
    const [values, times] = await Promise.all([
      query(`last_over_time(${sel}[${win}])`, maxt),
      query(`max_over_time(timestamp(${sel})[${win}:${step}])`, maxt),
    ]);
    const key = (ls: Labels): string => ls.filter((l) => l.name !== METRIC_NAME).map((l) => `${l.name}\xff${l.value}`).join('\xff');
    const lastT = new Map<string, number>();
    for (const s of times) lastT.set(key(s.labels), s.value * 1000);
    const out: ForStateSample[] = [];
    for (const s of values) {
      const t = lastT.get(key(s.labels));
      if (t === undefined) continue;
      out.push({ labels: s.labels.filter((l) => l.name !== METRIC_NAME), t: Math.round(t), v: s.value });
    }
    return out;
  };
}

function selector(matchers: readonly Label[]): string {
  const parts = matchers.map((m) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(m.name) ? m.name : JSON.stringify(m.name)}=${JSON.stringify(m.value)}`);
  return `{${parts.join(', ')}}`;
}
