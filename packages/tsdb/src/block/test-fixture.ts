// Test support shared by tsdb's tests (excluded from the build as *-fixture.ts). The
// generic parts (temp dirs, promtool, a real Prometheus, a seeded PRNG) come from
// @thanos-ts/testutil; this file holds what is specific to TSDB files:
//  - series as tests write them, their OpenMetrics text as promtool reads it, and the
//    blocks `promtool tsdb create-blocks-from openmetrics` builds from them;
//  - small readers of chunk segment and index files, deliberately minimal and separate
//    from the production readers so that golden tests do not check the code against
//    itself;
//  - deterministic block test data with awkward values, and bit-exact sample comparison.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBlocksFromOpenMetrics, rng, type CreateBlocksOptions } from '@thanos-ts/testutil';
import { ValueType } from '../chunkenc/index.js';
import { compareLabels, labelsFromRecord, labelsToString, type Labels } from '../labels/index.js';
import type { Series, SeriesIterator } from '../storage/index.js';

// block.bench.ts takes its PRNG from here.
export { rng };

// --- OpenMetrics text as promtool reads it ---

/**
 * promtool's openmetrics parser reads a timestamp as int64(ParseFloat(s) * 1000),
 * truncating. JS and Go parse decimal strings to the same (correctly rounded) double and
 * multiply alike, so this is what promtool makes of s.
 */
function omSecondsToMs(s: string): number {
  return Math.trunc(Number(s) * 1000);
}

/** Formats a ms timestamp as OpenMetrics seconds that promtool reads back as exactly tMs. */
export function omTimestamp(tMs: number): string {
  let s = String(tMs / 1000);
  if (omSecondsToMs(s) !== tMs) s = String((tMs + (tMs < 0 ? -0.5 : 0.5)) / 1000);
  if (omSecondsToMs(s) !== tMs) throw new Error(`cannot express ${tMs} ms as an OpenMetrics timestamp`);
  return s;
}

function omValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

function omEscape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `name{a="x",b="y"}`, or just `name` without labels. */
function omMetric(name: string, labels: readonly (readonly [string, string])[]): string {
  if (labels.length === 0) return name;
  return `${name}{${labels.map(([k, v]) => `${k}="${omEscape(v)}"`).join(',')}}`;
}

/** A sample as it will be parsed by Prometheus: ms timestamp, float value. */
export interface FixtureSample {
  t: number;
  v: number;
}

export interface FixtureSeries {
  name: string;
  labels?: Record<string, string>;
  samples: FixtureSample[];
}

/** OpenMetrics text (gauges, explicit timestamps, `# EOF`) for the given series. */
export function openMetricsText(series: readonly FixtureSeries[]): string {
  const out: string[] = [];
  for (const s of series) {
    out.push(`# TYPE ${s.name} gauge`);
    const metric = omMetric(s.name, Object.entries(s.labels ?? {}));
    for (const smp of s.samples) out.push(`${metric} ${omValue(smp.v)} ${omTimestamp(smp.t)}`);
  }
  out.push('# EOF', '');
  return out.join('\n');
}

export interface FixtureBlock {
  dir: string;
  meta: { ulid: string; minTime: number; maxTime: number; [k: string]: unknown };
  metaText: string;
}

/**
 * Runs `promtool tsdb create-blocks-from openmetrics` on the series into outDir and
 * returns the blocks it created, sorted by minTime.
 */
export async function promtoolCreateBlocks(
  series: readonly FixtureSeries[],
  outDir: string,
  opts: CreateBlocksOptions = {},
): Promise<FixtureBlock[]> {
  const ulids = await createBlocksFromOpenMetrics(openMetricsText(series), outDir, opts);
  const blocks = await Promise.all(
    ulids.map(async (u) => {
      const dir = join(outDir, u);
      const metaText = await readFile(join(dir, 'meta.json'), 'utf8');
      return { dir, meta: JSON.parse(metaText) as FixtureBlock['meta'], metaText };
    }),
  );
  return blocks.sort((a, b) => a.meta.minTime - b.meta.minTime);
}

