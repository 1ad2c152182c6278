import { describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { labelsFromStrings, type Labels } from '../labels/index.js';
import { MatchType, newMatcher, type Matcher } from '../matchers/index.js';
import {
  BigEndianPostings,
  emptyPostings,
  errPostings,
  expandPostings,
  intersect,
  isEmptyPostings,
  listPostings,
  merge,
  mergeBigEndianLists,
  postingsForMatchers,
  without,
  type IndexPostingsReader,
  type Postings,
} from './index.js';

function randomList(r: () => number, max: number, density: number): Uint32Array {
  const out: number[] = [];
  for (let i = 1; i <= max; i++) if (r() < density) out.push(i);
  return Uint32Array.from(out);
}

const list = (...v: number[]): Postings => listPostings(Uint32Array.from(v));
const arr = (p: Postings): number[] => [...expandPostings(p)];

describe('list and big-endian postings', () => {
  it('iterate and seek', () => {
    for (const mk of [
      (v: number[]) => listPostings(Uint32Array.from(v)),
      (v: number[]) => {
        const b = new Uint8Array(3 + v.length * 4);
        const dv = new DataView(b.buffer);
        v.forEach((x, i) => dv.setUint32(3 + i * 4, x));
        return new BigEndianPostings(b, 3, v.length);
      },
    ]) {
      expect(arr(mk([2, 4, 0xfffffff0]))).toEqual([2, 4, 0xfffffff0]);
      const p = mk([2, 4, 6, 8, 10]);
      expect(p.seek(1)).toBe(true);
      expect(p.at()).toBe(2);
      expect(p.seek(2)).toBe(true); // seeking to the current value stays
      expect(p.at()).toBe(2);
      expect(p.seek(5)).toBe(true);
      expect(p.at()).toBe(6);
      expect(p.seek(3)).toBe(true); // never backwards
      expect(p.at()).toBe(6);
      expect(p.next()).toBe(true);
      expect(p.at()).toBe(8);
      expect(p.seek(11)).toBe(false);
      expect(p.next()).toBe(false);
      const q = mk([5]);
      expect(q.seek(0)).toBe(true); // seek before next does not invent a 0
      expect(q.at()).toBe(5);
    }
    expect(isEmptyPostings(listPostings(new Uint32Array(0)))).toBe(true);
  });
});

describe('intersect, merge, without', () => {
  it('small cases', () => {
    expect(arr(intersect(list(1, 2, 3, 5, 8), list(2, 3, 5, 7), list(3, 5, 9)))).toEqual([3, 5]);
    expect(arr(merge(list(1, 4), list(2, 4, 6), list(4, 7)))).toEqual([1, 2, 4, 6, 7]);
    expect(arr(without(list(1, 2, 3, 4, 5), list(2, 4, 6)))).toEqual([1, 3, 5]);
    expect(isEmptyPostings(intersect(list(1), emptyPostings()))).toBe(true);
    expect(isEmptyPostings(intersect())).toBe(true);
    expect(isEmptyPostings(merge(emptyPostings(), emptyPostings()))).toBe(true);
    expect(isEmptyPostings(without(emptyPostings(), list(1)))).toBe(true);
  });

  it('agree with set algebra on random lists, with next and seek', () => {
    const r = rng(42);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(r() * 5);
      const lists = Array.from({ length: n }, () => randomList(r, 300, 0.05 + r() * 0.6));
      const sets = lists.map((l) => new Set(l));
      const universe = Array.from({ length: 300 }, (_, i) => i + 1);
      const wantI = universe.filter((x) => sets.every((s) => s.has(x)));
      const wantU = universe.filter((x) => sets.some((s) => s.has(x)));
      const wantW = universe.filter((x) => sets[0].has(x) && !(n > 1 && sets[1].has(x)));
      const mk = (): Postings[] => lists.map((l) => listPostings(l));
      expect(arr(intersect(...mk()))).toEqual(wantI);
      expect(arr(merge(...mk()))).toEqual(wantU);
      expect(arr(without(mk()[0], n > 1 ? mk()[1] : emptyPostings()))).toEqual(wantW);

      // Random walk of next/seek against the expected list.
      for (const [p, want] of [
        [intersect(...mk()), wantI],
        [merge(...mk()), wantU],
        [without(mk()[0], n > 1 ? mk()[1] : emptyPostings()), wantW],
      ] as [Postings, number[]][]) {
        let idx = -1;
        for (let step = 0; step < 40; step++) {
          if (r() < 0.5) {
            const ok = p.next();
            idx++;
            expect(ok).toBe(idx < want.length);
            if (!ok) break;
            expect(p.at()).toBe(want[idx]);
          } else {
            const target = Math.floor(r() * 320);
            const ok = p.seek(target);
            // Seek moves to the first element >= target at or after the current one.
            let j = Math.max(idx, 0);
            while (j < want.length && want[j] < target) j++;
            idx = j;
            expect(ok).toBe(idx < want.length);
            if (!ok) break;
            expect(p.at()).toBe(want[idx]);
          }
        }
      }
    }
  });

  it('mergeBigEndianLists: bitmap and heap paths give the union', () => {
    const r = rng(9);
    for (const [k, max, density] of [
      [3, 1000, 0.3],
      [40, 2000, 0.05],
      [40, 5_000_000, 0.00001],
      [200, 100_000, 0.001],
      [12, 64, 0.5],
    ] as [number, number, number][]) {
      const lists = Array.from({ length: k }, () => randomList(r, max, density));
      const buf = new Uint8Array(16 + lists.reduce((n, l) => n + 4 * l.length, 0));
      const view = new DataView(buf.buffer);
      const starts: number[] = [];
      const counts: number[] = [];
      let pos = 16;
      for (const l of lists) {
        starts.push(pos);
        counts.push(l.length);
        for (const x of l) {
          view.setUint32(pos, x);
          pos += 4;
        }
      }
      const want = [...new Set(lists.flatMap((l) => [...l]))].sort((a, b) => a - b);
      expect(arr(mergeBigEndianLists(view, starts, counts))).toEqual(want);
      // And it seeks like any postings.
      const p = mergeBigEndianLists(view, starts, counts);
      if (want.length > 2) {
        expect(p.seek(want[1])).toBe(true);
        expect(p.at()).toBe(want[1]);
      }
    }
    expect(isEmptyPostings(mergeBigEndianLists(new DataView(new ArrayBuffer(0)), [], []))).toBe(true);
  });

  it('propagates errors', () => {
    const e = new Error('boom');
    expect(() => expandPostings(merge(list(1, 2), errPostings(e)))).toThrow('boom');
    expect(intersect(list(1), errPostings(e)).err()).toBe(e);
    expect(without(errPostings(e), list(1)).err()).toBe(e);
  });
});

