// A recording rule (Prometheus rules/recording.go): the expression's vector renamed to
// the record name, with the rule's labels set.

import { METRIC_NAME, labelsKey, type Labels } from '@thanos-ts/tsdb';
import type { QueryFunc } from '../types.js';
import { BaseRule, buildLabels, type RuleSample } from './rule.js';

export const ERR_DUPLICATE_RECORDING_LABEL_SET = 'vector contains metrics with the same labelset after applying rule labels';

export interface RuleEvalOptions {
  partialResponse: boolean;
  signal?: AbortSignal;
}

export class RecordingRule extends BaseRule {
  readonly kind = 'recording' as const;

  constructor(name: string, expr: string, labels: Labels) {
    super(name, expr, labels);
  }

  /**
   * Queries at ts - queryOffset and relabels the result.
   * @throws the query's error; on duplicate series after relabelling; over the limit
   */
  async eval(ts: number, queryOffsetMs: number, query: QueryFunc, limit: number, opts: RuleEvalOptions): Promise<RuleSample[]> {
    const t = ts - queryOffsetMs;
    const vector = await query(this.query, t, { partialResponse: opts.partialResponse, signal: opts.signal });
    const out: RuleSample[] = [];
    const seen = new Set<string>();
    for (const s of vector) {
      const m = new Map<string, string>();
      for (const l of s.labels) m.set(l.name, l.value);
      m.set(METRIC_NAME, this.name);
      for (const l of this.labels) m.set(l.name, l.value);
      const labels = buildLabels(m);
      const key = labelsKey(labels);
      if (seen.has(key)) throw new Error(ERR_DUPLICATE_RECORDING_LABEL_SET);
      seen.add(key);
      out.push({ labels, t, v: s.value });
    }
    if (limit > 0 && out.length > limit) throw new Error(`exceeded limit of ${limit} with ${out.length} series`);
    return out;
  }

  definition(): string {
    return JSON.stringify({ record: this.name, expr: this.query, labels: this.labels });
  }
}
