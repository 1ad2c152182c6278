// Write limits and gates of the receiver: --receive.limits-config(-file), the YAML file
// of Thanos pkg/receive/limiter_config.go, with the semantics of limiter.go,
// request_limiter.go and head_series_limiter.go:
//
//   write:
//     global:
//       max_concurrency: 30          # gate: requests past it wait for a turn
//       meta_monitoring_url: …       # accepted and ignored (see below)
//       meta_monitoring_limit_query: …
//       meta_monitoring_http_client: {…}
//     default:
//       request: {size_bytes_limit, series_limit, samples_limit}   # 413 past them
//       head_series_limit: 1000                                     # 429 at or over it
//     tenants:
//       <tenant>: {request: {…}, head_series_limit: …}
//
// 0 means no limit. In default and global an absent value means no limit; in a tenant's
// section an absent value is the default's (and an absent `request` takes all three).
//
// Thanos learns a tenant's active series from a meta-monitoring Prometheus (every 15s,
// summed over all receivers). A single-node receiver knows them itself: it passes
// `headSeries(tenant)`, its local count, and the meta_monitoring_* fields are parsed and
// validated as Thanos does, then ignored.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Gate, LimitExceededError, nopLogger, UserError, wrapError } from '@thanos-ts/runtime';
import type { FlagSpec, FlagValues, Logger, Service } from '@thanos-ts/runtime';
import { Counter, Gauge, Histogram, Summary } from 'prom-client';
import type { Registry } from 'prom-client';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node as YamlNode, Pair } from 'yaml';

// ---------------------------------------------------------------------------------------
// The configuration (RootLimitsConfig). Numbers are JS numbers: Go's int64/uint64 limits
// beyond 2^53 lose precision here, which only matters for limits nobody can reach.

/** A request limit left out is undefined: in a tenant's section it inherits the default. */
export interface RequestLimitsConfig {
  sizeBytesLimit?: number;
  seriesLimit?: number;
  samplesLimit?: number;
}

export interface GlobalLimitsConfig {
  /** Most remote write requests worked on at once; 0 (or less) for no gate. */
  maxConcurrency: number;
  /** Validated as Thanos does (scheme and host), otherwise ignored. */
  metaMonitoringURL: string;
  /** Ignored; kept as parsed. */
  metaMonitoringHTTPClient?: unknown;
  /** Ignored; defaults to Thanos's query. */
  metaMonitoringLimitQuery: string;
}

export interface DefaultLimitsConfig {
  request: RequestLimitsConfig;
  /** 0 for unlimited. */
  headSeriesLimit: number;
}

export interface TenantWriteLimitsConfig {
  /** Absent: the default request limits. */
  request?: RequestLimitsConfig;
  /** Absent: the default; 0 is unlimited (not inherited). */
  headSeriesLimit?: number;
}

export interface WriteLimitsConfig {
  global: GlobalLimitsConfig;
  default: DefaultLimitsConfig;
  tenants: Map<string, TenantWriteLimitsConfig>;
}

export interface RootLimitsConfig {
  write: WriteLimitsConfig;
}

/** Thanos's default meta_monitoring_limit_query. */
export const DEFAULT_META_MONITORING_LIMIT_QUERY = 'sum(prometheus_tsdb_head_series) by (tenant)';

/**
 * Parses the limits YAML as Thanos's ParseRootLimitConfig: strictly (yaml.UnmarshalStrict,
 * unknown fields and duplicate keys refused, with go-yaml's texts and lines), YAML 1.1
 * scalars as go-yaml v2 reads them. Empty text is a configuration without limits.
 */
export function parseRootLimitsConfig(text: string): RootLimitsConfig {
  try {
    return decodeRoot(text);
  } catch (err) {
    throw wrapError(err, 'parsing config YAML file');
  }
}

/** The configuration of an empty file: no limits, no gate. */
export function emptyLimitsConfig(): RootLimitsConfig {
  return {
    write: {
      global: { maxConcurrency: 0, metaMonitoringURL: '', metaMonitoringLimitQuery: DEFAULT_META_MONITORING_LIMIT_QUERY },
      default: { request: {}, headSeriesLimit: 0 },
      tenants: new Map(),
    },
  };
}

