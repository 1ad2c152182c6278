// Parses the output of `promtool tsdb dump` (Prometheus 2.42): one line per sample,
//   {__name__="x", a="b"} 1.5 1000
// i.e. labels.String() (names bare, values strconv.Quote'd, ", " between pairs), the value
// as fmt's %g (shortest round-trip digits: "1e+06", "NaN", "+Inf", "-Inf", "-0"), and
// the timestamp in ms. Series come sorted by labels, samples by time.

/** Structurally a tsdb Label, so DumpedSeries.labels can be compared with tsdb Labels. */
export interface DumpLabel {
  name: string;
  value: string;
}

export interface DumpedSample {
  t: number;
  v: number;
}

export interface DumpedSeries {
  labels: DumpLabel[];
  samples: DumpedSample[];
}

/** Parses a whole dump; consecutive lines of one label set become one series. */
export function parseDump(text: string): DumpedSeries[] {
  const out: DumpedSeries[] = [];
  let lastKey = '';
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line === '') continue;
    let parsed;
    try {
      parsed = parseDumpLine(line);
    } catch (e) {
      throw new Error(`parse dump: line ${lineNo}: ${(e as Error).message}: ${line}`);
    }
    const { labels, key, t, v } = parsed;
    if (out.length > 0 && key === lastKey) out[out.length - 1].samples.push({ t, v });
    else out.push({ labels, samples: [{ t, v }] });
    lastKey = key;
  }
  return out;
}

function parseDumpLine(line: string): { labels: DumpLabel[]; key: string; t: number; v: number } {
  if (line[0] !== '{') throw new Error('expected {');
  const labels: DumpLabel[] = [];
  let i = 1;
  while (line[i] !== '}') {
    if (labels.length > 0) {
      if (line.slice(i, i + 2) !== ', ') throw new Error(`expected ", " at ${i}`);
      i += 2;
    }
    const eq = line.indexOf('=', i);
    if (eq < 0 || line[eq + 1] !== '"') throw new Error(`expected name="value" at ${i}`);
    const name = line.slice(i, eq);
    let j = eq + 2;
    while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
    if (j >= line.length) throw new Error('unterminated label value');
    labels.push({ name, value: unquoteGo(line.slice(eq + 1, j + 1)) });
    i = j + 1;
  }
  const key = line.slice(0, i + 1);
  const rest = line.slice(i + 2).split(' ');
  if (line[i + 1] !== ' ' || rest.length !== 2) throw new Error('expected " <value> <timestamp>" after labels');
  const t = Number(rest[1]);
  if (!Number.isInteger(t)) throw new Error(`bad timestamp ${rest[1]}`);
  return { labels, key, t, v: parseGoG(rest[0]) };
}

/** Parses a float printed by Go's %g. */
export function parseGoG(s: string): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`bad value ${s}`);
  return v;
}

/** Reverses Go's strconv.Quote; `s` includes the quotes. */
export function unquoteGo(s: string): string {
  const end = s.length - 1;
  if (s.indexOf('\\') < 0) return s.slice(1, end);
  let out = '';
  for (let i = 1; i < end; i++) {
    if (s[i] !== '\\') {
      out += s[i];
      continue;
    }
    const e = s[++i];
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) out += simple;
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      out += String.fromCodePoint(parseInt(s.slice(i + 1, i + 1 + n), 16));
      i += n;
    } else if (e >= '0' && e <= '7') {
      out += String.fromCharCode(parseInt(s.slice(i, i + 3), 8));
      i += 2;
    } else throw new Error(`unknown escape \\${e}`);
  }
  return out;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};
