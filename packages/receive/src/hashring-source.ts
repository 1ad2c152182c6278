// The receiver's current hashring (Thanos cmd/thanos/receive.go setupHashring and
// pkg/receive/config.go ConfigWatcher): from --receive.hashrings-file, re-read when the
// file changes (polled every second: cheap, and it also sees files swapped in by a
// ConfigMap's symlink) and every --receive.hashrings-file-refresh-interval; or from
// --receive.hashrings; or, with neither, a single node hashring where everything is
// local. A file that does not parse keeps the hashring in use and counts an error.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from '@thanos-ts/runtime';
import { loadHashringsConfig, newMultiHashring, parseHashringsConfig, SingleNodeHashring } from './hashring.js';
import type { Hashring, HashringConfig } from './hashring.js';

export interface HashringSourceOptions {
  /** --receive.hashrings-file */
  file: string;
  /** --receive.hashrings (used when no file is given). */
  content: string;
  /** --receive.hashrings-algorithm */
  algorithm: string;
  replicationFactor: number;
  /** --receive.local-endpoint */
  localEndpoint: string;
  /** --receive.hashrings-file-refresh-interval (ms). */
  refreshIntervalMs: number;
  registry: Registry;
  logger: Logger;
}

export class HashringSource {
  private ring: Hashring | null = null;
  private configHash = '';
  private pollTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private readonly listeners: ((ring: Hashring, initial: boolean) => void | Promise<void>)[] = [];
  private readonly hashGauge: Gauge;
  private readonly lastReloadOk: Gauge;
  private readonly lastReloadTime: Gauge;
  private readonly changes: Counter;
  private readonly errors: Counter;
  private readonly refreshes: Counter;
  private readonly nodes: Gauge<'name'>;
  private readonly tenants: Gauge<'name'>;
  private reading = false;

  constructor(private readonly opts: HashringSourceOptions) {
    const registers = [opts.registry];
    this.hashGauge = new Gauge({ name: 'thanos_receive_config_hash', help: 'Hash of the currently loaded hashring configuration file.', registers });
    this.lastReloadOk = new Gauge({ name: 'thanos_receive_config_last_reload_successful', help: 'Whether the last hashring configuration file reload attempt was successful.', registers });
    this.lastReloadTime = new Gauge({ name: 'thanos_receive_config_last_reload_success_timestamp_seconds', help: 'Timestamp of the last successful hashring configuration file reload.', registers });
    this.changes = new Counter({ name: 'thanos_receive_hashrings_file_changes_total', help: 'The number of times the hashrings configuration file has changed.', registers });
    this.errors = new Counter({ name: 'thanos_receive_hashrings_file_errors_total', help: 'The number of errors watching the hashrings configuration file.', registers });
    this.refreshes = new Counter({ name: 'thanos_receive_hashrings_file_refreshes_total', help: 'The number of refreshes of the hashrings configuration file.', registers });
    this.nodes = new Gauge({ name: 'thanos_receive_hashring_nodes', help: 'The number of nodes per hashring.', labelNames: ['name'], registers });
    this.tenants = new Gauge({ name: 'thanos_receive_hashring_tenants', help: 'The number of tenants per hashring.', labelNames: ['name'], registers });
  }

  /** Whether a hashrings configuration was given (else the node ingests everything itself). */
  get configured(): boolean {
    return this.opts.file !== '' || this.opts.content !== '';
  }

  /** The hashring in use; null until the file was first read. */
  current(): Hashring | null {
    return this.ring;
  }

  /** Called with every new hashring (`initial` for the first). */
  onChange(fn: (ring: Hashring, initial: boolean) => void | Promise<void>): void {
    this.listeners.push(fn);
  }

  /**
   * Sets up the first hashring: a configuration that does not parse is an error here
   * (Thanos refuses to start); later reloads keep the old one instead.
   */
  async start(): Promise<void> {
    if (!this.configured) {
      await this.set(new SingleNodeHashring(this.opts.localEndpoint), '');
      this.opts.logger.info({}, 'Empty hashring config. Set up single node hashring.');
      return;
    }
    if (this.opts.file === '') {
      const configs = parseHashringsConfig(this.opts.content);
      await this.apply(configs, this.opts.content);
      return;
    }
    const text = await readFile(this.opts.file, 'utf8').catch((err: unknown) => {
      throw new Error(`failed to read configuration file: ${(err as Error).message}`, { cause: err });
    });
    await this.apply(loadHashringsConfig(text, this.opts.file), text);
    this.pollTimer = setInterval(() => void this.reload(false), 1000);
    this.pollTimer.unref();
    if (this.opts.refreshIntervalMs > 0) {
      this.refreshTimer = setInterval(() => void this.reload(true), this.opts.refreshIntervalMs);
      this.refreshTimer.unref();
    }
  }

  stop(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
  }

  /** Re-reads the file; applies it when its content changed. */
  async reload(refresh: boolean): Promise<void> {
    if (this.reading || this.opts.file === '') return;
    this.reading = true;
    try {
      if (refresh) this.refreshes.inc();
      let text: string;
      try {
        text = await readFile(this.opts.file, 'utf8');
      } catch (err) {
        this.errors.inc();
        this.opts.logger.error({ file: this.opts.file, err: (err as Error).message }, 'failed to read hashrings configuration file');
        return;
      }
      if (sha256(text) === this.configHash) return;
      this.changes.inc();
      try {
        await this.apply(loadHashringsConfig(text, this.opts.file), text);
        this.opts.logger.info({ file: this.opts.file }, 'hashrings configuration reloaded');
      } catch (err) {
        this.lastReloadOk.set(0);
        this.errors.inc();
        this.opts.logger.error({ file: this.opts.file, err: (err as Error).message }, 'failed to load hashrings configuration; keeping the old one');
      }
    } finally {
      this.reading = false;
    }
  }

  private async apply(configs: HashringConfig[], text: string): Promise<void> {
    const ring = configs.length === 0 ? new SingleNodeHashring(this.opts.localEndpoint) : newMultiHashring(this.opts.algorithm, this.opts.replicationFactor, configs);
    this.nodes.reset();
    this.tenants.reset();
    for (const c of configs) {
      this.nodes.set({ name: c.hashring }, c.endpoints.length);
      this.tenants.set({ name: c.hashring }, c.tenants.length);
    }
    await this.set(ring, text);
  }

  private async set(ring: Hashring, text: string): Promise<void> {
    const initial = this.ring === null;
    this.ring = ring;
    this.configHash = sha256(text);
    // The gauge holds a float64: the first 6 bytes of the hash keep it exact.
    this.hashGauge.set(parseInt(this.configHash.slice(0, 12), 16));
    this.lastReloadOk.set(1);
    this.lastReloadTime.set(Date.now() / 1000);
    for (const fn of this.listeners) await fn(ring, initial);
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
