// Shared pieces of the receive e2e tests: a receiver process on fixed ports (so it can be
// SIGKILLed and started again on the same data dir and hashring entry), a remote write load
// generator that remembers every sample acknowledged with 200, and a reader of every sample
// the receivers hold over StoreAPI, merged across replicas.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { prometheus, snappyCompress, StoreClient } from '@thanos-ts/storeapi';
import { chunkFromBytes, ValueType } from '@thanos-ts/tsdb';
import { freePort, waitFor } from '@thanos-ts/testutil';
import { BIN } from './cli.js';

export interface ReceiverProcess {
  /** HOST:PORT of the remote write server. */
  rw: string;
  /** HOST:PORT of the StoreAPI (and of this receiver's hashring entry). */
  grpc: string;
  http: string;
  /** Spawns the process (same arguments every time) and waits for /-/ready. */
  start(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** stdout and stderr of every run so far. */
  logs(): string;
  /** stdout and stderr of the current (last) run. */
  runLogs(): string;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export async function receiverPorts(): Promise<{ rw: string; grpc: string; http: string }> {
  return { rw: `127.0.0.1:${await freePort()}`, grpc: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` };
}

/**
 * A `thanos-ts receive` with `args` plus its addresses; logs are JSON lines. Not started:
 * call start().
 */
export function receiverProcess(ports: { rw: string; grpc: string; http: string }, args: string[]): ReceiverProcess {
  const fullArgs = ['--log.format', 'json', 'receive', ...args, '--remote-write.address', ports.rw, '--grpc-address', ports.grpc, '--http-address', ports.http, '--grpc-grace-period', '1s'];
  let child: ChildProcess | null = null;
  let all = '';
  let current = '';
  const exited = (c: ChildProcess): Promise<void> => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r())));
  return {
    ...ports,
    logs: () => all,
    runLogs: () => current,
    async start(): Promise<void> {
      const c = spawn(process.execPath, [BIN, ...fullArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      current = '';
      running.add(c);
      c.on('exit', () => running.delete(c));
      const append = (b: Buffer): void => {
        const s = b.toString();
        all += s;
        current += s;
      };
      c.stdout!.on('data', append);
      c.stderr!.on('data', append);
      await waitFor(
        async () => {
          if (c.exitCode !== null) throw new Error(`receive exited ${c.exitCode}:\n${current}`);
          return (await fetch(`http://${ports.http}/-/ready`)).status === 200;
        },
        { timeoutMs: 30_000, what: `receive ${ports.grpc} ready` },
      );
    },
    async kill(): Promise<void> {
      if (child === null) return;
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop(): Promise<void> {
      if (child === null) return;
      const c = child;
      const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
      c.kill('SIGTERM');
      await exited(c);
      clearTimeout(t);
    },
  };
}

/** The JSON log lines of a receiver whose msg is `msg`. */
export function logLines(logs: string, msg: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o.msg === msg) out.push(o);
    } catch {
      // a line cut by the kill
    }
  }
  return out;
}

export type SeriesLabels = Record<string, string>;

/** A series' identity: its labels sorted, as JSON. */
export function seriesKey(labels: SeriesLabels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A snappy-compressed prometheus.WriteRequest. */
export function writeBody(series: { labels: SeriesLabels; samples: [number, number][] }[]): Uint8Array {
  const w = prometheus.WriteRequest.encode({
    timeseries: series.map((s) => ({ labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })), samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })) })),
  }).finish();
  return snappyCompress(w);
}

