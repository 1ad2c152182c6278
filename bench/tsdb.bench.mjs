// TSDB: XOR codec throughput, index lookups over 100k series.
import { execFileSync } from 'node:child_process';
import { createReadStream, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Block, parseOpenMetricsBatches, SeriesBuilder, IndexReader, IndexWriter, labelsFromRecord, MatchType, newMatcher, postingsForMatchers, expandPostings, XorChunk, XorIterator, compareLabels, compileRegexp, forceRegexpEngine } from '@thanos-ts/tsdb';
import { cleanup, fmt, rng, table, timeIt, tmp } from './util.mjs';

export async function run() {
  xor();
  index();
  await blocksBesidePromtool();
}

/**
 * The same OpenMetrics file turned into blocks by `promtool tsdb create-blocks-from
 * openmetrics` and by our parser + SeriesBuilder + BlockWriter: wall time and bytes per
 * sample of the chunk files (same codec, so they should match).
 */
async function blocksBesidePromtool() {
  const dir = tmp('blocks');
  try {
    const N = 2000;
    const r = rng(7);
    const lines = ['# TYPE node_cpu_seconds_total counter'];
    const t0 = 1_700_006_400;
    let samples = 0;
    for (let i = 0; i < N; i++) {
      const name = i % 2 === 0 ? 'node_cpu_seconds_total' : 'node_memory_free_bytes';
      let v = Math.floor(r() * 1e6);
      const off = Math.floor(r() * 15);
      for (let k = 0; k < 480; k++) {
        v = i % 2 === 0 ? v + Math.floor(r() * 300) : Math.round((v + (r() - 0.5) * 1e4) * 100) / 100;
        lines.push(`${name}{instance="host-${i % 500}:9100",job="node",id="${i}"} ${v} ${t0 + off + k * 15}`);
        samples++;
      }
    }
    lines.push('# EOF');
    const om = join(dir, 'in.om');
    writeFileSync(om, lines.join('\n') + '\n');

    const promOut = join(dir, 'promtool');
    let t = performance.now();
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', om, promOut], { stdio: 'ignore' });
    const promMs = performance.now() - t;

    const ourOut = join(dir, 'ours');
    t = performance.now();
    // One aligned 2h window at a time with a 4h chunk range, as promtool does.
    const builder = new SeriesBuilder({ chunkRange: 4 * 3600_000 });
    for await (const batch of parseOpenMetricsBatches(createReadStream(om))) {
      for (const e of batch) if (e.kind === 'sample') builder.append(e.labels, e.t, e.v);
    }
    await builder.writeBlocks(ourOut, 2 * 3600_000);
    const ourMs = performance.now() - t;

    const chunkBytes = (root) => {
      let n = 0;
      for (const b of readdirSync(root)) for (const f of readdirSync(join(root, b, 'chunks'))) n += statSync(join(root, b, 'chunks', f)).size;
      return n;
    };
    const pb = chunkBytes(promOut);
    const ob = chunkBytes(ourOut);

    // Read back everything through our querier.
    let read = 0;
    t = performance.now();
    for (const id of readdirSync(ourOut)) {
      const b = await Block.open(join(ourOut, id));
      const q = await b.querier(-Infinity, Infinity);
      for await (const s of q.select({ start: -Infinity, end: Infinity }, [newMatcher(MatchType.RE, '__name__', '.+')])) {
        const it = s.iterator();
        while (it.next() !== 0) read++;
      }
      await b.close();
    }
    const readMs = performance.now() - t;
    table([
      [`OpenMetrics → blocks (${N} series × 2h @ 15s, ${fmt(samples)} samples)`, 'promtool 2.42', 'thanos-ts', 'ratio (ours/promtool)'],
      ['wall time', `${promMs.toFixed(0)} ms`, `${ourMs.toFixed(0)} ms`, (ourMs / promMs).toFixed(2)],
      ['chunk bytes per sample', (pb / samples).toFixed(3), (ob / samples).toFixed(3), (ob / pb).toFixed(4)],
      ['select + iterate all samples (ours)', '', `${fmt((read / readMs) * 1000)} samples/s`, ''],
    ]);
  } finally {
    cleanup(dir);
  }
}

function xor() {
  // A realistic gauge: 15 s scrape interval with jitter, slowly varying value.
  const N = 1_000_000;
  const r = rng(1);
  const ts = new Float64Array(N);
  const vs = new Float64Array(N);
  let t = 1_700_000_000_000;
  let v = 100;
  for (let i = 0; i < N; i++) {
    t += 15_000 + Math.floor((r() - 0.5) * 40);
    v += Math.round((r() - 0.5) * 10) / 10;
    ts[i] = t;
    vs[i] = v;
  }
  const chunks = [];
  const encMs = timeIt(() => {
    chunks.length = 0;
    for (let i = 0; i < N; i += 120) {
      const c = new XorChunk();
      const app = c.appender();
      const end = Math.min(N, i + 120);
      for (let j = i; j < end; j++) app.append(ts[j], vs[j]);
      chunks.push(c);
    }
  });
  const it = new XorIterator();
  let sum = 0;
  const decMs = timeIt(() => {
    for (const c of chunks) {
      it.reset(c.bytes());
      while (it.next() !== 0) sum += it.atF();
    }
  });
  const bytes = chunks.reduce((a, c) => a + c.bytes().length, 0);
  table([
    ['XOR codec (1M samples, 120/chunk)', 'value'],
    ['encode', `${fmt((N / encMs) * 1000)} samples/s`],
    ['decode', `${fmt((N / decMs) * 1000)} samples/s`],
    ['size', `${(bytes / N).toFixed(2)} bytes/sample`],
  ]);
  if (sum === 42) console.log('');
}

