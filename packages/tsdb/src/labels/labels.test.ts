import { describe, expect, it } from 'vitest';
import { compareLabels, compareStrings, labelsFromRecord, labelsToString, mergeLabels, validateLabels } from './index.js';

describe('labels', () => {
  it('sorts strings byte-wise like Go', () => {
    const sorted = ['a', 'B', '\u{1F600}', '\uFFFD', 'ab'].sort(compareStrings);
    const goOrder = [...sorted].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(sorted).toEqual(goOrder);
  });
  it('compares label sets like labels.Compare', () => {
    const a = labelsFromRecord({ a: '1', b: '2' });
    const b = labelsFromRecord({ a: '1', c: '0' });
    expect(compareLabels(a, b)).toBeLessThan(0);
    expect(compareLabels(a, labelsFromRecord({ a: '1' }))).toBeGreaterThan(0);
    expect(compareLabels(a, labelsFromRecord({ b: '2', a: '1' }))).toBe(0);
  });
  it('merges external labels with the external value winning', () => {
    const s = labelsFromRecord({ __name__: 'up', replica: 'x' });
    const ext = labelsFromRecord({ cluster: 'eu', replica: 'a' });
    expect(labelsToString(mergeLabels(s, ext))).toBe('{__name__="up", cluster="eu", replica="a"}');
    expect(labelsToString(mergeLabels(s, ext, false))).toBe('{__name__="up", cluster="eu", replica="x"}');
  });
  it('validates order and uniqueness', () => {
    expect(validateLabels([{ name: 'b', value: '' }, { name: 'a', value: '' }])).toMatch(/not sorted/);
    expect(validateLabels([{ name: 'a', value: '' }, { name: 'a', value: '' }])).toMatch(/duplicate/);
    expect(validateLabels(labelsFromRecord({ a: 'x' }))).toBeNull();
  });
});
