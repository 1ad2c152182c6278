// Bucket metrics as Thanos's objstore exposes them (objstore.WrapWithMetrics), so the
// Thanos dashboards and alerts on thanos_objstore_bucket_* work unchanged: operations,
// failures (a missing object is an answer, not a failure), latency until a read stream
// ends, and the bytes read.

import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Bucket, IterFn, IterOptions, ObjectAttributes, UploadBody, UploadOptions } from './bucket.js';
import { isObjectNotFound } from './errors.js';

export const BucketOperation = {
  GET: 'get',
  GET_RANGE: 'get_range',
  EXISTS: 'exists',
  ATTRIBUTES: 'attributes',
  UPLOAD: 'upload',
  DELETE: 'delete',
  ITER: 'iter',
} as const;
export type BucketOperation = (typeof BucketOperation)[keyof typeof BucketOperation];

interface Metrics {
  ops: Counter<'bucket' | 'operation'>;
  failures: Counter<'bucket' | 'operation'>;
  duration: Histogram<'bucket' | 'operation'>;
  fetched: Counter<'bucket' | 'operation'>;
  lastUpload: Gauge<'bucket'>;
}

const perRegistry = new WeakMap<Registry, Metrics>();

function metricsFor(registry: Registry): Metrics {
  let m = perRegistry.get(registry);
  if (m !== undefined) return m;
  const registers = [registry];
  const labelNames = ['bucket', 'operation'] as const;
  m = {
    ops: new Counter({ name: 'thanos_objstore_bucket_operations_total', help: 'Total number of all attempted operations against a bucket.', labelNames, registers }),
    failures: new Counter({ name: 'thanos_objstore_bucket_operation_failures_total', help: 'Total number of operations against a bucket that failed, but were not expected to fail in certain way from caller perspective. Those errors have to be investigated.', labelNames, registers }),
    duration: new Histogram({ name: 'thanos_objstore_bucket_operation_duration_seconds', help: 'Duration of successful operations against the remote bucket', labelNames, buckets: [0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120], registers }),
    fetched: new Counter({ name: 'thanos_objstore_bucket_operation_fetched_bytes_total', help: 'Total number of bytes fetched from bucket, per operation.', labelNames, registers }),
    lastUpload: new Gauge({ name: 'thanos_objstore_bucket_last_successful_upload_time', help: 'Second timestamp of the last successful upload to the bucket.', labelNames: ['bucket'] as const, registers }),
  };
  perRegistry.set(registry, m);
  return m;
}

/** Wraps a bucket so that every operation is counted and timed in `registry`. */
export function instrumentBucket(bkt: Bucket, registry: Registry): Bucket {
  const m = metricsFor(registry);
  const bucket = bkt.name();
  for (const op of Object.values(BucketOperation)) {
    m.ops.inc({ bucket, operation: op }, 0);
    m.failures.inc({ bucket, operation: op }, 0);
  }
  const run = async <T>(operation: BucketOperation, fn: () => Promise<T>, expectedNotFound: boolean): Promise<T> => {
    const labels = { bucket, operation };
    m.ops.inc(labels);
    const t0 = performance.now();
    try {
      const r = await fn();
      m.duration.observe(labels, (performance.now() - t0) / 1000);
      return r;
    } catch (err) {
      if (!(expectedNotFound && isObjectNotFound(err))) m.failures.inc(labels);
      throw err;
    }
  };
  const reading = (operation: BucketOperation, src: Readable, t0: number): Readable => {
    const labels = { bucket, operation };
    let bytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb(null, chunk);
      },
      flush(cb) {
        m.fetched.inc(labels, bytes);
        m.duration.observe(labels, (performance.now() - t0) / 1000);
        cb();
      },
    });
    src.on('error', (err) => {
      m.failures.inc(labels);
      counted.destroy(err);
    });
    counted.on('close', () => {
      if (!src.destroyed) src.destroy();
    });
    return src.pipe(counted);
  };
  return {
    name: () => bucket,
    get: async (name: string): Promise<Readable> => {
      const t0 = performance.now();
      const src = await run(BucketOperation.GET, () => bkt.get(name), true);
      return reading(BucketOperation.GET, src, t0);
    },
    getRange: async (name: string, offset: number, length?: number): Promise<Readable> => {
      const t0 = performance.now();
      const src = await run(BucketOperation.GET_RANGE, () => bkt.getRange(name, offset, length), true);
      return reading(BucketOperation.GET_RANGE, src, t0);
    },
    // The store gateway's small reads: bytes without a stream around them.
    getRangeBytes: bkt.getRangeBytes === undefined ? undefined : rangeBytes(bkt, rangeMetrics(m, bucket)),
    readRange: bkt.readRange === undefined ? undefined : readRange(bkt, rangeMetrics(m, bucket)),
    readRanges: bkt.readRanges === undefined ? undefined : readRanges(bkt, rangeMetrics(m, bucket)),
    rangeGapBytes: bkt.rangeGapBytes,
    rangeReadMaxBytes: bkt.rangeReadMaxBytes,
    exists: (name: string): Promise<boolean> => run(BucketOperation.EXISTS, () => bkt.exists(name), false),
    attributes: (name: string): Promise<ObjectAttributes> => run(BucketOperation.ATTRIBUTES, () => bkt.attributes(name), true),
    upload: async (name: string, body: UploadBody, opts?: UploadOptions): Promise<void> => {
      await run(BucketOperation.UPLOAD, () => bkt.upload(name, body, opts), false);
      m.lastUpload.set({ bucket }, Date.now() / 1000);
    },
    delete: (name: string): Promise<void> => run(BucketOperation.DELETE, () => bkt.delete(name), false),
    iter: (dir: string, fn: IterFn, opts?: IterOptions): Promise<void> => run(BucketOperation.ITER, () => bkt.iter(dir, fn, opts), false),
    close: (): Promise<void> => bkt.close(),
  };
}

