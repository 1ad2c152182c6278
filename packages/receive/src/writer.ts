// The ingestor's write path (Thanos pkg/receive/writer.go and writer_errors.go): the
// series of one request, for one tenant, are validated and appended with one appender
// and committed once; a 200 therefore means every accepted sample is in the WAL.
//
// Refused series and samples do not fail the others: they are counted by kind and the
// counts come back as errors with Thanos's texts ("add 3 samples: out of order sample"),
// which the handler answers with 409 Conflict, as Thanos does.

import type { Logger } from '@thanos-ts/runtime';
import { compareStrings, DuplicateSampleForTimestampError, OutOfBoundsError, OutOfOrderSampleError, TooOldSampleError } from '@thanos-ts/tsdb';
import type { Appender, Label, Labels } from '@thanos-ts/tsdb';
import type { prometheus } from '@thanos-ts/storeapi';
import type { EncodedWriteRequest } from './encoded-write-request.js';

/** labelpb.ErrOutOfOrderLabels. */
export const ERR_OUT_OF_ORDER_LABELS = 'out of order labels';
/** labelpb.ErrDuplicateLabels. */
export const ERR_DUPLICATE_LABELS = 'label set contains duplicate label names';
/** labelpb.ErrEmptyLabels. */
export const ERR_EMPTY_LABELS = 'label set contains a label with empty name or value';

/** What a label set fails (Thanos labelpb.ValidateLabels), or null when it is fine. */
export function validateSeriesLabels(ls: readonly { name: string; value: string }[]): string | null {
  if (ls.length === 0) return ERR_EMPTY_LABELS;
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i];
    if (l.name === '' || l.value === '') return ERR_EMPTY_LABELS;
    if (i === 0) continue;
    const c = compareStrings(ls[i - 1].name, l.name);
    if (c === 0) return ERR_DUPLICATE_LABELS;
    if (c > 0) return ERR_OUT_OF_ORDER_LABELS;
  }
  return null;
}

/** A write refused in part: the kinds of what was dropped, with counts, and whether it is a conflict. */
export class WriteConflictError extends Error {
  override readonly name = 'WriteConflictError';
  constructor(readonly causes: readonly string[]) {
    // Thanos's errorSet text: sorted reasons, counted when more than one.
    const rs = [...new Set(causes)].sort();
    super((rs.length > 1 ? `${rs.length} errors: ` : '') + rs.join('; '));
  }
}

/** The appender of a tenant's DB (MultiTSDB opens it on first use). */
export interface TenantAppendable {
  appender(tenant: string): Promise<Appender>;
}

/** What one write did. */
export interface WriteStats {
  series: number;
  samples: number;
  /** Samples appended (and committed). */
  appended: number;
  /** Exemplars and native histograms dropped: this receiver stores float samples only. */
  exemplarsDropped: number;
  histogramsDropped: number;
}

/** Counts of what was refused, by Thanos's kinds (writeErrorTracker). */
class WriteErrorTracker {
  labelsOutOfOrder = 0;
  labelsDuplicates = 0;
  labelsEmpty = 0;
  samplesOutOfOrder = 0;
  samplesDuplicates = 0;
  samplesOutOfBounds = 0;
  samplesTooOld = 0;
  other: string[] = [];

  addLabelsError(err: string): void {
    if (err === ERR_OUT_OF_ORDER_LABELS) this.labelsOutOfOrder++;
    else if (err === ERR_DUPLICATE_LABELS) this.labelsDuplicates++;
    else this.labelsEmpty++;
  }

  /** Counts a refused sample; false when the error is not one a sample may get (then it fails the write). */
  addSampleError(err: unknown): boolean {
    if (err instanceof OutOfOrderSampleError) this.samplesOutOfOrder++;
    else if (err instanceof DuplicateSampleForTimestampError) this.samplesDuplicates++;
    else if (err instanceof OutOfBoundsError) this.samplesOutOfBounds++;
    else if (err instanceof TooOldSampleError) this.samplesTooOld++;
    else return false;
    return true;
  }

  empty(): boolean {
    return this.labelsOutOfOrder + this.labelsDuplicates + this.labelsEmpty + this.samplesOutOfOrder + this.samplesDuplicates + this.samplesOutOfBounds + this.samplesTooOld === 0;
  }

  collect(logger: Logger): string[] {
    const out: string[] = [];
    const add = (n: number, what: string, err: string, msg: string): void => {
      if (n === 0) return;
      logger.warn({ numDropped: n }, msg);
      out.push(`add ${n} ${what}: ${err}`);
    };
    add(this.labelsOutOfOrder, 'series', ERR_OUT_OF_ORDER_LABELS, 'Error on series with out-of-order labels');
    add(this.labelsDuplicates, 'series', ERR_DUPLICATE_LABELS, 'Error on series with duplicate labels');
    add(this.labelsEmpty, 'series', ERR_EMPTY_LABELS, 'Error on series with empty label name or value');
    add(this.samplesOutOfOrder, 'samples', 'out of order sample', 'Error on ingesting out-of-order samples');
    add(this.samplesDuplicates, 'samples', 'duplicate sample for timestamp', 'Error on ingesting samples with different value but same timestamp');
    add(this.samplesOutOfBounds, 'samples', 'out of bounds', 'Error on ingesting samples that are too old or are too far into the future');
    add(this.samplesTooOld, 'samples', 'too old sample', 'Error on ingesting samples that are outside of the allowed out-of-order time window');
    return out;
  }
}

