// Endpoints by DNS, as Thanos resolves them (pkg/discovery/dns): an address may carry a
// lookup type before a `+`,
//
//   dns+HOST:PORT               A/AAAA of HOST, each address an endpoint on PORT
//   dnsdualstack+HOST:PORT      the same, AAAA and A asked for separately
//   dnssrv+_grpc._tcp.NAME      SRV of NAME, then A/AAAA of each target, with its port
//   dnssrvnoa+_grpc._tcp.NAME   SRV of NAME, each target host name used as it is
//   HOST:PORT                   itself
//
// The DNSProvider keeps the last answer per address. A lookup that fails keeps the last
// good answer (and, in that pass, the answers of every other address too); a name that
// does not exist (NXDOMAIN, no records) is an empty answer, so its endpoints go away.

import { promises as dnsp } from 'node:dns';
import { isIP } from 'node:net';
import { nopLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** The lookup types of a `<qtype>+<name>` address (Thanos dns.QType). */
export const QType = {
  /** A/AAAA lookup. */
  A: 'dns',
  /** SRV lookup, then A/AAAA of each target. */
  SRV: 'dnssrv',
  /** SRV lookup only: targets are used as host names. */
  SRV_NO_A: 'dnssrvnoa',
  /** AAAA and A lookups, all addresses. */
  A_DUAL_STACK: 'dnsdualstack',
} as const;
export type QType = (typeof QType)[keyof typeof QType];

const QTYPES = new Set<string>(Object.values(QType));

/**
 * Thanos's --store.sd-dns-resolver values. Both use Node's resolver here: A/AAAA through
 * getaddrinfo (so /etc/hosts and `localhost` work), SRV through c-ares with the servers
 * of /etc/resolv.conf.
 */
export const ResolverType = { GOLANG: 'golang', MIEKGDNS: 'miekgdns' } as const;
export type ResolverType = (typeof ResolverType)[keyof typeof ResolverType];

/**
 * Splits `<qtype>+<name>` into its parts; qtype is '' when there is none (Thanos
 * GetQTypeName: everything before the first `+`, whatever it is).
 */
export function getQTypeName(addr: string): { qtype: string; name: string } {
  const i = addr.indexOf('+');
  if (i < 0) return { qtype: '', name: addr };
  return { qtype: addr.slice(0, i), name: addr.slice(i + 1) };
}

/** Whether the address is found by DNS (Thanos IsDynamicNode). */
export function isDynamicNode(addr: string): boolean {
  return getQTypeName(addr).qtype !== '';
}

/** Checks the lookup type and, for A lookups, the port; throws Error saying what is wrong. */
export function validateDNSAddress(addr: string): void {
  const { qtype, name } = getQTypeName(addr);
  if (qtype === '') return;
  if (!QTYPES.has(qtype)) throw new Error(`invalid lookup scheme "${qtype}" in ${addr}`);
  if ((qtype === QType.A || qtype === QType.A_DUAL_STACK) && splitHostPort(stripScheme(name).name)?.port === undefined) {
    throw new Error(`missing port in address given for ${qtype} lookup: ${name}`);
  }
}

/** HOST:PORT split as Go's net.SplitHostPort does ([::1]:80 too); undefined when it has no port. */
export function splitHostPort(hostport: string): { host: string; port: string } | undefined {
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0 || hostport[end + 1] !== ':') return undefined;
    return { host: hostport.slice(1, end), port: hostport.slice(end + 2) };
  }
  const i = hostport.lastIndexOf(':');
  if (i < 0 || hostport.indexOf(':') !== i) return undefined;
  return { host: hostport.slice(0, i), port: hostport.slice(i + 1) };
}