// --- Independent minimal readers of chunk segment and index files ---

function uvarintAt(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = b[pos++];
    v += (x & 0x7f) * mul;
    if (x < 0x80) return [v, pos];
    mul *= 128;
  }
}

function varintAt(b: Uint8Array, pos: number): [number, number] {
  const [u, p] = uvarintAt(b, pos);
  return [u % 2 === 0 ? u / 2 : -(u + 1) / 2, p];
}

export interface FixtureChunkRecord {
  offset: number;
  encoding: number;
  data: Uint8Array;
}

/** All chunk records of one segment file, in file order (no CRC check). */
export function readChunkRecords(file: string): FixtureChunkRecord[] {
  const b = new Uint8Array(readFileSync(file));
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getUint32(0) !== 0x85bd40dd) throw new Error(`${file}: bad magic`);
  const out: FixtureChunkRecord[] = [];
  let pos = 8;
  while (pos < b.length) {
    const offset = pos;
    const [len, p] = uvarintAt(b, pos);
    const encoding = b[p];
    out.push({ offset, encoding, data: b.slice(p + 1, p + 1 + len) });
    pos = p + 1 + len + 4;
  }
  return out;
}

export interface FixtureIndexSeries {
  /** Series ref: the entry's byte offset / 16. */
  ref: number;
  labels: Record<string, string>;
  chunks: { mint: number; maxt: number; ref: number }[];
}

/** The series entries of an index file (format v2), with labels and chunk metas. */
export function readIndexSeries(file: string): FixtureIndexSeries[] {
  const b = new Uint8Array(readFileSync(file));
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const toc = b.length - 52;
  const off = (i: number): number => Number(view.getBigUint64(toc + i * 8));
  const [symbolsOff, seriesOff, labelIndicesOff, , postingsOff] = [0, 1, 2, 3, 4].map(off);
  const symbols: string[] = [];
  const dec = new TextDecoder();
  const nsym = view.getUint32(symbolsOff + 4);
  let pos = symbolsOff + 8;
  for (let i = 0; i < nsym; i++) {
    const [len, p] = uvarintAt(b, pos);
    symbols.push(dec.decode(b.subarray(p, p + len)));
    pos = p + len;
  }
  const end = labelIndicesOff > seriesOff ? labelIndicesOff : postingsOff;
  const out: FixtureIndexSeries[] = [];
  pos = seriesOff;
  for (;;) {
    pos = Math.ceil(pos / 16) * 16;
    if (pos >= end) break;
    const ref = pos / 16;
    const [len, bodyStart] = uvarintAt(b, pos);
    if (len === 0) break;
    let p = bodyStart;
    let n: number;
    [n, p] = uvarintAt(b, p);
    const labels: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      let k: number;
      let v: number;
      [k, p] = uvarintAt(b, p);
      [v, p] = uvarintAt(b, p);
      labels[symbols[k]] = symbols[v];
    }
    let nc: number;
    [nc, p] = uvarintAt(b, p);
    const chunks: FixtureIndexSeries['chunks'] = [];
    let prevMaxt = 0;
    let prevRef = 0;
    for (let i = 0; i < nc; i++) {
      let mint: number;
      let d: number;
      let r: number;
      if (i === 0) {
        [mint, p] = varintAt(b, p);
        [d, p] = uvarintAt(b, p);
        [r, p] = uvarintAt(b, p);
      } else {
        [mint, p] = uvarintAt(b, p);
        mint += prevMaxt;
        [d, p] = uvarintAt(b, p);
        [r, p] = varintAt(b, p);
        r += prevRef;
      }
      const maxt = mint + d;
      chunks.push({ mint, maxt, ref: r });
      prevMaxt = maxt;
      prevRef = r;
    }
    out.push({ ref, labels, chunks });
    pos = bodyStart + len + 4;
  }
  return out;
}

