import { describe, expect, it } from 'vitest';
import { labelsFromStrings } from '@thanos-ts/tsdb';
import type { Sample } from '../value.js';
import { Annotations } from './annotations.js';
import { funcSort, funcSortByLabel, funcSortByLabelDesc, funcSortDesc, natsortLess } from './sort.js';
import type { VectorCall } from './types.js';

const s = (f: number, ...nv: string[]): Sample => ({ metric: labelsFromStrings(...nv), t: 0, f, h: null, dropName: false });
const call = (...strings: string[]): VectorCall => ({ evalTs: 0, scalars: [], strings, argPos: [] });
const ann = new Annotations();

describe('sort, sort_desc', () => {
  it('put NaN last in both directions and keep equal values in input order', () => {
    const v = [s(2, 'i', 'a'), s(NaN, 'i', 'b'), s(1, 'i', 'c'), s(2, 'i', 'd')];
    expect(funcSort(v, call(), ann).map((x) => x.metric[0].value)).toEqual(['c', 'a', 'd', 'b']);
    expect(funcSortDesc(v, call(), ann).map((x) => x.metric[0].value)).toEqual(['a', 'd', 'c', 'b']);
    expect(v.map((x) => x.metric[0].value)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('drop histogram samples', () => {
    const h = { ...s(0, 'i', 'h'), h: {} as never };
    expect(funcSort([h, s(1, 'i', 'a')], call(), ann)).toHaveLength(1);
  });
});

describe('natsortLess (facette/natsort)', () => {
  it('compares digit runs numerically', () => {
    expect(natsortLess('2', '10')).toBe(true);
    expect(natsortLess('10', '2')).toBe(false);
    expect(natsortLess('4m5', '4m600')).toBe(true);
    expect(natsortLess('1.2.3', '1.11.3')).toBe(true);
    expect(natsortLess('a', 'b')).toBe(true);
  });

  it('keeps the library quirks', () => {
    expect(natsortLess('', 'a')).toBe(false); // an empty string has no chunks
    expect(natsortLess('01', '1')).toBe(true); // equal numbers, a ran out first
    expect(natsortLess('1', '01')).toBe(true);
    expect(natsortLess('a1', 'a')).toBe(false); // b ran out
    expect(natsortLess('99999999999999999999', '100000000000000000000')).toBe(false); // beyond int64: byte order
  });
});

describe('sort_by_label', () => {
  it('sorts naturally by the given labels, then by all labels', () => {
    const v = [s(1, 'cpu', '10', 'job', 'x'), s(1, 'cpu', '2', 'job', 'x'), s(1, 'cpu', '2', 'job', 'a'), s(1, 'cpu', '1', 'job', 'z')];
    expect(funcSortByLabel(v, call('cpu'), ann).map((x) => x.metric.map((l) => l.value).join(','))).toEqual(['1,z', '2,a', '2,x', '10,x']);
    expect(funcSortByLabelDesc(v, call('cpu'), ann).map((x) => x.metric.map((l) => l.value).join(','))).toEqual(['10,x', '2,x', '2,a', '1,z']);
  });
});
