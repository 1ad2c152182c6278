// The set of endpoints a query component talks to (Thanos pkg/query/endpointset.go):
// static addresses (--endpoint, --store, --endpoint-strict), endpoint groups, file SD,
// and what dns+/dnssrv+ addresses resolve to (discovery/dns.ts), each dialled
// once and asked for Info every interval. Info tells what an endpoint is (sidecar,
// store, …), which external label sets and time range its data has, and whether it can
// drop replica labels itself. The proxy reads the endpoints it may query from here.
//
// Unreachable or unknown endpoints never fail anything here: they are logged and shown
// unhealthy, with their last error, in the /api/v1/stores view.

import { DNSDiscovery, DNSProvider, FileSD, isDynamicNode, nopLogger, NodeDNSResolver } from '@thanos-ts/runtime';
import type { IPLookupResolver, Logger } from '@thanos-ts/runtime';
import { ComponentType, StoreClient } from '@thanos-ts/storeapi';
import type { InfoResponse, StoreClientOptions, thanos } from '@thanos-ts/storeapi';
import { labelsToRecord, labelsToString } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { groupEndpointName, grpcTarget, storeClientOptionsFor } from './discovery/endpoint-group.js';
import { MAX_TIME, MIN_TIME } from '@thanos-ts/storeapi';
import type { StoreEndpoint } from '@thanos-ts/storeapi';

/** Thanos's component name for endpoints whose type is not known (yet). */
export const UNKNOWN_STORE_API = 'unknown-store-api';

const KNOWN_COMPONENTS = new Set<string>(Object.values(ComponentType));

export interface EndpointSpec {
  /** HOST:PORT. */
  address: string;
  /** Always queried, even while its Info calls fail (--endpoint-strict). */
  strict: boolean;
}

/** The health of one endpoint as Thanos's EndpointStatus. */
export interface EndpointStatus {
  /** The address. */
  name: string;
  /** When Info last succeeded (unix ms), null if never. */
  lastCheck: number | null;
  /** The last Info call's error, null when it succeeded. */
  lastError: string | null;
  /** External label sets from the last successful Info. */
  labelSets: Labels[];
  /** Component type from the last successful Info, "unknown-store-api" before one. */
  componentType: string;
  minTime: number;
  maxTime: number;
  /** Whether queries currently go to it. */
  queryable: boolean;
}

/** One endpoint in the /api/v1/stores JSON (Thanos query.EndpointStatus). */
export interface EndpointStatusJSON {
  name: string;
  lastCheck: string;
  lastError: string | null;
  labelSets: Record<string, string>[];
  minTime: number;
  maxTime: number;
}

export interface EndpointSetOptions {
  /** --endpoint / --store addresses. */
  endpoints?: readonly string[];
  /** --endpoint-strict addresses: queried even when their Info calls fail. */
  strictEndpoints?: readonly string[];
  /** --endpoint.sd-files / --store.sd-files patterns. */
  sdFiles?: readonly string[];
  /** --store.sd-interval: file SD re-read period (ms, default 5m). */
  sdIntervalMs?: number;
  /** --endpoint-group / --endpoint-group-strict: each one endpoint named thanos:///<address>. */
  endpointGroups?: readonly string[];
  strictEndpointGroups?: readonly string[];
  /** --store.sd-dns-interval: how often dns+/dnssrv+ addresses are looked up (ms, default 30s). */
  dnsIntervalMs?: number;
  /** The DNS lookups behind dns+/dnssrv+ addresses (default: node:dns). */
  dnsResolver?: IPLookupResolver;
  /** How often every endpoint is asked for Info (ms); Thanos: every --endpoint.info-timeout, 5s. */
  infoIntervalMs?: number;
  /** Timeout of one Info call (ms, default 5s). */
  infoTimeoutMs?: number;
  /**
   * --store.unhealthy-timeout (ms, default 5m). An endpoint that answered Info before
   * and fails now is still queried, with its last known labels and time range, for
   * this long (see queryUnhealthy).
   */
  unhealthyTimeoutMs?: number;
  /**
   * Keep asking endpoints whose Info fails but that answered before, until
   * unhealthyTimeout, in queries allowing partial responses: those needing them then
   * carry a warning naming them instead of silently missing their data. Queries with
   * partial response off skip them (one dead replica of an HA pair must not fail every
   * query), which is what Thanos does for all queries: false restores that. Default true.
   */
  queryUnhealthy?: boolean;
  /** Removed endpoints' connections are closed after this delay (ms) so running calls finish. */
  closeDelayMs?: number;
  clientOptions?: StoreClientOptions;
  logger?: Logger;
  /** Where thanos_store_nodes_grpc_connections is registered. */
  registry?: Registry;
  /** Clock (unix ms), for tests. */
  now?: () => number;
}

