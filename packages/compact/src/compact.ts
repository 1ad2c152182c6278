// The compactor component: flags → CompactConfig → a run that, once (or every
// --wait-interval with --wait), compacts every stream, downsamples, applies retention
// and deletes what is marked, with /metrics, probes and /api/v1/blocks on HTTP.
//
// It is the only component that rewrites and deletes in the bucket, so every step is
// ordered to survive a kill -9: new blocks appear whole (meta.json last), inputs are
// marked before they are deleted, and whatever a killed run left half done (partial
// uploads, unmarked inputs of an uploaded block, interrupted deletes) the next run
// finishes.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { instrumentBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { createRegistry, formatPromDuration, HttpServer, Prober, registerStatusAPI } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import type { Registry } from 'prom-client';
import { registerUI } from '@thanos-ts/ui';
import { BucketCompactor, cleanBucket, downsampleBucket, groupBlocks, CompactMetrics, applyRetention, Syncer, tsdbCompact, verticalMergeFor, blocksApiHandler } from '@thanos-ts/block';
import type { RetentionByResolution, LocalCompactFn, HashFunc, MetaFilter } from '@thanos-ts/block';

export interface CompactConfig {
  bkt: Bucket;
  logger: Logger;
  httpAddress: string;
  /** --http.config: Prometheus's web config file for the HTTP server ('' = none). */
  httpConfigFile?: string;
  webRoutePrefix: string;
  /** --web.disable: no Block Viewer UI (the API stays). */
  webDisable?: boolean;
  dataDir: string;
  wait: boolean;
  waitIntervalMs: number;
  retention: RetentionByResolution;
  downsamplingDisabled: boolean;
  consistencyDelayMs: number;
  deleteDelayMs: number;
  /** 0: clean only at the end of each iteration. */
  cleanupIntervalMs: number;
  compactConcurrency: number;
  downsampleConcurrency: number;
  metaFetchConcurrency: number;
  verticalCompaction: boolean;
  replicaLabels: string[];
  /** "" (one-to-one chain merge) or "penalty". */
  dedupFunc: string;
  relabelFilter: MetaFilter | null;
  minTime: number;
  maxTime: number;
  maxIndexSizeBytes: number;
  hashFunc: HashFunc;
  haltOnError: boolean;
  /** --compact.skip-block-with-out-of-order-chunks (ours defaults to true; Thanos' to false). */
  skipOutOfOrderChunks?: boolean;
  /** Compaction ranges in ms, smallest first. */
  ranges: readonly number[];
  bucketWebLabel?: string;
  flags?: Record<string, string>;
  /** The block merge; the tsdb library's by default (tests pass their own). */
  compactFn?: LocalCompactFn;
}

/** What one iteration left undone. */
export interface IterationResult {
  /** Halted streams and why. */
  halted: Map<string, string>;
  /** Retriable failures. */
  errors: string[];
}

export class Compactor {
  readonly prober = new Prober();
  readonly registry: Registry = createRegistry('compact');
  readonly metrics: CompactMetrics;
  readonly http: HttpServer;
  readonly syncer: Syncer;
  private readonly bkt: Bucket;
  private readonly logger: Logger;
  private readonly bucketCompactor: BucketCompactor;
  /** Serialises cleanups (the background one and the end-of-iteration one). */
  private cleaning: Promise<unknown> = Promise.resolve();

