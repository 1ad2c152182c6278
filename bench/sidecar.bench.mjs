// Sidecar Series throughput for a 10k-series Prometheus, beside Prometheus's own
// streamed remote read of the same data measured in the same run.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBlocksFromOpenMetrics, freePort, startPrometheus, waitFor } from '@thanos-ts/testutil';
import { StoreClient } from '@thanos-ts/storeapi';
import { PromClient } from '@thanos-ts/sidecar';
import { cleanup, fmt, table, tmp } from './util.mjs';

const SERIES = 10_000;
const SAMPLES = 240; // 1h at 15s

export async function run() {
  const dir = tmp('sidecar');
  const data = join(dir, 'data');
  const end = Math.floor(Date.now() / 1000) - 3 * 3600;
  const start = end - SAMPLES * 15;
  const lines = [];
  for (let i = 0; i < SERIES; i++) {
    let v = i;
    for (let k = 0; k < SAMPLES; k++) {
      v += (i % 7) + 1;
      lines.push(`bench_requests_total{instance="host-${i % 100}",job="bench",shard="${i}"} ${v} ${start + k * 15}`);
    }
  }
  writeFileSync(join(dir, 'in.om'), lines.join('\n') + '\n# EOF\n');
  await createBlocksFromOpenMetrics(lines.join('\n') + '\n# EOF\n', data);
  const prom = await startPrometheus({ dataDir: data, externalLabels: { cluster: 'bench' }, scrapeSelf: false, extraArgs: ['--storage.tsdb.retention.time=100y'] });
  const http = `127.0.0.1:${await freePort()}`;
  const grpc = `127.0.0.1:${await freePort()}`;
  const sidecar = spawn(process.execPath, ['bin/thanos-ts', 'sidecar', '--prometheus.url', prom.url, '--tsdb.path', data, '--http-address', http, '--grpc-address', grpc], { stdio: 'ignore' });
  try {
    await waitFor(async () => (await fetch(`http://${http}/-/ready`)).status === 200, { what: 'sidecar ready' });
    const mint = (start - 60) * 1000;
    const maxt = (end + 60) * 1000;

    const viaRemoteRead = async () => {
      const c = new PromClient(prom.url);
      let series = 0;
      let chunks = 0;
      let bytes = 0;
      for await (const f of c.remoteRead({ startTimestampMs: mint, endTimestampMs: maxt, matchers: [{ type: 0, name: 'job', value: 'bench' }] })) {
        for (const s of f.chunkedSeries) {
          series++;
          chunks += s.chunks.length;
          for (const ch of s.chunks) bytes += ch.data.length;
        }
      }
      return { series, chunks, bytes };
    };
    const client = new StoreClient(grpc);
    const viaSidecar = async () => {
      let series = 0;
      let chunks = 0;
      let bytes = 0;
      for await (const r of client.series({ minTime: mint, maxTime: maxt, matchers: [{ type: 0, name: 'job', value: 'bench' }], responseBatchSize: 64 })) {
        for (const s of r.series ? [r.series] : r.batch?.series ?? []) {
          series++;
          chunks += s.chunks.length;
          for (const ch of s.chunks) bytes += ch.raw.data.length;
        }
      }
      return { series, chunks, bytes };
    };
    const best = async (fn) => {
      let res;
      let ms = Infinity;
      for (let i = 0; i < 4; i++) {
        const t0 = performance.now();
        res = await fn();
        ms = Math.min(ms, performance.now() - t0);
      }
      return { ...res, ms };
    };
    const rr = await best(viaRemoteRead);
    const sc = await best(viaSidecar);
    client.close();
    const samples = SERIES * SAMPLES;
    table([
      [`Series, ${SERIES} series × ${SAMPLES} samples`, 'Prometheus remote read', 'sidecar StoreAPI', 'ratio (sidecar/remote read time)'],
      ['series returned', String(rr.series), String(sc.series), ''],
      ['time (best of 4)', `${rr.ms.toFixed(0)} ms`, `${sc.ms.toFixed(0)} ms`, (sc.ms / rr.ms).toFixed(2)],
      ['series/s', fmt((rr.series / rr.ms) * 1000), fmt((sc.series / sc.ms) * 1000), ''],
      ['samples/s', fmt((samples / rr.ms) * 1000), fmt((samples / sc.ms) * 1000), ''],
    ]);
  } finally {
    sidecar.kill('SIGTERM');
    await prom.stop();
    cleanup(dir);
  }
}