/** An endpoint: its gRPC client and what its Info calls said. */
export class EndpointRef implements StoreEndpoint {
  readonly client: StoreClient;
  readonly created: number;
  strict: boolean;
  /** The last successful Info answer; null before one. */
  info: InfoResponse | null = null;
  lastSuccess: number | null = null;
  lastError: string | null = null;
  /** Whether Info has been attempted at all. */
  checked = false;
  private sets: Labels[] = [];

  constructor(
    readonly address: string,
    strict: boolean,
    now: number,
    clientOptions?: StoreClientOptions,
  ) {
    this.client = new StoreClient(grpcTarget(address), storeClientOptionsFor(address, clientOptions));
    this.created = now;
    this.strict = strict;
  }

  succeeded(now: number, info: InfoResponse): void {
    this.info = info;
    this.lastSuccess = now;
    this.lastError = null;
    this.checked = true;
    // Empty label sets announce nothing; drop them (Thanos endpointRef.labelSets).
    this.sets = (info.labelSets ?? []).map((s) => s.labels ?? []).filter((ls) => ls.length > 0);
  }

  failed(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.checked = true;
  }

  /** Whether the last Info call succeeded. */
  get healthy(): boolean {
    return this.checked && this.lastError === null;
  }

  /** Its last Info call failed and it is not strict. */
  down(): boolean {
    return !this.strict && this.checked && this.lastError !== null;
  }

  componentType(): string {
    if (this.info === null) return UNKNOWN_STORE_API;
    return KNOWN_COMPONENTS.has(this.info.ComponentType) ? this.info.ComponentType : UNKNOWN_STORE_API;
  }

  /**
   * Whether it serves StoreAPI. A strict endpoint never reached is assumed to, over all
   * time (Thanos maxRangeStoreMetadata).
   */
  hasStoreAPI(): boolean {
    return this.info === null ? this.strict : this.info.store !== null && this.info.store !== undefined;
  }

  labelSets(): readonly Labels[] {
    return this.sets;
  }

  timeRange(): { minTime: number; maxTime: number } {
    const s = this.info?.store;
    if (!s) return { minTime: MIN_TIME, maxTime: MAX_TIME };
    return { minTime: s.minTime, maxTime: s.maxTime };
  }

  supportsWithoutReplicaLabels(): boolean {
    return this.info?.store?.supportsWithoutReplicaLabels ?? false;
  }

  tsdbInfos(): thanos.info.TSDBInfo.$Properties[] {
    return (this.info?.store?.tsdbInfos ?? []) as thanos.info.TSDBInfo.$Properties[];
  }

  toString(): string {
    const { minTime, maxTime } = this.timeRange();
    return `Addr: ${this.address} LabelSets: ${this.sets.map(labelsToString).join(',')} MinTime: ${minTime} MaxTime: ${maxTime}`;
  }
}

/**
 * The endpoints, kept fresh by periodic Info calls. start() begins the loop;
 * waitForFirstUpdate() resolves after the first pass over all endpoints (the query
 * component is ready from then on).
 */
export class EndpointSet {
  private readonly logger: Logger;
  private readonly refs = new Map<string, EndpointRef>();
  private readonly fileSD: FileSD | null;
  private readonly dns: DNSDiscovery;
  private readonly now: () => number;
  private readonly closing = new Set<NodeJS.Timeout>();
  private readonly closingRefs = new Set<EndpointRef>();
  private updating: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private firstDone = false;
  private resolveFirst!: () => void;
  private readonly firstUpdate: Promise<void>;

