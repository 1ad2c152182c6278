// `thanos-ts quickstart`: the whole stack as local processes on one machine, for trying
// thanos-ts out: N clusters × M Prometheus replicas (Debian's prometheus binary), each
// with our sidecar shipping to a filesystem bucket; a ring of three receivers
// (replication factor 3) fed by one more Prometheus through remote write, shipping to
// the same bucket; a store gateway over that bucket, a compactor, and one query over all
// of them on a fixed port (base port + 100: http://127.0.0.1:19190 by default),
// deduplicating along the `replica` and `receive_replica` labels.
// Components run as child processes of this binary, exactly as an operator would run
// them; Ctrl-C stops everything.
//
// A first run should have nothing to trip on: every port and the data directory are
// checked before anything starts, a process counts as ready only when it is alive and
// is the one listening on its ports, and any child that exits is reported with the
// last lines of its log.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { delimiter, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { formatPromDuration, parsePromDuration, UserError } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { loggerFor } from './common.js';
import { listensOn, portFree } from './local-ports.js';

const READY_TIMEOUT_MS = 60_000;

/** The ruler's demo rules: a recording rule over every cluster, and an alert per target. */
const DEMO_RULES = `groups:
  - name: quickstart
    rules:
      - record: cluster:up:sum
        expr: sum by (cluster) (up)
      - alert: TargetDown
        expr: up == 0
        for: 1m
        labels:
          severity: warning
        annotations:
          summary: "{{ $labels.instance }} of {{ $labels.cluster }} is down"
          description: "{{ $labels.job }} target {{ $labels.instance }} has been down for more than a minute."
`;
const STOP_GRACE_MS = 15_000;
const LOG_TAIL_LINES = 15;
const LOCK_FILE = 'quickstart.pid';
/** Receivers in the quickstart's ring (and its replication factor). */
const RECEIVERS = 3;
/** The highest port of a layout, relative to the base port. */
const LAST_PORT_OFFSET = 108 + 3 * RECEIVERS;

/** Where everything listens, fixed before anything starts. */
interface Layout {
  replicas: { cluster: string; replica: number; name: string; promPort: number; peerPorts: number[]; grpcPort: number; httpPort: number }[];
  storeHttp: number;
  storeGrpc: number;
  queryHttp: number;
  queryGrpc: number;
  compactHttp: number;
  /** The receive ring: remote write, gRPC and HTTP port of each receiver. */
  receivers: { name: string; rw: number; grpc: number; http: number }[];
  /** The Prometheus remote-writing to the ring. */
  remotePromPort: number;
  ruleHttp: number;
  ruleGrpc: number;
  alertmanager: number;
}

interface Proc {
  name: string;
  child: ChildProcess;
  logPath: string;
  /** Ports the process must be listening on to count as ready. */
  ports: number[];
  /** Settles once the exit (if any) has been reported. */
  reported: Promise<void>;
}

function layout(base: number, clusters: number, replicas: number): Layout {
  let port = base;
  const out: Layout['replicas'] = [];
  for (let c = 0; c < clusters; c++) {
    const cluster = `cluster-${c}`;
    const promPorts = Array.from({ length: replicas }, (_, r) => port + r);
    port += replicas;
    for (let r = 0; r < replicas; r++) {
      out.push({ cluster, replica: r, name: `${cluster}-replica-${r}`, promPort: promPorts[r], peerPorts: promPorts, grpcPort: port, httpPort: port + 1 });
      port += 2;
    }
  }
  if (port > base + 100) throw new UserError(`--clusters ${clusters} × --replicas ${replicas} need ${port - base} ports, more than the 100 below the query's base-port+100`);
  const receivers = Array.from({ length: RECEIVERS }, (_, i) => ({ name: `receive-${i}`, rw: base + 105 + 3 * i, grpc: base + 106 + 3 * i, http: base + 107 + 3 * i }));
  return { replicas: out, queryHttp: base + 100, queryGrpc: base + 101, storeHttp: base + 102, storeGrpc: base + 103, compactHttp: base + 104, receivers, remotePromPort: base + 105 + 3 * RECEIVERS, ruleHttp: base + 106 + 3 * RECEIVERS, ruleGrpc: base + 107 + 3 * RECEIVERS, alertmanager: base + 108 + 3 * RECEIVERS };
}

