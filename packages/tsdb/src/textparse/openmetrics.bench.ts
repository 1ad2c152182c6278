// npx vitest bench --run packages/tsdb/src/textparse
// Each iteration parses LINES lines of OpenMetrics (≈ 90 bytes each) from memory in
// 64 KiB chunks, so lines/s = LINES × hz.
import { bench, describe } from 'vitest';
import { parseOpenMetrics, parseOpenMetricsBatches } from './index.js';

const LINES = 200_000;
const SERIES = 2_000;

function makeChunks(series: number): Buffer[] {
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const s = i % series;
    const t = 1_700_000_000 + Math.floor(i / series) * 15;
    lines.push(
      `http_requests_total{job="api-server",instance="10.0.${s >> 8}.${s & 255}:9090",code="${200 + (s % 5)}",method="GET"} ${i * 3} ${t}.${String(i % 1000).padStart(3, '0')}`,
    );
  }
  lines.push('# EOF', '');
  const buf = Buffer.from(lines.join('\n'));
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 65536) chunks.push(buf.subarray(i, i + 65536));
  return chunks;
}

const repeated = makeChunks(SERIES);
const unique = makeChunks(LINES);

describe(`OpenMetrics ${LINES} lines`, () => {
  bench(`entries, ${SERIES} series`, async () => {
    let n = 0;
    for await (const e of parseOpenMetrics(repeated)) if (e.kind === 'sample') n++;
    if (n !== LINES) throw new Error(`got ${n}`);
  });
  bench(`batches, ${SERIES} series`, async () => {
    let n = 0;
    for await (const b of parseOpenMetricsBatches(repeated)) n += b.length;
    if (n !== LINES) throw new Error(`got ${n}`);
  });
  bench(`batches, every series new`, async () => {
    let n = 0;
    for await (const b of parseOpenMetricsBatches(unique)) n += b.length;
    if (n !== LINES) throw new Error(`got ${n}`);
  });
});
