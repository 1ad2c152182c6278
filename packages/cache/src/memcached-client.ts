// A memcached client over node:net speaking the text protocol, with the behaviour of
// Thanos's pkg/cacheutil memcachedClient:
//   - getMulti groups keys by server (jump hash, server-selector.ts), splits them into
//     `get k1 k2 …` commands of at most max_get_multi_batch_size keys and runs at most
//     max_get_multi_concurrency of them at once; failures answer as misses.
//   - setAsync queues a `set` (at most max_async_buffer_size waiting, at most
//     max_async_concurrency running); items over max_item_size are skipped.
//   - every operation has `timeout`; a timed-out or failed connection is closed (later
//     answers on it could no longer be matched to requests) and the next operation dials
//     again.
// One connection per server carries all requests, pipelined: memcached answers a
// connection's commands in order, so replies are matched to a FIFO of pending requests.
// max_idle_connections therefore has no use here and is ignored.

import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { DNSProvider, Gate, isDynamicNode, NodeDNSResolver, nopLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { MemcachedClientConfig } from './config.js';
import { metricsOnce } from './metrics.js';
import { ServerSelector } from './server-selector.js';

const OP_SET = 'set';
const OP_GET_MULTI = 'getmulti';

export const FailureReason = {
  MAX_ITEM_SIZE: 'max-item-size',
  ASYNC_BUFFER_FULL: 'async-buffer-full',
  MALFORMED_KEY: 'malformed-key',
  TIMEOUT: 'timeout',
  SERVER_ERROR: 'server-error',
  NETWORK_ERROR: 'network-error',
  OTHER: 'other',
} as const;
export type FailureReason = (typeof FailureReason)[keyof typeof FailureReason];

/** An operation that failed, with the reason Thanos's failure metric names. */
export class MemcachedError extends Error {
  override readonly name = 'MemcachedError';
  constructor(
    message: string,
    readonly reason: FailureReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function clientMetrics(registers: Registry[]) {
  const labelNames = ['name', 'operation'] as const;
  return {
    operations: new Counter({ name: 'thanos_memcached_operations_total', help: 'Total number of operations against memcached.', labelNames, registers }),
    failures: new Counter({ name: 'thanos_memcached_operation_failures_total', help: 'Total number of operations against memcached that failed.', labelNames: ['name', 'operation', 'reason'] as const, registers }),
    skipped: new Counter({ name: 'thanos_memcached_operation_skipped_total', help: 'Total number of operations against memcached that have been skipped.', labelNames: ['name', 'operation', 'reason'] as const, registers }),
    duration: new Histogram({ name: 'thanos_memcached_operation_duration_seconds', help: 'Duration of operations against memcached.', labelNames, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 3, 6, 10], registers }),
    dataSize: new Histogram({
      name: 'thanos_memcached_operation_data_size_bytes',
      help: 'Tracks the size of the data stored in and fetched from memcached.',
      labelNames,
      buckets: [32, 256, 512, 1024, 32 * 1024, 256 * 1024, 512 * 1024, 1024 * 1024, 32 * 1024 * 1024, 256 * 1024 * 1024, 512 * 1024 * 1024],
      registers,
    }),
    info: new Gauge({
      name: 'thanos_memcached_client_info',
      help: "A metric with a constant '1' value labeled by configuration options from which memcached client was configured.",
      labelNames: ['name', 'timeout', 'max_idle_connections', 'max_async_concurrency', 'max_async_buffer_size', 'max_item_size', 'max_get_multi_concurrency', 'max_get_multi_batch_size', 'dns_provider_update_interval'] as const,
      registers,
    }),
  };
}

export interface MemcachedClientOptions {
  /** The `name` label of the metrics (Thanos: index-cache, caching-bucket, …). */
  name: string;
  registry?: Registry;
  logger?: Logger;
}

// The longest key memcached accepts; longer ones (and keys with spaces or control
// bytes) go on the wire as a hash of themselves.
const MAX_KEY_LENGTH = 250;

/** The key as sent to memcached: itself when valid, else `H:` and its SHA-256 (base64url). */
export function wireKey(key: string): string {
  if (key.length <= MAX_KEY_LENGTH) {
    let ok = true;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c <= 32 || c >= 127) {
        ok = false;
        break;
      }
    }
    if (ok) return key;
  }
  return `H:${createHash('sha256').update(key).digest('base64url')}`;
}