/** An in-memory index over a list of series; refs are 1-based positions. */
class MemIndex implements IndexPostingsReader {
  private readonly byLabel = new Map<string, Map<string, number[]>>();
  readonly all: number[] = [];

  constructor(readonly series: Labels[]) {
    series.forEach((ls, i) => {
      const ref = i + 1;
      this.all.push(ref);
      for (const l of ls) {
        let vals = this.byLabel.get(l.name);
        if (!vals) this.byLabel.set(l.name, (vals = new Map()));
        let refs = vals.get(l.value);
        if (!refs) vals.set(l.value, (refs = []));
        refs.push(ref);
      }
    });
  }

  postings(name: string, ...values: string[]): Postings {
    if (name === '' && values.length === 1 && values[0] === '') return listPostings(this.all);
    const vals = this.byLabel.get(name);
    if (!vals) return emptyPostings();
    return merge(...values.map((v) => (vals.has(v) ? listPostings(vals.get(v)!) : emptyPostings())));
  }

  postingsForLabelMatching(name: string, match: (value: string) => boolean): Postings {
    const vals = this.byLabel.get(name);
    if (!vals) return emptyPostings();
    return merge(...[...vals].filter(([v]) => match(v)).map(([, refs]) => listPostings(refs)));
  }

  postingsForAllLabelValues(name: string): Postings {
    return this.postingsForLabelMatching(name, () => true);
  }
}

