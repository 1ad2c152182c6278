import { describe, expect, it } from 'vitest';
import { compareLabels, labelsFromRecord, labelsToString, MatchType, newMatcher } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { matchExternalLabels, PrefixRunSorter, withExternalLabels } from './external-labels.js';

const ext = labelsFromRecord({ cluster: 'eu1', replica: 'a' });

describe('external labels', () => {
  it('rules a store out when a matcher on an external label does not match, and strips those matchers', () => {
    const job = newMatcher(MatchType.EQ, 'job', 'x');
    expect(matchExternalLabels([newMatcher(MatchType.EQ, 'cluster', 'us1'), job], ext)).toBeNull();
    expect(matchExternalLabels([newMatcher(MatchType.RE, 'cluster', 'eu.*'), job], ext)).toEqual([job]);
    expect(matchExternalLabels([newMatcher(MatchType.NEQ, 'replica', 'b')], ext)).toEqual([]);
  });

  it('adds external labels with the external value winning', () => {
    const ls = labelsFromRecord({ __name__: 'up', replica: 'own', zone: 'z' });
    expect(labelsToString(withExternalLabels(ls, ext))).toBe('{__name__="up", cluster="eu1", replica="a", zone="z"}');
  });

  it('re-sorts only the runs whose order external labels break, and keeps every series', async () => {
    // Random label sets over a small alphabet so prefixes are frequent.
    let seed = 3;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 200; round++) {
      const e = labelsFromRecord(Object.fromEntries(['b', 'd', 'f'].filter(() => rnd() < 0.5).map((n) => [n, 'E'])));
      const input: Labels[] = [];
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const rec: Record<string, string> = {};
        for (const n of ['a', 'c', 'e', 'g']) if (rnd() < 0.5) rec[n] = String(Math.floor(rnd() * 2));
        const ls = labelsFromRecord(rec);
        if (ls.length === 0 || seen.has(labelsToString(ls))) continue;
        seen.add(labelsToString(ls));
        input.push(ls);
      }
      input.sort(compareLabels);
      const out: Labels[] = [];
      const sorter = new PrefixRunSorter<null>((final) => void out.push(final));
      for (const ls of input) await sorter.push(ls, withExternalLabels(ls, e), null);
      await sorter.flush();
      const want = input.map((ls) => withExternalLabels(ls, e)).sort(compareLabels);
      expect(out.map(labelsToString)).toEqual(want.map(labelsToString));
    }
  });
});