interface Request {
  isGet: boolean;
  resolve: (v: Map<string, Uint8Array> | undefined) => void;
  reject: (err: MemcachedError) => void;
  timer: NodeJS.Timeout | undefined;
  values: Map<string, Uint8Array> | undefined;
}

const CR = 13;
const LF = 10;

/** One pipelined connection to one server; dials again after a failure. */
class ServerConnection {
  private sock: Socket | null = null;
  private readonly pending: Request[] = [];
  private head = 0;
  // A line cut by the end of a chunk, waiting for the rest.
  private partial: Buffer | null = null;
  // A value longer than what has arrived: filled as chunks come.
  private value: Buffer | null = null;
  private valueKey = '';
  private valueFilled = 0;
  // Bytes of the CRLF after a value still to skip.
  private skip = 0;

  constructor(
    readonly address: string,
    private readonly timeoutMs: number,
  ) {}

  get(keys: readonly string[]): Promise<Map<string, Uint8Array>> {
    let cmd = 'get';
    for (const k of keys) cmd += ' ' + k;
    cmd += '\r\n';
    return this.send(true, cmd, undefined) as Promise<Map<string, Uint8Array>>;
  }

  async set(key: string, value: Uint8Array, exptime: number): Promise<void> {
    await this.send(false, `set ${key} 0 ${exptime} ${value.byteLength}\r\n`, value);
  }

  close(): void {
    this.fail(new MemcachedError(`memcached ${this.address}: client closed`, FailureReason.OTHER));
  }

  private send(isGet: boolean, cmd: string, body: Uint8Array | undefined): Promise<Map<string, Uint8Array> | undefined> {
    return new Promise((resolve, reject) => {
      const sock = this.socket();
      const req: Request = { isGet, resolve, reject, timer: undefined, values: isGet ? new Map() : undefined };
      req.timer = setTimeout(() => {
        // The answer may still come, and would then be taken for the next request's.
        this.fail(new MemcachedError(`memcached ${this.address}: timed out after ${this.timeoutMs}ms`, FailureReason.TIMEOUT));
      }, this.timeoutMs);
      this.pending.push(req);
      if (body === undefined) sock.write(cmd);
      else {
        sock.cork();
        sock.write(cmd);
        sock.write(body);
        sock.write('\r\n');
        sock.uncork();
      }
    });
  }

  private socket(): Socket {
    if (this.sock !== null) return this.sock;
    const i = this.address.lastIndexOf(':');
    const host = this.address.slice(0, i).replace(/^\[|\]$/g, '');
    const sock = connect({ host, port: Number(this.address.slice(i + 1)), noDelay: true });
    sock.on('data', (chunk: Buffer) => {
      try {
        this.onData(chunk);
      } catch (err) {
        this.fail(new MemcachedError(`memcached ${this.address}: ${(err as Error).message}`, FailureReason.OTHER, { cause: err }));
      }
    });
    sock.on('error', (err) => {
      if (this.sock === sock) this.fail(new MemcachedError(`memcached ${this.address}: ${err.message}`, FailureReason.NETWORK_ERROR, { cause: err }));
    });
    sock.on('close', () => {
      if (this.sock === sock) this.fail(new MemcachedError(`memcached ${this.address}: connection closed`, FailureReason.NETWORK_ERROR));
    });
    this.sock = sock;
    return sock;
  }

