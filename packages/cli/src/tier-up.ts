// V8 optimises a function once it has run an interrupt budget's worth of bytecode (66 KiB
// by default). A request runs many functions a few times each, so a querier serves its
// first thousands of requests mostly from unoptimised code: after 300 requests a small
// query over the store took 4.4-4.9 ms, and 3.1-3.4 ms with an 8 KiB budget in the
// querier and the store. pnpm bench promql-path, sidecar+query: geomean 2.38-2.39 ->
// 2.15-2.18 (store+query 1.86-1.89 -> 1.72-1.76). The store gateway keeps the default:
// there the lower budget made the first Series call of a fresh gateway 70-90 ms slower
// (129-138 -> 199-222 ms, three fresh gateways each) and its next calls no faster. 4 KiB
// compiled too much to gain more.
//
// That is V8 11 (Node.js 20). From V8 12 (Node.js 22) tier-up counts invocations, with
// Maglev between the interpreter and TurboFan, and --interrupt-budget is gone (setting it
// prints "unrecognized flag"). Lower invocation counts for Maglev and TurboFan (30/400,
// 10/200) moved pnpm bench promql-path by less than its run-to-run noise on Node.js 24, so
// there V8's defaults stay.

import { setFlagsFromString } from 'node:v8';

/** Components whose requests are many small, varied ones: they get the lower budget. */
const LOWER_BUDGET = new Set(['query', 'sidecar']);
const BUDGET = 8192;

/** The first V8 major version without --interrupt-budget. */
const INVOCATION_COUNT_TIERING = 12;

/** The interrupt budget to set for a component, or null to leave V8's (or the command line's). */
export function tierUpBudget(component: string, execArgv: readonly string[], v8Version = process.versions.v8): number | null {
  if (Number.parseInt(v8Version, 10) >= INVOCATION_COUNT_TIERING) return null;
  if (!LOWER_BUDGET.has(component)) return null;
  if (execArgv.some((a) => a.startsWith('--interrupt-budget'))) return null;
  return BUDGET;
}

/** Sets the component's interrupt budget, before it starts serving. */
export function tuneTierUp(component: string, execArgv: readonly string[] = process.execArgv): void {
  const budget = tierUpBudget(component, execArgv);
  if (budget !== null) setFlagsFromString(`--interrupt-budget=${budget}`);
}