function decodeRoot(text: string): RootLimitsConfig {
  const lines = new LineCounter();
  // YAML 1.1 as go-yaml v2 (1_000, 0x10, yes/no); bigints to check int64/uint64 ranges.
  const doc = parseDocument(text, { version: '1.1', intAsBigInt: true, uniqueKeys: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:$/, '');
    throw new Error(`yaml: line ${e.linePos?.[0].line ?? 0}: ${msg}`);
  }
  const d = new StrictDecoder(doc, lines);
  const cfg = emptyLimitsConfig();
  const w = cfg.write;
  d.struct(doc.contents, 'receive.RootLimitsConfig', {
    write: (n) =>
      d.struct(n, 'receive.WriteLimitsConfig', {
        global: (n) =>
          d.struct(n, 'receive.GlobalLimitsConfig', {
            max_concurrency: (n) => d.int64(n, (v) => (w.global.maxConcurrency = v)),
            meta_monitoring_url: (n) => d.string(n, (v) => (w.global.metaMonitoringURL = v)),
            meta_monitoring_http_client: (n) => d.opaqueStruct(n, 'clientconfig.HTTPClientConfig', (v) => (w.global.metaMonitoringHTTPClient = v)),
            meta_monitoring_limit_query: (n) => d.string(n, (v) => (w.global.metaMonitoringLimitQuery = v)),
          }),
        default: (n) =>
          d.struct(n, 'receive.DefaultLimitsConfig', {
            request: (n) => decodeRequestLimits(d, n, w.default.request),
            head_series_limit: (n) => d.uint64(n, (v) => (w.default.headSeriesLimit = v)),
          }),
        tenants: (n) =>
          d.stringMap(n, 'receive.TenantsWriteLimitsConfig', (tenant, n) => {
            const t: TenantWriteLimitsConfig = {};
            w.tenants.set(tenant, t);
            d.struct(n, 'receive.WriteLimitConfig', {
              request: (n) => {
                if (d.isNull(n)) return; // a nil pointer: the default's limits
                t.request = {};
                decodeRequestLimits(d, n, t.request);
              },
              head_series_limit: (n) => d.uint64(n, (v) => (t.headSeriesLimit = v), true),
            });
          }),
      }),
  });
  d.throwIfErrors();

  if (w.global.metaMonitoringURL !== '') checkMetaMonitoringURL(w.global.metaMonitoringURL);
  // Reset to the default when empty, as Thanos does (an explicit "" included).
  if (w.global.metaMonitoringLimitQuery === '') w.global.metaMonitoringLimitQuery = DEFAULT_META_MONITORING_LIMIT_QUERY;
  return cfg;
}

function decodeRequestLimits(d: StrictDecoder, n: YamlNode | null, out: RequestLimitsConfig): void {
  // Pointer fields: null leaves the limit unset, as a nil *int64 in Go.
  d.struct(n, 'receive.requestLimitsConfig', {
    size_bytes_limit: (n) => d.int64(n, (v) => (out.sizeBytesLimit = v), true),
    series_limit: (n) => d.int64(n, (v) => (out.seriesLimit = v), true),
    samples_limit: (n) => d.int64(n, (v) => (out.samplesLimit = v), true),
  });
}