/** The get_range series of one bucket, for the fast paths. */
function rangeMetrics(m: Metrics, bucket: string) {
  const labels = { bucket, operation: BucketOperation.GET_RANGE };
  return { ops: m.ops.labels(labels), failures: m.failures.labels(labels), duration: m.duration.labels(labels), fetched: m.fetched.labels(labels) };
}

type RangeMetrics = ReturnType<typeof rangeMetrics>;

function rangeBytes(bkt: Bucket, { ops, failures, duration, fetched }: RangeMetrics): (name: string, offset: number, length: number) => Promise<Uint8Array> {
  return async (name, offset, length) => {
    ops.inc();
    const t0 = performance.now();
    try {
      const b = await bkt.getRangeBytes!(name, offset, length);
      fetched.inc(b.length);
      duration.observe((performance.now() - t0) / 1000);
      return b;
    } catch (err) {
      if (!isObjectNotFound(err)) failures.inc();
      throw err;
    }
  };
}

/**
 * Many ranges, one call: each range counts as a get_range operation and its bytes as
 * fetched; the call is timed once (its ranges are read back to back, microseconds each).
 */
function readRanges(bkt: Bucket, { ops, failures, duration, fetched }: RangeMetrics): NonNullable<Bucket['readRanges']> {
  return async (name, starts, ends, use) => {
    ops.inc(starts.length);
    const t0 = performance.now();
    let bytes = 0;
    let inUse = false;
    try {
      await bkt.readRanges!(name, starts, ends, (i, b) => {
        bytes += b.length;
        inUse = true;
        use(i, b);
        inUse = false;
      });
      duration.observe((performance.now() - t0) / 1000);
    } catch (err) {
      // A failure of `use` is the caller's; a missing object is an answer.
      if (!inUse && !isObjectNotFound(err)) failures.inc();
      throw err;
    } finally {
      if (bytes > 0) fetched.inc(bytes);
    }
  };
}

function readRange(bkt: Bucket, { ops, failures, duration, fetched }: RangeMetrics): <T>(name: string, offset: number, length: number, use: (bytes: Uint8Array) => T) => Promise<T> {
  return async (name, offset, length, use) => {
    ops.inc();
    const t0 = performance.now();
    let read = false;
    try {
      const r = await bkt.readRange!(name, offset, length, (bytes) => {
        read = true;
        fetched.inc(bytes.length);
        return use(bytes);
      });
      duration.observe((performance.now() - t0) / 1000);
      return r;
    } catch (err) {
      // A failure of `use` is the caller's, not the bucket's.
      if (!read && !isObjectNotFound(err)) failures.inc();
      throw err;
    }
  };
}
