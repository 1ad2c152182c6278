// One TSDB per tenant under --tsdb.path/<tenant> (Thanos pkg/receive/multitsdb.go):
// opened lazily on a tenant's first write, or at start for every tenant found on disk
// (replaying its WAL before the receiver is ready). Each tenant's DB is served through a
// TSDBStore whose external labels are --label plus the tenant label, and all of them
// through one ProxyStore; with a bucket each tenant has a Shipper that uploads the blocks
// its DB cuts, labelled the same way.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Shipper } from '@thanos-ts/block';
import type { Bucket } from '@thanos-ts/objstore';
import type { Logger } from '@thanos-ts/runtime';
import { ComponentType, localEndpoint, ProxyStore, TSDBStore } from '@thanos-ts/storeapi';
import type { StoreEndpoint } from '@thanos-ts/storeapi';
import { compareStrings, DB, labelsToRecord, ZERO_TIME } from '@thanos-ts/tsdb';
import type { Appender, DBWalOptions, Labels } from '@thanos-ts/tsdb';
import type { TenantAppendable } from './writer.js';

export interface MultiTSDBOptions {
  /** --tsdb.path */
  dataDir: string;
  /** --label, sorted by name. */
  externalLabels: Labels;
  /** --receive.tenant-label-name */
  tenantLabelName: string;
  /** Block duration (ms) of every tenant's DB. */
  blockDuration: number;
  /** --tsdb.retention (ms); 0 keeps all local blocks. */
  retention: number;
  wal: DBWalOptions;
  /** Ships blocks when set. */
  bucket: Bucket | null;
  /** How often shippers look for new blocks (ms); they also run after each block cut. */
  shipIntervalMs: number;
  /** --tsdb.out-of-order.time-window (ms); 0 = off. */
  outOfOrderTimeWindowMs?: number;
  /** --tsdb.out-of-order.cap-max */
  outOfOrderCapMax?: number;
  logger: Logger;
}

/** A tenant's DB with the store and shipper over it. */
export interface Tenant {
  readonly id: string;
  readonly db: DB;
  readonly store: TSDBStore;
  readonly endpoint: StoreEndpoint;
  readonly shipper: Shipper | null;
}

/**
 * A tenant name that is safe as a directory name (Thanos tenancy.IsTenantValid): not
 * empty, not "." or "..", no path separators.
 */
export function isValidTenant(tenant: string): boolean {
  return tenant !== '' && tenant !== '.' && tenant !== '..' && !tenant.includes('/') && !tenant.includes('\\') && !tenant.includes('\0');
}

export class MultiTSDB implements TenantAppendable {
  private readonly tenants = new Map<string, Tenant>();
  /** Tenants being opened; a second write waits for the same open. */
  private readonly opening = new Map<string, Promise<Tenant>>();
  private shipTimer: NodeJS.Timeout | null = null;
  private closed = false;
  readonly proxy: ProxyStore;

  constructor(private readonly opts: MultiTSDBOptions) {
    this.proxy = new ProxyStore({
      endpoints: () => [...this.tenants.values()].map((t) => t.endpoint),
      component: ComponentType.RECEIVE,
      logger: opts.logger.child({ component: 'proxy' }),
    });
  }