// --- Block test data ---

/** Samples of one series; values in a Float64Array so NaN payloads survive. */
export interface InputSeries {
  labels: Labels;
  ts: number[];
  vs: Float64Array;
}

/** Go's strconv.ParseFloat("NaN") = math.NaN(), bits 0x7ff8000000000001. */
export const GO_NAN_HI = 0x7ff80000;
export const GO_NAN_LO = 0x00000001;

const F = new Float64Array(1);
const U = new Uint32Array(F.buffer);
const HI = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

export function bitsOf(v: number): string {
  F[0] = v;
  return U[HI].toString(16).padStart(8, '0') + U[LO].toString(16).padStart(8, '0');
}

/** Whether the seconds string we print for t reads back as exactly t ms (see omTimestamp). */
function exactInOpenMetrics(t: number): boolean {
  return omSecondsToMs(String(t / 1000)) === t;
}

/**
 * `count` series over [start, start + durationMs): some scraped every 15 s (several
 * chunks per block), the others at irregular intervals with gaps; values include NaN,
 * ±Inf, -0, subnormals, huge and tiny magnitudes, long runs of repeated values,
 * counters and random noise. Sorted by labels.
 */
export function makeInput(seed: number, count: number, start: number, durationMs: number, metric = 'test_metric'): InputSeries[] {
  const r = rng(seed);
  const out: InputSeries[] = [];
  const seen = new Set<string>();
  const jobs = ['api', 'web', 'db', 'ünïcode', 'x y'];
  while (out.length < count) {
    const i = out.length;
    const rec: Record<string, string> = { __name__: i % 7 === 0 ? `${metric}_total` : metric, job: jobs[i % jobs.length], series: String(i) };
    if (r() < 0.5) rec.zone = ['eu-1', 'us-2', 'ap-3'][Math.floor(r() * 3)];
    const labels = labelsFromRecord(rec);
    const key = labelsToString(labels);
    if (seen.has(key)) continue;
    seen.add(key);
    const ts: number[] = [];
    const values: number[] = [];
    const regular = i % 4 === 0;
    let t = start + Math.floor(r() * 60_000);
    const end = start + durationMs;
    const kind = i % 6;
    let counter = 0;
    let rep = 0;
    let v = 0;
    while (t < end) {
      if (!exactInOpenMetrics(t)) {
        t++;
        continue;
      }
      // Values stored in a plain number[] here are ordinary numbers and NaN; the only
      // NaN used is Go's, built at the end from bits.
      const x = r();
      switch (kind) {
        case 0: // counter with resets
          counter = x < 0.01 ? 0 : counter + Math.floor(x * 100);
          v = counter;
          break;
        case 1: // gauge with long repeats
          if (rep-- <= 0) {
            v = Math.round((x - 0.5) * 2000) / 8;
            rep = Math.floor(r() * 40);
          }
          break;
        case 2: // special values sprinkled in noise
          v = x < 0.05 ? NaN : x < 0.08 ? Infinity : x < 0.11 ? -Infinity : x < 0.14 ? -0 : x < 0.16 ? 5e-324 : x < 0.18 ? -1.7976931348623157e308 : (x - 0.5) * 1e6;
          break;
        case 3: // tiny and huge magnitudes
          v = (x - 0.5) * 10 ** Math.floor(r() * 600 - 300);
          break;
        case 4: // random doubles (poor compression)
          v = r() * 2 ** 40 + r();
          break;
        default: // small integers
          v = Math.floor(x * 5);
      }
      ts.push(t);
      values.push(v);
      if (regular) t += 15_000;
      else {
        const gap = r() < 0.02 ? 20 * 60_000 : 0; // occasional 20 min gap
        t += gap + 1_000 + Math.floor(r() * 120_000) + (r() < 0.3 ? Math.floor(r() * 1000) : 0);
      }
    }
    if (ts.length === 0) continue;
    const vs = new Float64Array(values.length);
    for (let k = 0; k < values.length; k++) {
      if (Number.isNaN(values[k])) {
        F[0] = 0;
        U[HI] = GO_NAN_HI;
        U[LO] = GO_NAN_LO;
        vs[k] = F[0];
      } else vs[k] = values[k];
    }
    out.push({ labels, ts, vs });
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

/** OpenMetrics text with every sample in time order (series interleaved), as a scrape log. */
export function toOpenMetrics(series: readonly InputSeries[]): string {
  const lines: { t: number; line: string }[] = [];
  for (const s of series) {
    const name = s.labels.find((l) => l.name === '__name__')!.value;
    const metric = omMetric(
      name,
      s.labels.filter((l) => l.name !== '__name__').map((l) => [l.name, l.value] as const),
    );
    for (let i = 0; i < s.ts.length; i++) lines.push({ t: s.ts[i], line: `${metric} ${omValue(s.vs[i])} ${omTimestamp(s.ts[i])}` });
  }
  lines.sort((a, b) => a.t - b.t);
  return lines.map((l) => l.line).join('\n') + '\n# EOF\n';
}

/** Everything an iterator yields. */
export function drain(it: SeriesIterator): { ts: number[]; vs: Float64Array } {
  const ts: number[] = [];
  let vs = new Float64Array(256);
  while (it.next() !== ValueType.None) {
    if (ts.length === vs.length) {
      const g = new Float64Array(vs.length * 2);
      g.set(vs);
      vs = g;
    }
    vs[ts.length] = it.atF();
    ts.push(it.atT());
  }
  const e = it.err();
  if (e !== null) throw e;
  return { ts, vs: vs.slice(0, ts.length) };
}

export async function collect(set: AsyncIterable<Series>): Promise<{ labels: Labels; ts: number[]; vs: Float64Array }[]> {
  const out = [];
  for await (const s of set) out.push({ labels: s.labels, ...drain(s.iterator()) });
  return out;
}

/** The input samples within [mint, maxt], series without any dropped. */
export function inputInRange(input: readonly InputSeries[], mint: number, maxt: number): InputSeries[] {
  const out: InputSeries[] = [];
  for (const s of input) {
    const idx: number[] = [];
    for (let i = 0; i < s.ts.length; i++) if (s.ts[i] >= mint && s.ts[i] <= maxt) idx.push(i);
    if (idx.length === 0) continue;
    out.push({ labels: s.labels, ts: idx.map((i) => s.ts[i]), vs: Float64Array.from(idx, (i) => s.vs[i]) });
  }
  return out;
}

/**
 * A readable bit-exact comparison: the first difference, or null. Values are compared
 * by their IEEE-754 bits, so NaN payloads and -0 count.
 */
export function firstDifference(
  got: readonly { labels: Labels; ts: readonly number[]; vs: Float64Array }[],
  want: readonly { labels: Labels; ts: readonly number[]; vs: Float64Array }[],
): string | null {
  if (got.length !== want.length) return `got ${got.length} series, want ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    const name = labelsToString(w.labels);
    if (labelsToString(g.labels) !== name) return `series ${i}: got ${labelsToString(g.labels)}, want ${name}`;
    if (g.ts.length !== w.ts.length) return `${name}: got ${g.ts.length} samples, want ${w.ts.length}`;
    for (let k = 0; k < w.ts.length; k++) {
      if (g.ts[k] !== w.ts[k]) return `${name}: sample ${k}: got t=${g.ts[k]}, want ${w.ts[k]}`;
      if (bitsOf(g.vs[k]) !== bitsOf(w.vs[k])) return `${name}: sample ${k} at ${w.ts[k]}: got ${bitsOf(g.vs[k])} (${g.vs[k]}), want ${bitsOf(w.vs[k])} (${w.vs[k]})`;
    }
  }
  return null;
}
