// `tools bucket inspect`: a sortable table of every block, as Thanos prints it.
// Blocks whose meta.json is corrupted are left out of the table with a warning each
// (see bucket-ls.ts); the command still exits 0, as Thanos's inspect continues.

import type { Bucket } from '@thanos-ts/objstore';
import { MetaFetcher } from '@thanos-ts/block';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { formatGoDuration, formatRFC3339, UserError } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { formatCount, renderTable } from './table.js';
import type { TableFormat } from './table.js';
import { formatBlockLabels, warnCorrupted } from './bucket-ls.js';

export const INSPECT_COLUMNS = [
  'ULID',
  'FROM',
  'UNTIL',
  'RANGE',
  'UNTIL-DOWN',
  '#SERIES',
  '#SAMPLES',
  '#CHUNKS',
  'COMP-LEVEL',
  'COMP-FAILED',
  'LABELS',
  'RESOLUTION',
  'SOURCE',
];

export interface InspectOptions {
  selector: Record<string, string>;
  sortBy: string[];
  output: string;
  /** Where warnings about corrupted meta.json go; a logfmt logger on stderr by default. */
  logger?: Logger;
}

const RES_5M = 300_000;
const DOWNSAMPLE_RANGE_0 = 40 * 3600_000;
const DOWNSAMPLE_RANGE_1 = 10 * 24 * 3600_000;

export async function bucketInspect(bkt: Bucket, opts: InspectOptions): Promise<string> {
  if (!['table', 'tsv', 'csv'].includes(opts.output)) throw new UserError(`--output: unknown format "${opts.output}" (want table, tsv or csv)`);
  const sortIdx = opts.sortBy.map((c) => {
    const i = INSPECT_COLUMNS.indexOf(c);
    if (i < 0) throw new UserError(`--sort-by: column ${c} not found (want one of ${INSPECT_COLUMNS.join(', ')})`);
    return i;
  });
  const res = await new MetaFetcher(bkt).fetch();
  warnCorrupted(res.corrupted, opts.logger);
  const lines = [...res.metas.values()].filter((m) => matchesSelector(m, opts.selector)).map(inspectRow);
  // Thanos sorts the rendered strings column by column.
  lines.sort((a, b) => {
    for (const i of sortIdx) {
      if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    }
    return 0;
  });
  return renderTable({ header: INSPECT_COLUMNS, lines }, opts.output as TableFormat);
}

function matchesSelector(m: BlockMeta, sel: Record<string, string>): boolean {
  const labels = m.thanos.labels ?? {};
  return Object.entries(sel).every(([k, v]) => k in labels && labels[k] === v);
}

function untilDown(m: BlockMeta): string {
  const range = m.maxTime - m.minTime;
  switch (m.thanos.downsample.resolution) {
    case 0:
      return formatGoDuration(DOWNSAMPLE_RANGE_0 - range);
    case RES_5M:
      return formatGoDuration(DOWNSAMPLE_RANGE_1 - range);
    default:
      return '-';
  }
}

function inspectRow(m: BlockMeta): string[] {
  return [
    m.ulid,
    formatRFC3339(m.minTime),
    formatRFC3339(m.maxTime),
    formatGoDuration(m.maxTime - m.minTime),
    untilDown(m),
    formatCount(m.stats.numSeries),
    formatCount(m.stats.numSamples),
    formatCount(m.stats.numChunks),
    formatCount(m.compaction.level),
    String(m.compaction.failed ?? false),
    formatBlockLabels(m),
    formatGoDuration(m.thanos.downsample.resolution),
    m.thanos.source,
  ];
}