  /** Fails every pending request with err and drops the connection. */
  private fail(err: MemcachedError): void {
    const sock = this.sock;
    this.sock = null;
    this.partial = null;
    this.value = null;
    this.skip = 0;
    const reqs = this.pending.splice(0);
    const from = this.head;
    this.head = 0;
    sock?.destroy();
    for (let i = from; i < reqs.length; i++) {
      clearTimeout(reqs[i].timer);
      reqs[i].reject(err);
    }
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.partial !== null) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let pos = 0;
    const n = buf.length;
    while (pos < n) {
      if (this.skip > 0) {
        const s = Math.min(this.skip, n - pos);
        this.skip -= s;
        pos += s;
        continue;
      }
      if (this.value !== null) {
        const take = Math.min(this.value.length - this.valueFilled, n - pos);
        buf.copy(this.value, this.valueFilled, pos, pos + take);
        this.valueFilled += take;
        pos += take;
        if (this.valueFilled === this.value.length) {
          this.current().values!.set(this.valueKey, this.value);
          this.value = null;
          this.skip = 2;
        }
        continue;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        this.partial = buf.subarray(pos);
        return;
      }
      const line = buf.toString('latin1', pos, lf > pos && buf[lf - 1] === CR ? lf - 1 : lf);
      pos = lf + 1;
      if (line.startsWith('VALUE ')) {
        // VALUE <key> <flags> <bytes> [<cas>]
        const parts = line.split(' ');
        const size = Number(parts[3]);
        if (parts.length < 4 || !Number.isInteger(size) || size < 0) throw new Error(`malformed reply line ${JSON.stringify(line)}`);
        const req = this.current();
        if (!req.isGet) throw new Error(`unexpected reply ${JSON.stringify(line)} to a set`);
        if (pos + size + 2 <= n) {
          // fast path: the whole value is in this chunk, no copy
          req.values!.set(parts[1], buf.subarray(pos, pos + size));
          pos += size + 2;
        } else {
          this.valueKey = parts[1];
          this.value = Buffer.allocUnsafe(size);
          this.valueFilled = 0;
          if (size === 0) {
            req.values!.set(this.valueKey, this.value);
            this.value = null;
            this.skip = 2;
          }
        }
        continue;
      }
      const req = this.current();
      if (line === 'END') {
        if (!req.isGet) throw new Error('unexpected END reply to a set');
        this.done(req.values);
      } else if (line === 'STORED' || line === 'NOT_STORED' || line === 'EXISTS' || line === 'NOT_FOUND') {
        if (req.isGet) throw new Error(`unexpected reply ${line} to a get`);
        this.done(undefined);
      } else if (line.startsWith('SERVER_ERROR') || line.startsWith('CLIENT_ERROR') || line === 'ERROR') {
        this.head++;
        clearTimeout(req.timer);
        this.compact();
        req.reject(new MemcachedError(`memcached ${this.address}: ${line}`, FailureReason.SERVER_ERROR));
      } else {
        throw new Error(`unexpected reply line ${JSON.stringify(line)}`);
      }
    }
  }

  private current(): Request {
    const r = this.pending[this.head];
    if (r === undefined) throw new Error('reply without a request');
    return r;
  }

  private done(v: Map<string, Uint8Array> | undefined): void {
    const req = this.pending[this.head++];
    clearTimeout(req.timer);
    this.compact();
    req.resolve(v);
  }

  private compact(): void {
    if (this.head === this.pending.length) {
      this.pending.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }
}

interface QueuedSet {
  key: string;
  value: Uint8Array;
  ttlMs: number;
}

