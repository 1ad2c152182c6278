// The HA tracker: one copy per Prometheus HA pair (Mimir's distributor HA tracker, with
// the election held in the hashring instead of an external KV store).
//
// Two Prometheus replicas of a cluster remote-write the same series, told apart by the
// external labels `cluster` and `__replica__`. Per (tenant, cluster) one replica is
// elected; the others' requests are acknowledged and dropped, and the replica label is
// removed from every series so both replicas write the same series. When the elected
// replica has been silent for the failover timeout, the next replica heard takes over.
//
// Who decides: the receiver that owns hash(tenant, {cluster="…"}) in the hashring (replica
// 0 of that one-label series). The others ask it over gRPC (ha-tracker-rpc.ts) and cache
// its answer for a short TTL. When the owner does not answer, the next owner in the ring
// decides; when nobody answers, the receiver decides alone.
//
// Deciders that take over start without state, and a restarted owner has lost its own.
// So every question carries the caller's last known answer as a hint ("a was elected
// and seen 3s ago"); a decider keeps whichever knowledge is more recent. A decider that
// takes over thus keeps the replica already elected instead of electing whichever replica
// asks first, and the election does not flip on every receiver restart. Hint ages are
// relative durations, so no two clocks are ever compared.

import { nopLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { hashLabels, InsufficientNodesError } from './hashring.js';
import type { Hashring } from './hashring.js';

export const DEFAULT_HA_CLUSTER_LABEL = 'cluster';
export const DEFAULT_HA_REPLICA_LABEL = '__replica__';
export const DEFAULT_HA_FAILOVER_TIMEOUT_MS = 30_000;

/** The answer of a decider. */
export interface HADecision {
  /** Whether the asking replica's samples are to be stored. */
  accept: boolean;
  /** The elected replica after this decision (the asking one when accepted). */
  elected: string;
  /** How long ago the decider last heard from the elected replica (0 when accepted). */
  lastSeenAgeMs: number;
}

/** What a caller last knew of a cluster's election. */
export interface ElectionHint {
  elected: string;
  /** How long ago the elected replica was last heard of, as the caller knows it. */
  ageMs: number;
}

/** The question a receiver asks the decider of a (tenant, cluster). */
export interface ElectRequest {
  tenant: string;
  cluster: string;
  replica: string;
  hint?: ElectionHint;
}

// ---------------------------------------------------------------------------------------
// The decider's state.

interface Election {
  elected: string;
  /** Decider clock, ms. */
  lastSeenMs: number;
}

export interface HATrackerOptions {
  /** Silence of the elected replica after which another replica may take over. */
  failoverTimeoutMs?: number;
  /**
   * Elections whose replica has been silent this long are forgotten, within one more
   * failover timeout (default 10 × failover timeout).
   */
  expireAfterMs?: number;
  /** Clock, ms; injectable for tests. */
  now?: () => number;
  registry?: Registry;
}

/**
 * The elections this receiver decides. Pure logic over an injectable clock; memory is
 * bounded by forgetting elections whose replica has been silent for expireAfterMs
 * (forgetting is safe: after the failover timeout any replica may take over anyway).
 */
export class HATracker {
  readonly failoverTimeoutMs: number;
  readonly expireAfterMs: number;
  readonly now: () => number;
  private readonly elections = new Map<string, Map<string, Election>>();
  private nextSweepMs = -Infinity;
  private readonly changes: Counter<'tenant' | 'cluster'>;

  constructor(opts: HATrackerOptions = {}) {
    this.failoverTimeoutMs = opts.failoverTimeoutMs ?? DEFAULT_HA_FAILOVER_TIMEOUT_MS;
    if (!(this.failoverTimeoutMs > 0)) throw new Error(`ha tracker: failover timeout must be positive, got ${this.failoverTimeoutMs}ms`);
    this.expireAfterMs = Math.max(opts.expireAfterMs ?? 10 * this.failoverTimeoutMs, this.failoverTimeoutMs);
    this.now = opts.now ?? Date.now;
    const registers = opts.registry ? [opts.registry] : [];
    this.changes = new Counter({
      name: 'thanos_receive_ha_tracker_elected_replica_changes_total',
      help: 'The number of times the elected replica of an HA cluster changed on this receiver (failovers it decided).',
      labelNames: ['tenant', 'cluster'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'thanos_receive_ha_tracker_elected_replicas',
      help: 'The number of HA clusters whose elected replica this receiver currently holds.',
      labelNames: ['tenant'],
      registers,
      collect() {
        self.sweep(self.now());
        this.reset();
        for (const [tenant, clusters] of self.elections) this.set({ tenant }, clusters.size);
      },
    });
  }

  /**
   * Decides whether `replica` of (tenant, cluster) is to be stored, at time nowMs:
   * nothing elected or the elected replica itself → (re)elect and accept; the elected
   * replica silent for more than the failover timeout → elect `replica` and accept;
   * otherwise reject. A hint more recent than what this tracker knows replaces it first.
   */
  decide(tenant: string, cluster: string, replica: string, nowMs: number = this.now(), hint?: ElectionHint): HADecision {
    if (nowMs >= this.nextSweepMs) this.sweep(nowMs);
    let clusters = this.elections.get(tenant);
    let e = clusters?.get(cluster);
    if (hint !== undefined && hint.elected !== '' && hint.ageMs >= 0 && hint.ageMs < this.expireAfterMs) {
      const seenMs = nowMs - hint.ageMs;
      if (e === undefined || seenMs > e.lastSeenMs) {
        // Another decider's more recent knowledge: adopted, not counted as a change here.
        e = { elected: hint.elected, lastSeenMs: seenMs };
        if (clusters === undefined) this.elections.set(tenant, (clusters = new Map()));
        clusters.set(cluster, e);
      }
    }
    if (e === undefined) {
      if (clusters === undefined) this.elections.set(tenant, (clusters = new Map()));
      clusters.set(cluster, { elected: replica, lastSeenMs: nowMs });
      return { accept: true, elected: replica, lastSeenAgeMs: 0 };
    }
    if (e.elected === replica) {
      if (nowMs > e.lastSeenMs) e.lastSeenMs = nowMs;
      return { accept: true, elected: replica, lastSeenAgeMs: 0 };
    }
    const silentMs = nowMs - e.lastSeenMs;
    if (silentMs > this.failoverTimeoutMs) {
      e.elected = replica;
      e.lastSeenMs = nowMs;
      this.changes.inc({ tenant, cluster });
      return { accept: true, elected: replica, lastSeenAgeMs: 0 };
    }
    return { accept: false, elected: e.elected, lastSeenAgeMs: Math.max(0, silentMs) };
  }

  /** The elected replica of (tenant, cluster), if this tracker holds one. */
  electedReplica(tenant: string, cluster: string): string | undefined {
    return this.elections.get(tenant)?.get(cluster)?.elected;
  }

  /** What this tracker knows of (tenant, cluster), as a hint for another decider. */
  hint(tenant: string, cluster: string, nowMs: number = this.now()): ElectionHint | undefined {
    const e = this.elections.get(tenant)?.get(cluster);
    return e === undefined ? undefined : { elected: e.elected, ageMs: Math.max(0, nowMs - e.lastSeenMs) };
  }

  /** Number of elections held. */
  get size(): number {
    let n = 0;
    for (const clusters of this.elections.values()) n += clusters.size;
    return n;
  }

  /** Forgets elections silent for expireAfterMs; runs at most once per failover timeout. */
  private sweep(nowMs: number): void {
    this.nextSweepMs = nowMs + this.failoverTimeoutMs;
    for (const [tenant, clusters] of this.elections) {
      for (const [cluster, e] of clusters) {
        if (nowMs - e.lastSeenMs > this.expireAfterMs) {
          clusters.delete(cluster);
          this.changes.remove({ tenant, cluster });
        }
      }
      if (clusters.size === 0) this.elections.delete(tenant);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Asking the ring.

/** How a receiver asks another one to decide (ha-tracker-rpc.ts: HATrackerClientPool). */
export interface HATrackerPeers {
  elect(address: string, req: ElectRequest): Promise<HADecision>;
  /** Drops connections to peers not in `addresses` (after a hashring change). */
  retain?(addresses: ReadonlySet<string>): void;
}

/** A decision and the receiver that took it. */
export interface HARingDecision extends HADecision {
  /** Address of the decider; the local endpoint also for a decision taken alone. */
  decider: string;
  /** Taken from the cache, without asking. */
  cached: boolean;
}

export interface RingHATrackerOptions {
  hashring: Hashring;
  /** This receiver's address as the hashring spells it (--receive.local-endpoint). */
  localEndpoint: string;
  /** This receiver's own elections: what it decides as owner, and alone. */
  local: HATracker;
  peers: HATrackerPeers;
  /** Label whose value names the cluster; only used to place the election in the ring. */
  clusterLabel?: string;
  /**
   * How long an owner's answer is reused. It bounds how stale the owner's view of the
   * elected replica gets, so it must stay well below the failover timeout
   * (default: a third of it, at most 5s).
   */
  cacheTTLMs?: number;
  /** Owners asked before deciding alone (default 3). */
  maxOwners?: number;
  /** After a failed call, a peer is skipped for this long (default: the cache TTL). */
  peerBackoffMs?: number;
  logger?: Logger;
  registry?: Registry;
  /** Clock, ms; defaults to the local tracker's. */
  now?: () => number;
}

interface CachedAnswer {
  decider: string;
  elected: string;
  /** When the elected replica was last heard of, local clock. */
  seenMs: number;
  fetchedMs: number;
}

/**
 * What the remote write router calls: finds the decider of (tenant, cluster) in the
 * hashring, asks it (or decides, when this receiver is the decider), and caches remote
 * answers for cacheTTLMs. A cached answer accepts the elected replica, and rejects the
 * others as long as the elected replica was heard of within the failover timeout.
 */
export class RingHATracker {
  private hashring: Hashring;
  private readonly localEndpoint: string;
  private readonly local: HATracker;
  private readonly peers: HATrackerPeers;
  private readonly clusterLabel: string;
  readonly cacheTTLMs: number;
  private readonly maxOwners: number;
  private readonly peerBackoffMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly cache = new Map<string, Map<string, CachedAnswer>>();
  private nextSweepMs = -Infinity;
  private readonly inflight = new Map<string, Promise<HARingDecision>>();
  private readonly peerDownUntil = new Map<string, number>();
  private readonly rejectedSamples: Counter<'tenant'>;
  private readonly ownerFailures: Counter;
  private readonly aloneDecisions: Counter<'tenant'>;

  constructor(opts: RingHATrackerOptions) {
    this.hashring = opts.hashring;
    this.localEndpoint = opts.localEndpoint;
    this.local = opts.local;
    this.peers = opts.peers;
    this.clusterLabel = opts.clusterLabel ?? DEFAULT_HA_CLUSTER_LABEL;
    const failover = this.local.failoverTimeoutMs;
    this.cacheTTLMs = opts.cacheTTLMs ?? Math.min(5000, failover / 3);
    if (!(this.cacheTTLMs >= 0 && this.cacheTTLMs < failover)) {
      throw new Error(`ha tracker: cache TTL ${this.cacheTTLMs}ms must be below the failover timeout ${failover}ms`);
    }
    this.maxOwners = Math.max(1, opts.maxOwners ?? 3);
    this.peerBackoffMs = opts.peerBackoffMs ?? this.cacheTTLMs;
    this.logger = opts.logger ?? nopLogger();
    this.now = opts.now ?? this.local.now;
    const registers = opts.registry ? [opts.registry] : [];
    this.rejectedSamples = new Counter({
      name: 'thanos_receive_ha_tracker_rejected_samples_total',
      help: 'The number of samples dropped because they came from a replica of an HA cluster that is not the elected one.',
      labelNames: ['tenant'],
      registers,
    });
    this.ownerFailures = new Counter({
      name: 'thanos_receive_ha_tracker_owner_request_failures_total',
      help: 'The number of HA election requests to the owning receiver that failed (the next owner was asked).',
      registers,
    });
    this.aloneDecisions = new Counter({
      name: 'thanos_receive_ha_tracker_local_fallback_decisions_total',
      help: 'The number of HA elections this receiver decided alone because no owning receiver answered.',
      labelNames: ['tenant'],
      registers,
    });
  }

  /**
   * Whether the samples of `replica` of (tenant, cluster) are to be stored. `samples`, the
   * number of samples in the request, is counted when rejected. Throws only when the
   * hashring has no place for the tenant (NoMatchingHashringError…), wrapped.
   */
  async check(tenant: string, cluster: string, replica: string, samples = 0): Promise<boolean> {
    const d = await this.decide(tenant, cluster, replica);
    if (!d.accept && samples > 0) this.rejectedSamples.inc({ tenant }, samples);
    return d.accept;
  }

  /** check() with the whole answer: elected replica and who decided. */
  decide(tenant: string, cluster: string, replica: string): Promise<HARingDecision> {
    if (cluster === '' || replica === '') {
      // Not from an HA pair (as Mimir: both labels or no deduplication).
      return Promise.resolve({ accept: true, elected: replica, lastSeenAgeMs: 0, decider: '', cached: false });
    }
    const now = this.now();
    if (now >= this.nextSweepMs) this.sweep(now);
    const c = this.cache.get(tenant)?.get(cluster);
    if (c !== undefined && now - c.fetchedMs < this.cacheTTLMs) {
      // fast path: the decider answered recently
      if (replica === c.elected) {
        c.seenMs = now;
        return Promise.resolve({ accept: true, elected: c.elected, lastSeenAgeMs: 0, decider: c.decider, cached: true });
      }
      const silentMs = now - c.seenMs;
      if (silentMs <= this.local.failoverTimeoutMs) {
        return Promise.resolve({ accept: false, elected: c.elected, lastSeenAgeMs: silentMs, decider: c.decider, cached: true });
      }
      // The elected replica may be gone: the decider may fail over, ask it.
    }
    // One question per (tenant, cluster, replica) at a time: Prometheus sends many shards at once.
    const key = JSON.stringify([tenant, cluster, replica]);
    let p = this.inflight.get(key);
    if (p === undefined) {
      p = this.ask(tenant, cluster, replica, c).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /**
   * Replaces the hashring (configuration reload): cached answers are asked again (their
   * knowledge still goes to the new owners as hints), idle peers are closed.
   */
  setHashring(hashring: Hashring): void {
    this.hashring = hashring;
    for (const clusters of this.cache.values()) for (const a of clusters.values()) a.fetchedMs = -Infinity;
    this.peerDownUntil.clear();
    this.peers.retain?.(new Set(hashring.nodes().map((e) => e.address)));
  }

  private async ask(tenant: string, cluster: string, replica: string, c: CachedAnswer | undefined): Promise<HARingDecision> {
    // The freshest of what we were told and what we decided ourselves (as owner before a
    // ring change, or alone during an outage) goes along as the hint.
    const startMs = this.now();
    let hint = this.local.hint(tenant, cluster, startMs);
    if (c !== undefined && (hint === undefined || startMs - c.seenMs < hint.ageMs)) {
      hint = { elected: c.elected, ageMs: Math.max(0, startMs - c.seenMs) };
    }
    if (hint !== undefined && hint.ageMs > this.local.failoverTimeoutMs) hint = undefined;
    let asked = 0;
    const failed: string[] = [];
    for (const owner of this.owners(tenant, cluster)) {
      if (owner === this.localEndpoint) {
        if (failed.length > 0) this.logger.debug({ tenant, cluster, failed: failed.join(',') }, 'ha tracker: deciding as the next owner');
        return this.decideHere(tenant, cluster, replica, hint);
      }
      if (asked >= this.maxOwners) break;
      if ((this.peerDownUntil.get(owner) ?? -Infinity) > this.now()) {
        failed.push(owner);
        continue;
      }
      asked++;
      try {
        const d = await this.peers.elect(owner, { tenant, cluster, replica, hint });
        this.peerDownUntil.delete(owner);
        const now = this.now();
        this.remember(tenant, cluster, { decider: owner, elected: d.elected, seenMs: now - d.lastSeenAgeMs, fetchedMs: now });
        return { ...d, decider: owner, cached: false };
      } catch (err) {
        this.ownerFailures.inc();
        this.peerDownUntil.set(owner, this.now() + this.peerBackoffMs);
        failed.push(owner);
        this.logger.debug({ tenant, cluster, owner, err }, 'ha tracker: owner did not answer, asking the next one');
      }
    }
    this.aloneDecisions.inc({ tenant });
    this.logger.warn({ tenant, cluster, owners: failed.join(',') }, 'ha tracker: no owner of the HA cluster answered, deciding alone');
    return this.decideHere(tenant, cluster, replica, hint);
  }

  private decideHere(tenant: string, cluster: string, replica: string, hint: ElectionHint | undefined): HARingDecision {
    const d = this.local.decide(tenant, cluster, replica, this.now(), hint);
    // Our own answer needs no cache, but another owner's answer we cached is now older
    // than ours.
    this.cache.get(tenant)?.delete(cluster);
    return { ...d, decider: this.localEndpoint, cached: false };
  }

  /**
   * The receivers that may decide for (tenant, cluster), in order: the replicas of the
   * series {clusterLabel="cluster"} in the hashring, then (when the ring has fewer
   * replicas than receivers, as ketama with a small replication factor) every other
   * receiver, starting at a place given by the same hash so clusters spread out. Every
   * receiver with the same hashring computes the same order.
   */
  private *owners(tenant: string, cluster: string): Generator<string> {
    const labels = [{ name: this.clusterLabel, value: cluster }];
    const seen = new Set<string>();
    for (let n = 0; ; n++) {
      let addr: string;
      try {
        addr = this.hashring.getN(tenant, labels, n);
      } catch (err) {
        if (err instanceof InsufficientNodesError && n > 0) break;
        throw new Error(`ha tracker: find the owner of cluster ${JSON.stringify(cluster)} of tenant ${tenant}: ${(err as Error).message}`, { cause: err });
      }
      if (!seen.has(addr)) {
        seen.add(addr);
        yield addr;
      }
    }
    const rest = [...new Set(this.hashring.nodes().map((e) => e.address))].filter((a) => !seen.has(a));
    if (rest.length === 0) return;
    const start = Number(hashLabels(tenant, labels) % BigInt(rest.length));
    for (let i = 0; i < rest.length; i++) yield rest[(start + i) % rest.length];
  }

  private remember(tenant: string, cluster: string, a: CachedAnswer): void {
    let clusters = this.cache.get(tenant);
    if (clusters === undefined) this.cache.set(tenant, (clusters = new Map()));
    clusters.set(cluster, a);
  }

  /** Drops answers no longer used (neither fresh nor useful as a hint). */
  private sweep(nowMs: number): void {
    const failover = this.local.failoverTimeoutMs;
    this.nextSweepMs = nowMs + failover;
    for (const [tenant, clusters] of this.cache) {
      for (const [cluster, a] of clusters) {
        if (nowMs - a.fetchedMs >= this.cacheTTLMs && nowMs - a.seenMs > failover) clusters.delete(cluster);
      }
      if (clusters.size === 0) this.cache.delete(tenant);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Labels.

/** A remote-write label as decoded (protobufjs leaves absent fields null or undefined). */
export interface HALabel {
  name?: string | null;
  value?: string | null;
}

/**
 * The cluster and replica of a request, from the labels of its first series (Prometheus
 * adds external labels to every series, as Mimir assumes). Empty strings when absent;
 * a request without both is not deduplicated.
 */
export function findHALabels(
  labels: readonly HALabel[] | null | undefined,
  clusterLabel: string,
  replicaLabel: string,
): { cluster: string; replica: string } {
  let cluster = '', replica = '';
  for (const l of labels ?? []) {
    if (l.name === clusterLabel) cluster = l.value ?? '';
    else if (l.name === replicaLabel) replica = l.value ?? '';
  }
  return { cluster, replica };
}

/**
 * Removes the label `name` from every series, in place, so both replicas of a cluster
 * write the same series. Returns how many series had it. Must run before the series are
 * hashed for routing, or the two replicas' series would land on different receivers.
 */
export function stripReplicaLabel(series: readonly { labels?: HALabel[] | null }[], name: string): number {
  let stripped = 0;
  for (const s of series) {
    const labels = s.labels;
    if (!labels) continue;
    let had = false;
    for (let i = labels.length - 1; i >= 0; i--) {
      if (labels[i].name === name) {
        labels.splice(i, 1);
        had = true;
      }
    }
    if (had) stripped++;
  }
  return stripped;
}