export async function pushWrite(rw: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${rw}/api/v1/receive`, {
    method: 'POST',
    body: new Uint8Array(body), // typed Uint8Array<ArrayBuffer>, as fetch wants
    headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0', ...headers },
  });
  return { status: res.status, text: await res.text() };
}

/** Samples per series key: timestamp → value. */
export type SampleSet = Map<string, Map<number, number>>;

export function countSamples(s: SampleSet): number {
  let n = 0;
  for (const m of s.values()) n += m.size;
  return n;
}

/** One answered (or failed) request of the load generator. */
export interface LoadEvent {
  /** When the answer came (ms since epoch). */
  at: number;
  target: string;
  /** HTTP status; 0 when the request failed without one (connection refused, reset). */
  status: number;
  text: string;
}

export interface LoadOptions {
  /** Metric name of every series. */
  metric: string;
  /** Independent request loops, each with its own series (so each series' samples are written in order). */
  lanes: number;
  /** Series per lane; each request carries one sample of each. */
  seriesPerLane: number;
  /** Pause between the starts of two requests of a lane (ms). */
  intervalMs: number;
  /**
   * The timestamp of a lane's next request given its last one (-Infinity at first).
   * Default: the wall clock, kept strictly increasing.
   */
  nextTimestamp?: (last: number) => number;
  /** Stop by itself once a lane's next timestamp would exceed this. */
  until?: number;
}

/**
 * Remote write load: each lane POSTs one WriteRequest every intervalMs (or right after the
 * previous one is answered, if that took longer) to the current targets, round-robin.
 * Every sample answered with 200 is remembered in `acked`, every sample sent in `sent`,
 * every answer in `events`.
 */
export class LoadGenerator {
  readonly acked: SampleSet = new Map();
  readonly sent: SampleSet = new Map();
  readonly events: LoadEvent[] = [];
  /** Where requests go; the test may change it at any time (an empty list pauses). */
  targets: string[];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private rr = 0;

  constructor(
    targets: string[],
    private readonly opts: LoadOptions,
  ) {
    this.targets = [...targets];
    for (let lane = 0; lane < opts.lanes; lane++) this.loops.push(this.lane(lane));
  }

  /** Answers with a status other than 200 (status 0: no HTTP answer). */
  failures(): LoadEvent[] {
    return this.events.filter((e) => e.status !== 200);
  }

  /** Waits until no request is in flight (requests keep going afterwards). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops every lane and waits for their last requests. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** Resolves once every lane has ended by itself (`until`) or after stop(). */
  done(): Promise<void> {
    return Promise.all(this.loops).then(() => undefined);
  }

  private async lane(lane: number): Promise<void> {
    const { metric, seriesPerLane, intervalMs } = this.opts;
    const next = this.opts.nextTimestamp ?? ((last: number) => Math.max(last + 1, Date.now()));
    const series = Array.from({ length: seriesPerLane }, (_, i) => ({ __name__: metric, lane: String(lane), series: String(i) }));
    const keys = series.map(seriesKey);
    let last = -Infinity;
    let n = 0;
    while (!this.stopped) {
      const started = Date.now();
      const targets = this.targets;
      if (targets.length === 0) {
        await sleep(intervalMs);
        continue;
      }
      const ts = next(last);
      if (this.opts.until !== undefined && ts > this.opts.until) return;
      last = ts;
      n++;
      const target = targets[this.rr++ % targets.length];
      const samples = series.map((_, i): [number, number] => [ts, n * 1000 + lane * 100 + i + 0.5]);
      for (let i = 0; i < keys.length; i++) record(this.sent, keys[i], samples[i]);
      const p = pushWrite(target, writeBody(series.map((labels, i) => ({ labels, samples: [samples[i]] })))).then(
        (r) => r,
        (err: Error) => ({ status: 0, text: String((err.cause as Error | undefined)?.message ?? err.message) }),
      );
      this.inFlight.add(p);
      const r = await p;
      this.inFlight.delete(p);
      this.events.push({ at: Date.now(), target, status: r.status, text: r.text });
      if (r.status === 200) for (let i = 0; i < keys.length; i++) record(this.acked, keys[i], samples[i]);
      const wait = started + intervalMs - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
}

function record(set: SampleSet, key: string, [t, v]: [number, number]): void {
  let m = set.get(key);
  if (m === undefined) set.set(key, (m = new Map()));
  m.set(t, v);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Every sample of the series matching `__name__=~metricRegex` over the StoreAPIs at
 * `grpcs`, merged: the labels in `dropLabels` (replica and external labels) are removed
 * and samples at the same timestamp kept once. Throws when two copies of one sample
 * disagree on the value.
 */
export async function storeSamples(grpcs: string[], metricRegex: string, dropLabels: string[]): Promise<SampleSet> {
  const out: SampleSet = new Map();
  for (const grpc of grpcs) {
    const c = new StoreClient(grpc);
    try {
      for await (const f of c.series({ minTime: 0, maxTime: Date.now() + 3600_000, matchers: [{ type: 2, name: '__name__', value: metricRegex }] })) {
        if (!f.series) continue;
        const labels: SeriesLabels = {};
        for (const l of f.series.labels) if (!dropLabels.includes(l.name)) labels[l.name] = l.value;
        const key = seriesKey(labels);
        let m = out.get(key);
        if (m === undefined) out.set(key, (m = new Map()));
        for (const ch of f.series.chunks) {
          const it = chunkFromBytes(ch.raw!.type + 1, ch.raw!.data).iterator();
          while (it.next() !== ValueType.None) {
            const t = it.atT();
            const v = it.atF();
            const had = m.get(t);
            if (had !== undefined && !Object.is(had, v)) throw new Error(`${grpc}: ${key} at ${t}: ${v}, another copy has ${had}`);
            m.set(t, v);
          }
        }
      }
    } finally {
      c.close();
    }
  }
  return out;
}

/**
 * How `got` differs from `want`: samples missing, extra or with another value (the first
 * few of each), or null when they are equal.
 */
export function diffSamples(want: SampleSet, got: SampleSet, limit = 5): string | null {
  const missing: string[] = [];
  const extra: string[] = [];
  const wrong: string[] = [];
  let nMissing = 0;
  let nExtra = 0;
  let nWrong = 0;
  for (const [k, m] of want) {
    const g = got.get(k);
    for (const [t, v] of m) {
      const gv = g?.get(t);
      if (gv === undefined) {
        if (nMissing++ < limit) missing.push(`${k}@${t}`);
      } else if (!Object.is(gv, v)) {
        if (nWrong++ < limit) wrong.push(`${k}@${t}: ${gv} != ${v}`);
      }
    }
  }
  for (const [k, m] of got) {
    const w = want.get(k);
    for (const t of m.keys()) if (w?.get(t) === undefined && nExtra++ < limit) extra.push(`${k}@${t}`);
  }
  if (nMissing + nExtra + nWrong === 0) return null;
  return `${nMissing} missing (${missing.join(', ')}), ${nExtra} extra (${extra.join(', ')}), ${nWrong} with another value (${wrong.join(', ')})`;
}
