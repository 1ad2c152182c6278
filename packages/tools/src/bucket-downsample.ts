// `tools bucket downsample`: the compactor's downsampling run alone (Thanos tools
// bucket downsample), raw blocks of 40h+ to 5m, 5m blocks of 10d+ to 1h.

import type { HashFunc } from '@thanos-ts/block';
import { downsampleBucket, GatherNoDownsampleMarkFilter } from '@thanos-ts/block';
import type { Bucket } from '@thanos-ts/objstore';
import type { Logger } from '@thanos-ts/runtime';
import { activeMetas } from './bucket-cleanup.js';

export interface DownsampleOptions {
  dataDir: string;
  concurrency: number;
  hashFunc?: HashFunc;
  consistencyDelayMs: number;
  logger: Logger;
}

/** Downsamples what the compactor would (two passes: 5m, then 1h of new 5m blocks); returns the new blocks. */
export async function bucketDownsample(bkt: Bucket, opts: DownsampleOptions): Promise<string[]> {
  const created: string[] = [];
  for (let pass = 0; pass < 2; pass++) {
    const noDownsample = new GatherNoDownsampleMarkFilter();
    const metas = await activeMetas(bkt, opts.consistencyDelayMs, [noDownsample]);
    const made = await downsampleBucket(metas, {
      bkt,
      logger: opts.logger,
      dir: opts.dataDir,
      concurrency: opts.concurrency,
      hashFunc: opts.hashFunc,
      exclude: new Set(noDownsample.marks.keys()),
    });
    created.push(...made);
    if (made.length === 0) break;
  }
  return created;
}