  /** Opens every tenant found under the data directory (replaying their WALs) and starts shipping. */
  async open(): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.opts.dataDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const n of names.sort(compareStrings)) {
      if (!isValidTenant(n) || !(await stat(join(this.opts.dataDir, n))).isDirectory()) continue;
      await this.tenant(n);
    }
    if (this.opts.bucket !== null) {
      this.shipTimer = setInterval(() => void this.ship(), Math.max(1000, this.opts.shipIntervalMs));
      this.shipTimer.unref();
    }
  }

  /** Tenant IDs, sorted. */
  tenantIds(): string[] {
    return [...this.tenants.keys()].sort(compareStrings);
  }

  get(tenant: string): Tenant | undefined {
    return this.tenants.get(tenant);
  }

  async appender(tenant: string): Promise<Appender> {
    return (await this.tenant(tenant)).db.appender();
  }

  /** The tenant's DB, opened (and created) on first use. */
  tenant(id: string): Promise<Tenant> {
    const t = this.tenants.get(id);
    if (t !== undefined) return Promise.resolve(t);
    let p = this.opening.get(id);
    if (p === undefined) {
      p = this.openTenant(id).finally(() => this.opening.delete(id));
      this.opening.set(id, p);
    }
    return p;
  }

  /** The external labels of a tenant's data: --label plus the tenant label (which wins). */
  tenantLabels(id: string): Labels {
    const name = this.opts.tenantLabelName;
    const out = this.opts.externalLabels.filter((l) => l.name !== name);
    out.push({ name, value: id });
    return out.sort((a, b) => compareStrings(a.name, b.name));
  }

  private async openTenant(id: string): Promise<Tenant> {
    if (this.closed) throw new Error(`open tenant ${id}: receiver is shutting down`);
    const logger = this.opts.logger.child({ tenant: id });
    const dir = join(this.opts.dataDir, id);
    const labels = this.tenantLabels(id);
    const t0 = Date.now();
    let shipper: Shipper | null = null;
    if (this.opts.bucket !== null) {
      shipper = new Shipper({ dir, bucket: this.opts.bucket, logger: logger.child({ component: 'shipper' }), labels: () => labelsToRecord(labels), source: 'receive' });
    }
    const db = await DB.open(dir, {
      blockDuration: this.opts.blockDuration,
      retention: this.opts.retention,
      wal: this.opts.wal,
      logger,
      thanos: { labels: labelsToRecord(labels), downsample: { resolution: 0 }, source: 'receive', index_stats: {}, upload_time: ZERO_TIME },
      onCompactionError: (err) => logger.error({ err: err.message }, 'compaction failed'),
      outOfOrderTimeWindow: this.opts.outOfOrderTimeWindowMs ?? 0,
      outOfOrderCapMax: this.opts.outOfOrderCapMax,
      // Shipped at once rather than at the next sync interval.
      onBlocksWritten: () => {
        if (shipper !== null) void shipper.sync().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'shipping blocks failed'));
      },
      // With a bucket, retention deletes only what reached it.
      blocksToDelete: shipper === null ? undefined : (candidates) => shipper!.deletable(candidates),
    });
    const replay = db.walReplay;
    logger.info({ dir, blocks: db.blocks.length, walReplayMs: replay?.durationMs, repaired: replay?.repaired, durationMs: Date.now() - t0 }, 'opened tenant TSDB');
    const store = new TSDBStore({ db, externalLabels: labels, component: ComponentType.RECEIVE, logger });
    const tenant: Tenant = { id, db, store, endpoint: localEndpoint(store, () => store.info(), `tenant:${id}`), shipper };
    this.tenants.set(id, tenant);
    return tenant;
  }

  /** One shipping pass over every tenant; failures are logged and retried on the next pass. */
  async ship(): Promise<number> {
    let n = 0;
    for (const t of this.tenants.values()) {
      if (t.shipper === null) continue;
      try {
        n += await t.shipper.sync();
      } catch (err) {
        this.opts.logger.warn({ tenant: t.id, err: (err as Error).message }, 'shipping blocks failed');
      }
    }
    return n;
  }

  /** Closes every DB (its WAL synced), after a last shipping pass. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.shipTimer !== null) clearInterval(this.shipTimer);
    await Promise.allSettled([...this.opening.values()]);
    if (this.opts.bucket !== null) await this.ship();
    await Promise.all(
      [...this.tenants.values()].map((t) =>
        t.db.close().catch((err: unknown) => this.opts.logger.error({ tenant: t.id, err: (err as Error).message }, 'closing tenant TSDB')),
      ),
    );
  }
}
