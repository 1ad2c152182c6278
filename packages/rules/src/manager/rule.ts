// What recording and alerting rules share (Prometheus rules.Rule): a name, the printed
// expression, labels, health and the timing of the last evaluation.

import { parseExpr, printExpr } from '@thanos-ts/promql';
import { compareStrings, type Label, type Labels } from '@thanos-ts/tsdb';

/** rules.RuleHealth. */
export type RuleHealth = 'unknown' | 'ok' | 'err';

/** One sample a rule produced, to append. */
export interface RuleSample {
  labels: Labels;
  /** ms. */
  t: number;
  v: number;
}

/** Evaluation state every rule keeps. */
export abstract class BaseRule {
  health: RuleHealth = 'unknown';
  lastError: Error | null = null;
  /** Duration of the last evaluation, ms. */
  evaluationDurationMs = 0;
  /** Wall-clock start of the last evaluation, ms; null before the first. */
  evaluationTimestamp: number | null = null;
  /** The expression as Prometheus prints it (Expr.String()): what is queried and shown. */
  readonly query: string;

  constructor(
    readonly name: string,
    expr: string,
    /** Group labels overlaid with the rule's own (rules.FromMaps). */
    readonly labels: Labels,
  ) {
    try {
      this.query = printExpr(parseExpr(expr));
    } catch (err) {
      throw new Error(`parse expression of rule ${JSON.stringify(name)}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Identity used to carry state across reloads (nameAndLabels in group.go). */
  nameAndLabels(): string {
    return this.name + labelsString(this.labels);
  }

  /** Canonical text of the rule's definition; equal texts mean an unchanged rule (Rule.String()). */
  abstract definition(): string;
}

/** Sorted labels from a name → value map; empty values are dropped as labels.Builder does. */
export function buildLabels(m: Map<string, string>): Labels {
  const out: Label[] = [];
  for (const [name, value] of m) if (value !== '') out.push({ name, value });
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

/** Merges label maps, later ones winning (rules.FromMaps). */
export function fromMaps(...maps: Array<Record<string, string>>): Labels {
  const m = new Map<string, string>();
  for (const rec of maps) for (const k of Object.keys(rec)) m.set(k, rec[k]);
  return buildLabels(m);
}

/** labels.Labels.String(): {a="1", b="2"}. */
export function labelsString(ls: Labels): string {
  return '{' + ls.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ') + '}';
}
