// The shipper (Thanos pkg/shipper): uploads each persisted TSDB block in a local
// directory that has not been uploaded yet, oldest first, and records progress in
// thanos.shipper.json so a restart neither skips nor repeats a block. Used by the
// sidecar (beside Prometheus), and later by receive and rule for their own TSDBs.

import { link, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { isValidUlid, META_FILENAME, readBlockMeta, writeBlockMeta } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { writeFileAtomic } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { uploadBlock, CHUNKS_DIRNAME, INDEX_FILENAME } from './upload.js';
import type { HashFunc } from './upload.js';

export const SHIPPER_META_FILENAME = 'thanos.shipper.json';

export interface ShipperMeta {
  version: 1;
  uploaded: string[];
}

export interface ShipperOptions {
  /** The TSDB directory holding <ULID>/ block directories. */
  dir: string;
  bucket: Bucket;
  logger: Logger;
  /** External labels added to every uploaded block's thanos.labels. */
  labels: () => Record<string, string>;
  /** thanos.source of uploaded blocks: sidecar, receive, ruler. */
  source: string;
  /** Also upload blocks of compaction level > 1 (--shipper.upload-compacted). */
  uploadCompacted?: boolean;
  metaFileName?: string;
  hashFunc?: HashFunc;
  registry?: Registry;
}

/** Reads thanos.shipper.json; throws on a missing or malformed file. */
export async function readShipperMeta(path: string): Promise<ShipperMeta> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as Partial<ShipperMeta>;
  if (raw.version !== 1) throw new Error(`${path}: unexpected shipper meta version ${raw.version}`);
  if (!Array.isArray(raw.uploaded) || !raw.uploaded.every((u) => typeof u === 'string')) {
    throw new Error(`${path}: "uploaded" is not a list of block IDs`);
  }
  return { version: 1, uploaded: raw.uploaded };
}

/** Writes thanos.shipper.json atomically (tmp file, fsync, rename). */
export async function writeShipperMeta(path: string, meta: ShipperMeta): Promise<void> {
  await writeFileAtomic(path, JSON.stringify({ version: 1, uploaded: meta.uploaded }, null, '\t') + '\n');
}

export class Shipper {
  private readonly metaPath: string;
  private running: Promise<number> | null = null;
  private readonly metrics: {
    dirSyncs: Counter;
    dirSyncFailures: Counter;
    uploads: Counter;
    uploadFailures: Counter;
    uploadedCompacted: Gauge;
  };

  constructor(private readonly opts: ShipperOptions) {
    this.metaPath = join(opts.dir, opts.metaFileName ?? SHIPPER_META_FILENAME);
    const registers = opts.registry ? [opts.registry] : [];
    this.metrics = {
      dirSyncs: new Counter({ name: 'thanos_shipper_dir_syncs_total', help: 'Total number of dir syncs', registers }),
      dirSyncFailures: new Counter({ name: 'thanos_shipper_dir_sync_failures_total', help: 'Total number of failed dir syncs', registers }),
      uploads: new Counter({ name: 'thanos_shipper_uploads_total', help: 'Total number of uploaded blocks', registers }),
      uploadFailures: new Counter({ name: 'thanos_shipper_upload_failures_total', help: 'Total number of block upload failures', registers }),
      uploadedCompacted: new Gauge({
        name: 'thanos_shipper_upload_compacted_done',
        help: 'If 1 it means shipper uploaded all compacted blocks from the filesystem.',
        registers,
      }),
    };
  }

