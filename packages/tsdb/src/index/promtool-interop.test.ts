// Interop with the real Prometheus 2.42 tools (Debian `promtool`), the acceptance test of
// the index format:
//  (a) a block written by `promtool tsdb create-blocks-from openmetrics` reads back with
//      IndexReader exactly as the input says (series, chunk metas, symbols, label values,
//      postings), and its chunk refs point at chunks holding the input samples;
//  (b) IndexWriter, given what that block holds, writes byte-identical symbols, series and
//      postings sections; and a block we write ourselves (index + XOR chunks + meta.json)
//      passes `promtool tsdb analyze` and `promtool tsdb dump` prints exactly our samples.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeBlock, createBlocksFromOpenMetrics, dumpBlocks, removeTempDirs, rng, tempDir } from '@thanos-ts/testutil';
import { EncXOR, ValueType, XorChunk, XorIterator } from '../chunkenc/index.js';
import { ChunkReader, ChunkWriter } from '../chunks/index.js';
import { compareLabels, compareStrings, labelsFromRecord, labelsToString, type Labels } from '../labels/index.js';
import { MatchType, newMatcher, type Matcher } from '../matchers/index.js';
import { expandPostings, postingsForMatchers } from '../postings/index.js';
import { ulid } from '../ulid/index.js';
import { IndexReader, IndexWriter, readPostingsOffsetTable, type ChunkMeta } from './index.js';

afterAll(removeTempDirs);

interface InputSeries {
  labels: Labels;
  samples: { t: number; v: number }[];
}

// All samples fall in one 2h block: [1699999200 s, 1700006400 s).
const T0 = 1_700_000_000;

/**
 * A few hundred series with several labels each; values include quotes, backslashes,
 * newlines, non-ASCII and astral characters (U+FF5A vs U+1F600 sort differently in UTF-8
 * and UTF-16, which is where a naive JS sort would disagree with Prometheus).
 */
