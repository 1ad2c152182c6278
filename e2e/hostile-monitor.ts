// Helpers of the hostile-input suite (hostile.test.ts): a watchdog in its own thread that
// polls /-/healthy and reads VmRSS of every process under test, the pid of a component,
// an HTTP client that never hangs, the check that an answer has the shape Prometheus
// gives, and a gRPC client that sends raw bytes.
//
// The watchdog runs in a worker thread so that the test's own work (building requests,
// fast-check shrinking) cannot delay a poll and blame the component for it.

import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// ---------------------------------------------------------------------------
// Processes

/**
 * The pid of the process started with `--http-address <httpAddress>` (each component of
 * the suite has its own port), found in /proc; undefined when none runs.
 */
export async function pidOf(httpAddress: string): Promise<number | undefined> {
  const needle = `\0--http-address\0${httpAddress}\0`;
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmdline: string;
    try {
      cmdline = await readFile(`/proc/${d}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    if ((cmdline.endsWith('\0') ? cmdline : cmdline + '\0').includes(needle)) return Number(d);
  }
  return undefined;
}

export interface HealthSample {
  /** Date.now() when the poll started. */
  at: number;
  target: string;
  /** Milliseconds until the answer, or until the poll gave up (5 s). */
  ms: number;
  /** HTTP status; 0 when there was no answer. */
  status: number;
  error?: string;
}

export interface RssSample {
  at: number;
  target: string;
  kb: number;
}

export interface WatchTarget {
  name: string;
  /** http://host:port of the component; /-/healthy is polled. */
  url: string;
  pid?: number;
}

// The watchdog's code (plain JS, run with `eval`): a poll per target every intervalMs,
// never two polls of one target at once; a poll that takes over 5 s is cut and
// recorded as such.
const WATCHDOG_JS = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const targets = new Map(workerData.targets.map((t) => [t.name, { ...t, busy: false }]));
let health = [];
let rss = [];
function tick() {
  for (const t of targets.values()) {
    if (t.pid) {
      try {
        const m = /VmRSS:\\s+(\\d+) kB/.exec(readFileSync('/proc/' + t.pid + '/status', 'latin1'));
        if (m) rss.push({ at: Date.now(), target: t.name, kb: Number(m[1]) });
      } catch {}
    }
    if (t.busy) continue;
    t.busy = true;
    const at = Date.now();
    const t0 = performance.now();
    fetch(t.url + '/-/healthy', { signal: AbortSignal.timeout(5000) })
      .then(async (r) => {
        await r.arrayBuffer();
        health.push({ at, target: t.name, ms: performance.now() - t0, status: r.status });
      })
      .catch((e) => health.push({ at, target: t.name, ms: performance.now() - t0, status: 0, error: String(e && e.message || e) }))
      .finally(() => (t.busy = false));
  }
}
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m.type === 'pid') targets.get(m.name).pid = m.pid;
  if (m.type === 'drain') {
    parentPort.postMessage({ health, rss });
    health = [];
    rss = [];
  }
  if (m.type === 'stop') {
    clearInterval(timer);
    parentPort.postMessage({ health, rss });
    parentPort.close();
  }
});
`;

/** Polls /-/healthy and VmRSS of each target from a worker thread until stopped. */
export class Watchdog {
  private readonly worker: Worker;
  private pending: ((v: { health: HealthSample[]; rss: RssSample[] }) => void)[] = [];

  constructor(targets: WatchTarget[], intervalMs = 200) {
    this.worker = new Worker(WATCHDOG_JS, { eval: true, workerData: { targets, intervalMs } });
    this.worker.on('message', (m: { health: HealthSample[]; rss: RssSample[] }) => this.pending.shift()?.(m));
    this.worker.unref();
  }

  /** Tells the watchdog the new pid of a restarted target. */
  setPid(name: string, pid: number | undefined): void {
    this.worker.postMessage({ type: 'pid', name, pid });
  }

  /** The samples taken since the last drain. */
  drain(): Promise<{ health: HealthSample[]; rss: RssSample[] }> {
    return new Promise((r) => {
      this.pending.push(r);
      this.worker.postMessage({ type: 'drain' });
    });
  }

  async stop(): Promise<{ health: HealthSample[]; rss: RssSample[] }> {
    const last = new Promise<{ health: HealthSample[]; rss: RssSample[] }>((r) => this.pending.push(r));
    this.worker.postMessage({ type: 'stop' });
    const out = await last;
    await this.worker.terminate();
    return out;
  }
}

// ---------------------------------------------------------------------------
// HTTP

export interface Answer {
  /** HTTP status; 0 when the request failed without an answer (connection reset, timeout). */
  status: number;
  contentType: string;
  text: string;
  ms: number;
  /** Why there was no answer. */
  error?: string;
}

export interface SendOptions {
  method?: string;
  /** Query string parameters (appended in order; arrays repeat the key). */
  params?: Record<string, string | string[]> | [string, string][];
  /** A raw query string, sent as is (for invalid percent-encodings). */
  rawQuery?: string;
  /** Sent as an application/x-www-form-urlencoded body (POST). */
  form?: Record<string, string | string[]> | [string, string][];
  body?: Uint8Array | string;
  headers?: Record<string, string>;
  /** Give up after this long (default 15 s, beyond every bound the suite asserts). */
  giveUpMs?: number;
  signal?: AbortSignal;
}

function entries(p: Record<string, string | string[]> | [string, string][]): [string, string][] {
  if (Array.isArray(p)) return p;
  return Object.entries(p).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x): [string, string] => [k, x]) : [[k, v] as [string, string]]));
}

