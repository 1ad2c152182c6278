// The queue of alert notifications waiting to be sent (Thanos alert.Queue). Push attaches
// the external labels, drops the --alert.label-drop labels and applies the alert relabel
// rules; it never blocks: when the queue is full the oldest alerts make room. The sender
// takes batches of at most maxBatchSize from the front.

import type { Logger } from '@thanos-ts/runtime';
import { nopLogger } from '@thanos-ts/runtime';
import { mergeLabels, relabel, withoutLabels } from '@thanos-ts/tsdb';
import type { Labels, RelabelConfig } from '@thanos-ts/tsdb';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Alert } from '../types.js';

/** Thanos's ruler: NewQueue(..., 10000, 100, ...). */
export const DEFAULT_QUEUE_CAPACITY = 10_000;
export const DEFAULT_MAX_BATCH_SIZE = 100;

export interface AlertQueueOptions {
  capacity?: number;
  maxBatchSize?: number;
  /** Added to every alert, replacing labels of the same name (Thanos, unlike Prometheus). */
  externalLabels?: Labels;
  /** --alert.label-drop: removed from the alert and from the external labels. */
  excludeLabels?: readonly string[];
  /** --alert.relabel-config, applied after the two above. */
  relabelConfigs?: readonly RelabelConfig[];
  registry?: Registry;
  logger?: Logger;
}

export class AlertQueue {
  readonly capacity: number;
  readonly maxBatchSize: number;
  private readonly toAdd: Labels;
  private readonly exclude: ReadonlySet<string>;
  private readonly relabelConfigs: readonly RelabelConfig[];
  private readonly logger: Logger;
  private queue: Alert[] = [];
  private waiters: (() => void)[] = [];
  private readonly pushed: Counter;
  private readonly popped: Counter;
  private readonly dropped: Counter;

  constructor(opts: AlertQueueOptions = {}) {
    this.capacity = opts.capacity ?? DEFAULT_QUEUE_CAPACITY;
    this.maxBatchSize = opts.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    if (!(this.capacity > 0) || !(this.maxBatchSize > 0)) throw new Error('alert queue: capacity and batch size must be positive');
    this.exclude = new Set(opts.excludeLabels ?? []);
    this.toAdd = withoutLabels(opts.externalLabels ?? [], this.exclude);
    this.relabelConfigs = opts.relabelConfigs ?? [];
    this.logger = opts.logger ?? nopLogger();
    const registers = opts.registry ? [opts.registry] : [];
    this.dropped = new Counter({ name: 'thanos_alert_queue_alerts_dropped_total', help: 'Total number of alerts that were dropped from the queue.', registers });
    this.pushed = new Counter({ name: 'thanos_alert_queue_alerts_pushed_total', help: 'Total number of alerts pushed to the queue.', registers });
    this.popped = new Counter({ name: 'thanos_alert_queue_alerts_popped_total', help: 'Total number of alerts popped from the queue.', registers });
    const capacity = this.capacity;
    new Gauge({ name: 'thanos_alert_queue_capacity', help: 'Capacity of the alert queue.', registers, collect() { this.set(capacity); } });
    const queue = this;
    new Gauge({ name: 'thanos_alert_queue_length', help: 'Length of the alert queue.', registers, collect() { this.set(queue.length); } });
  }

  get length(): number {
    return this.queue.length;
  }

  /** Adds alerts (labels rewritten as configured; the given objects are not modified). */
  push(alerts: readonly Alert[]): void {
    if (alerts.length === 0) return;
    this.pushed.inc(alerts.length);
    let kept: Alert[] = [];
    for (const a of alerts) {
      const base = this.exclude.size > 0 ? withoutLabels(a.labels, this.exclude) : a.labels;
      const lset = relabel(mergeLabels(base, this.toAdd, true), this.relabelConfigs);
      if (lset !== null) kept.push({ ...a, labels: lset });
    }
    if (kept.length === 0) return;
    // The capacity should be far larger than any one push.
    const over = kept.length - this.capacity;
    if (over > 0) {
      kept = kept.slice(over);
      this.logger.warn({ numDropped: over }, 'Alert batch larger than queue capacity, dropping alerts');
      this.dropped.inc(over);
    }
    // Full: the oldest alerts go, newer state is worth more.
    const full = this.queue.length + kept.length - this.capacity;
    if (full > 0) {
      this.queue = this.queue.slice(full);
      this.logger.warn({ numDropped: full }, 'Alert notification queue full, dropping alerts');
      this.dropped.inc(full);
    }
    for (const a of kept) this.queue.push(a);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Takes up to maxBatchSize alerts from the front; [] when empty. */
  pop(): Alert[] {
    const batch = this.queue.slice(0, this.maxBatchSize);
    this.queue = this.queue.slice(batch.length);
    this.popped.inc(batch.length);
    return batch;
  }

  /** Resolves when the queue holds alerts, or when `signal` aborts. */
  waitForAlerts(signal?: AbortSignal): Promise<void> {
    if (this.queue.length > 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