  constructor(readonly cfg: CompactConfig) {
    this.logger = cfg.logger;
    this.metrics = new CompactMetrics(this.registry);
    this.bkt = instrumentBucket(cfg.bkt, this.registry);
    this.syncer = new Syncer({
      bkt: this.bkt,
      logger: this.logger,
      metrics: this.metrics,
      concurrency: cfg.metaFetchConcurrency,
      minTime: cfg.minTime,
      maxTime: cfg.maxTime,
      relabelFilter: cfg.relabelFilter,
      consistencyDelayMs: cfg.consistencyDelayMs,
      deleteDelayMs: cfg.deleteDelayMs,
      replicaLabels: cfg.replicaLabels,
    });
    this.bucketCompactor = new BucketCompactor({
      bkt: this.bkt,
      logger: this.logger,
      metrics: this.metrics,
      syncer: this.syncer,
      dir: join(cfg.dataDir, 'compact'),
      ranges: cfg.ranges,
      verticalCompaction: cfg.verticalCompaction,
      verticalMerge: verticalMergeFor(cfg.dedupFunc),
      compact: cfg.compactFn ?? tsdbCompact,
      concurrency: cfg.compactConcurrency,
      maxIndexSizeBytes: cfg.maxIndexSizeBytes,
      hashFunc: cfg.hashFunc,
      skipOutOfOrderChunks: cfg.skipOutOfOrderChunks ?? true,
    });
    this.http = new HttpServer({
      address: cfg.httpAddress,
      registry: this.registry,
      prober: this.prober,
      logger: this.logger,
      routePrefix: cfg.webRoutePrefix,
      webConfigFile: cfg.httpConfigFile,
    });
    this.http.route(
      '/api/v1/blocks',
      blocksApiHandler(() => ({
        blocks: [...this.syncer.metas().values()].sort((a, b) => (a.ulid < b.ulid ? -1 : 1)),
        refreshedAt: this.syncer.lastSync,
        err: null,
        label: cfg.bucketWebLabel,
        deletionMarks: this.syncer.deletionMarks.marks,
        noCompactMarks: this.syncer.noCompact.marks,
      })),
    );
    registerStatusAPI(this.http, { flags: cfg.flags });
    if (!cfg.webDisable) registerUI(this.http, { component: 'compact' });
  }

  get httpAddress(): string {
    return this.http.address();
  }

