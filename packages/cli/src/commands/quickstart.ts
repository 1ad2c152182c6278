// `thanos-ts quickstart`: the whole stack as local processes on one machine, for trying
// thanos-ts out. What runs, and on which ports, is quickstartTopology()'s (see
// quickstart-topology.ts): clusters of real Prometheus replicas with sidecars, a receive
// ring of three (replication factor 3, HA tracker on) fed by one more Prometheus through
// remote write, a store gateway, a compactor deduplicating replicas offline, a ruler with
// demo rules, Alertmanager where installed, a query over all of them and a
// query-frontend in front of it; on a FILESYSTEM bucket, or the user's objstore.yml.
// Components run as child processes of this binary, exactly as an operator would run
// them; one Ctrl-C (or SIGTERM) stops every one of them and whatever they started.
//
// A first run should have nothing to trip on: every binary, every port and the data
// directory are checked before anything starts, a process counts as ready only when it is
// alive and is the one listening on its ports, and any child that exits is reported with
// the last lines of its log.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { formatPromDuration, parsePromDuration, UserError } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { loggerFor } from './common.js';
import { listensOn, portFree } from './local-ports.js';
import { QUICKSTART_EVAL_INTERVAL, QUICKSTART_LAST_PORT_OFFSET, QUICKSTART_RECEIVERS, quickstartPorts, quickstartTopology } from './quickstart-topology.js';
import type { QuickstartOptions, QuickstartProcess } from './quickstart-topology.js';

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const LOG_TAIL_LINES = 15;
const LOCK_FILE = 'quickstart.pid';

interface Proc {
  spec: QuickstartProcess;
  child: ChildProcess;
  logPath: string;
  /** Settles once the exit (if any) has been reported. */
  reported: Promise<void>;
}

async function firstBusyPort(o: QuickstartOptions): Promise<{ port: number; what: string } | null> {
  for (const p of quickstartPorts(o)) if (!(await portFree(p.port))) return p;
  return null;
}

/** A base port, counting up from `base` in steps of 200, whose whole layout is free now. */
async function freeBasePort(o: QuickstartOptions): Promise<number | null> {
  for (let b = o.basePort + 200; b + QUICKSTART_LAST_PORT_OFFSET <= 65_535 && b < o.basePort + 200 * 30; b += 200) {
    if (!(await firstBusyPort({ ...o, basePort: b }))) return b;
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
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
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

/** A path as the user would type it: relative to the working directory when below it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

/** Rows padded into columns. */
function formatTable(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

export function registerQuickstart(program: Command): void {
  program
    .command('quickstart')
    .description(
      'Run the whole stack locally: clusters of Prometheus replicas with sidecars, a receive ring (HA tracker on) fed by remote write, a store gateway, a compactor, a ruler with Alertmanager, a query and a query-frontend, on a filesystem bucket or --objstore.config-file. Ctrl-C stops it all.',
    )
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
      'First port; Prometheus, sidecar gRPC and HTTP ports are allocated from here, the query listens on base+100 (HTTP) and base+101 (gRPC), the store gateway on base+102 (HTTP) and base+103 (gRPC), the compactor on base+104 (HTTP), the three receivers on base+105 to base+113 (remote write, gRPC, HTTP each), the Prometheus writing to them on base+114, the ruler on base+115 (HTTP) and base+116 (gRPC), Alertmanager on base+117, the query-frontend on base+118.',
      intFlag('base-port', 1, 65_535 - QUICKSTART_LAST_PORT_OFFSET),
      19090,
    )
    .option('--objstore.config-file <file-path>', "The bucket every component uses, in Thanos's objstore.yml format (e.g. S3); default: a FILESYSTEM bucket under --data-dir.")
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const objstore = opts['objstore.configFile'] as string | undefined;
      await runQuickstart(
        {
          dataDir: resolve(opts.dataDir as string),
          clusters: opts.clusters as number,
          replicas: opts.replicas as number,
          blockDuration: opts.blockDuration as string,
          basePort: opts.basePort as number,
          objstoreConfigFile: objstore ? resolve(objstore) : undefined,
          alertmanager: false,
        },
        cmd.parent?.commands.map((c) => c.name()) ?? [],
        loggerFor(cmd).child({ component: 'quickstart' }),
      );
    });
}

