// The acceptance test of the engine: Prometheus 3.14's own PromQL test scripts
// (../shared/conformance/promql from the repository root, or PROMQL_CONFORMANCE_DIR), run
// as strictly as upstream's promqltest (hidden `@` and range-mode re-runs included).
// Every eval EVALS.tsv tags `-` (plain float PromQL) must pass; the feature-tagged ones
// (native histograms, extended range selectors, info(), …) are counted and printed.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runConformance, summarize } from './promqltest/index.js';

const CORPUS = process.env.PROMQL_CONFORMANCE_DIR ?? fileURLToPath(new URL('../../../../shared/conformance/promql', import.meta.url));

/** Evals tagged `-` in EVALS.tsv (tier1 + tier2): all must pass. */
const PLAIN_EVALS = 790;

/** Feature-tagged evals that pass today, as a floor (native histograms are not implemented yet). */
const FEATURE_EVALS_PASSING_AT_LEAST = 350;

describe('PromQL conformance corpus', () => {
  it('passes every plain-float eval', { timeout: 120_000 }, async () => {
    expect(
      existsSync(CORPUS),
      `the PromQL conformance corpus is missing: expected it at ${CORPUS} (../shared/conformance/promql beside the repository, or set PROMQL_CONFORMANCE_DIR)`,
    ).toBe(true);
    const outcomes = await runConformance([CORPUS]);
    const { byTier, byTag, plain } = summarize(outcomes);
    const report = (m: Map<string, { passed: number; failed: number }>): string =>
      [...m]
        .sort()
        .map(([k, t]) => `  ${k}: ${t.passed} passed, ${t.failed} failed`)
        .join('\n');
    console.log(`promql conformance: ${outcomes.length} evals\nby tier:\n${report(byTier)}\nby tag:\n${report(byTag)}`);

    const failingPlain = outcomes.filter((o) => o.tag?.features === '-' && !o.ok).map((o) => `${o.file}:${o.line} ${o.expr}: ${o.reason}`);
    if (failingPlain.length > 0) console.log(`failing plain evals:\n${failingPlain.join('\n')}`);
    expect(failingPlain).toEqual([]);
    expect(plain.passed).toBe(PLAIN_EVALS);

    // Every eval of the corpus is listed in EVALS.tsv.
    expect(outcomes.filter((o) => o.tag === null).map((o) => `${o.file}:${o.line}`)).toEqual([]);
    const featurePassing = outcomes.filter((o) => o.tag !== null && o.tag.features !== '-' && o.ok).length;
    expect(featurePassing).toBeGreaterThanOrEqual(FEATURE_EVALS_PASSING_AT_LEAST);
  });
});