  /** Uploads what is missing; concurrent calls share one run. Returns the number uploaded. */
  sync(): Promise<number> {
    this.running ??= this.doSync().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async doSync(): Promise<number> {
    const { logger, bucket } = this.opts;
    let meta: ShipperMeta;
    try {
      meta = await readShipperMeta(this.metaPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') logger.info({}, 'no meta file found, creating empty meta data to write later');
      else logger.error({ err }, 'failed to read meta file, creating empty meta data to write later');
      meta = { version: 1, uploaded: [] };
    }
    const had = new Set(meta.uploaded);
    // Rebuilt with the blocks that still exist locally, so the file does not grow forever.
    const uploaded: string[] = [];
    let count = 0;
    let failures = 0;
    try {
      for (const m of await this.blockMetasFromOldest()) {
        if (had.has(m.ulid)) {
          uploaded.push(m.ulid);
          continue;
        }
        if ((m.stats.numSamples ?? 0) === 0) {
          logger.debug({ block: m.ulid }, 'ignoring empty block');
          continue;
        }
        if (m.compaction.level > 1 && !this.opts.uploadCompacted) continue;
        if (await bucket.exists(`${m.ulid}/${META_FILENAME}`)) {
          uploaded.push(m.ulid);
          continue;
        }
        try {
          await this.upload(m);
        } catch (err) {
          // Keep going: the other blocks still ship; this one is retried on the next sync.
          logger.error({ block: m.ulid, err }, 'shipping failed');
          failures++;
          continue;
        }
        uploaded.push(m.ulid);
        count++;
        this.metrics.uploads.inc();
        logger.info({ block: m.ulid, minTime: m.minTime, maxTime: m.maxTime }, 'upload new block');
      }
    } catch (err) {
      this.metrics.dirSyncFailures.inc();
      throw err;
    } finally {
      await writeShipperMeta(this.metaPath, { version: 1, uploaded }).catch((err: unknown) =>
        logger.warn({ err }, 'updating meta file failed'),
      );
    }
    this.metrics.dirSyncs.inc();
    this.metrics.uploadedCompacted.set(this.opts.uploadCompacted ? 1 : 0);
    if (failures > 0) {
      this.metrics.uploadFailures.inc(failures);
      throw new Error(`failed to sync ${failures} block(s)`);
    }
    return count;
  }

  /**
   * Of the blocks local retention would delete, those that may go: the ones this shipper
   * uploaded, and empty ones it never uploads (Thanos receive's blocksToDeleteFn), so an
   * unshipped block outliving the retention is kept, never lost.
   */
  async deletable(candidates: readonly BlockMeta[]): Promise<string[]> {
    const uploaded = new Set((await readShipperMeta(this.metaPath).catch(() => ({ uploaded: [] as string[] }))).uploaded);
    return candidates.filter((m) => uploaded.has(m.ulid) || (m.stats.numSamples ?? 0) === 0).map((m) => m.ulid);
  }

  /** Persisted block directories with a readable meta.json, oldest first. */
  private async blockMetasFromOldest(): Promise<BlockMeta[]> {
    const metas: BlockMeta[] = [];
    for (const name of await readdir(this.opts.dir)) {
      if (!isValidUlid(name)) continue; // skips *.tmp dirs, wal/, chunks_head/
      try {
        metas.push(await readBlockMeta(join(this.opts.dir, name)));
      } catch (err) {
        // Prometheus may be writing or deleting it right now; the next sync sees it settled.
        this.opts.logger.debug({ block: name, err }, 'skipping block without a readable meta.json');
      }
    }
    return metas.sort((a, b) => a.minTime - b.minTime);
  }

  /**
   * Stages the block by hard links in <dir>/thanos/upload/<ULID> (so Prometheus may
   * compact or delete the original meanwhile), adds the Thanos section to its meta.json
   * and uploads it.
   */
  private async upload(m: BlockMeta): Promise<void> {
    const stage = join(this.opts.dir, 'thanos', 'upload', m.ulid);
    await rm(stage, { recursive: true, force: true });
    await mkdir(join(stage, CHUNKS_DIRNAME), { recursive: true });
    try {
      const src = join(this.opts.dir, m.ulid);
      const segments = (await readdir(join(src, CHUNKS_DIRNAME))).filter((f) => /^\d{6}$/.test(f)).sort();
      for (const f of segments) await link(join(src, CHUNKS_DIRNAME, f), join(stage, CHUNKS_DIRNAME, f));
      await link(join(src, INDEX_FILENAME), join(stage, INDEX_FILENAME));
      m.thanos.labels = this.opts.labels();
      m.thanos.source = this.opts.source;
      m.thanos.segment_files = segments;
      await writeBlockMeta(stage, m);
      await uploadBlock(this.opts.bucket, stage, { hashFunc: this.opts.hashFunc });
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }
}
