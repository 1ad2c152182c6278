import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tierUpBudget } from './tier-up.js';

const V8_11 = '11.3.244.8-node.38'; // Node.js 20
const V8_13 = '13.6.233.17-node.63'; // Node.js 24

describe('tierUpBudget', () => {
  it('lowers the budget for the querier and the sidecar only, unless the command line sets one (V8 11)', () => {
    expect(tierUpBudget('query', [], V8_11)).toBe(8192);
    expect(tierUpBudget('sidecar', ['--max-old-space-size=512'], V8_11)).toBe(8192);
    expect(tierUpBudget('store', [], V8_11)).toBeNull();
    expect(tierUpBudget('compact', [], V8_11)).toBeNull();
    expect(tierUpBudget('query', ['--interrupt-budget=100000'], V8_11)).toBeNull();
  });

  it('leaves V8 12 and later, which tier up by invocation counts, at their defaults', () => {
    expect(tierUpBudget('query', [], '12.4.254.21-node.57')).toBeNull();
    expect(tierUpBudget('sidecar', [], V8_13)).toBeNull();
  });

  it('sets only a flag the running V8 takes', () => {
    // setFlagsFromString only prints a line to stderr for a flag V8 does not know:
    // check with the node that runs the tests that it knows what would be set.
    const budget = tierUpBudget('query', []);
    const args = budget === null ? [] : [`--interrupt-budget=${budget}`];
    const r = spawnSync(process.execPath, [...args, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/bad option|unrecognized|unknown/i);
    if (Number.parseInt(process.versions.v8, 10) < 12) expect(budget).toBe(8192);
  });
});