export interface WriterOptions {
  /** --tsdb.too-far-in-future.time-window (ms); 0 = no limit. */
  tooFarInFutureMs?: number;
  /** Told of exemplars and native histograms dropped (not stored by this receiver). */
  onDropped?: (tenant: string, n: number) => void;
}

export class Writer {
  constructor(
    private readonly db: TenantAppendable,
    private readonly logger: Logger,
    private readonly opts: WriterOptions = {},
  ) {}

  /**
   * Appends every valid series of `timeseries` to the tenant's DB in one commit.
   * @throws WriteConflictError after committing what was accepted, when some series or
   *   samples were refused; any other error (the WAL write failing) after rolling back
   */
  async write(tenant: string, timeseries: readonly prometheus.TimeSeries.$Properties[]): Promise<WriteStats> {
    const app = await this.db.appender(tenant);
    const errs = new WriteErrorTracker();
    const window = this.opts.tooFarInFutureMs ?? 0;
    const tooFar = window > 0 ? Date.now() + window : 0;
    const stats: WriteStats = { series: timeseries.length, samples: 0, appended: 0, exemplarsDropped: 0, histogramsDropped: 0 };
    try {
      for (const ts of timeseries) {
        const samples = ts.samples ?? [];
        stats.samples += samples.length;
        stats.exemplarsDropped += ts.exemplars?.length ?? 0;
        stats.histogramsDropped += ts.histograms?.length ?? 0;
        const raw = ts.labels ?? [];
        const bad = validateSeriesLabels(raw as { name: string; value: string }[]);
        if (bad !== null) {
          errs.addLabelsError(bad);
          continue;
        }
        // Copied: the decoded request is dropped after the write, the head keeps its labels.
        const lset: Labels = raw.map((l): Label => ({ name: l.name as string, value: l.value as string }));
        let ref = 0;
        for (const s of samples) {
          const t = Number(s.timestamp ?? 0);
          try {
            // Thanos ReceiveAppender: now + window < t is out of bounds (client clock skew).
            if (tooFar !== 0 && t > tooFar) throw new OutOfBoundsError(t, tooFar);
            ref = app.append(ref, lset, t, s.value ?? 0);
            stats.appended++;
          } catch (err) {
            if (!errs.addSampleError(err)) throw err;
          }
        }
      }
      await app.commit();
    } catch (err) {
      await app.rollback().catch(() => undefined);
      throw err;
    }
    return this.finish(tenant, stats, errs);
  }

  /**
   * write() for series still encoded (the fast path): the series `ids` of `req` (all of
   * them when null). A series the head holds is found by its label hash and a byte
   * comparison and appended by ref; only a new one has its labels decoded and checked.
   */
  async writeEncoded(tenant: string, req: EncodedWriteRequest, ids: ArrayLike<number> | null = null): Promise<WriteStats> {
    const app = await this.db.appender(tenant);
    const errs = new WriteErrorTracker();
    const window = this.opts.tooFarInFutureMs ?? 0;
    const tooFar = window > 0 ? Date.now() + window : 0;
    const n = ids === null ? req.n : ids.length;
    const stats: WriteStats = { series: n, samples: 0, appended: 0, exemplarsDropped: 0, histogramsDropped: 0 };
    // One comparator per request: it reads the series being looked up from `cur`.
    let cur = 0;
    const same = (ls: Labels): boolean => req.labelsEqual(cur, ls);
    const ts = req.ts;
    const vs = req.vs;
    try {
      for (let k = 0; k < n; k++) {
        const i = ids === null ? k : ids[k];
        const first = req.firstSample[i];
        const last = req.firstSample[i + 1];
        stats.samples += last - first;
        cur = i;
        let ref = app.getRefByHash !== undefined ? app.getRefByHash(req.hash[i], same) : 0;
        let lset: Labels = NO_LABELS;
        if (ref === 0) {
          // A new series (or a storage without lookups by hash): decode and check its labels.
          const ls = req.labels(i);
          const bad = validateSeriesLabels(ls);
          if (bad !== null) {
            errs.addLabelsError(bad);
            continue;
          }
          lset = ls;
        }
        for (let j = first; j < last; j++) {
          const t = ts[j];
          try {
            if (tooFar !== 0 && t > tooFar) throw new OutOfBoundsError(t, tooFar);
            ref = app.append(ref, lset, t, vs[j]);
            stats.appended++;
          } catch (err) {
            if (!errs.addSampleError(err)) throw err;
          }
        }
      }
      await app.commit();
    } catch (err) {
      await app.rollback().catch(() => undefined);
      throw err;
    }
    return this.finish(tenant, stats, errs);
  }

  private finish(tenant: string, stats: WriteStats, errs: WriteErrorTracker): WriteStats {
    const dropped = stats.exemplarsDropped + stats.histogramsDropped;
    if (dropped > 0) this.opts.onDropped?.(tenant, dropped);
    // The tenant's logger only when there is something to say.
    const causes = errs.empty() ? [] : errs.collect(this.logger.child({ tenant }));
    if (causes.length > 0) throw new WriteConflictError(causes);
    return stats;
  }
}

/** Passed with a known ref: the appender finds the series by it. */
const NO_LABELS: Labels = Object.freeze([]) as Labels;