  constructor(private readonly opts: EndpointSetOptions = {}) {
    this.logger = opts.logger ?? nopLogger();
    this.now = opts.now ?? Date.now;
    this.firstUpdate = new Promise((r) => (this.resolveFirst = r));
    this.fileSD =
      opts.sdFiles && opts.sdFiles.length > 0
        ? new FileSD({
            files: opts.sdFiles,
            refreshIntervalMs: opts.sdIntervalMs,
            logger: this.logger,
            onChange: () => {
              if (this.running) void this.update();
            },
          })
        : null;
    this.dns = new DNSDiscovery({
      provider: new DNSProvider({
        resolver: opts.dnsResolver ?? new NodeDNSResolver(),
        logger: this.logger,
        registry: opts.registry,
        metricPrefix: 'thanos_query_endpoints_',
      }),
      addresses: () => [...(opts.endpoints ?? []), ...(this.fileSD?.targets() ?? [])],
      intervalMs: opts.dnsIntervalMs,
      logger: this.logger,
      onChange: () => {
        if (this.running) void this.update();
      },
    });
    if (opts.registry) this.registerMetrics(opts.registry);
  }

  /** The endpoints to use now: static ones, then discovered ones; strict wins on duplicates. */
  specs(): EndpointSpec[] {
    const out = new Map<string, EndpointSpec>();
    const add = (address: string, strict: boolean): void => {
      const prev = out.get(address);
      if (prev) {
        this.logger.debug({ addr: address }, 'duplicate endpoint address is provided');
        prev.strict ||= strict;
        return;
      }
      out.set(address, { address, strict });
    };
    for (const a of this.opts.strictEndpoints ?? []) add(a, true);
    for (const a of this.opts.strictEndpointGroups ?? []) add(groupEndpointName(a), true);
    for (const a of this.opts.endpointGroups ?? []) add(groupEndpointName(a), false);
    // dns+/dnssrv+ addresses stand for what they last resolved to.
    for (const a of this.opts.endpoints ?? []) if (!isDynamicNode(a)) add(a, false);
    for (const a of this.fileSD?.targets() ?? []) if (!isDynamicNode(a)) add(a, false);
    for (const a of this.dns.addresses()) add(a, false);
    return [...out.values()];
  }

  /** Reads SD files, then checks every endpoint now and every interval. */
  async start(): Promise<void> {
    this.running = true;
    if (this.fileSD) await this.fileSD.start();
    await this.dns.start();
    const loop = (): void => {
      void this.update().finally(() => {
        if (!this.running) return;
        this.timer = setTimeout(loop, this.opts.infoIntervalMs ?? 5_000);
        this.timer.unref();
      });
    };
    loop();
  }

