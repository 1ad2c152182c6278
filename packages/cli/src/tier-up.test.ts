import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tierUpBudget } from './tier-up.js';

describe('tierUpBudget', () => {
  it('lowers the budget for the querier and the sidecar only, unless the command line sets one', () => {
    expect(tierUpBudget('query', [])).toBe(8192);
    expect(tierUpBudget('sidecar', ['--max-old-space-size=512'])).toBe(8192);
    expect(tierUpBudget('store', [])).toBeNull();
    expect(tierUpBudget('compact', [])).toBeNull();
    expect(tierUpBudget('query', ['--interrupt-budget=100000'])).toBeNull();
  });

  it('is a flag V8 takes at run time', () => {
    // setFlagsFromString ignores unknown flags silently: check that node knows this one.
    const r = spawnSync(process.execPath, ['--interrupt-budget=8192', '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/bad option|unknown/i);
  });
});