async function runQuickstart(base: QuickstartOptions, commands: string[], logger: Logger): Promise<void> {
  let blockMs: number;
  try {
    blockMs = parsePromDuration(base.blockDuration);
  } catch (err) {
    throw new UserError(`--block-duration: ${(err as Error).message}`);
  }
  if (blockMs <= 0) throw new UserError('--block-duration: must be positive');

  // Every program before anything starts: a missing one is one line, not a half-started stack.
  const prometheusBin = findOnPath('prometheus');
  if (!prometheusBin) throw new UserError('the prometheus binary is not on PATH: run `bash scripts/setup.sh` (Debian: apt-get install prometheus)');
  const alertmanagerBin = findOnPath('prometheus-alertmanager') ?? findOnPath('alertmanager');
  const o: QuickstartOptions = { ...base, alertmanager: alertmanagerBin !== null };
  if (o.objstoreConfigFile !== undefined && !existsSync(o.objstoreConfigFile)) throw new UserError(`--objstore.config-file ${o.objstoreConfigFile}: no such file`);
  const topo = quickstartTopology(o);
  const self = process.argv[1];
  for (const p of topo.processes) {
    if (p.bin === 'thanos-ts' && !commands.includes(p.args[0])) {
      throw new UserError(`this thanos-ts (${self}) has no \`${p.args[0]}\` command, which quickstart runs for ${p.name}: rebuild it with \`pnpm build\``);
    }
  }

  // Nothing starts before every port is free and the data directory is ours: a second
  // quickstart must fail here, in one line, not halfway with half a stack running.
  const owner = dataDirOwner(o.dataDir);
  const busy = await firstBusyPort(o);
  if (busy) {
    const alt = await freeBasePort(o);
    const fix = [alt !== null ? `--base-port ${alt}` : '--base-port with a free range', owner !== null ? `--data-dir ${shown(o.dataDir)}-2` : ''].filter(Boolean).join(' ');
    const who = owner !== null ? `another quickstart (pid ${owner}) runs on ${shown(o.dataDir)}` : 'perhaps by another quickstart';
    throw new UserError(`port ${busy.port} (${busy.what}) is already in use on 127.0.0.1, ${who}: start this one with ${fix}`);
  }
  if (owner !== null) throw new UserError(`--data-dir ${shown(o.dataDir)} is in use by another quickstart (pid ${owner}): stop it or pass another --data-dir`);

  await mkdir(topo.logDir, { recursive: true });
  if (topo.bucketDir) await mkdir(topo.bucketDir, { recursive: true });
  const lockPath = join(o.dataDir, LOCK_FILE);
  await writeFile(lockPath, `${process.pid}\n`);

  const procs: Proc[] = [];
  let stopping = false;
  const report = (line: string): boolean => process.stderr.write(`${line}\n`);
  const binOf = (p: QuickstartProcess): [string, string[]] =>
    p.bin === 'thanos-ts' ? [process.execPath, [self, ...p.args]] : p.bin === 'prometheus' ? [prometheusBin, p.args] : [alertmanagerBin!, p.args];

  const start = async (spec: QuickstartProcess): Promise<Proc> => {
    for (const f of spec.files) {
      await mkdir(dirname(f.path), { recursive: true });
      await writeFile(f.path, f.content);
    }
    const logPath = join(topo.logDir, `${spec.name}.log`);
    const [bin, args] = binOf(spec);
    // The child writes straight into its log file: nothing is lost when it dies, and
    // the tail read after its exit is complete.
    const fd = openSync(logPath, 'a');
    writeSync(fd, `--- ${new Date().toISOString()} thanos-ts quickstart: ${[bin, ...args].join(' ')}\n`);
    let child: ChildProcess;
    try {
      // Its own process group, so stopping it reaches whatever it started too.
      child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    const p: Proc = {
      spec,
      child,
      logPath,
      reported: new Promise((done) => {
        child.once('exit', (code, signal) => {
          if (stopping) return done();
          void logTail(logPath).then((tail) => {
            report(`quickstart: ${spec.name} ${exitText(code, signal)}; last lines of ${logPath}:\n${tail}`);
            logger.warn({ process: spec.name, code, signal }, 'a quickstart process exited');
            done();
          });
        });
      }),
    };
    child.once('error', (err) => report(`quickstart: ${spec.name}: ${err.message}`));
    procs.push(p);
    return p;
  };

  const alive = (p: Proc): boolean => p.child.exitCode === null && p.child.signalCode === null;
  const signalGroup = (p: Proc, sig: NodeJS.Signals): void => {
    try {
      process.kill(-p.child.pid!, sig);
    } catch {
      // the group is gone
    }
  };
  /** Whether any process of p's group (p itself or what it started) is still running. */
  const groupAlive = (p: Proc): boolean => {
    try {
      process.kill(-p.child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  const killAll = (): void => {
    for (const p of procs) signalGroup(p, 'SIGKILL');
  };
  const killLate = (): void => {
    for (const p of procs) {
      if (alive(p) || groupAlive(p)) report(`quickstart: ${p.spec.name} did not stop within ${STOP_GRACE_MS / 1000}s of SIGTERM; killing it (see ${p.logPath})`);
    }
    killAll();
  };
  const stopAll = async (): Promise<void> => {
    stopping = true;
    const timer = setTimeout(killLate, STOP_GRACE_MS);
    const gone = async (ps: Proc[]): Promise<void> => {
      // Children of a component may outlive it by a moment: wait for whole groups.
      while (ps.some((p) => alive(p) || groupAlive(p))) await new Promise((r) => setTimeout(r, 100));
    };
    // Stage by stage in reverse start order, each gone before the next is asked: the
    // remote-writing Prometheus flushes into a ring still up, the query goes before its
    // endpoints, and receivers stop with nothing left to forward.
    const stages = [...new Set(procs.map((p) => p.spec.stage))].sort((a, b) => b - a);
    for (const stage of stages) {
      const ps = procs.filter((p) => p.spec.stage === stage);
      for (const p of ps) signalGroup(p, 'SIGTERM');
      await gone(ps);
    }
    await gone(procs);
    clearTimeout(timer);
    await rm(lockPath, { force: true });
  };

  // Signals stop everything from the first child on, also while the stack is starting. A
  // second one does not wait for a clean shutdown, but still leaves nothing running.
  let interrupted = false;
  let onStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => (onStopped = r));
  const onSignal = (): void => {
    if (interrupted) {
      killAll();
      rm(lockPath, { force: true }).finally(() => process.exit(130));
      return;
    }
    interrupted = true;
    report('quickstart: stopping every process …');
    logger.info({}, 'stopping quickstart');
    void stopAll().then(() => {
      report('quickstart: stopped.');
      onStopped();
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Should this process die of an error, its children must not live on without it.
  process.once('exit', killAll);

  /** Ready: alive, answering /-/ready with 200, and the one listening on all its ports. */
  const waitReady = async (p: Proc): Promise<void> => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (interrupted) throw new UserError('interrupted while starting; stopped everything', 130);
      if (!alive(p)) {
        await p.reported;
        throw new UserError(`${p.spec.name} ${exitText(p.child.exitCode, p.child.signalCode)} while starting (its log is above); stopped everything`);
      }
      let ready = false;
      try {
        ready = (await fetch(`${p.spec.url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200;
      } catch {
        // not listening yet
      }
      if (ready) {
        const owned = await Promise.all(p.spec.ports.map((x) => listensOn(p.child.pid!, x.port)));
        // undefined: /proc cannot tell; the ports were free a moment ago, so trust it.
        if (owned.every((x) => x !== false)) return;
      }
      if (Date.now() > deadline) {
        throw new UserError(`${p.spec.name} was not ready on ${p.spec.url} within ${READY_TIMEOUT_MS / 1000}s; see ${p.logPath}; stopped everything`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  };

  const total = topo.processes.length;
  let n = 0;
  const progress = (p: Proc, t0: number): void => {
    n++;
    report(`quickstart: [${String(n).padStart(String(total).length)}/${total}] ${p.spec.name} ready on ${p.spec.url} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  };
  if (alertmanagerBin === null) report('quickstart: note: Alertmanager is not installed (Debian: apt-get install prometheus-alertmanager), so the ruler runs without one');
  try {
    for (const stage of [...new Set(topo.processes.map((p) => p.stage))]) {
      const t0 = Date.now();
      const started: Proc[] = [];
      for (const s of topo.processes.filter((p) => p.stage === stage)) started.push(await start(s));
      // Every member is waited for, so the first failure is reported once the others settle.
      const results = await Promise.allSettled(started.map((p) => waitReady(p).then(() => progress(p, t0))));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (err) {
    if (!interrupted) await stopAll();
    else await stopped;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killAll);
    throw err;
  }

  const byName = new Map(topo.processes.map((p) => [p.name, p]));
  const query = byName.get('query')!;
  const frontend = byName.get('query-frontend')!;
  const firstSidecar = topo.processes.find((p) => p.component === 'sidecar')!;
  const first = formatPromDuration(Math.round(blockMs * 1.5));
  const w = (s: string): boolean => process.stdout.write(s + '\n');
  w(`UI: ${query.address}   (query: the Prometheus HTTP API and UI over everything, deduplicated)`);
  w(`Query frontend: ${frontend.address}   (splits and caches range queries in front of the query)`);
  w('');
  w('thanos-ts quickstart is running:');
  w('');
  const rows = [['component', 'name', 'address', 'log file'], ...procs.map((p) => [p.spec.component, p.spec.name, p.spec.address, shown(p.logPath)])];
  for (const line of formatTable(rows)) w(`  ${line}`);
  w('');
  w(`  receive ring: ${QUICKSTART_RECEIVERS} receivers, replication factor ${QUICKSTART_RECEIVERS}, HA tracker on (cluster, replica), hashrings file ${shown(topo.hashringsFile)}`);
  w(`  ruler: rules in ${shown(topo.rulesDir)}/*.yml, every ${QUICKSTART_EVAL_INTERVAL}${o.alertmanager ? '' : ' (no Alertmanager: not installed)'}`);
  w(`  compactor: every 1m; deduplicates replicas offline (--deduplication.replica-label replica, receive_replica)`);
  w(topo.bucketDir ? `  bucket (FILESYSTEM): ${shown(topo.bucketDir)}   objstore config: ${shown(topo.objstoreFile)}` : `  bucket: ${shown(topo.objstoreFile)}`);
  w('');
  w('Try:');
  w(`  promtool query instant ${query.url} 'count by (cluster) (up)'`);
  w(`  curl '${query.url}/api/v1/query?query=up{cluster="remote-write"}'   # written through the receive ring`);
  w(`  curl '${query.url}/api/v1/query?query=up&dedup=false'`);
  w(`  curl "${frontend.url}/api/v1/query_range?query=sum(up)&start=$(date -d -1hour +%s)&end=$(date +%s)&step=60"`);
  w(`  ${self} tools store series --endpoint ${firstSidecar.address.replace(/^grpc /, '')} --match up --min-time -5m`);
  w(`  ${self} tools bucket ls --objstore.config-file ${shown(topo.objstoreFile)} -o table`);
  w(`      # the first blocks reach the bucket about ${first} after start (Prometheus cuts a block once its head spans 1.5 × --block-duration ${o.blockDuration}), then one every ${o.blockDuration} per replica`);
  w('');
  w('Ctrl-C stops everything.');
  logger.info({ processes: procs.length }, 'quickstart running');
  await stopped;
  process.off('exit', killAll);
}
