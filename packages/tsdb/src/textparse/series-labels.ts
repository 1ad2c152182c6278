import { METRIC_NAME, type Label, type Labels } from '../labels/index.js';

/**
 * Turns the label offsets a text parser found in `line` into sorted Labels: the metric
 * name is line[0, nameEnd) and offs[4k..4k+3] delimit the k-th label name and raw (still
 * escaped) value. Empty values are dropped and duplicate names rejected, as Prometheus's
 * head appender does. (A cache of recent series was tried and dropped: parsing a series
 * anew costs no more than looking it up.)
 */
export function buildLabels(line: string, nameEnd: number, offs: Int32Array, pairs: number): Labels {
  const out: Label[] = [{ name: METRIC_NAME, value: line.slice(0, nameEnd) }];
  for (let k = 0; k < pairs; k++) {
    const o = k * 4;
    const value = unescapeLabelValue(line, offs[o + 2], offs[o + 3]);
    if (value === '') continue;
    const l: Label = { name: line.slice(offs[o], offs[o + 1]), value };
    // Insertion sort: label sets are small. Names are ASCII ([a-zA-Z0-9_:]), so `<`
    // is the byte order Prometheus sorts by.
    let j = out.length;
    while (j > 0 && out[j - 1].name > l.name) j--;
    if (j > 0 && out[j - 1].name === l.name) throw new Error(`label name "${l.name}" is not unique`);
    out.splice(j, 0, l);
  }
  return out;
}

/**
 * Undoes the label value escapes both text formats define (Prometheus's lvalReplacer):
 * \\ → \, \" → ", \n → newline. Any other backslash sequence stays as written.
 */
export function unescapeLabelValue(s: string, a: number, b: number): string {
  let i = s.indexOf('\\', a);
  if (i < 0 || i >= b) return s.slice(a, b);
  let out = '';
  let from = a;
  for (; i >= 0 && i < b; i = s.indexOf('\\', i)) {
    const e = s.charCodeAt(i + 1);
    const r = e === 92 ? '\\' : e === 34 ? '"' : e === 110 ? '\n' : null;
    if (r === null) {
      i++;
      continue;
    }
    out += s.slice(from, i) + r;
    i += 2;
    from = i;
  }
  return out + s.slice(from, b);
}

/** Undoes the Prometheus text format's HELP escapes (helpReplacer): \\ and \n only. */
export function unescapeHelp(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  return s.replace(/\\([\\n])/g, (_, e: string) => (e === 'n' ? '\n' : '\\'));
}