describe('postingsForMatchers', () => {
  const series = [
    labelsFromStrings('n', '1'),
    labelsFromStrings('n', '1', 'i', 'a'),
    labelsFromStrings('n', '1', 'i', 'b'),
    labelsFromStrings('n', '1', 'i', '\n'),
    labelsFromStrings('n', '2'),
    labelsFromStrings('n', '2.5'),
  ];
  const ix = new MemIndex(series);
  const sel = (...ms: [MatchType, string, string][]): string[] =>
    [...expandPostings(postingsForMatchers(ix, ms.map(([t, n, v]) => newMatcher(t, n, v))))].map((ref) =>
      series[ref - 1].map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(','),
    );
  const { EQ, NEQ, RE, NRE } = MatchType;

  // Cases and expectations from Prometheus's TestPostingsForMatchers (tsdb/querier_test.go).
  it.each<[[MatchType, string, string][], number[]]>([
    [[[EQ, 'n', '1']], [0, 1, 2, 3]],
    [[[EQ, 'n', '1'], [EQ, 'i', 'a']], [1]],
    [[[EQ, 'n', '1'], [EQ, 'i', 'missing']], []],
    [[[EQ, 'missing', '']], [0, 1, 2, 3, 4, 5]],
    [[[NEQ, 'n', '1']], [4, 5]],
    [[[NEQ, 'i', '']], [1, 2, 3]],
    [[[NEQ, 'missing', '']], []],
    [[[EQ, 'n', '1'], [NEQ, 'i', 'a']], [0, 2, 3]],
    [[[EQ, 'n', '1'], [NEQ, 'i', '']], [1, 2, 3]],
    [[[RE, 'n', '^1$']], [0, 1, 2, 3]],
    [[[RE, 'n', '1']], [0, 1, 2, 3]],
    [[[RE, 'n', '^.*$']], [0, 1, 2, 3, 4, 5]],
    [[[RE, 'n', '^.+$']], [0, 1, 2, 3, 4, 5]],
    [[[RE, 'i', '^.*$']], [0, 1, 2, 3, 4, 5]],
    [[[RE, 'i', '.*']], [0, 1, 2, 3, 4, 5]],
    [[[RE, 'i', '.+']], [1, 2, 3]],
    [[[NRE, 'n', '^1$']], [4, 5]],
    [[[NRE, 'n', '1']], [4, 5]],
    [[[NRE, 'n', '1|2.5']], [4]],
    [[[NRE, 'n', '(1|2.5)']], [4]],
    [[[EQ, 'n', '1'], [NRE, 'i', '^a$']], [0, 2, 3]],
    [[[EQ, 'n', '1'], [NRE, 'i', '^a?$']], [2, 3]],
    [[[EQ, 'n', '1'], [NRE, 'i', '^$']], [1, 2, 3]],
    [[[EQ, 'n', '1'], [NRE, 'i', '^.*$']], []],
    [[[EQ, 'n', '1'], [NRE, 'i', '^.+$']], [0]],
    [[[EQ, 'n', '1'], [NRE, 'i', '.+']], [0]],
    [[[EQ, 'n', '1'], [NRE, 'i', '.*']], []],
    [[[EQ, 'n', '1'], [RE, 'i', '.*']], [0, 1, 2, 3]],
    [[[EQ, 'n', '1'], [RE, 'i', '.+']], [1, 2, 3]],
    [[[EQ, 'n', '1'], [NEQ, 'i', ''], [EQ, 'i', 'a']], [1]],
    [[[EQ, 'n', '1'], [NEQ, 'i', 'b'], [RE, 'i', '^(b|a).*$']], [1]],
    [[[RE, 'n', '(1|2)']], [0, 1, 2, 3, 4]],
    [[[RE, 'i', 'a|b']], [1, 2]],
    [[[RE, 'i', '(a|b)']], [1, 2]],
    [[[RE, 'n', 'x2|2']], [4]],
    [[[RE, 'n', '2|2\\.5']], [4, 5]],
    [[[RE, 'i', 'c||d']], [0, 4, 5]],
    [[[RE, 'i', '(c||d)']], [0, 4, 5]],
    [[[EQ, 'n', '1'], [RE, 'i', 'a|']], [0, 1]],
    [[[EQ, 'n', '1'], [RE, 'i', '']], [0]],
    [[[EQ, 'n', '1'], [EQ, 'i', '']], [0]],
    [[[RE, 'i', '\n']], [3]],
    [[[RE, 'i', '.']], [1, 2, 3]],
    [[[EQ, '', '']], [0, 1, 2, 3, 4, 5]],
    [[], []],
  ])('%j', (ms, want) => {
    expect(sel(...ms)).toEqual(
      want.map((i) =>
        series[i].map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(','),
      ),
    );
  });

  it('agrees with brute force on random matcher sets', () => {
    const r = rng(7);
    const names = ['a', 'b', 'c', 'd'];
    const values = ['', 'x', 'y', 'xy', 'z1', 'é', '\n'];
    const big: Labels[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const rec: string[] = [];
      for (const n of names) if (r() < 0.7) rec.push(n, values[1 + Math.floor(r() * (values.length - 1))]);
      const k = rec.join('\xff');
      if (seen.has(k)) continue;
      seen.add(k);
      big.push(labelsFromStrings(...rec));
    }
    const mix = new MemIndex(big);
    const regexes = ['', '.*', '.+', 'x', 'x|y', 'x.*', '.*y', '(?i)X', 'z[0-9]', '[^x]+', 'x|', '.', '\n'];
    for (let round = 0; round < 400; round++) {
      const ms: Matcher[] = [];
      const k = 1 + Math.floor(r() * 3);
      for (let j = 0; j < k; j++) {
        const t = Math.floor(r() * 4) as MatchType;
        const name = names[Math.floor(r() * names.length)];
        const value = t >= 2 ? regexes[Math.floor(r() * regexes.length)] : values[Math.floor(r() * values.length)];
        ms.push(newMatcher(t, name, value));
      }
      const got = [...expandPostings(postingsForMatchers(mix, ms))];
      const want = mix.all.filter((ref) =>
        ms.every((m) => m.matches(big[ref - 1].find((l) => l.name === m.name)?.value ?? '')),
      );
      expect([ms.map(String).join(','), got]).toEqual([ms.map(String).join(','), want]);
    }
  });
});