/** One HTTP request; never throws and never hangs beyond giveUpMs. */
export async function send(base: string, path: string, opts: SendOptions = {}): Promise<Answer> {
  let url = base + path;
  if (opts.params) {
    const q = new URLSearchParams(entries(opts.params)).toString();
    if (q) url += (url.includes('?') ? '&' : '?') + q;
  }
  if (opts.rawQuery !== undefined) url += (url.includes('?') ? '&' : '?') + opts.rawQuery;
  const headers: Record<string, string> = { ...opts.headers };
  let body: Uint8Array<ArrayBuffer> | string | undefined = opts.body === undefined || typeof opts.body === 'string' ? opts.body : new Uint8Array(opts.body);
  if (opts.form) {
    body = new URLSearchParams(entries(opts.form)).toString();
    headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
  }
  const signals = [AbortSignal.timeout(opts.giveUpMs ?? 15_000), ...(opts.signal ? [opts.signal] : [])];
  const t0 = performance.now();
  try {
    const r = await fetch(url, { method: opts.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, signal: AbortSignal.any(signals) });
    const text = await r.text();
    return { status: r.status, contentType: r.headers.get('content-type') ?? '', text, ms: performance.now() - t0 };
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return { status: 0, contentType: '', text: '', ms: performance.now() - t0, error: `${e.name}: ${e.message}${e.cause ? ` (${e.cause.message})` : ''}` };
  }
}

/** Prometheus's API error types by the HTTP status its respondError gives them. */
export const ERROR_TYPES_BY_STATUS: Record<number, string[]> = {
  400: ['bad_data'],
  404: ['not_found'],
  422: ['execution'],
  499: ['canceled'],
  500: ['internal'],
  503: ['timeout', 'unavailable'],
};

export interface ShapeOptions {
  /** Largest acceptable answer time, ms (default 10 s). */
  maxMs?: number;
  /** The request line was oversized on purpose: Go's net/http and Node answer 431 (and close) then. */
  oversizedRequest?: boolean;
}

/**
 * What is wrong with an answer from the Prometheus HTTP API, empty when nothing: it must
 * come within the bound and be a success envelope, an error shaped exactly as
 * Prometheus's respondError shapes it ({"status":"error","errorType":…,"error":…} with
 * the status code of its errorType), or the plain-text 404/405 of Go's mux.
 */
export function shapeProblems(a: Answer, opts: ShapeOptions = {}): string[] {
  const out: string[] = [];
  const maxMs = opts.maxMs ?? 10_000;
  if (a.ms > maxMs) out.push(`answered in ${Math.round(a.ms)} ms, over ${maxMs} ms`);
  if (a.status === 0) {
    // Past its header limit a server answers 431 and closes, maybe before the client
    // finished sending: then the client sees the connection go instead.
    if (opts.oversizedRequest && /closed|reset|EPIPE|socket/i.test(a.error ?? '')) return out;
    return [...out, `no answer: ${a.error}`];
  }
  const snippet = a.text.length > 300 ? a.text.slice(0, 300) + '…' : a.text;
  if (a.status >= 200 && a.status < 300) {
    if (a.status === 204) return out;
    if (!a.contentType.startsWith('application/json')) return [...out, `${a.status} with Content-Type ${a.contentType}`];
    try {
      const b = JSON.parse(a.text) as { status?: string };
      if (b.status !== 'success') out.push(`${a.status} without "status":"success": ${snippet}`);
    } catch {
      out.push(`${a.status} whose body is not JSON: ${snippet}`);
    }
    return out;
  }
  if (a.status === 404 && a.contentType.startsWith('text/plain')) {
    if (a.text !== '404 page not found\n') out.push(`404 body ${JSON.stringify(snippet)}, want "404 page not found\\n"`);
    return out;
  }
  if (a.status === 405 && a.contentType.startsWith('text/plain')) {
    if (a.text !== 'Method Not Allowed\n') out.push(`405 body ${JSON.stringify(snippet)}, want "Method Not Allowed\\n"`);
    return out;
  }
  if (a.status === 431 && opts.oversizedRequest) return out;
  const types = ERROR_TYPES_BY_STATUS[a.status];
  if (!types) return [...out, `unexpected HTTP ${a.status} (${a.contentType}): ${snippet}`];
  if (!a.contentType.startsWith('application/json')) return [...out, `HTTP ${a.status} with Content-Type ${a.contentType}: ${snippet}`];
  let b: Record<string, unknown>;
  try {
    b = JSON.parse(a.text) as Record<string, unknown>;
  } catch {
    return [...out, `HTTP ${a.status} whose body is not JSON: ${snippet}`];
  }
  const keys = Object.keys(b);
  if (keys.join(',') !== 'status,errorType,error') out.push(`HTTP ${a.status} error keys [${keys.join(',')}], want [status,errorType,error]: ${snippet}`);
  if (b.status !== 'error') out.push(`HTTP ${a.status} with status ${JSON.stringify(b.status)}`);
  if (!types.includes(b.errorType as string)) out.push(`HTTP ${a.status} with errorType ${JSON.stringify(b.errorType)}, want ${types.join(' or ')}`);
  if (typeof b.error !== 'string' || b.error === '') out.push(`HTTP ${a.status} without an error message: ${snippet}`);
  return out;
}

