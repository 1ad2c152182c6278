// TSDB: XOR codec throughput, index lookups over 100k series.
import { join } from 'node:path';
import { IndexReader, IndexWriter, labelsFromRecord, MatchType, newMatcher, postingsForMatchers, expandPostings, XorChunk, XorIterator, compareLabels } from '@thanos-ts/tsdb';
import { cleanup, fmt, rng, table, timeIt, tmp } from './util.mjs';

export async function run() {
  xor();
  index();
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
      ['{__name__="metric_7", instance=~"host-1|host-2|host-3"}', [newMatcher(MatchType.EQ, '__name__', 'metric_7'), newMatcher(MatchType.RE, 'instance', 'host-1|host-2|host-3')]],
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
  } finally {
    cleanup(dir);
  }
}