/** Thanos parses with Go's url.Parse and then wants a scheme and a host. */
function checkMetaMonitoringURL(raw: string): void {
  let scheme = '';
  let host = '';
  try {
    const u = new URL(raw);
    scheme = u.protocol.replace(/:$/, '');
    host = u.host;
  } catch {
    // Go's url.Parse takes most unparsable text as a path: no scheme, no host.
  }
  if (scheme === '' || host === '') throw new Error(`${raw} is not a valid meta-monitoring URL (scheme: ${scheme},host: ${host})`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * A small go-yaml v2 UnmarshalStrict over the yaml package's document tree: struct
 * fields by name, unknown or repeated keys and type mismatches collected as go-yaml
 * words them ("line 4: field request not found in type receive.WriteLimitsConfig").
 */
class StrictDecoder {
  private readonly errors: string[] = [];

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  isNull(n: YamlNode | null): boolean {
    const r = this.resolve(n);
    return r === null || (isScalar(r) && r.value === null);
  }

  struct(n: YamlNode | null, type: string, fields: Record<string, (n: YamlNode | null) => void>): void {
    const pairs = this.pairs(n, type);
    const seen = new Set<string>();
    for (const p of pairs) {
      const key = this.keyText(p);
      if (seen.has(key)) {
        this.errors.push(`line ${this.line(p.key)}: key ${JSON.stringify(key)} already set in map`);
        continue;
      }
      seen.add(key);
      const field = Object.hasOwn(fields, key) ? fields[key] : undefined;
      if (field === undefined) this.errors.push(`line ${this.line(p.key)}: field ${key} not found in type ${type}`);
      else field(p.value as YamlNode | null);
    }
  }

  stringMap(n: YamlNode | null, type: string, entry: (key: string, n: YamlNode | null) => void): void {
    const seen = new Set<string>();
    for (const p of this.pairs(n, type)) {
      const key = this.keyText(p);
      if (seen.has(key)) {
        this.errors.push(`line ${this.line(p.key)}: key ${JSON.stringify(key)} already set in map`);
        continue;
      }
      seen.add(key);
      entry(key, p.value as YamlNode | null);
    }
  }

  /** A mapping we keep as plain data without looking inside. */
  opaqueStruct(n: YamlNode | null, type: string, set: (v: unknown) => void): void {
    const r = this.resolve(n);
    if (this.isNull(r)) return;
    if (!isMap(r)) return this.typeError(r, type);
    set(r.toJS(this.doc));
  }

  /** pointer: null leaves the field unset instead of zero. */
  int64(n: YamlNode | null, set: (v: number) => void, pointer = false): void {
    this.integer(n, 'int64', INT64_MIN, INT64_MAX, set, pointer);
  }

  uint64(n: YamlNode | null, set: (v: number) => void, pointer = false): void {
    this.integer(n, 'uint64', 0n, UINT64_MAX, set, pointer);
  }

  string(n: YamlNode | null, set: (v: string) => void): void {
    const r = this.resolve(n);
    if (this.isNull(r)) return set('');
    // go-yaml puts any scalar's text into a string field.
    if (!isScalar(r)) return this.typeError(r, 'string');
    set(typeof r.value === 'string' ? r.value : (r.source ?? String(r.value)));
  }

  throwIfErrors(): void {
    if (this.errors.length > 0) throw new Error(`yaml: unmarshal errors: ${this.errors.join('; ')}`);
  }

  private integer(n: YamlNode | null, type: string, min: bigint, max: bigint, set: (v: number) => void, pointer: boolean): void {
    const r = this.resolve(n);
    if (this.isNull(r)) {
      if (!pointer) set(0);
      return;
    }
    if (!isScalar(r)) return this.typeError(r, type);
    let v: bigint | undefined;
    if (typeof r.value === 'bigint') v = r.value;
    // go-yaml v2 truncates a float into an integer field when it fits.
    else if (typeof r.value === 'number' && Number.isFinite(r.value)) v = BigInt(Math.trunc(r.value));
    if (v === undefined || v < min || v > max) return this.typeError(r, type);
    set(Number(v));
  }

  /** The pairs of a mapping, `<<` merges resolved (explicit keys win, as in go-yaml). */
  private pairs(n: YamlNode | null, type: string): Pair[] {
    const r = this.resolve(n);
    if (this.isNull(r)) return [];
    if (!isMap(r)) {
      this.typeError(r, type);
      return [];
    }
    const own: Pair[] = [];
    const merged: Pair[] = [];
    for (const p of r.items) {
      if (isScalar(p.key) && typeof p.key.value === 'symbol') {
        const v = this.resolve(p.value as YamlNode | null);
        const sources = isSeq(v) ? v.items.map((i) => this.resolve(i as YamlNode)) : [v];
        for (const s of sources) {
          if (isMap(s)) merged.push(...(s.items as Pair[]));
          else this.errors.push(`line ${this.line(p.key)}: map merge requires map or sequence of maps as the value`);
        }
        continue;
      }
      own.push(p as Pair);
    }
    if (merged.length === 0) return own;
    const ownKeys = new Set(own.map((p) => this.keyText(p)));
    return [...merged.filter((p) => !ownKeys.has(this.keyText(p))), ...own];
  }

  private keyText(p: Pair): string {
    const k = this.resolve(p.key as YamlNode | null);
    if (isScalar(k)) return typeof k.value === 'string' ? k.value : (k.source ?? String(k.value));
    return String(k);
  }

  private resolve(n: YamlNode | null | undefined): YamlNode | null {
    if (n === null || n === undefined) return null;
    if (isAlias(n)) return (n.resolve(this.doc) as YamlNode | undefined) ?? null;
    return n;
  }

  /** go-yaml's "line 3: cannot unmarshal !!str `abc` into int64". */
  private typeError(n: YamlNode | null, into: string): void {
    let tag: string;
    let value = '';
    if (isMap(n)) tag = '!!map';
    else if (isSeq(n)) tag = '!!seq';
    else if (isScalar(n)) {
      const v = n.value;
      tag =
        typeof v === 'bigint' ? '!!int'
        : typeof v === 'number' ? '!!float'
        : typeof v === 'boolean' ? '!!bool'
        : v instanceof Date ? '!!timestamp'
        : v === null ? '!!null'
        : '!!str';
      const text = typeof v === 'string' ? v : (n.source ?? String(v));
      value = text.length > 10 ? ` \`${text.slice(0, 7)}...\`` : ` \`${text}\``;
    } else tag = '!!null';
    if (n?.tag) tag = n.tag.replace(/^tag:yaml\.org,2002:/, '!!');
    this.errors.push(`line ${this.line(n)}: cannot unmarshal ${tag}${value} into ${into}`);
  }

  private line(n: unknown): number {
    const range = (n as { range?: [number, number, number] } | null)?.range;
    return range ? this.lines.linePos(range[0]).line : 0;
  }
}

// ---------------------------------------------------------------------------------------
// Refusals, with Thanos's status codes and texts (handler.go receiveHTTP).

export const ERR_WRITE_REQUEST_TOO_LARGE = 'write request too large';
export const ERR_TOO_MANY_TIMESERIES = 'too many timeseries';
export const ERR_TOO_MANY_SAMPLES = 'too many samples';
export const ERR_ABOVE_ACTIVE_SERIES_LIMIT = 'tenant is above active series limit';

/** A write refused by a limit: 413 for a request limit, 429 for the head series limit. */
export class WriteLimitError extends LimitExceededError {
  constructor(
    readonly status: 413 | 429,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------
// Request limits (request_limiter.go): defaults with unset fields as 0 (unlimited); each
// tenant with a `request` section has the default's value wherever it left one out.

type LimitName = 'body_size' | 'series' | 'samples';

interface ResolvedRequestLimits {
  body_size: number;
  series: number;
  samples: number;
}

interface RequestLimiterMetrics {
  limitsHit: Summary<'tenant' | 'limit'>;
  configuredLimits: Gauge<'tenant' | 'limit'>;
}

/** One configuration's request limits; a request checks against the one it started with. */
export class RequestLimiter {
  private readonly defaults: ResolvedRequestLimits;
  private readonly tenants = new Map<string, ResolvedRequestLimits>();

  constructor(
    write: WriteLimitsConfig,
    private readonly metrics: RequestLimiterMetrics | null = null,
  ) {
    const d = write.default.request;
    this.defaults = { body_size: d.sizeBytesLimit ?? 0, series: d.seriesLimit ?? 0, samples: d.samplesLimit ?? 0 };
    for (const [tenant, t] of write.tenants) {
      if (t.request === undefined) continue;
      this.tenants.set(tenant, {
        body_size: t.request.sizeBytesLimit ?? this.defaults.body_size,
        series: t.request.seriesLimit ?? this.defaults.series,
        samples: t.request.samplesLimit ?? this.defaults.samples,
      });
    }
    if (metrics) {
      // Only what this configuration says: tenants dropped by a reload disappear.
      metrics.configuredLimits.reset();
      for (const [tenant, l] of [...this.tenants, ['', this.defaults] as const]) {
        for (const name of ['body_size', 'series', 'samples'] as const) metrics.configuredLimits.set({ tenant, limit: name }, l[name]);
      }
    }
  }

  /** The limits that apply to a tenant (0: unlimited). */
  limitsFor(tenant: string): { sizeBytesLimit: number; seriesLimit: number; samplesLimit: number } {
    const l = this.tenants.get(tenant) ?? this.defaults;
    return { sizeBytesLimit: l.body_size, seriesLimit: l.series, samplesLimit: l.samples };
  }

  allowSizeBytes(tenant: string, bytes: number): boolean {
    return this.allow(tenant, 'body_size', bytes);
  }

  allowSeries(tenant: string, n: number): boolean {
    return this.allow(tenant, 'series', n);
  }

  allowSamples(tenant: string, n: number): boolean {
    return this.allow(tenant, 'samples', n);
  }

  /** Throws WriteLimitError(413, "write request too large") past the body size limit. */
  checkSizeBytes(tenant: string, bytes: number): void {
    if (!this.allowSizeBytes(tenant, bytes)) throw new WriteLimitError(413, ERR_WRITE_REQUEST_TOO_LARGE);
  }

  /** Throws WriteLimitError(413, "too many timeseries") past the series limit. */
  checkSeries(tenant: string, n: number): void {
    if (!this.allowSeries(tenant, n)) throw new WriteLimitError(413, ERR_TOO_MANY_TIMESERIES);
  }

  /** Throws WriteLimitError(413, "too many samples") past the samples limit. */
  checkSamples(tenant: string, n: number): void {
    if (!this.allowSamples(tenant, n)) throw new WriteLimitError(413, ERR_TOO_MANY_SAMPLES);
  }

  private allow(tenant: string, name: LimitName, amount: number): boolean {
    const limit = (this.tenants.get(tenant) ?? this.defaults)[name];
    if (limit <= 0 || amount <= limit) return true;
    this.metrics?.limitsHit.observe({ tenant, limit: name }, amount - limit);
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Head series limit (head_series_limiter.go), against the receiver's own count.

interface HeadSeriesMetrics {
  configuredTenantLimit: Gauge<'tenant'>;
  limitedRequests: Counter<'tenant'>;
}

export class HeadSeriesLimiter {
  private readonly defaultLimit: number;
  private readonly perTenant = new Map<string, number>();

  constructor(
    write: WriteLimitsConfig,
    private readonly headSeries: (tenant: string) => number,
    private readonly metrics: HeadSeriesMetrics | null = null,
    private readonly logger: Logger = nopLogger(),
  ) {
    this.defaultLimit = write.default.headSeriesLimit;
    // A tenant listed without head_series_limit inherits the default; with 0 it is unlimited.
    for (const [tenant, t] of write.tenants) this.perTenant.set(tenant, t.headSeriesLimit ?? this.defaultLimit);
    if (metrics) {
      metrics.configuredTenantLimit.reset();
      metrics.configuredTenantLimit.set({ tenant: '' }, this.defaultLimit);
      for (const [tenant, limit] of this.perTenant) metrics.configuredTenantLimit.set({ tenant }, limit);
    }
  }

  /** Whether any tenant has a limit: otherwise Thanos does not install the limiter. */
  static isActivated(write: WriteLimitsConfig): boolean {
    if (write.default.headSeriesLimit !== 0) return true;
    for (const t of write.tenants.values()) if ((t.headSeriesLimit ?? 0) !== 0) return true;
    return false;
  }

  limitFor(tenant: string): number {
    return this.perTenant.get(tenant) ?? this.defaultLimit;
  }

  /** False (and counted) when the tenant already has at least its limit of head series. */
  isUnderLimit(tenant: string): boolean {
    const limit = this.limitFor(tenant);
    if (limit === 0) return true;
    const current = this.headSeries(tenant);
    if (current < limit) return true;
    this.logger.error({ tenant, currentSeries: current, limit }, 'tenant above limit');
    this.metrics?.limitedRequests.inc({ tenant });
    return false;
  }

  /** Throws WriteLimitError(429, "tenant is above active series limit"). */
  checkHeadSeries(tenant: string): void {
    if (!this.isUnderLimit(tenant)) throw new WriteLimitError(429, ERR_ABOVE_ACTIVE_SERIES_LIMIT);
  }
}

// ---------------------------------------------------------------------------------------
// The write gate (Thanos gate.New(…, gate.WriteRequests) under the prefix
// thanos_receive_write_request_concurrent_).

/** Thanos's gate.Gate: start() waits for a turn, done() gives it back (only after a start that resolved). */
export interface WriteGate {
  start(signal?: AbortSignal): Promise<void>;
  done(): void;
}

const NOOP_GATE: WriteGate = { start: async () => {}, done: () => {} };

interface GateMetrics {
  max: Gauge;
  inFlight: Gauge;
  total: Counter;
  duration: Histogram;
}

function instrumentedGate(capacity: number, m: GateMetrics): WriteGate {
  const gate = new Gate(capacity);
  return {
    async start(signal?: AbortSignal): Promise<void> {
      m.total.inc();
      const end = m.duration.startTimer();
      try {
        await gate.acquire(signal);
      } finally {
        end();
      }
      m.inFlight.inc();
    },
    done(): void {
      m.inFlight.dec();
      gate.release();
    },
  };
}

// ---------------------------------------------------------------------------------------
// Where the configuration comes from (extflag.PathOrContent) and the flags.

/** Thanos's fileContent: the configuration text, and the file it comes from ('' inline). */
export interface LimitsConfigContent {
  path(): string;
  content(): Promise<string>;
}

const FILE_FLAG = 'receive.limits-config-file';
const CONTENT_FLAG = 'receive.limits-config';

/** The flags as Thanos registers them (all hidden there too). */
export const LIMITS_FLAGS: readonly FlagSpec[] = [
  { name: FILE_FLAG, kind: 'string', placeholder: '<file-path>', hidden: true, help: 'Path to YAML file that contains limit configuration.' },
  { name: CONTENT_FLAG, kind: 'string', placeholder: '<content>', hidden: true, help: "Alternative to 'receive.limits-config-file' flag (mutually exclusive). Content of YAML file that contains limit configuration." },
  { name: 'receive.limits-config-reload-timer', kind: 'string', default: '1s', placeholder: '<duration>', hidden: true, help: 'Minimum amount of time to pass for the limit configuration to be reloaded. Helps to avoid excessive reloads.' },
];

/**
 * The limits configuration named by the flags: the file (re-read at every content()
 * call, so it can be reloaded) or the inline content. $(VAR) is replaced by the
 * environment variable, as Thanos registers the flags WithEnvSubstitution.
 */
export function limitsConfigContent(opts: { file?: string; content?: string }): LimitsConfigContent {
  const file = opts.file ?? '';
  const inline = opts.content ?? '';
  return {
    path: () => file,
    async content(): Promise<string> {
      if (file !== '' && inline !== '') throw new Error(`both ${FILE_FLAG} and ${CONTENT_FLAG} flags set.`);
      let text = inline;
      if (file !== '') {
        try {
          text = await readFile(file, 'utf8');
        } catch (err) {
          throw wrapError(err, `loading file ${file} for ${FILE_FLAG}`);
        }
      }
      return expandEnv(text);
    },
  };
}

/** The flags' configuration source and reload interval (ms); both-set is a UserError. */
export function limitsConfigFromFlags(f: FlagValues): { source: LimitsConfigContent; reloadIntervalMs: number } {
  const file = f.str(FILE_FLAG);
  const content = f.str(CONTENT_FLAG);
  if (file !== '' && content !== '') throw new UserError(`both --${FILE_FLAG} and --${CONTENT_FLAG} are set; they are mutually exclusive`);
  const reloadIntervalMs = f.duration('receive.limits-config-reload-timer');
  if (reloadIntervalMs <= 0) throw new UserError('--receive.limits-config-reload-timer: must be positive');
  return { source: limitsConfigContent({ file, content }), reloadIntervalMs };
}

/** Kubernetes-style $(VAR) substitution (efficientgo extkingpin expandEnv). */
export function expandEnv(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/\$\(([a-zA-Z_0-9]+)\)/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new Error(`found reference to unset environment variable ${JSON.stringify(name)}`);
    return v;
  });
}

// ---------------------------------------------------------------------------------------
// WriteLimiter (Thanos's Limiter): the current gate and limiters, swapped whole when a
// reload parses; a request takes them once at its start.

export interface WriteLimiterOptions {
  registry: Registry;
  /** Active (head) series of a tenant in this receiver; 0 for a tenant it has not seen. */
  headSeries: (tenant: string) => number;
  logger?: Logger;
  /** --receive.limits-config-reload-timer: how often the file is checked for changes. */
  reloadIntervalMs?: number;
}

/** What one reload() did. */
export type ReloadResult = 'unchanged' | 'reloaded' | 'failed';

interface Current {
  config: RootLimitsConfig;
  gate: WriteGate;
  gateCapacity: number;
  requests: RequestLimiter;
  headSeries: HeadSeriesLimiter | null;
}

export class WriteLimiter implements Service {
  private current!: Current;
  private readonly logger: Logger;
  private readonly reloadIntervalMs: number;
  private readonly reloads: Counter;
  private readonly reloadErrors: Counter;
  private readonly requestMetrics: RequestLimiterMetrics;
  private gateMetrics: GateMetrics | null = null;
  private headSeriesMetrics: HeadSeriesMetrics | null = null;
  // sha256 of the file as last read, so an unchanged file is not parsed again.
  private checksum = '';
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly source: LimitsConfigContent | null,
    private readonly opts: WriteLimiterOptions,
  ) {
    this.logger = opts.logger ?? nopLogger();
    this.reloadIntervalMs = opts.reloadIntervalMs ?? 1000;
    const registers = [opts.registry];
    this.reloads = new Counter({ name: 'thanos_receive_limits_config_reload_total', help: 'How many times the limit configuration was reloaded', registers });
    this.reloadErrors = new Counter({ name: 'thanos_receive_limits_config_reload_err_total', help: 'How many times the limit configuration failed to reload.', registers });
    this.requestMetrics = {
      limitsHit: new Summary({
        name: 'thanos_receive_write_limits_hit',
        help: 'Summary of how much beyond the limit a refused remote write request was.',
        labelNames: ['tenant', 'limit'],
        percentiles: [0.5, 0.95, 0.99],
        // client_golang's summary defaults.
        maxAgeSeconds: 600,
        ageBuckets: 5,
        registers,
      }),
      configuredLimits: new Gauge({ name: 'thanos_receive_write_limits', help: 'The configured write limits.', labelNames: ['tenant', 'limit'], registers }),
    };
  }

  /**
   * Reads and applies the configuration (none: no limits). Errors read as Thanos's:
   * "parse limit configuration: parsing config YAML file: yaml: …".
   */
  static async open(source: LimitsConfigContent | null, opts: WriteLimiterOptions): Promise<WriteLimiter> {
    const l = new WriteLimiter(source, opts);
    if (source === null) {
      l.apply(emptyLimitsConfig());
      return l;
    }
    // Hashed before the read, so a change in between is picked up by the first poll.
    if (l.canReload()) l.checksum = await readFile(source.path()).then(sha256, () => '');
    l.apply(await l.read());
    return l;
  }

  /** A limiter over fixed YAML text (never reloaded). */
  static fromYAML(text: string, opts: WriteLimiterOptions): WriteLimiter {
    const l = new WriteLimiter(null, opts);
    try {
      l.apply(parseRootLimitsConfig(text));
    } catch (err) {
      throw wrapError(err, 'parse limit configuration');
    }
    return l;
  }

  /** The configuration in force. */
  get config(): RootLimitsConfig {
    return this.current.config;
  }

  /** Only a file can be reloaded. */
  canReload(): boolean {
    return this.source !== null && this.source.path() !== '';
  }

  /** The gate in force; call done() on the same gate after a start() that resolved. */
  writeGate(): WriteGate {
    return this.current.gate;
  }

  /** The request limits in force; take it once per request. */
  requestLimiter(): RequestLimiter {
    return this.current.requests;
  }

  /** Whether the tenant may write at all (false: answer 429, counted in the metrics). */
  isUnderHeadSeriesLimit(tenant: string): boolean {
    return this.current.headSeries?.isUnderLimit(tenant) ?? true;
  }

  /** Throws WriteLimitError(429, "tenant is above active series limit"). */
  checkHeadSeries(tenant: string): void {
    this.current.headSeries?.checkHeadSeries(tenant);
  }

  /** Polls the file every reload interval (nothing to do for inline content). */
  async start(): Promise<void> {
    if (!this.canReload() || this.timer !== null) return;
    const tick = (): void => {
      this.polling = this.reload()
        .catch((err: unknown) => this.logger.error({ err: (err as Error).message }, 'reload limit config'))
        .finally(() => {
        if (this.timer !== null) this.timer = setTimeout(tick, this.reloadIntervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, this.reloadIntervalMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
  }

  /**
   * One poll (Thanos's PathContentReloader tick): re-reads the file and, if its bytes
   * changed, parses and applies it. A file that does not parse keeps the configuration
   * in force and counts in thanos_receive_limits_config_reload_err_total; it is not
   * tried again until it changes. A missing or unreadable file is only logged.
   */
  async reload(): Promise<ReloadResult> {
    if (!this.canReload()) return 'unchanged';
    const path = this.source!.path();
    let raw: Buffer;
    try {
      raw = await readFile(path);
    } catch (err) {
      this.logger.error({ path, err: (err as Error).message }, 'error opening file');
      return 'unchanged';
    }
    const checksum = sha256(raw);
    if (checksum === this.checksum) return 'unchanged';
    this.checksum = checksum;
    this.logger.info('reloading limit config');
    this.reloads.inc();
    try {
      // Thanos hashes the raw file and parses it with the environment substituted.
      this.apply(await this.read());
      return 'reloaded';
    } catch (err) {
      this.reloadErrors.inc();
      this.logger.error({ err: (err as Error).message }, `error reloading tenant limits config from ${path}`);
      return 'failed';
    }
  }

  private async read(): Promise<RootLimitsConfig> {
    let text: string;
    try {
      text = await this.source!.content();
    } catch (err) {
      throw wrapError(err, 'get content of limit configuration');
    }
    try {
      return parseRootLimitsConfig(text);
    } catch (err) {
      throw wrapError(err, 'parse limit configuration');
    }
  }

  /** Builds everything for a parsed configuration, then swaps it in at once. */
  private apply(config: RootLimitsConfig): void {
    const write = config.write;
    const capacity = write.global.maxConcurrency > 0 ? write.global.maxConcurrency : 0;
    let gate = NOOP_GATE;
    if (capacity > 0) {
      // Same capacity: keep the gate, so a reload does not let the waiting line through.
      if (this.current?.gateCapacity === capacity) gate = this.current.gate;
      else gate = instrumentedGate(capacity, this.gateMetricsFor());
    }
    if (this.gateMetrics) this.gateMetrics.max.set(capacity);

    let headSeries: HeadSeriesLimiter | null = null;
    if (HeadSeriesLimiter.isActivated(write)) {
      headSeries = new HeadSeriesLimiter(write, this.opts.headSeries, this.headSeriesMetricsFor(), this.logger);
    } else {
      this.headSeriesMetrics?.configuredTenantLimit.reset();
    }

    this.current = { config, gate, gateCapacity: capacity, requests: new RequestLimiter(write, this.requestMetrics), headSeries };
  }

  // Registered on first use, as Thanos registers them only once a gate or a head series
  // limit is configured.
  private gateMetricsFor(): GateMetrics {
    if (this.gateMetrics) return this.gateMetrics;
    const registers = [this.opts.registry];
    const p = 'thanos_receive_write_request_concurrent_gate_write_requests';
    this.gateMetrics = {
      max: new Gauge({ name: `${p}_max`, help: 'Maximum number of concurrent write_requests.', registers }),
      inFlight: new Gauge({ name: `${p}_in_flight`, help: 'Number of write_requests that are currently in flight.', registers }),
      total: new Counter({ name: `${p}_total`, help: 'Total number of write_requests.', registers }),
      duration: new Histogram({
        name: `${p}_duration_seconds`,
        help: 'How many seconds it took for write_requests to wait at the gate.',
        buckets: [0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120, 240, 360, 720],
        registers,
      }),
    };
    return this.gateMetrics;
  }

  private headSeriesMetricsFor(): HeadSeriesMetrics {
    if (this.headSeriesMetrics) return this.headSeriesMetrics;
    const registers = [this.opts.registry];
    this.headSeriesMetrics = {
      configuredTenantLimit: new Gauge({ name: 'thanos_receive_head_series_limit', help: 'The configured limit for active (head) series of tenants.', labelNames: ['tenant'], registers }),
      limitedRequests: new Counter({ name: 'thanos_receive_head_series_limited_requests_total', help: 'The total number of remote write requests that have been dropped due to active series limiting.', labelNames: ['tenant'], registers }),
    };
    return this.headSeriesMetrics;
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
