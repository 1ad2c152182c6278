// `thanos-ts quickstart`: the whole stack as local processes on one machine, for trying
// thanos-ts out: N clusters × M Prometheus replicas (Debian's prometheus binary), each
// with our sidecar shipping to a filesystem bucket, and one query over all sidecars on a
// fixed port (base port + 100: http://127.0.0.1:19190 by default), deduplicating along
// the `replica` label. Components run as child processes of this binary, exactly as an
// operator would run them; Ctrl-C stops everything.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '@thanos-ts/runtime';
import { loggerFor } from './common.js';

interface Proc {
  name: string;
  url: string;
  child: ChildProcess;
}

function findOnPath(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, bin);
    if (existsSync(p)) return p;
  }
  return null;
}

async function waitReady(url: string, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new UserError(`${proc.name} exited with code ${proc.child.exitCode}; see its log`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new UserError(`${proc.name} did not become ready at ${url} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export function registerQuickstart(program: Command): void {
  program
    .command('quickstart')
    .description('Run a local demo stack: clusters of Prometheus replicas with sidecars, a filesystem bucket and a query over them all. Ctrl-C stops it.')
    .option('--data-dir <dir>', 'Where Prometheus data, the bucket and logs go.', './data/quickstart')
    .option('--clusters <n>', 'Number of clusters.', (v) => Number(v), 2)
    .option('--replicas <n>', 'Prometheus replicas per cluster.', (v) => Number(v), 2)
    .option('--block-duration <duration>', 'Prometheus block duration (min = max, as the sidecar requires); short so blocks reach the bucket soon.', '10m')
    .option('--base-port <port>', 'First port; Prometheus, sidecar gRPC and HTTP ports are allocated from here, the query listens on base+100 (HTTP) and base+101 (gRPC).', (v) => Number(v), 19090)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd).child({ component: 'quickstart' });
      const prometheusBin = findOnPath('prometheus');
      if (!prometheusBin) throw new UserError('the prometheus binary is not on PATH: run `bash scripts/setup.sh` (Debian: apt-get install prometheus)');
      const dataDir = resolve(opts.dataDir as string);
      const clusters = opts.clusters as number;
      const replicas = opts.replicas as number;
      if (!(clusters >= 1 && replicas >= 1)) throw new UserError('--clusters and --replicas must be at least 1');
      const bucketDir = join(dataDir, 'bucket');
      const logDir = join(dataDir, 'logs');
      await mkdir(bucketDir, { recursive: true });
      await mkdir(logDir, { recursive: true });
      const objstore = join(dataDir, 'objstore.yml');
      await writeFile(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
      const self = process.argv[1];

      const procs: Proc[] = [];
      const start = (name: string, bin: string, args: string[], url: string): Proc => {
        const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
        const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout!.pipe(log);
        child.stderr!.pipe(log);
        const p = { name, url, child };
        procs.push(p);
        return p;
      };
      const stopAll = async (): Promise<void> => {
        for (const p of [...procs].reverse()) if (p.child.exitCode === null) p.child.kill('SIGTERM');
        await Promise.all(procs.map((p) => (p.child.exitCode === null ? new Promise((r) => p.child.once('exit', r)) : null)));
      };

      let port = opts.basePort as number;
      const rows: string[][] = [];
      const sidecars: string[] = [];
      try {
        for (let c = 0; c < clusters; c++) {
          const cluster = `cluster-${c}`;
          const promPorts = Array.from({ length: replicas }, (_, r) => port + r);
          port += replicas;
          for (let r = 0; r < replicas; r++) {
            const name = `${cluster}-replica-${r}`;
            const promPort = promPorts[r];
            const dir = join(dataDir, name);
            await mkdir(dir, { recursive: true });
            const cfg = join(dir, 'prometheus.yml');
            // Both replicas of a cluster scrape the same targets: every Prometheus of the cluster.
            await writeFile(
              cfg,
              [
                'global:',
                '  scrape_interval: 5s',
                '  evaluation_interval: 5s',
                '  external_labels:',
                `    cluster: ${cluster}`,
                `    replica: "${r}"`,
                'scrape_configs:',
                '  - job_name: prometheus',
                '    static_configs:',
                `      - targets: [${promPorts.map((p) => `'127.0.0.1:${p}'`).join(', ')}]`,
                '',
              ].join('\n'),
            );
            const promUrl = `http://127.0.0.1:${promPort}`;
            const prom = start(
              `${name}-prometheus`,
              prometheusBin,
              [
                `--config.file=${cfg}`,
                `--storage.tsdb.path=${join(dir, 'tsdb')}`,
                `--web.listen-address=127.0.0.1:${promPort}`,
                `--storage.tsdb.min-block-duration=${opts.blockDuration as string}`,
                `--storage.tsdb.max-block-duration=${opts.blockDuration as string}`,
                '--web.enable-lifecycle',
              ],
              promUrl,
            );
            await waitReady(promUrl, prom);
            const grpc = `127.0.0.1:${port++}`;
            const http = `127.0.0.1:${port++}`;
            const sc = start(
              `${name}-sidecar`,
              process.execPath,
              [self, 'sidecar', '--prometheus.url', promUrl, '--tsdb.path', join(dir, 'tsdb'), '--objstore.config-file', objstore, '--grpc-address', grpc, '--http-address', http],
              `http://${http}`,
            );
            await waitReady(`http://${http}`, sc);
            sidecars.push(grpc);
            rows.push([name, promUrl, grpc, `http://${http}`]);
          }
        }
      } catch (err) {
        await stopAll();
        throw err;
      }

      // One query over every sidecar and the store gateway, on a fixed port so its URL can
      // be bookmarked; the store gateway serves what the sidecars have shipped to the bucket.
      const queryHttp = `127.0.0.1:${(opts.basePort as number) + 100}`;
      const queryGrpc = `127.0.0.1:${(opts.basePort as number) + 101}`;
      const storeHttp = `127.0.0.1:${(opts.basePort as number) + 102}`;
      const storeGrpc = `127.0.0.1:${(opts.basePort as number) + 103}`;
      const queryUrl = `http://${queryHttp}`;
      try {
        if (port > (opts.basePort as number) + 100) throw new UserError('too many clusters × replicas for the ports below base-port+100');
        const st = start(
          'store',
          process.execPath,
          [self, 'store', '--objstore.config-file', objstore, '--data-dir', join(dataDir, 'store'), '--sync-block-duration', '30s', '--http-address', storeHttp, '--grpc-address', storeGrpc],
          `http://${storeHttp}`,
        );
        await waitReady(`http://${storeHttp}`, st);
        const q = start(
          'query',
          process.execPath,
          [
            self,
            'query',
            '--http-address',
            queryHttp,
            '--grpc-address',
            queryGrpc,
            '--query.replica-label=replica',
            ...[...sidecars, storeGrpc].flatMap((e) => ['--endpoint', e]),
          ],
          queryUrl,
        );
        await waitReady(queryUrl, q);
      } catch (err) {
        await stopAll();
        throw err;
      }

      const w = (s: string): boolean => process.stdout.write(s + '\n');
      w(`Query: ${queryUrl}   (Prometheus HTTP API over all replicas, deduplicated; StoreAPI gRPC on ${queryGrpc})`);
      w('');
      w('thanos-ts quickstart is running:');
      w('');
      w('  Prometheus replica            Prometheus              sidecar StoreAPI (gRPC)   sidecar HTTP');
      for (const r of rows) w(`  ${r[0].padEnd(28)}  ${r[1].padEnd(22)}  ${r[2].padEnd(24)}  ${r[3]}`);
      w('');
      w(`  store gateway: StoreAPI ${storeGrpc}, HTTP http://${storeHttp} (blocks it serves: /api/v1/blocks)`);
      w(`  bucket (FILESYSTEM): ${bucketDir}   objstore config: ${objstore}`);
      w(`  logs: ${logDir}`);
      w('');
      w('Try:');
      w(`  promtool query instant ${queryUrl} 'count by (cluster) (up)'`);
      w(`  curl '${queryUrl}/api/v1/query?query=up&dedup=false'`);
      w(`  ${self} tools store series --endpoint ${sidecars[0]} --match up --min-time -5m`);
      w(`  ${self} tools bucket ls --objstore.config-file ${objstore} -o table   # blocks appear every ${opts.blockDuration as string} or so`);
      w('');
      w('Ctrl-C stops everything.');
      logger.info({ processes: procs.length }, 'quickstart running');

      await new Promise<void>((resolveStop) => {
        let stopping = false;
        const onSignal = (): void => {
          if (stopping) process.exit(1);
          stopping = true;
          logger.info({}, 'stopping quickstart');
          void stopAll().then(() => resolveStop());
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        for (const p of procs) {
          p.child.once('exit', (code) => {
            if (!stopping) logger.warn({ process: p.name, code }, 'a quickstart process exited; see its log');
          });
        }
      });
    });
}