/** Every port of a layout with what listens there, in start order. */
function portsOf(l: Layout): [number, string][] {
  const out: [number, string][] = [];
  for (const r of l.replicas) out.push([r.promPort, `${r.name} Prometheus`], [r.grpcPort, `${r.name} sidecar gRPC`], [r.httpPort, `${r.name} sidecar HTTP`]);
  for (const r of l.receivers) out.push([r.rw, `${r.name} remote write`], [r.grpc, `${r.name} gRPC`], [r.http, `${r.name} HTTP`]);
  out.push([l.remotePromPort, 'remote-writing Prometheus'], [l.ruleHttp, 'ruler HTTP'], [l.ruleGrpc, 'ruler gRPC'], [l.alertmanager, 'Alertmanager']);
  out.push([l.storeHttp, 'store gateway HTTP'], [l.storeGrpc, 'store gateway gRPC'], [l.queryHttp, 'query HTTP'], [l.queryGrpc, 'query gRPC'], [l.compactHttp, 'compactor HTTP']);
  return out;
}

async function firstBusyPort(l: Layout): Promise<[number, string] | null> {
  for (const p of portsOf(l)) if (!(await portFree(p[0]))) return p;
  return null;
}

/** A base port, counting up from `base` in steps of 200, whose whole layout is free now. */
async function freeBasePort(base: number, clusters: number, replicas: number): Promise<number | null> {
  for (let b = base + 200; b + LAST_PORT_OFFSET <= 65_535 && b < base + 200 * 30; b += 200) {
    if (!(await firstBusyPort(layout(b, clusters, replicas)))) return b;
  }
  return null;
}

/** The pid of another live quickstart using `dataDir`, if any. */
function dataDirOwner(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null; // gone: a stale file
  }
  try {
    // A pid reused by an unrelated process does not hold the directory.
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('quickstart')) return null;
  } catch {
    // no /proc: trust the live pid
  }
  return pid;
}

function findOnPath(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, bin);
    if (existsSync(p)) return p;
  }
  return null;
}

function intFlag(flag: string, min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new UserError(`--${flag}: expected an integer from ${min} to ${max}, got "${v}"`);
    return n;
  };
}

/** The last lines of a log file, indented, for a report. */
async function logTail(path: string, lines = LOG_TAIL_LINES): Promise<string> {
  try {
    const f = await open(path, 'r');
    try {
      const { size } = await f.stat();
      const len = Math.min(size, 16 * 1024);
      const buf = Buffer.alloc(len);
      await f.read(buf, 0, len, size - len);
      const tail = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-lines);
      return tail.map((l) => `    ${l}`).join('\n');
    } finally {
      await f.close();
    }
  } catch (err) {
    return `    (cannot read ${path}: ${(err as Error).message})`;
  }
}

function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

export function registerQuickstart(program: Command): void {
  program
    .command('quickstart')
    .description('Run a local demo stack: clusters of Prometheus replicas with sidecars, a receive ring fed by remote write, a ruler with Alertmanager, a filesystem bucket, a store gateway, a compactor and a query over them all. Ctrl-C stops it.')
    .option('--data-dir <dir>', 'Where Prometheus data, the bucket and logs go.', './data/quickstart')
    .option('--clusters <n>', 'Number of clusters.', intFlag('clusters', 1, 50), 2)
    .option('--replicas <n>', 'Prometheus replicas per cluster.', intFlag('replicas', 1, 50), 2)
    .option(
      '--block-duration <duration>',
      'Prometheus block duration (min = max, as the sidecar requires). Prometheus cuts the first block once its head spans 1.5 × this, so with 10m the first blocks reach the bucket about 15m after start, then one every 10m per replica.',
      '10m',
    )
    .option(
      '--base-port <port>',
      'First port; Prometheus, sidecar gRPC and HTTP ports are allocated from here, the query listens on base+100 (HTTP) and base+101 (gRPC), the store gateway on base+102 (HTTP) and base+103 (gRPC), the compactor on base+104 (HTTP), the three receivers on base+105 to base+113 (remote write, gRPC, HTTP each), the Prometheus writing to them on base+114, the ruler on base+115 (HTTP) and base+116 (gRPC), Alertmanager on base+117.',
      intFlag('base-port', 1, 65_535 - LAST_PORT_OFFSET),
      19090,
    )
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      await runQuickstart(
        {
          dataDir: resolve(opts.dataDir as string),
          clusters: opts.clusters as number,
          replicas: opts.replicas as number,
          blockDuration: opts.blockDuration as string,
          basePort: opts.basePort as number,
        },
        loggerFor(cmd).child({ component: 'quickstart' }),
      );
    });
}

