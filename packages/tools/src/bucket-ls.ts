// `tools bucket ls`: the blocks in a bucket, one per line.
//
// A block whose meta.json does not parse is left out of the listing with a warning
// naming the block and the parse problem (Thanos's fetcher logs "corrupted meta.json"
// and goes on); the command still exits 0, as Thanos's does: listing is for reading,
// `tools bucket verify` is the one that fails on such blocks.

import type { Bucket } from '@thanos-ts/objstore';
import { IgnoreDeletionMarkFilter, MetaFetcher, timePartitionFilter } from '@thanos-ts/block';
import type { MetaFilter } from '@thanos-ts/block';
import { encodeBlockMetaCompact } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { createLogger, formatGoDuration, formatRFC3339, UserError } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { formatCount, renderTable } from './table.js';

export const LS_OUTPUTS = ['', 'table', 'json', 'wide'] as const;
export type LsOutput = (typeof LS_OUTPUTS)[number];

export interface LsOptions {
  output: string;
  excludeDelete?: boolean;
  minTime?: number;
  maxTime?: number;
  /** Where warnings about corrupted meta.json go; a logfmt logger on stderr by default. */
  logger?: Logger;
}

export const LS_COLUMNS = ['ULID', 'FROM', 'UNTIL', 'RANGE', 'LABELS', 'RESOLUTION', '#SERIES', '#SAMPLES', 'COMP-LEVEL', 'SOURCE'];

/** Lists block metas sorted by ULID and returns the text to print. */
export async function bucketLs(bkt: Bucket, opts: LsOptions): Promise<{ text: string; blocks: number }> {
  if (!(LS_OUTPUTS as readonly string[]).includes(opts.output)) {
    throw new UserError(`--output: unknown format "${opts.output}" (want table, json or wide)`);
  }
  const filters: MetaFilter[] = [timePartitionFilter(opts.minTime ?? -8.64e15, opts.maxTime ?? 8.64e15)];
  if (opts.excludeDelete) filters.push(new IgnoreDeletionMarkFilter(0));
  const res = await new MetaFetcher(bkt, { filters }).fetch();
  warnCorrupted(res.corrupted, opts.logger);
  const metas = [...res.metas.values()].sort((a, b) => (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0));
  let text: string;
  switch (opts.output as LsOutput) {
    case '':
      text = metas.map((m) => `${m.ulid}\n`).join('');
      break;
    case 'json':
      // One meta.json per line (JSON lines), so the output pipes into jq and friends.
      text = metas.map((m) => encodeBlockMetaCompact(m) + '\n').join('');
      break;
    case 'wide':
      text = metas.map((m) => wideLine(m) + '\n').join('');
      break;
    case 'table':
      text = renderTable({ header: LS_COLUMNS, lines: metas.map(lsRow) }, 'table');
      break;
  }
  return { text, blocks: metas.length };
}

/**
 * Logs one warning per block whose meta.json could not be parsed, in ULID order, so a
 * listing never silently drops blocks.
 */
export function warnCorrupted(corrupted: ReadonlyMap<string, Error>, logger: Logger = createLogger()): void {
  for (const id of [...corrupted.keys()].sort()) {
    logger.warn({ block: id, err: corrupted.get(id)!.message }, 'corrupted meta.json, block left out');
  }
}

export function formatBlockLabels(m: BlockMeta): string {
  const labels = m.thanos.labels ?? {};
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function lsRow(m: BlockMeta): string[] {
  return [
    m.ulid,
    formatRFC3339(m.minTime),
    formatRFC3339(m.maxTime),
    formatGoDuration(m.maxTime - m.minTime),
    formatBlockLabels(m),
    formatGoDuration(m.thanos.downsample.resolution),
    formatCount(m.stats.numSeries),
    formatCount(m.stats.numSamples),
    String(m.compaction.level),
    m.thanos.source,
  ];
}

/** Thanos' wide line, extended with the block's size and external labels. */
function wideLine(m: BlockMeta): string {
  const from = Math.floor(m.minTime / 1000) * 1000;
  const until = Math.floor(m.maxTime / 1000) * 1000;
  return (
    `${m.ulid} -- ${formatRFC3339(from)} - ${formatRFC3339(until)} Diff: ${formatGoDuration(until - from)}, ` +
    `Compaction: ${m.compaction.level}, Downsample: ${m.thanos.downsample.resolution}, Source: ${m.thanos.source}, ` +
    `Series: ${m.stats.numSeries ?? 0}, Samples: ${m.stats.numSamples ?? 0}, Labels: {${formatBlockLabels(m)}}`
  );
}