/** A memcached client as Thanos configures one (MemcachedClientConfig). */
export class MemcachedClient {
  readonly name: string;
  private readonly selector = new ServerSelector();
  private readonly conns = new Map<string, ServerConnection>();
  private readonly getGate: Gate;
  private readonly queue: QueuedSet[] = [];
  private queueHead = 0;
  private asyncRunning = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly logger: Logger;
  private readonly m: ReturnType<typeof clientMetrics>;
  private readonly labels: { name: string };
  private readonly dns: DNSProvider | null = null;
  private dnsTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly cfg: MemcachedClientConfig,
    opts: MemcachedClientOptions,
  ) {
    this.name = opts.name;
    this.labels = { name: opts.name };
    this.logger = opts.logger ?? nopLogger();
    this.getGate = new Gate(cfg.maxGetMultiConcurrency);
    this.m = metricsOnce(opts.registry, 'memcached-client', clientMetrics);
    for (const op of [OP_GET_MULTI, OP_SET]) {
      this.m.operations.inc({ name: this.name, operation: op }, 0);
      for (const reason of [FailureReason.TIMEOUT, FailureReason.MALFORMED_KEY, FailureReason.SERVER_ERROR, FailureReason.NETWORK_ERROR, FailureReason.OTHER]) {
        this.m.failures.inc({ name: this.name, operation: op, reason }, 0);
      }
      this.m.skipped.inc({ name: this.name, operation: op, reason: FailureReason.MAX_ITEM_SIZE }, 0);
    }
    this.m.skipped.inc({ name: this.name, operation: OP_SET, reason: FailureReason.ASYNC_BUFFER_FULL }, 0);
    this.m.info.set(
      {
        name: this.name,
        timeout: `${cfg.timeoutMs}ms`,
        max_idle_connections: String(cfg.maxIdleConnections),
        max_async_concurrency: String(cfg.maxAsyncConcurrency),
        max_async_buffer_size: String(cfg.maxAsyncBufferSize),
        max_item_size: String(cfg.maxItemSizeBytes),
        max_get_multi_concurrency: String(cfg.maxGetMultiConcurrency),
        max_get_multi_batch_size: String(cfg.maxGetMultiBatchSize),
        dns_provider_update_interval: `${cfg.dnsProviderUpdateIntervalMs}ms`,
      },
      1,
    );
    if (cfg.addresses.some(isDynamicNode)) {
      // Until the first lookup answers, the client has no servers: fetches miss.
      this.dns = new DNSProvider({ resolver: new NodeDNSResolver(), logger: this.logger });
      void this.resolve();
      this.dnsTimer = setInterval(() => void this.resolve(), cfg.dnsProviderUpdateIntervalMs);
      this.dnsTimer.unref();
    } else {
      this.selector.setServers(cfg.addresses);
    }
  }

  /** The servers keys are spread over now. */
  servers(): readonly string[] {
    return this.selector.list();
  }

  /** The server a key is stored on. */
  serverFor(key: string): string | undefined {
    return this.selector.pick(wireKey(key));
  }

  /** Looks the dns+/dnssrv+ addresses up again now. */
  async resolve(): Promise<void> {
    if (this.dns === null) return;
    try {
      await this.dns.resolve(this.cfg.addresses, true);
    } catch (err) {
      this.logger.warn({ name: this.name, err: (err as Error).message }, 'memcached: failed to resolve addresses; keeping the last ones');
    }
    const servers = this.dns.addresses();
    this.selector.setServers(servers);
    const keep = new Set(servers);
    for (const [addr, c] of this.conns) {
      if (!keep.has(addr)) {
        c.close();
        this.conns.delete(addr);
      }
    }
  }

  /**
   * The values found for keys (misses absent). Never throws: a failed batch is logged,
   * counted and its keys answer as misses.
   */
  async getMulti(keys: readonly string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    if (keys.length === 0 || this.closed) return out;
    // Wire key → caller's key, only for keys that had to be hashed.
    let renamed: Map<string, string> | null = null;
    const byServer = new Map<string, string[]>();
    for (const key of keys) {
      const wk = wireKey(key);
      if (wk !== key) (renamed ??= new Map()).set(wk, key);
      const server = this.selector.pick(wk);
      if (server === undefined) {
        this.m.failures.inc({ name: this.name, operation: OP_GET_MULTI, reason: FailureReason.OTHER });
        return out;
      }
      let list = byServer.get(server);
      if (list === undefined) byServer.set(server, (list = []));
      list.push(wk);
    }
    const batch = this.cfg.maxGetMultiBatchSize > 0 ? this.cfg.maxGetMultiBatchSize : Infinity;
    const jobs: Promise<void>[] = [];
    for (const [server, list] of byServer) {
      for (let i = 0; i < list.length; i += batch) {
        const part = batch === Infinity && i === 0 ? list : list.slice(i, i + batch);
        jobs.push(this.getBatch(server, part, out, renamed));
      }
    }
    await Promise.all(jobs);
    return out;
  }

  private async getBatch(server: string, keys: string[], out: Map<string, Uint8Array>, renamed: Map<string, string> | null): Promise<void> {
    await this.getGate.acquire();
    const labels = { name: this.name, operation: OP_GET_MULTI };
    const t0 = performance.now();
    try {
      this.m.operations.inc(labels);
      const got = await this.conn(server).get(keys);
      this.m.duration.observe(labels, (performance.now() - t0) / 1000);
      for (const [k, v] of got) {
        this.m.dataSize.observe(labels, v.byteLength);
        out.set(renamed?.get(k) ?? k, v);
      }
    } catch (err) {
      this.failed(OP_GET_MULTI, err, { server, keys: keys.length });
    } finally {
      this.getGate.release();
    }
  }

  /**
   * Queues a set; returns at once. Items over max_item_size and items arriving while
   * max_async_buffer_size sets wait are skipped (and counted).
   */
  setAsync(key: string, value: Uint8Array, ttlMs: number): void {
    if (this.closed) return;
    if (value.byteLength > this.cfg.maxItemSizeBytes) {
      this.m.skipped.inc({ name: this.name, operation: OP_SET, reason: FailureReason.MAX_ITEM_SIZE });
      return;
    }
    if (this.queue.length - this.queueHead >= this.cfg.maxAsyncBufferSize) {
      this.m.skipped.inc({ name: this.name, operation: OP_SET, reason: FailureReason.ASYNC_BUFFER_FULL });
      return;
    }
    this.queue.push({ key, value, ttlMs });
    this.pump();
  }

  /** Resolves once every queued set has been tried. */
  flush(): Promise<void> {
    if (this.asyncRunning === 0 && this.queueHead === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits for queued sets, then closes the connections. */
  async stop(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.dnsTimer) clearInterval(this.dnsTimer);
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }

  private pump(): void {
    while (this.asyncRunning < this.cfg.maxAsyncConcurrency && this.queueHead < this.queue.length) {
      const item = this.queue[this.queueHead];
      this.queue[this.queueHead++] = undefined as unknown as QueuedSet;
      if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      this.asyncRunning++;
      void this.runSet(item).finally(() => {
        this.asyncRunning--;
        this.pump();
        if (this.asyncRunning === 0 && this.queueHead === this.queue.length) {
          this.queue.length = 0;
          this.queueHead = 0;
          for (const w of this.idleWaiters.splice(0)) w();
        }
      });
    }
  }

  private async runSet(item: QueuedSet): Promise<void> {
    const labels = { name: this.name, operation: OP_SET };
    const wk = wireKey(item.key);
    const server = this.selector.pick(wk);
    this.m.operations.inc(labels);
    if (server === undefined) {
      this.m.failures.inc({ ...labels, reason: FailureReason.OTHER });
      return;
    }
    const t0 = performance.now();
    try {
      await this.conn(server).set(wk, item.value, exptime(item.ttlMs));
      this.m.dataSize.observe(labels, item.value.byteLength);
      this.m.duration.observe(labels, (performance.now() - t0) / 1000);
    } catch (err) {
      this.failed(OP_SET, err, { server, key: item.key });
    }
  }

  private failed(op: string, err: unknown, ctx: object): void {
    const reason = err instanceof MemcachedError ? err.reason : FailureReason.OTHER;
    this.m.failures.inc({ name: this.name, operation: op, reason });
    this.logger.debug({ name: this.name, op, reason, err: (err as Error).message, ...ctx }, 'memcached operation failed');
  }

  private conn(server: string): ServerConnection {
    let c = this.conns.get(server);
    if (c === undefined) this.conns.set(server, (c = new ServerConnection(server, this.cfg.timeoutMs)));
    return c;
  }
}

// memcached reads an exptime over 30 days as a Unix time.
const MAX_RELATIVE_EXPTIME_S = 30 * 24 * 3600;

function exptime(ttlMs: number): number {
  if (ttlMs <= 0) return 0;
  const s = Math.ceil(ttlMs / 1000);
  return s <= MAX_RELATIVE_EXPTIME_S ? s : Math.floor(Date.now() / 1000) + s;
}