  /** Resolves after the first pass over the endpoints (or after timeoutMs: false). */
  async waitForFirstUpdate(timeoutMs?: number): Promise<boolean> {
    if (this.firstDone) return true;
    if (timeoutMs === undefined) {
      await this.firstUpdate;
      return true;
    }
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (t = setTimeout(() => r(false), timeoutMs)));
    try {
      return await Promise.race([this.firstUpdate.then(() => true), timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  get firstUpdateDone(): boolean {
    return this.firstDone;
  }

  /** Stops the loop and closes every connection. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.fileSD?.stop();
    this.dns.stop();
    await this.updating.catch(() => {});
    for (const t of this.closing) clearTimeout(t);
    this.closing.clear();
    for (const r of this.closingRefs) r.client.close();
    this.closingRefs.clear();
    for (const r of this.refs.values()) r.client.close();
    this.refs.clear();
  }

  /** One pass: Info on every endpoint concurrently, endpoints no longer configured removed. */
  update(): Promise<void> {
    this.updating = this.updating.then(() => this.doUpdate()).catch((err: unknown) => {
      this.logger.error({ err }, 'endpoint set update failed');
    });
    return this.updating;
  }

  private async doUpdate(): Promise<void> {
    const specs = this.specs();
    const wanted = new Set(specs.map((s) => s.address));
    await Promise.all(
      specs.map(async (spec) => {
        let ref = this.refs.get(spec.address);
        if (!ref) {
          try {
            ref = new EndpointRef(spec.address, spec.strict, this.now(), this.opts.clientOptions);
          } catch (err) {
            // A malformed address: grpc-js refuses to create the channel.
            this.logger.warn({ address: spec.address, err: err as Error }, 'new endpoint creation failed');
            return;
          }
          this.refs.set(spec.address, ref);
        }
        ref.strict = spec.strict;
        await this.check(ref);
      }),
    );
    for (const [addr, ref] of this.refs) {
      if (wanted.has(addr)) continue;
      this.logger.info({ address: addr, extLset: ref.labelSets().map(labelsToString).join(',') }, "removing endpoint because it's unhealthy or does not exist");
      this.refs.delete(addr);
      this.closeLater(ref);
    }
    this.warnDuplicates();
    if (!this.firstDone) {
      this.firstDone = true;
      this.resolveFirst();
    }
  }

  private async check(ref: EndpointRef): Promise<void> {
    const wasHealthy = ref.healthy;
    try {
      const info = await ref.client.info({ timeoutMs: this.opts.infoTimeoutMs ?? 5_000 });
      ref.succeeded(this.now(), info);
      if (!wasHealthy) {
        this.logger.info(
          { address: ref.address, extLset: ref.labelSets().map(labelsToString).join(','), component: ref.componentType(), apis: apisPresent(info) },
          `adding new ${ref.componentType()} with [${apisPresent(info).join(' ')}]`,
        );
      }
    } catch (err) {
      ref.failed(err);
      if (wasHealthy || ref.lastSuccess === null) {
        this.logger.warn({ address: ref.address, err: new Error(`getting metadata: ${ref.lastError}`) }, 'update of endpoint failed');
      } else {
        this.logger.debug({ address: ref.address, err: new Error(ref.lastError ?? '') }, 'endpoint still unhealthy');
      }
    }
  }

  private closeLater(ref: EndpointRef): void {
    const delay = this.opts.closeDelayMs ?? 120_000;
    this.closingRefs.add(ref);
    const t = setTimeout(() => {
      this.closing.delete(t);
      this.closingRefs.delete(ref);
      ref.client.close();
    }, delay);
    t.unref();
    this.closing.add(t);
  }

  /** Sidecars and rulers must have unique external labels; two with the same ones malform the bucket. */
  private warnDuplicates(): void {
    const seen = new Map<string, string>();
    for (const ref of this.queryableRefs()) {
      const type = ref.componentType();
      if (type !== ComponentType.SIDECAR && type !== ComponentType.RULE) continue;
      const ext = ref.labelSets().map(labelsToString).sort().join(',');
      const other = seen.get(ext);
      if (other !== undefined) {
        this.logger.warn(
          { address: ref.address, other, extLset: ext },
          'found duplicate storeEndpoints producer (sidecar or ruler). This is not advised as it will malform data in in the same bucket',
        );
      } else seen.set(ext, ref.address);
    }
  }

  /**
   * Whether queries go to the endpoint: strict ones always; others while healthy and,
   * with queryUnhealthy, while their last successful Info is recent enough.
   */
  isQueryable(ref: EndpointRef): boolean {
    if (ref.strict) return true;
    if (ref.info === null) return false;
    if (ref.healthy) return true;
    if (this.opts.queryUnhealthy === false || ref.lastSuccess === null) return false;
    return this.now() - ref.lastSuccess < (this.opts.unhealthyTimeoutMs ?? 300_000);
  }

  private queryableRefs(): EndpointRef[] {
    return [...this.refs.values()].filter((r) => this.isQueryable(r)).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** The endpoints serving StoreAPI that queries go to now, by address. */
  storeEndpoints(): EndpointRef[] {
    return this.queryableRefs().filter((r) => r.hasStoreAPI());
  }

  /** Every configured endpoint, by address. */
  endpoints(): EndpointRef[] {
    return [...this.refs.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** The state of every endpoint, sorted by address. */
  statuses(): EndpointStatus[] {
    return this.endpoints()
      .filter((r) => r.checked)
      .map((r) => {
        const ok = r.info !== null;
        const { minTime, maxTime } = ok ? r.timeRange() : { minTime: 0, maxTime: 0 };
        return {
          name: r.address,
          lastCheck: r.lastSuccess,
          lastError: r.lastError,
          labelSets: r.labelSets().slice(),
          componentType: r.componentType(),
          minTime,
          maxTime,
          queryable: this.isQueryable(r),
        };
      });
  }

  /**
   * The data of Thanos's /api/v1/stores: endpoint statuses grouped by component type,
   * e.g. {"sidecar": [{"name": …, "lastCheck": …, "lastError": null, "labelSets": [{…}],
   * "minTime": …, "maxTime": …}]}. Endpoints never reached are listed under
   * "unknown-store-api" (Thanos leaves them out). Render with marshalStoresView to get
   * Go's int64 spelling of unbounded times.
   */
  storesView(): Record<string, EndpointStatusJSON[]> {
    const groups = new Map<string, EndpointStatusJSON[]>();
    for (const s of this.statuses()) {
      let g = groups.get(s.componentType);
      if (!g) groups.set(s.componentType, (g = []));
      g.push({
        name: s.name,
        lastCheck: formatGoTime(s.lastCheck),
        lastError: s.lastError,
        labelSets: s.labelSets.map(labelsToRecord),
        minTime: s.minTime,
        maxTime: s.maxTime,
      });
    }
    const out: Record<string, EndpointStatusJSON[]> = {};
    for (const k of [...groups.keys()].sort()) out[k] = groups.get(k)!;
    return out;
  }

  private registerMetrics(registry: Registry): void {
    const set = this;
    new Gauge({
      name: 'thanos_store_nodes_grpc_connections',
      help: 'Number of gRPC connection to Store APIs. Opened connection means healthy store APIs available for Querier.',
      labelNames: ['external_labels', 'store_type'],
      registers: [registry],
      collect() {
        this.reset();
        const counts = new Map<string, { ext: string; type: string; n: number }>();
        for (const r of set.queryableRefs()) {
          const ext = r.labelSets().map(labelsToString).sort().join(',') || 'no_external_labels';
          const type = r.componentType();
          const k = ext + '\xff' + type;
          const c = counts.get(k);
          if (c) c.n++;
          else counts.set(k, { ext, type, n: 1 });
        }
        for (const c of counts.values()) this.set({ external_labels: c.ext, store_type: c.type }, c.n);
      },
    });
  }
}

function apisPresent(info: InfoResponse): string[] {
  const out: string[] = [];
  if (info.store) out.push('storeEndpoints');
  if (info.rules) out.push('rulesAPI');
  if (info.exemplars) out.push('exemplarsAPI');
  if (info.targets) out.push('targetsAPI');
  if (info.metricMetadata) out.push('MetricMetadataAPI');
  if (info.query) out.push('QueryAPI');
  return out;
}

/**
 * A time as Go's encoding/json writes a time.Time (RFC 3339 with trailing zeros of the
 * fraction dropped), in UTC; Go's zero time for null.
 */
export function formatGoTime(ms: number | null): string {
  if (ms === null) return '0001-01-01T00:00:00Z';
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.120Z
  return iso.replace(/\.(\d*?)0*Z$/, (_, frac: string) => (frac === '' ? 'Z' : `.${frac}Z`));
}

/**
 * JSON of a stores view (or any value) with the unbounded times ±2^63, which the
 * protobuf codec hands us for Go's math.MinInt64/MaxInt64, spelled as Go prints them.
 */
export function marshalStoresView(v: unknown): string {
  const json = JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'number' && Math.abs(x) >= 2 ** 63) return x > 0 ? '\u0000int64:9223372036854775807' : '\u0000int64:-9223372036854775808';
    return x;
  });
  return json.replace(/"\\u0000int64:(-?\d+)"/g, '$1');
}