/** HOST:PORT with IPv6 hosts in brackets (Go's net.JoinHostPort). */
export function joinHostPort(host: string, port: string | number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function stripScheme(name: string): { scheme: string; name: string } {
  const i = name.indexOf('//');
  return i < 0 ? { scheme: '', name } : { scheme: name.slice(0, i), name: name.slice(i + 2) };
}

/** One SRV answer. */
export interface SRVRecord {
  target: string;
  port: number;
}

/** The lookups DNS discovery needs (Thanos ipLookupResolver); fakes implement it in tests. */
export interface IPLookupResolver {
  /** Addresses of a host; family 4 or 6 for one of them only. */
  lookupIP(host: string, family?: 4 | 6): Promise<string[]>;
  /** SRV records of a full name such as _grpc._tcp.store.example. */
  lookupSRV(name: string): Promise<SRVRecord[]>;
  /** Whether err says the name or its records do not exist (not a failure of DNS). */
  isNotFound(err: unknown): boolean;
}

export interface NodeDNSResolverOptions {
  /**
   * DNS servers (IP or IP:PORT) to ask instead of the system's; then A/AAAA go to them
   * too, not through getaddrinfo. Ours, for tests (hidden --store.sd-dns-server).
   */
  servers?: readonly string[];
  /** Per-query timeout (ms); default 5s. */
  timeoutMs?: number;
}

/**
 * IPLookupResolver over node:dns. A/AAAA go through getaddrinfo (dns.lookup), as Go's
 * resolver reads /etc/hosts; SRV through c-ares (dns.Resolver). With explicit servers,
 * everything goes to those servers.
 */
export class NodeDNSResolver implements IPLookupResolver {
  private readonly resolver: dnsp.Resolver;
  private readonly custom: boolean;

  constructor(opts: NodeDNSResolverOptions = {}) {
    this.resolver = new dnsp.Resolver({ timeout: opts.timeoutMs ?? 5_000, tries: 2 });
    this.custom = (opts.servers?.length ?? 0) > 0;
    if (this.custom) this.resolver.setServers([...opts.servers!]);
  }

  async lookupIP(host: string, family?: 4 | 6): Promise<string[]> {
    if (isIP(host) !== 0) return family === undefined || isIP(host) === family ? [host] : [];
    if (!this.custom) {
      const res = await dnsp.lookup(host, { all: true, family: family ?? 0, verbatim: true });
      return res.map((r) => r.address);
    }
    const ask = async (f: 4 | 6): Promise<string[]> => {
      try {
        return await (f === 4 ? this.resolver.resolve4(host) : this.resolver.resolve6(host));
      } catch (err) {
        if (this.isNotFound(err)) return [];
        throw err;
      }
    };
    const out = family === undefined ? [...(await ask(4)), ...(await ask(6))] : await ask(family);
    if (out.length === 0) throw Object.assign(new Error(`lookup ${host}: no such host`), { code: 'ENOTFOUND' });
    return out;
  }

  async lookupSRV(name: string): Promise<SRVRecord[]> {
    const recs = await this.resolver.resolveSrv(name);
    return recs.map((r) => ({ target: r.name, port: r.port }));
  }

  isNotFound(err: unknown): boolean {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    return code === 'ENOTFOUND' || code === 'ENODATA' || code === dnsp.NOTFOUND || code === dnsp.NODATA;
  }
}

/** Resolves one `<qtype>+<name>` address's name into endpoint addresses (Thanos dnsSD). */
export class DNSResolver {
  private readonly logger: Logger;

  constructor(
    private readonly resolver: IPLookupResolver,
    logger?: Logger,
  ) {
    this.logger = logger ?? nopLogger();
  }

  /**
   * The addresses a name stands for. A name that does not exist gives [] (logged);
   * other lookup failures throw.
   */
  async resolve(nameWithScheme: string, qtype: string): Promise<string[]> {
    const { scheme, name } = stripScheme(nameWithScheme);
    const withScheme = (hostport: string): string => (scheme === '' ? hostport : `${scheme}//${hostport}`);
    const hp = splitHostPort(name);
    const host = hp?.host ?? name;
    const port = hp?.port ?? '';
    const res: string[] = [];
    switch (qtype) {
      case QType.A: {
        if (port === '') throw new Error(`missing port in address given for dns lookup: ${name}`);
        for (const ip of await this.lookupIPOrNone(host, { host })) res.push(withScheme(joinHostPort(ip, port)));
        break;
      }
      case QType.SRV:
      case QType.SRV_NO_A: {
        let recs: SRVRecord[] = [];
        try {
          recs = await this.resolver.lookupSRV(host);
        } catch (err) {
          if (!this.resolver.isNotFound(err)) throw wrap(`lookup SRV records "${host}"`, err);
          this.logger.error({ host, err: err as Error }, 'failed to lookup SRV records');
        }
        for (const rec of recs) {
          // An explicit port wins over the SRV record's.
          const p = port === '' ? String(rec.port) : port;
          if (qtype === QType.SRV_NO_A) {
            // Rooted names lose their final dot (as Prometheus).
            res.push(withScheme(joinHostPort(rec.target.replace(/\.+$/, ''), p)));
            continue;
          }
          for (const ip of await this.lookupIPOrNone(rec.target, { srv: host, a: rec.target })) res.push(withScheme(joinHostPort(ip, p)));
        }
        break;
      }
      case QType.A_DUAL_STACK: {
        if (port === '') throw new Error(`missing port in address given for dnsdualstack lookup: ${name}`);
        const errs: unknown[] = [];
        const ips: string[] = [];
        for (const family of [6, 4] as const) {
          try {
            ips.push(...(await this.resolver.lookupIP(host, family)));
          } catch (err) {
            if (!this.resolver.isNotFound(err)) errs.push(err);
          }
        }
        if (ips.length === 0 && errs.length > 0) throw wrap(`lookup IP addresses (dual-stack) "${host}"`, errs[0]);
        for (const ip of ips) res.push(withScheme(joinHostPort(ip, port)));
        break;
      }
      default:
        throw new Error(`invalid lookup scheme "${qtype}"`);
    }
    if (res.length === 0) this.logger.warn({ host }, 'IP address lookup yielded no results. No host found or no addresses found');
    return res;
  }

  private async lookupIPOrNone(host: string, ctx: Record<string, string>): Promise<string[]> {
    try {
      return await this.resolver.lookupIP(host);
    } catch (err) {
      if (!this.resolver.isNotFound(err)) throw wrap(`lookup IP addresses "${host}"`, err);
      this.logger.error({ ...ctx, err: err as Error }, 'failed to lookup IP addresses');
      return [];
    }
  }
}

function wrap(context: string, err: unknown): Error {
  return new Error(`${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

export interface DNSProviderOptions {
  resolver: IPLookupResolver;
  logger?: Logger;
  /** Where the dns_* metrics go, named with metricPrefix. */
  registry?: Registry;
  /** e.g. thanos_query_endpoints_ (Thanos: thanos_<component>_endpoints_). */
  metricPrefix?: string;
}

/**
 * The last answers of DNS lookups, by address (Thanos dns.Provider). resolve() looks
 * every address up; addresses() lists what they stand for.
 */
export class DNSProvider {
  private readonly resolver: DNSResolver;
  private readonly logger: Logger;
  private resolved = new Map<string, string[]>();
  private readonly lookups: Counter | null = null;
  private readonly failures: Counter | null = null;

  constructor(opts: DNSProviderOptions) {
    this.logger = opts.logger ?? nopLogger();
    this.resolver = new DNSResolver(opts.resolver, this.logger);
    const reg = opts.registry;
    if (reg) {
      const prefix = opts.metricPrefix ?? '';
      this.lookups = new Counter({ name: `${prefix}dns_lookups_total`, help: 'The number of DNS lookups resolutions attempts', registers: [reg] });
      this.failures = new Counter({ name: `${prefix}dns_failures_total`, help: 'The number of DNS lookup failures', registers: [reg] });
      const provider = this;
      new Gauge({
        name: `${prefix}dns_provider_results`,
        help: 'The number of resolved endpoints for each configured address',
        labelNames: ['addr'],
        registers: [reg],
        collect() {
          this.reset();
          for (const [addr, addrs] of provider.resolved) this.set({ addr }, addrs.length);
        },
      });
    }
  }

  /**
   * Looks every address up (plain HOST:PORT stands for itself). With flushOld, answers
   * of addresses not asked for are dropped, but only when every lookup succeeded; a
   * failed lookup keeps its last answer. Rejects with the failures after updating.
   */
  async resolve(addrs: readonly string[], flushOld: boolean): Promise<void> {
    const next = new Map<string, string[]>();
    const errs: Error[] = [];
    await Promise.all(
      addrs.map(async (addr) => {
        const { qtype, name } = getQTypeName(addr);
        if (qtype === '') {
          next.set(addr, [name]);
          return;
        }
        this.lookups?.inc();
        try {
          next.set(addr, await this.resolver.resolve(name, qtype));
        } catch (err) {
          // Keep the old answer.
          this.failures?.inc();
          errs.push(err as Error);
        }
      }),
    );
    if (flushOld && errs.length === 0) this.resolved = new Map();
    // In the order asked, so addresses() is stable.
    for (const a of addrs) {
      const r = next.get(a);
      if (r) this.resolved.set(a, r);
    }
    if (errs.length > 0) throw new Error(errs.map((e) => e.message).join('; '));
  }

  /** Every address the last answers name, deduplicated. */
  addresses(): string[] {
    return [...new Set([...this.resolved.values()].flat())];
  }

  /** The last answer for one address. */
  addressesForHost(addr: string): string[] {
    return [...(this.resolved.get(addr) ?? [])];
  }
}

export interface DNSDiscoveryOptions {
  provider: DNSProvider;
  /** The addresses to look up now (called each pass); plain ones are skipped. */
  addresses: () => readonly string[];
  /** --store.sd-dns-interval (ms, Thanos default 30s). */
  intervalMs?: number;
  /** Called after a pass that changed the resolved addresses. */
  onChange?: () => void;
  logger?: Logger;
}

/**
 * The DNS half of endpoint discovery (Thanos's dnsEndpointProvider loop in
 * cmd/thanos/endpointset.go): looks the dynamic addresses up once at start, then every
 * interval; the endpoint set reads the answers with addresses().
 */
export class DNSDiscovery {
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private busy = false;

  constructor(private readonly opts: DNSDiscoveryOptions) {
    this.logger = opts.logger ?? nopLogger();
  }

  /** The resolved endpoint addresses. */
  addresses(): string[] {
    return this.opts.provider.addresses();
  }

  /** Resolves once, then every interval. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.resolve();
    const every = this.opts.intervalMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        // Slow DNS: skip the tick rather than queue passes behind each other.
        if (!this.busy) void this.resolve();
      }, every);
      this.timer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass over the dynamic addresses (serialised with other passes). */
  resolve(): Promise<void> {
    this.running = this.running.then(() => this.doResolve());
    return this.running;
  }

  private async doResolve(): Promise<void> {
    if (this.stopped) return;
    this.busy = true;
    try {
      await this.pass();
    } finally {
      this.busy = false;
    }
  }

  private async pass(): Promise<void> {
    const addrs = [...new Set(this.opts.addresses().filter(isDynamicNode))];
    const before = this.addresses();
    if (addrs.length > 0 || before.length > 0) {
      try {
        await this.opts.provider.resolve(addrs, true);
      } catch (err) {
        this.logger.error({ err: err as Error }, 'failed to resolve addresses for endpoints');
      }
    }
    const after = this.addresses();
    if (after.length !== before.length || after.some((a, i) => a !== before[i])) {
      this.logger.info({ addresses: after.length }, 'DNS discovery: endpoints changed');
      if (!this.stopped) this.opts.onChange?.();
    }
  }
}
