// `tools bucket retention`: the compactor's retention run alone (Thanos tools bucket
// retention): blocks past their resolution's retention are marked for deletion.

import { applyRetention } from '@thanos-ts/block';
import type { RetentionByResolution } from '@thanos-ts/block';
import type { Bucket } from '@thanos-ts/objstore';
import type { Logger } from '@thanos-ts/runtime';
import { activeMetas } from './bucket-cleanup.js';

export interface RetentionOptions {
  retention: RetentionByResolution;
  consistencyDelayMs: number;
  logger: Logger;
}

/** Marks for deletion every block past its resolution's retention; returns them. */
export async function bucketRetention(bkt: Bucket, opts: RetentionOptions): Promise<string[]> {
  return applyRetention(bkt, await activeMetas(bkt, opts.consistencyDelayMs), opts.retention, { logger: opts.logger });
}
