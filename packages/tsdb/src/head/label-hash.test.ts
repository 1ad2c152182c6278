import { describe, expect, it } from 'vitest';
import { labelsFromStrings } from '../labels/index.js';
import { Head } from './head.js';
import { hashLabelBytes, hashLabels, LABELS_HASH_INIT, utf8Equals } from './label-hash.js';

const enc = new TextEncoder();

/** hashLabelBytes over the UTF-8 encoding of each label, as a remote-write reader would. */
function hashEncoded(pairs: [string, string][]): number {
  let h = LABELS_HASH_INIT;
  for (const [n, v] of pairs) {
    const nb = enc.encode(n);
    const vb = enc.encode(v);
    const buf = new Uint8Array(nb.length + vb.length + 3);
    buf.set(nb, 1);
    buf.set(vb, nb.length + 2);
    h = hashLabelBytes(h, buf, 1, 1 + nb.length, nb.length + 2, nb.length + 2 + vb.length);
  }
  return h >>> 0;
}

describe('label hash', () => {
  it('hashing the UTF-8 bytes gives the hash of the strings, non-ASCII included', () => {
    const cases: [string, string][][] = [
      [['__name__', 'up'], ['job', 'node']],
      [['a', 'ü'], ['b', '日本'], ['c', '😀x']],
      [['lone', '\ud800x']],
      [],
    ];
    for (const pairs of cases) {
      const ls = pairs.map(([name, value]) => ({ name, value }));
      expect(hashEncoded(pairs)).toBe(hashLabels(ls));
    }
    // The name/value boundary counts.
    expect(hashLabels(labelsFromStrings('ab', 'c'))).not.toBe(hashLabels(labelsFromStrings('a', 'bc')));
  });

  it('utf8Equals compares bytes with a string', () => {
    for (const s of ['', 'abc', 'ü', '日本語', 'a😀b']) {
      const b = enc.encode(`#${s}#`);
      expect(utf8Equals(b, 1, b.length - 1, s)).toBe(true);
      expect(utf8Equals(b, 1, b.length - 1, `${s}x`)).toBe(false);
      if (s !== '') expect(utf8Equals(b, 1, b.length - 2, s)).toBe(false);
    }
    // Invalid bytes never equal the replacement character they decode to.
    expect(utf8Equals(Uint8Array.of(0xff), 0, 1, '\ufffd')).toBe(false);
    expect(utf8Equals(enc.encode('\ufffd'), 0, 3, '\ufffd')).toBe(true);
    // A lone surrogate is not what valid UTF-8 decodes to.
    expect(utf8Equals(enc.encode('\ud800'), 0, 3, '\ud800')).toBe(false);
  });

  it('Head.getRefByHash finds a series by hash and comparison only', () => {
    const head = new Head();
    const app = head.appender();
    const ls = labelsFromStrings('__name__', 'up', 'job', 'ü');
    const ref = app.append(0, ls, 1000, 1);
    const h = hashEncoded([['__name__', 'up'], ['job', 'ü']]);
    expect(head.getRefByHash(h, (x) => x.length === 2 && x[1].value === 'ü')).toBe(ref);
    expect(head.getRefByHash(h, () => false)).toBe(0);
    expect(head.getRefByHash(h ^ 1, () => true)).toBe(0);
  });
});