/** The parsed error envelope of an answer (for assertions on errorType and message). */
export function errorOf(a: Answer): { errorType?: string; error?: string } {
  try {
    return JSON.parse(a.text) as { errorType?: string; error?: string };
  } catch {
    return {};
  }
}

/** One line about an answer, for assertion messages. */
export function describeAnswer(a: Answer): string {
  const t = a.text.length > 400 ? a.text.slice(0, 400) + `… (${a.text.length} chars)` : a.text;
  return `HTTP ${a.status} in ${Math.round(a.ms)} ms${a.error ? ` (${a.error})` : ''}: ${t}`;
}

// ---------------------------------------------------------------------------
// gRPC with raw bytes

// @grpc/grpc-js is a dependency of @thanos-ts/storeapi, not of e2e: loaded from there.
// Only the few members used here are typed.
interface GrpcStream {
  on(ev: 'data', f: (b: Buffer) => void): GrpcStream;
  on(ev: 'error', f: (e: GrpcError) => void): GrpcStream;
  on(ev: 'status', f: (s: { code: number; details: string }) => void): GrpcStream;
  on(ev: 'end', f: () => void): GrpcStream;
  cancel(): void;
}
interface GrpcError extends Error {
  code: number;
  details: string;
}
interface GrpcClient {
  makeUnaryRequest(
    method: string,
    serialize: (b: Buffer) => Buffer,
    deserialize: (b: Buffer) => Buffer,
    arg: Buffer,
    metadata: unknown,
    options: { deadline: Date },
    callback: (err: GrpcError | null, res?: Buffer) => void,
  ): unknown;
  makeServerStreamRequest(
    method: string,
    serialize: (b: Buffer) => Buffer,
    deserialize: (b: Buffer) => Buffer,
    arg: Buffer,
    metadata: unknown,
    options: { deadline: Date },
  ): GrpcStream;
  close(): void;
}
interface GrpcJs {
  Client: new (address: string, creds: unknown, options?: Record<string, unknown>) => GrpcClient;
  credentials: { createInsecure(): unknown };
  Metadata: new () => unknown;
  status: Record<string, number | string>;
}

const grpcJs = createRequire(new URL('../packages/storeapi/package.json', import.meta.url))('@grpc/grpc-js') as GrpcJs;

/** gRPC status code names by number (0 OK … 16 UNAUTHENTICATED). */
export const GRPC_CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(grpcJs.status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

export interface RawCallResult {
  /** gRPC status code (0 OK). */
  code: number;
  codeName: string;
  details: string;
  ms: number;
  /** Response messages received (one for unary calls). */
  frames: number;
}

const identity = (b: Buffer): Buffer => b;

/** Sends arbitrary bytes as the request message of a StoreAPI / Info method. */
export class RawGrpc {
  private readonly client: GrpcClient;

  constructor(readonly address: string) {
    this.client = new grpcJs.Client(address, grpcJs.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 << 20,
      // A fresh connection is not needed per call, but one that broke must not stick.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 500,
    });
  }

  /** Calls `method` ("/thanos.Store/Series") with `bytes`; streaming when `stream`. */
  call(method: string, bytes: Uint8Array, stream: boolean, deadlineMs = 10_000): Promise<RawCallResult> {
    const t0 = performance.now();
    const deadline = new Date(Date.now() + deadlineMs);
    const arg = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const done = (code: number, details: string, frames: number): RawCallResult => ({
      code,
      codeName: GRPC_CODE_NAMES[code] ?? String(code),
      details,
      ms: performance.now() - t0,
      frames,
    });
    if (!stream) {
      return new Promise((resolve) => {
        this.client.makeUnaryRequest(method, identity, identity, arg, new grpcJs.Metadata(), { deadline }, (err) =>
          resolve(err ? done(err.code, err.details ?? err.message, 0) : done(0, '', 1)),
        );
      });
    }
    return new Promise((resolve) => {
      let frames = 0;
      const call = this.client.makeServerStreamRequest(method, identity, identity, arg, new grpcJs.Metadata(), { deadline });
      call.on('data', () => frames++);
      call.on('error', () => {}); // the status event carries the code
      call.on('status', (s) => resolve(done(s.code, s.details, frames)));
    });
  }

  close(): void {
    this.client.close();
  }
}