function makeInput(): InputSeries[] {
  const r = rng(2024);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const names = ['up', 'http_requests_total', 'node_cpu_seconds_total', 'go:gc_duration', 'a_b_c', 'zzz'];
  const jobs = ['api', 'web', 'db', 'ünïcode', '日本', 'Ωmega'];
  const paths = ['/', '/api/v1', '/ü/\u{1F600}', 'x y', 'quote"back\\slash', 'line\nbreak', '\uFF5A', '\u{1F600}', 'tab\there', 'é'];
  const seen = new Set<string>();
  const out: InputSeries[] = [];
  while (out.length < 300) {
    const rec: Record<string, string> = { __name__: pick(names), job: pick(jobs), instance: `host-${Math.floor(r() * 40)}` };
    if (r() < 0.7) rec.status = pick(['200', '404', '500']);
    if (r() < 0.5) rec.path = pick(paths);
    if (r() < 0.2) rec.zone = pick(['eu-1', 'us-2', 'ap-3']);
    const labels = labelsFromRecord(rec);
    const key = labelsToString(labels);
    if (seen.has(key)) continue;
    seen.add(key);
    const samples = [];
    // Start times differ per series; 5-12 samples 30 s apart, some at half seconds.
    let t = (T0 + Math.floor(r() * 600)) * 1000;
    const n = 5 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) {
      samples.push({ t, v: Math.round((r() - 0.3) * 1e6) / 64 });
      t += 30_000 + (r() < 0.3 ? 500 : 0);
    }
    out.push({ labels, samples });
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

function omEscape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** OpenMetrics text in scrape order; timestamps in seconds (whole or .5, exact in float64). */
function toOpenMetrics(series: InputSeries[]): string {
  const lines: { t: number; line: string }[] = [];
  for (const s of series) {
    const name = s.labels.find((l) => l.name === '__name__')!.value;
    const ls = s.labels
      .filter((l) => l.name !== '__name__')
      .map((l) => `${l.name}="${omEscape(l.value)}"`)
      .join(',');
    for (const smp of s.samples) lines.push({ t: smp.t, line: `${name}{${ls}} ${smp.v} ${smp.t / 1000}` });
  }
  lines.sort((a, b) => a.t - b.t);
  return lines.map((l) => l.line).join('\n') + '\n# EOF\n';
}

function symbolsOf(series: { labels: Labels }[]): string[] {
  const set = new Set<string>();
  for (const s of series) for (const l of s.labels) set.add(l.name).add(l.value);
  return [...set].sort(compareStrings);
}

const input = makeInput();
let promDir: string;
let promBlock: string;
let prom: IndexReader;

beforeAll(async () => {
  promDir = await tempDir('index-interop-prom');
  const ulids = await createBlocksFromOpenMetrics(toOpenMetrics(input), promDir);
  expect(ulids).toHaveLength(1);
  promBlock = join(promDir, ulids[0]);
  prom = IndexReader.fromFile(join(promBlock, 'index'), `${ulids[0]}/index`);
}, 60_000);

describe('(a) reading an index written by promtool 2.42', () => {
  it('has the input series in label order, with one chunk each spanning its samples', () => {
    const refs = [...expandPostings(prom.postings('', ''))];
    expect(refs).toHaveLength(input.length);
    refs.forEach((ref, i) => {
      const e = prom.series(ref);
      expect(labelsToString(e.labels)).toBe(labelsToString(input[i].labels));
      const s = input[i].samples;
      expect(e.chunks).toHaveLength(1);
      expect(e.chunks[0].mint).toBe(s[0].t);
      expect(e.chunks[0].maxt).toBe(s[s.length - 1].t);
    });
  });

  it('has chunk refs that point at chunks holding the input samples', () => {
    const cr = ChunkReader.open(join(promBlock, 'chunks'));
    try {
      const it = new XorIterator();
      let last = -1;
      [...expandPostings(prom.postings('', ''))].forEach((ref, i) => {
        const meta = prom.series(ref).chunks[0];
        expect(meta.ref).toBeGreaterThan(last);
        last = meta.ref;
        const rec = cr.chunk(meta.ref);
        expect(rec.encoding).toBe(EncXOR);
        it.reset(rec.data);
        const got = [];
        while (it.next() !== ValueType.None) got.push({ t: it.atT(), v: it.atF() });
        expect(got).toEqual(input[i].samples);
      });
    } finally {
      cr.close();
    }
  });

  it('has the symbols, label names, label values and postings of the input', () => {
    // Prometheus's head lists the all-postings key ("", "") among its symbols, so its
    // blocks carry an empty-string symbol that no series uses.
    expect([...prom.symbols()]).toEqual(['', ...symbolsOf(input)]);
    const refs = [...expandPostings(prom.postings('', ''))];
    const names = [...new Set(input.flatMap((s) => s.labels.map((l) => l.name)))].sort(compareStrings);
    expect(prom.labelNames()).toEqual(names);
    for (const n of names) {
      const vals = [...new Set(input.flatMap((s) => s.labels.filter((l) => l.name === n).map((l) => l.value)))].sort(compareStrings);
      expect(prom.labelValues(n)).toEqual(vals);
      for (const v of vals) {
        const want = refs.filter((_, i) => input[i].labels.some((l) => l.name === n && l.value === v));
        expect([...expandPostings(prom.postings(n, v))], `${n}=${v}`).toEqual(want);
      }
    }
  });

  it('selects with matchers what the labels say', () => {
    const refs = [...expandPostings(prom.postings('', ''))];
    const { EQ, NEQ, RE, NRE } = MatchType;
    const sets: Matcher[][] = [
      [newMatcher(EQ, 'job', 'api'), newMatcher(RE, 'instance', 'host-1.*'), newMatcher(NEQ, 'status', '500')],
      [newMatcher(RE, 'path', '.*\u{1F600}.*')],
      [newMatcher(EQ, 'zone', '')],
      [newMatcher(NEQ, 'zone', '')],
      [newMatcher(RE, '__name__', 'up|zzz'), newMatcher(NRE, 'job', '(?i)API|web')],
      [newMatcher(RE, 'path', 'line\nbreak|x y')],
      [newMatcher(RE, 'job', '\\p{Han}+|Ω.*')],
    ];
    for (const ms of sets) {
      const want = refs.filter((_, i) => ms.every((m) => m.matches(input[i].labels.find((l) => l.name === m.name)?.value ?? '')));
      expect([...expandPostings(postingsForMatchers(prom, ms))], ms.join(',')).toEqual(want);
      expect(want.length).toBeGreaterThan(0);
    }
  });
});

describe('(b) writing what promtool writes', () => {
  it('rewrites promtool’s index with byte-identical symbols, series and postings', async () => {
    const dir = await tempDir('index-interop-rewrite');
    const path = join(dir, 'index');
    const w = new IndexWriter(path);
    w.addSymbols(prom.symbols());
    for (const ref of expandPostings(prom.postings('', ''))) {
      const e = prom.series(ref);
      expect(w.addSeries(e.labels, e.chunks)).toBe(ref);
    }
    w.close();
    const ours = IndexReader.fromFile(path);
    const a = ours.bytes;
    const b = prom.bytes;
    const ta = ours.toc;
    const tb = prom.toc;
    const same = (x: [number, number], y: [number, number], what: string): void => {
      expect(x[1] - x[0], what).toBeGreaterThan(0);
      expect(Buffer.from(a.subarray(x[0], x[1])).equals(Buffer.from(b.subarray(y[0], y[1]))), what).toBe(true);
    };
    // Prometheus 2.42 still writes label indices between series and postings, and a
    // label offset table after them; we do not, so only those offsets differ.
    expect(tb.labelIndices).toBeLessThan(tb.postings);
    same([ta.symbols, ta.series], [tb.symbols, tb.series], 'symbol table');
    same([ta.series, ta.labelIndices], [tb.series, tb.labelIndices], 'series');
    const firstList = (t: typeof ta): number => Math.ceil(t.postings / 4) * 4;
    same([firstList(ta), ta.postingsTable], [firstList(tb), tb.labelIndicesTable], 'postings');
    // The offset tables hold the same pairs, shifted by where the postings start.
    const entries = (r: IndexReader, shift: number): string[] => {
      const out: string[] = [];
      readPostingsOffsetTable(r.bytes, r.toc.postingsTable, 'index', (n, v, off) => out.push(`${n}\xff${v}\xff${off - shift}`));
      return out;
    };
    expect(entries(ours, firstList(ta))).toEqual(entries(prom, firstList(tb)));
    // And every list decodes identically.
    for (const n of ['', ...ours.labelNames()]) {
      for (const v of n === '' ? [''] : ours.labelValues(n)) {
        expect([...expandPostings(ours.postings(n, v))]).toEqual([...expandPostings(prom.postings(n, v))]);
      }
    }
  });

  it('writes a block that promtool analyzes and dumps back sample for sample', async () => {
    const dbDir = await tempDir('index-interop-ours');
    const id = ulid(T0 * 1000);
    const blockDir = join(dbDir, id);
    mkdirSync(blockDir);

    // Chunks: one XOR chunk per series, written in series order so refs increase.
    const cw = new ChunkWriter(join(blockDir, 'chunks'));
    const metas: ChunkMeta[][] = [];
    let numSamples = 0;
    for (const s of input) {
      const c = new XorChunk();
      const app = c.appender();
      for (const smp of s.samples) app.append(smp.t, smp.v);
      const ref = cw.writeChunk(EncXOR, c.bytes());
      metas.push([{ mint: s.samples[0].t, maxt: s.samples[s.samples.length - 1].t, ref }]);
      numSamples += s.samples.length;
    }
    await cw.close();

    const w = new IndexWriter(join(blockDir, 'index'));
    w.addSymbols(symbolsOf(input));
    input.forEach((s, i) => w.addSeries(s.labels, metas[i]));
    w.close();

    const minTime = Math.min(...input.map((s) => s.samples[0].t));
    const maxTime = Math.max(...input.map((s) => s.samples[s.samples.length - 1].t));
    writeFileSync(
      join(blockDir, 'meta.json'),
      JSON.stringify(
        {
          ulid: id,
          minTime,
          maxTime: maxTime + 1,
          stats: { numSamples, numSeries: input.length, numChunks: input.length },
          compaction: { level: 1, sources: [id] },
          version: 1,
        },
        null,
        '\t',
      ),
    );

    const a = await analyzeBlock(dbDir, id);
    const pairs = new Set(input.flatMap((s) => s.labels.map((l) => `${l.name}\xff${l.value}`)));
    expect(a.blockId).toBe(id);
    expect(a.series).toBe(input.length);
    expect(a.labelNames).toBe(new Set(input.flatMap((s) => s.labels.map((l) => l.name))).size);
    expect(a.postings).toBe(pairs.size);
    expect(a.postingEntries).toBe(input.reduce((n, s) => n + s.labels.length, 0));

    const dumped = await dumpBlocks(dbDir, { minTime, maxTime });
    expect(dumped.map((s) => labelsToString(s.labels))).toEqual(input.map((s) => labelsToString(s.labels)));
    expect(dumped.map((s) => s.samples)).toEqual(input.map((s) => s.samples));

    // A narrower time range and a matcher, applied by Prometheus's own querier on our index.
    const mid = T0 * 1000 + 200_000;
    const part = await dumpBlocks(dbDir, { minTime: mid, maxTime: mid + 60_000, match: '{job="api",instance=~"host-1.*"}' });
    const want = input
      .filter((s) => s.labels.some((l) => l.name === 'job' && l.value === 'api') && /^host-1/.test(s.labels.find((l) => l.name === 'instance')!.value))
      .map((s) => ({ labels: labelsToString(s.labels), samples: s.samples.filter((x) => x.t >= mid && x.t <= mid + 60_000) }))
      .filter((s) => s.samples.length > 0);
    expect(want.length).toBeGreaterThan(0);
    expect(part.map((s) => ({ labels: labelsToString(s.labels), samples: s.samples }))).toEqual(want);

    // Our reader reads our block the same as the promtool-built one (same input).
    const ours = IndexReader.fromFile(join(blockDir, 'index'));
    expect(['', ...ours.symbols()]).toEqual([...prom.symbols()]);
    const refs = [...expandPostings(ours.postings('', ''))];
    refs.forEach((ref, i) => expect(ours.series(ref).labels).toEqual(input[i].labels));
  });
});