interface QuickstartOptions {
  dataDir: string;
  clusters: number;
  replicas: number;
  blockDuration: string;
  basePort: number;
}

async function runQuickstart(o: QuickstartOptions, logger: Logger): Promise<void> {
  let blockMs: number;
  try {
    blockMs = parsePromDuration(o.blockDuration);
  } catch (err) {
    throw new UserError(`--block-duration: ${(err as Error).message}`);
  }
  if (blockMs <= 0) throw new UserError('--block-duration: must be positive');
  const prometheusBin = findOnPath('prometheus');
  if (!prometheusBin) throw new UserError('the prometheus binary is not on PATH: run `bash scripts/setup.sh` (Debian: apt-get install prometheus)');
  const l = layout(o.basePort, o.clusters, o.replicas);

  // Nothing starts before every port is free and the data directory is ours: a second
  // quickstart must fail here, in one line, not halfway with half a stack running.
  const owner = dataDirOwner(o.dataDir);
  const busy = await firstBusyPort(l);
  const rel = relative(process.cwd(), o.dataDir);
  const shownDir = rel === '' ? '.' : rel.startsWith('..') ? o.dataDir : rel;
  if (busy) {
    const [port, what] = busy;
    const alt = await freeBasePort(o.basePort, o.clusters, o.replicas);
    const fix = [alt !== null ? `--base-port ${alt}` : '--base-port with a free range', owner !== null ? `--data-dir ${shownDir}-2` : ''].filter(Boolean).join(' ');
    const who = owner !== null ? `another quickstart (pid ${owner}) runs on ${shownDir}` : 'perhaps by another quickstart';
    throw new UserError(`port ${port} (${what}) is already in use on 127.0.0.1, ${who}: start this one with ${fix}`);
  }
  if (owner !== null) throw new UserError(`--data-dir ${shownDir} is in use by another quickstart (pid ${owner}): stop it or pass another --data-dir`);

  const bucketDir = join(o.dataDir, 'bucket');
  const logDir = join(o.dataDir, 'logs');
  await mkdir(bucketDir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  const lockPath = join(o.dataDir, LOCK_FILE);
  await writeFile(lockPath, `${process.pid}\n`);
  const objstore = join(o.dataDir, 'objstore.yml');
  await writeFile(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  const self = process.argv[1];

  const procs: Proc[] = [];
  let stopping = false;
  const report = (line: string): boolean => process.stderr.write(`${line}\n`);

  const start = (name: string, bin: string, args: string[], ports: number[]): Proc => {
    const logPath = join(logDir, `${name}.log`);
    // The child writes straight into its log file: nothing is lost when it dies, and
    // the tail read after its exit is complete.
    const fd = openSync(logPath, 'a');
    writeSync(fd, `--- ${new Date().toISOString()} thanos-ts quickstart: ${[bin, ...args].join(' ')}\n`);
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const p: Proc = {
      name,
      child,
      logPath,
      ports,
      reported: new Promise((done) => {
        child.once('exit', (code, signal) => {
          if (stopping) return done();
          void logTail(logPath).then((tail) => {
            report(`quickstart: ${name} ${exitText(code, signal)}; last lines of ${logPath}:\n${tail}`);
            logger.warn({ process: name, code, signal }, 'a quickstart process exited');
            done();
          });
        });
      }),
    };
    child.once('error', (err) => report(`quickstart: ${name}: ${err.message}`));
    procs.push(p);
    return p;
  };

  const alive = (p: Proc): boolean => p.child.exitCode === null && p.child.signalCode === null;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const p of [...procs].reverse()) if (alive(p)) p.child.kill('SIGTERM');
    const exited = (p: Proc): Promise<unknown> => (alive(p) ? new Promise((r) => p.child.once('exit', r)) : Promise.resolve());
    const timer = setTimeout(() => {
      for (const p of procs) if (alive(p)) p.child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await Promise.all(procs.map(exited));
    clearTimeout(timer);
    await rm(lockPath, { force: true });
  };

  // Signals stop everything from the first child on, also while the stack is starting.
  let interrupted = false;
  let onStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => (onStopped = r));
  const onSignal = (): void => {
    if (interrupted) process.exit(1);
    interrupted = true;
    logger.info({}, 'stopping quickstart');
    void stopAll().then(onStopped);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  /** Ready: alive, answering /-/ready with 200, and the one listening on all its ports. */
  const waitReady = async (p: Proc, url: string): Promise<void> => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (interrupted) throw new UserError('interrupted while starting; stopped everything', 130);
      if (!alive(p)) {
        await p.reported;
        throw new UserError(`${p.name} ${exitText(p.child.exitCode, p.child.signalCode)} while starting (its log is above); stopped everything`);
      }
      let ready = false;
      try {
        ready = (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200;
      } catch {
        // not listening yet
      }
      if (ready) {
        const owned = await Promise.all(p.ports.map((port) => listensOn(p.child.pid!, port)));
        // undefined: /proc cannot tell; the ports were free a moment ago, so trust it.
        if (owned.every((x) => x !== false)) return;
      }
      if (Date.now() > deadline) {
        throw new UserError(`${p.name} was not ready on ${url} within ${READY_TIMEOUT_MS / 1000}s; see ${p.logPath}; stopped everything`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  };

  const rows: string[][] = [];
  const sidecars: string[] = [];
  const storeGrpc = `127.0.0.1:${l.storeGrpc}`;
  const queryUrl = `http://127.0.0.1:${l.queryHttp}`;
  const queryGrpc = `127.0.0.1:${l.queryGrpc}`;
  const compactUrl = `http://127.0.0.1:${l.compactHttp}`;
  const hashringsPath = join(o.dataDir, 'receive', 'hashrings.json');
  const ruleGrpc = `127.0.0.1:${l.ruleGrpc}`;
  const ruleUrl = `http://127.0.0.1:${l.ruleHttp}`;
  const alertmanagerBin = findOnPath('prometheus-alertmanager') ?? findOnPath('alertmanager');
  const alertmanagerUrl = `http://127.0.0.1:${l.alertmanager}`;
  try {
    for (const r of l.replicas) {
      const dir = join(o.dataDir, r.name);
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
          `    cluster: ${r.cluster}`,
          `    replica: "${r.replica}"`,
          'scrape_configs:',
          '  - job_name: prometheus',
          '    static_configs:',
          `      - targets: [${r.peerPorts.map((p) => `'127.0.0.1:${p}'`).join(', ')}]`,
          '',
        ].join('\n'),
      );
      const promUrl = `http://127.0.0.1:${r.promPort}`;
      const prom = start(
        `${r.name}-prometheus`,
        prometheusBin,
        [
          `--config.file=${cfg}`,
          `--storage.tsdb.path=${join(dir, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${r.promPort}`,
          `--storage.tsdb.min-block-duration=${o.blockDuration}`,
          `--storage.tsdb.max-block-duration=${o.blockDuration}`,
          '--web.enable-lifecycle',
        ],
        [r.promPort],
      );
      await waitReady(prom, promUrl);
      const grpc = `127.0.0.1:${r.grpcPort}`;
      const http = `127.0.0.1:${r.httpPort}`;
      const sc = start(
        `${r.name}-sidecar`,
        process.execPath,
        [self, 'sidecar', '--prometheus.url', promUrl, '--tsdb.path', join(dir, 'tsdb'), '--objstore.config-file', objstore, '--grpc-address', grpc, '--http-address', http],
        [r.grpcPort, r.httpPort],
      );
      await waitReady(sc, `http://${http}`);
      sidecars.push(grpc);
      rows.push([r.name, promUrl, grpc, `http://${http}`]);
    }

    // The receive ring: three receivers, each series on all three (replication factor 3),
    // fed by one more Prometheus through remote write; their blocks go to the same bucket.
    const ringDir = join(o.dataDir, 'receive');
    await mkdir(ringDir, { recursive: true });
    const hashrings = hashringsPath;
    await writeFile(hashrings, JSON.stringify([{ hashring: 'default', endpoints: l.receivers.map((r) => `127.0.0.1:${r.grpc}`) }], null, 2) + '\n');
    const receiverGrpc: string[] = [];
    const ringProcs: Proc[] = [];
    for (const [i, r] of l.receivers.entries()) {
      const grpc = `127.0.0.1:${r.grpc}`;
      const rc = start(
        r.name,
        process.execPath,
        [
          self,
          'receive',
          '--tsdb.path',
          join(ringDir, r.name),
          '--remote-write.address',
          `127.0.0.1:${r.rw}`,
          '--grpc-address',
          grpc,
          '--http-address',
          `127.0.0.1:${r.http}`,
          '--receive.hashrings-file',
          hashrings,
          '--receive.local-endpoint',
          grpc,
          '--receive.replication-factor',
          String(RECEIVERS),
          '--label',
          `receive_replica="${i}"`,
          '--tsdb.block-duration',
          o.blockDuration,
          '--objstore.config-file',
          objstore,
        ],
        [r.rw, r.grpc, r.http],
      );
      receiverGrpc.push(grpc);
      rows.push([r.name, `http://127.0.0.1:${r.rw}/api/v1/receive`, grpc, `http://127.0.0.1:${r.http}`]);
      ringProcs.push(rc);
    }
    // Started together: each is ready once it has read the hashrings file.
    for (const [i, p] of ringProcs.entries()) await waitReady(p, `http://127.0.0.1:${l.receivers[i].http}`);
    {
      const dir = join(o.dataDir, 'remote-prometheus');
      await mkdir(dir, { recursive: true });
      const cfg = join(dir, 'prometheus.yml');
      await writeFile(
        cfg,
        [
          'global:',
          '  scrape_interval: 5s',
          '  external_labels:',
          '    cluster: remote-write',
          'scrape_configs:',
          '  - job_name: prometheus',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${l.remotePromPort}']`,
          '  - job_name: receive',
          '    static_configs:',
          `      - targets: [${l.receivers.map((r) => `'127.0.0.1:${r.http}'`).join(', ')}]`,
          'remote_write:',
          `  - url: http://127.0.0.1:${l.receivers[0].rw}/api/v1/receive`,
          '',
        ].join('\n'),
      );
      const promUrl = `http://127.0.0.1:${l.remotePromPort}`;
      const prom = start(
        'remote-write-prometheus',
        prometheusBin,
        [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${l.remotePromPort}`, '--web.enable-lifecycle'],
        [l.remotePromPort],
      );
      await waitReady(prom, promUrl);
      rows.push(['remote-write Prometheus', promUrl, '(writes to the ring)', '']);
    }

    // One query over every sidecar and the store gateway, on a fixed port so its URL can
    // be bookmarked; the store gateway serves what the sidecars have shipped to the bucket.
    const st = start(
      'store',
      process.execPath,
      // Blocks the compactor marks stop being served after 5m, before it deletes them (10m).
      [self, 'store', '--objstore.config-file', objstore, '--data-dir', join(o.dataDir, 'store'), '--sync-block-duration', '30s', '--ignore-deletion-marks-delay', '5m', '--http-address', `127.0.0.1:${l.storeHttp}`, '--grpc-address', storeGrpc],
      [l.storeHttp, l.storeGrpc],
    );
    await waitReady(st, `http://127.0.0.1:${l.storeHttp}`);
    const q = start(
      'query',
      process.execPath,
      [self, 'query', '--http-address', `127.0.0.1:${l.queryHttp}`, '--grpc-address', queryGrpc, '--query.replica-label=replica', '--query.replica-label=receive_replica', ...[...sidecars, ...receiverGrpc, storeGrpc, ruleGrpc].flatMap((e) => ['--endpoint', e])],
      [l.queryHttp, l.queryGrpc],
    );
    await waitReady(q, queryUrl);

    // The compactor keeps the bucket small: every minute it merges the shipped blocks
    // into 2h and longer ones, deduplicating the replicas of a cluster offline.
    const cp = start(
      'compact',
      process.execPath,
      [
        self,
        'compact',
        '--objstore.config-file',
        objstore,
        '--data-dir',
        join(o.dataDir, 'compact'),
        '--wait',
        '--wait-interval',
        '1m',
        '--consistency-delay',
        '30s',
        '--delete-delay',
        '10m',
        '--compact.enable-vertical-compaction',
        '--deduplication.replica-label',
        'replica',
        '--deduplication.replica-label',
        'receive_replica',
        '--http-address',
        compactUrl.slice('http://'.length),
      ],
      [l.compactHttp],
    );
    await waitReady(cp, compactUrl);

    // Alertmanager (where installed) and a ruler with a demo rule file, evaluating through
    // the query: its recording rule's series and ALERTS are served back to the query.
    if (alertmanagerBin !== null) {
      const dir = join(o.dataDir, 'alertmanager');
      await mkdir(dir, { recursive: true });
      const cfg = join(dir, 'alertmanager.yml');
      await writeFile(cfg, ['route:', '  receiver: quickstart', '  group_by: [alertname, cluster]', 'receivers:', '  - name: quickstart', ''].join('\n'));
      const am = start(
        'alertmanager',
        alertmanagerBin,
        [`--config.file=${cfg}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${l.alertmanager}`, '--cluster.listen-address='],
        [l.alertmanager],
      );
      await waitReady(am, alertmanagerUrl);
    }
    const rulesDir = join(o.dataDir, 'rules');
    await mkdir(rulesDir, { recursive: true });
    await writeFile(join(rulesDir, 'demo.yml'), DEMO_RULES);
    const ru = start(
      'rule',
      process.execPath,
      [
        self,
        'rule',
        '--query',
        `127.0.0.1:${l.queryHttp}`,
        '--rule-file',
        join(rulesDir, '*.yml'),
        '--eval-interval',
        '15s',
        '--label',
        'ruler="quickstart"',
        '--data-dir',
        join(o.dataDir, 'rule'),
        '--tsdb.block-duration',
        o.blockDuration,
        '--objstore.config-file',
        objstore,
        '--alert.query-url',
        queryUrl,
        ...(alertmanagerBin !== null ? ['--alertmanagers.url', alertmanagerUrl] : []),
        '--http-address',
        `127.0.0.1:${l.ruleHttp}`,
        '--grpc-address',
        ruleGrpc,
      ],
      [l.ruleHttp, l.ruleGrpc],
    );
    await waitReady(ru, ruleUrl);
  } catch (err) {
    if (!interrupted) await stopAll();
    else await stopped;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw err;
  }

  const first = formatPromDuration(Math.round(blockMs * 1.5));
  const w = (s: string): boolean => process.stdout.write(s + '\n');
  w(`Query: ${queryUrl}   (Prometheus HTTP API over all replicas, deduplicated; StoreAPI gRPC on ${queryGrpc})`);
  w('');
  w('thanos-ts quickstart is running:');
  w('');
  w('  process                       Prometheus / remote write  StoreAPI (gRPC)        HTTP');
  for (const r of rows) w(`  ${r[0].padEnd(28)}  ${r[1].padEnd(22)}  ${r[2].padEnd(24)}  ${r[3]}`);
  w('');
  w(`  receive ring: ${RECEIVERS} receivers, replication factor ${RECEIVERS}, hashrings file ${relative(process.cwd(), hashringsPath) || hashringsPath}`);
  w(`  store gateway: StoreAPI ${storeGrpc}, HTTP http://127.0.0.1:${l.storeHttp} (blocks it serves: /api/v1/blocks)`);
  w(`  ruler: HTTP ${ruleUrl} (rules in ${relative(process.cwd(), join(o.dataDir, 'rules')) || '.'}/*.yml, every 15s; /api/v1/rules, /api/v1/alerts), StoreAPI ${ruleGrpc}`);
  if (alertmanagerBin !== null) w(`  Alertmanager: ${alertmanagerUrl}`);
  w(`  compactor: HTTP ${compactUrl} (every 1m; deduplicates replicas offline; /metrics, /api/v1/blocks)`);
  w(`  bucket (FILESYSTEM): ${bucketDir}   objstore config: ${objstore}`);
  w(`  logs: ${logDir}`);
  w('');
  w('Try:');
  w(`  promtool query instant ${queryUrl} 'count by (cluster) (up)'`);
  w(`  curl '${queryUrl}/api/v1/query?query=up{cluster="remote-write"}'   # written through the receive ring`);
  w(`  curl '${queryUrl}/api/v1/query?query=up&dedup=false'`);
  w(`  ${self} tools store series --endpoint ${sidecars[0]} --match up --min-time -5m`);
  w(`  ${self} tools bucket ls --objstore.config-file ${objstore} -o table`);
  w(`      # the first blocks reach the bucket about ${first} after start (Prometheus cuts a block once its head spans 1.5 × --block-duration ${o.blockDuration}), then one every ${o.blockDuration} per replica`);
  w('');
  w('Ctrl-C stops everything.');
  logger.info({ processes: procs.length }, 'quickstart running');
  await stopped;
}