  /**
   * Runs until done: one iteration without --wait (rejecting when it left work undone,
   * so the process exits non-zero), forever with --wait until `signal` aborts. An
   * abort stops between steps; nothing half done is left visible in the bucket.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { cfg, logger } = this;
    await this.http.start();
    this.prober.healthy();
    let cleanupTimer: NodeJS.Timeout | null = null;
    try {
      await mkdir(cfg.dataDir, { recursive: true });
      if (cfg.verticalCompaction) logger.info({ replicaLabels: cfg.replicaLabels.join(','), dedupFunc: cfg.dedupFunc || 'one-to-one' }, 'vertical compaction is enabled');
      for (const [name, d] of Object.entries(cfg.retention)) if (d > 0) logger.info({ resolution: name, duration: formatPromDuration(d) }, 'retention policy enabled');
      this.prober.ready();
      logger.info({ http: this.http.address(), wait: cfg.wait }, 'compactor started');
      if (cfg.wait && cfg.cleanupIntervalMs > 0) {
        cleanupTimer = setInterval(() => void this.cleanup(signal).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'background cleanup failed')), cfg.cleanupIntervalMs);
        cleanupTimer.unref();
      }
      for (;;) {
        let res: IterationResult;
        try {
          res = await this.iteration(signal);
        } catch (err) {
          if (signal.aborted) break;
          if (!cfg.wait) throw err;
          this.metrics.retries.inc();
          logger.error({ err: (err as Error).message }, 'compaction iteration failed; retrying after --wait-interval');
          await sleep(cfg.waitIntervalMs, signal);
          if (signal.aborted) break;
          continue;
        }
        if (signal.aborted) break;
        const undone = res.errors.length > 0 || res.halted.size > 0;
        if (!undone) this.metrics.iterations.inc();
        else if (res.errors.length > 0) this.metrics.retries.inc();
        if (!cfg.wait || (res.halted.size > 0 && !cfg.haltOnError)) {
          if (undone) throw new Error(iterationError(res));
          break;
        }
        if (res.errors.length > 0) logger.warn({ errors: res.errors.length }, 'iteration left work undone; retrying after --wait-interval');
        await sleep(cfg.waitIntervalMs, signal);
        if (signal.aborted) break;
      }
      if (signal.aborted) logger.info({}, 'compactor stopped');
    } finally {
      if (cleanupTimer) clearInterval(cleanupTimer);
      this.prober.notReady(new Error('shutting down'));
      await this.cleaning.catch(() => undefined);
      await this.http.stop();
      await this.cfg.bkt.close();
    }
  }

  /**
   * One iteration (Thanos compactMainFn): compaction of every stream, two passes of
   * downsampling (the second makes 1h blocks of 5m blocks the first made), retention,
   * cleanup. A halted stream or a failed group does not stop the later steps.
   */
  async iteration(signal?: AbortSignal): Promise<IterationResult> {
    const { cfg, logger } = this;
    const errors: string[] = [];
    const t0 = Date.now();
    await rm(join(cfg.dataDir, 'compact'), { recursive: true, force: true });
    const pass = await this.bucketCompactor.compact(signal);
    for (const [g, e] of pass.errors) errors.push(`group ${g}: ${e.message}`);
    logger.info({ compactions: pass.compactions, halted: pass.halted.size, failed: pass.errors.size, durationMs: Date.now() - t0 }, 'compaction iterations done');

    // Blocks of halted streams are left as they are until the overlap is resolved.
    const frozen = (): Set<string> => {
      const out = new Set<string>();
      for (const g of groupBlocks(this.syncer.activeMetas().values())) if (pass.haltedKeys.has(g.key)) for (const m of g.metas) out.add(m.ulid);
      return out;
    };

    if (!cfg.downsamplingDisabled) {
      for (const n of [1, 2]) {
        signal?.throwIfAborted();
        await this.syncer.syncMetas();
        const exclude = frozen();
        for (const id of this.syncer.noDownsample.marks.keys()) exclude.add(id);
        try {
          const made = await downsampleBucket(this.syncer.activeMetas().values(), {
            bkt: this.bkt,
            logger,
            metrics: this.metrics,
            dir: join(cfg.dataDir, 'downsample'),
            concurrency: cfg.downsampleConcurrency,
            hashFunc: cfg.hashFunc,
            exclude,
            signal,
          });
          logger.info({ pass: n, created: made.length }, 'downsampling pass done');
        } catch (err) {
          signal?.throwIfAborted();
          errors.push((err as Error).message);
        }
      }
    } else {
      logger.info({}, 'downsampling was explicitly disabled');
    }

    signal?.throwIfAborted();
    await this.syncer.syncMetas();
    const marked = await applyRetention(this.bkt, this.syncer.activeMetas().values(), cfg.retention, { logger, metrics: this.metrics, signal });
    this.metrics.todoDeletionBlocks.set(0);
    if (marked.length > 0) logger.info({ blocks: marked.length }, 'retention applied');

    signal?.throwIfAborted();
    const c = await this.cleanup(signal);
    if (c.failures > 0) errors.push(`cleanup: ${c.failures} block(s) could not be deleted`);
    return { halted: pass.halted, errors };
  }

  /** Deletes blocks marked more than --delete-delay ago and aborted partial uploads. */
  cleanup(signal?: AbortSignal): Promise<{ deleted: string[]; partial: string[]; failures: number }> {
    const run = this.cleaning.catch(() => undefined).then(async () => {
      this.metrics.cleanupLoops.inc();
      const r = await cleanBucket({
        bkt: this.bkt,
        logger: this.logger,
        metrics: this.metrics,
        deleteDelayMs: this.cfg.deleteDelayMs,
        consistencyDelayMs: this.cfg.consistencyDelayMs,
        concurrency: this.cfg.metaFetchConcurrency,
        signal,
      });
      if (r.deleted.length + r.partial.length > 0) this.logger.info({ deleted: r.deleted.length, partialUploads: r.partial.length }, 'cleaned bucket');
      return r;
    });
    this.cleaning = run;
    return run;
  }
}

function iterationError(res: IterationResult): string {
  const parts: string[] = [];
  for (const [g, why] of res.halted) parts.push(`stream ${g} halted: ${why}`);
  parts.push(...res.errors);
  return `compaction left work undone: ${parts.join('; ')}`;
}

/** Waits ms, or less if the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