function index() {
  const dir = tmp('index');
  try {
    const path = join(dir, 'index');
    const series = [];
    for (let i = 0; i < 100_000; i++) {
      series.push(
        labelsFromRecord({
          __name__: `metric_${i % 20}`,
          job: ['api', 'db', 'web', 'cache'][i % 4],
          instance: `host-${i % 500}`,
          status: String(200 + (i % 7) * 50),
          pod: `pod-${i}`,
        }),
      );
    }
    series.sort(compareLabels);
    const symbols = new Set();
    for (const s of series) for (const l of s) symbols.add(l.name).add(l.value);
    const sorted = [...symbols].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const t0 = performance.now();
    const w = new IndexWriter(path);
    w.addSymbols(sorted);
    let ref = 8;
    for (const s of series) {
      w.addSeries(s, [{ mint: 0, maxt: 1000, ref }]);
      ref += 100;
    }
    w.close();
    const writeMs = performance.now() - t0;
    const ir = IndexReader.fromFile(path);
    const cases = [
      ['{job="api", instance=~"host-1.*", status!="500"}', [newMatcher(MatchType.EQ, 'job', 'api'), newMatcher(MatchType.RE, 'instance', 'host-1.*'), newMatcher(MatchType.NEQ, 'status', '500')]],
      ['{__name__="metric_7", instance=~"host-7|host-27|host-47"}', [newMatcher(MatchType.EQ, '__name__', 'metric_7'), newMatcher(MatchType.RE, 'instance', 'host-7|host-27|host-47')]],
      ['{pod=~"pod-1.*5"}', [newMatcher(MatchType.RE, 'pod', 'pod-1.*5')]],
    ];
    const rows = [['index lookup over 100k series', 'matched', 'time']];
    for (const [name, ms] of cases) {
      let n = 0;
      const took = timeIt(() => {
        n = expandPostings(postingsForMatchers(ir, ms)).length;
      }, 300);
      rows.push([name, String(n), `${took.toFixed(3)} ms`]);
    }
    rows.push(['(write the 100k-series index)', '', `${writeMs.toFixed(0)} ms`]);
    table(rows);
    console.log('');
    regexEngines(ir);
  } finally {
    cleanup(dir);
  }
}

/**
 * Regex matchers before and after linear-time matching, A/B on the same index in the same
 * run: "before" forces every regex onto V8's backtracking RegExp (what every regex used
 * to run on), "after" is the automatic choice (V8 when proven safe, else re2js). The two
 * sides alternate round by round; each figure is the best round. Matchers are compiled
 * outside the timing.
 */
function regexEngines(ir) {
  const cases = [
    // [row, label, regex, rounds]: the hostile one takes seconds per run on V8.
    ['{instance=~"(.*){16}[!#]"} (hostile, 500 values)', 'instance', '(.*){16}[!#]', 2],
    ['{pod=~"pod-(\\d+)+"} (nested repeat: now re2js)', 'pod', 'pod-(\\d+)+', 5],
    ['{pod=~".*1.*2.*5"} (3 ambiguous .*: now re2js)', 'pod', '.*1.*2.*5', 5],
    ['{pod=~"pod-1.*5"} (proven safe: V8 on both sides)', 'pod', 'pod-1.*5', 5],
  ];
  const rows = [['regex matcher over 100k series', 'matched', 'engine after', 'before: V8 only', 'after', 'after/before']];
  for (const [name, label, re, rounds] of cases) {
    const lookup = (engine) => {
      const prev = forceRegexpEngine(engine);
      const ms = [newMatcher(MatchType.RE, label, re)];
      forceRegexpEngine(prev);
      let n = 0;
      const t0 = performance.now();
      n = expandPostings(postingsForMatchers(ir, ms)).length;
      return [performance.now() - t0, n];
    };
    let before = Infinity;
    let after = Infinity;
    let matched = -1;
    for (let i = 0; i < rounds; i++) {
      const [b, nb] = lookup('v8');
      const [a, na] = lookup(null);
      if (nb !== na) throw new Error(`${re}: V8 matched ${nb} series, re2js ${na}`);
      matched = na;
      before = Math.min(before, b);
      after = Math.min(after, a);
    }
    const prev = forceRegexpEngine(null);
    const engine = compileRegexp(re).engine;
    forceRegexpEngine(prev);
    rows.push([name, String(matched), engine, `${before.toFixed(2)} ms`, `${after.toFixed(2)} ms`, (after / before).toPrecision(2)]);
  }
  table(rows);
}
