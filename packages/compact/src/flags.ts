// The compactor's flags as Thanos spells them (cmd/thanos/compact.go) and their
// translation into a CompactConfig. The CLI registers COMPACT_FLAGS plus the objstore
// flags and hands the values to compactConfigFromFlags.

import type { Bucket } from '@thanos-ts/objstore';
import { FlagValues, HTTP_CONFIG_FLAGS, httpConfigFileFromFlags, pathOrContent, UserError } from '@thanos-ts/runtime';
import type { FlagSpec, Logger } from '@thanos-ts/runtime';
import { DownsampleRange } from '@thanos-ts/tsdb';
import type { CompactConfig } from './compact.js';
import { DEFAULT_COMPACTION_RANGES, relabelBlockFilter } from '@thanos-ts/block';
import type { HashFunc } from '@thanos-ts/block';

export const COMPACT_FLAGS: readonly FlagSpec[] = [
  { name: 'http-address', kind: 'string', default: '0.0.0.0:10902', placeholder: '<host:port>', help: 'Listen host:port for HTTP endpoints.' },
  ...HTTP_CONFIG_FLAGS,
  { name: 'http-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Time to wait after an interrupt received for HTTP Server.' },
  { name: 'data-dir', kind: 'string', default: './data', placeholder: '<dir>', help: 'Data directory in which to cache blocks and process compactions.' },
  { name: 'consistency-delay', kind: 'string', default: '30m', placeholder: '<duration>', help: 'Minimum age of fresh (non-compacted) blocks before they are being processed. Partial uploads (blocks without meta.json) older than this are removed.' },
  { name: 'retention.resolution-raw', kind: 'string', default: '0d', placeholder: '<duration>', help: 'How long to retain raw samples in bucket. Setting this to 0d will retain samples of this resolution forever' },
  { name: 'retention.resolution-5m', kind: 'string', default: '0d', placeholder: '<duration>', help: 'How long to retain samples of resolution 1 (5 minutes) in bucket. Setting this to 0d will retain samples of this resolution forever' },
  { name: 'retention.resolution-1h', kind: 'string', default: '0d', placeholder: '<duration>', help: 'How long to retain samples of resolution 2 (1 hour) in bucket. Setting this to 0d will retain samples of this resolution forever' },
  { name: 'wait', kind: 'bool', default: false, help: 'Do not exit after all compactions have been processed and wait for new work (also -w, --wait=true|false).' },
  { name: 'wait-interval', kind: 'string', default: '5m', placeholder: '<duration>', help: 'Wait interval between consecutive compaction runs and bucket refreshes. Only works when --wait flag specified.' },
  { name: 'downsampling.disable', kind: 'bool', default: false, help: 'Disables downsampling. This is not recommended as querying long time ranges without non-downsampled data is not efficient and useful e.g it is not possible to render all samples for a human eye anyway' },
  { name: 'block-meta-fetch-concurrency', kind: 'string', default: '32', placeholder: '<n>', help: 'Number of goroutines to use when fetching block metadata from object storage.' },
  { name: 'block-files-concurrency', kind: 'string', default: '1', placeholder: '<n>', help: 'Number of goroutines to use when fetching/uploading block files from object storage (thanos-ts: accepted; files of one block are transferred one at a time).' },
  { name: 'compact.cleanup-interval', kind: 'string', default: '5m', placeholder: '<duration>', help: 'How often we should clean up partially uploaded blocks and blocks with deletion mark in the background when --wait has been enabled. Setting it to "0s" disables it - the cleaning will only happen at the end of an iteration.' },
  { name: 'compact.progress-interval', kind: 'string', default: '5m', placeholder: '<duration>', help: 'Accepted for compatibility with Thanos: thanos-ts updates the progress metrics (thanos_compact_todo_*) on every sync.' },
  { name: 'compact.concurrency', kind: 'string', default: '1', placeholder: '<n>', help: 'Number of goroutines to use when compacting groups.' },
  { name: 'compact.blocks-fetch-concurrency', kind: 'string', default: '1', placeholder: '<n>', help: 'Number of goroutines to use when download block during compaction (thanos-ts: accepted; blocks are downloaded one at a time).' },
  { name: 'downsample.concurrency', kind: 'string', default: '1', placeholder: '<n>', help: 'Number of goroutines to use when downsampling blocks.' },
  { name: 'delete-delay', kind: 'string', default: '48h', placeholder: '<duration>', help: 'Time before a block marked for deletion is deleted from bucket. If delete-delay is 0, blocks are deleted at the end of the iteration that marked them. Note that deleting blocks immediately can cause query failures, if store gateway still has the block loaded.' },
  { name: 'compact.enable-vertical-compaction', kind: 'bool', default: false, help: 'Experimental. When set to true, compactor will allow overlaps and perform **irreversible** vertical compaction. By default this uses a one-to-one merge of samples; for Prometheus replicas set --deduplication.func=penalty. This flag is ignored (enabled) when --deduplication.replica-label is set.' },
  { name: 'deduplication.func', kind: 'string', default: '', placeholder: '<func>', help: 'Experimental. Deduplication algorithm for merging overlapping blocks. Possible values are: "", "penalty". If no value is specified, the default compact deduplication merger is used, which performs 1:1 deduplication for samples. When set to penalty, penalty based deduplication algorithm will be used. At least one replica label has to be set via --deduplication.replica-label flag.' },
  { name: 'deduplication.replica-label', kind: 'strings', placeholder: '<label>', help: 'Experimental. Label to treat as a replica indicator of blocks that can be deduplicated (repeated flag). This will merge multiple replica blocks into one. This process is irreversible. Flag may be specified multiple times as well as a comma separated list of labels.' },
  { name: 'compact.block-max-index-size', kind: 'string', default: '64GB', placeholder: '<size>', help: 'Maximum index size for the resulted block during any compaction. Note that total size is approximated in worst case. If the block that would be resulted from compaction is estimated to exceed this number, biggest source block is marked for no compaction (no-compact-mark.json is uploaded) which causes this block to be excluded from any compaction.' },
  { name: 'compact.skip-block-with-out-of-order-chunks', kind: 'bool', default: true, help: 'When set to true, mark blocks containing index with out-of-order chunks for no compact instead of halting the compaction (thanos-ts: true by default, so one bad block never stops its stream).' },
  { name: 'hash-func', kind: 'string', default: '', placeholder: '<func>', help: 'Specify which hash function to use when calculating the hashes of produced files. If no function has been specified, it does not happen. Possible values are: "", "SHA256".' },
  { name: 'min-time', kind: 'string', default: '0000-01-01T00:00:00Z', placeholder: '<time>', help: 'Start of time range limit to compact. Thanos Compactor will compact only blocks, which happened later than this value. Option can be a constant time in RFC3339 format or time duration relative to current time, such as -1d or 2h45m. Valid duration units are ms, s, m, h, d, w, y.' },
  { name: 'max-time', kind: 'string', default: '9999-12-31T23:59:59Z', placeholder: '<time>', help: 'End of time range limit to compact. Thanos Compactor will compact only blocks, which happened earlier than this value. Option can be a constant time in RFC3339 format or time duration relative to current time, such as -1d or 2h45m. Valid duration units are ms, s, m, h, d, w, y.' },
  { name: 'selector.relabel-config-file', kind: 'string', placeholder: '<file-path>', help: 'Path to YAML file with relabeling configuration that allows selecting blocks. It follows native Prometheus relabel-config syntax. See format details: https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config' },
  { name: 'selector.relabel-config', kind: 'string', placeholder: '<content>', help: "Alternative to 'selector.relabel-config-file' flag (mutually exclusive). Content of YAML file with relabeling configuration that allows selecting blocks." },
  { name: 'web.disable', kind: 'bool', default: false, help: 'Disable Block Viewer UI.' },
  { name: 'web.route-prefix', kind: 'string', default: '', placeholder: '<prefix>', help: 'Prefix for API and UI endpoints.' },
  { name: 'bucket-web-label', kind: 'string', default: '', placeholder: '<label>', help: 'External block label to use as group title in the bucket web UI' },
  { name: 'debug.halt-on-error', kind: 'bool', default: true, hidden: true, help: 'Halt the stream on a critical compaction error (the other streams go on and the process keeps running). With --no-debug.halt-on-error the process exits with an error after the iteration instead.' },
  { name: 'debug.max-compaction-level', kind: 'string', default: '4', placeholder: '<n>', hidden: true, help: 'Maximum compaction level, default is 4: 1h, 2h, 8h, 2d, 14d' },
];

/** --deduplication.replica-label values: repeated and/or comma separated. */
function replicaLabels(f: FlagValues): string[] {
  const out: string[] = [];
  for (const v of f.strs('deduplication.replica-label')) for (const l of v.split(',')) if (l.trim() !== '' && !out.includes(l.trim())) out.push(l.trim());
  return out;
}

/** The CompactConfig for parsed flag values (the bucket is opened by the caller). */
export function compactConfigFromFlags(values: Record<string, unknown>, bkt: Bucket, logger: Logger): CompactConfig {
  const f = new FlagValues(values, COMPACT_FLAGS);
  const minTime = f.time('min-time');
  const maxTime = f.time('max-time');
  if (minTime > maxTime) throw new UserError(`invalid argument: --min-time '${f.str('min-time')}' can't be greater than --max-time '${f.str('max-time')}'`);
  const labels = replicaLabels(f);
  const dedupFunc = f.str('deduplication.func');
  if (dedupFunc !== '' && dedupFunc !== 'penalty') throw new UserError(`--deduplication.func: unsupported deduplication func "${dedupFunc}" (want "" or "penalty")`);
  if (dedupFunc === 'penalty' && labels.length === 0) throw new UserError('--deduplication.func=penalty: penalty based deduplication needs at least one replica label specified (--deduplication.replica-label)');
  const hashFunc = f.str('hash-func');
  if (hashFunc !== '' && hashFunc !== 'SHA256') throw new UserError(`--hash-func: unsupported hash function "${hashFunc}" (want "" or "SHA256")`);
  const downsamplingDisabled = f.bool('downsampling.disable');
  const retention = { raw: f.duration('retention.resolution-raw'), fiveMinutes: f.duration('retention.resolution-5m'), oneHour: f.duration('retention.resolution-1h') };
  if (retention.raw !== 0 && !downsamplingDisabled && retention.raw < DownsampleRange.L1) {
    throw new UserError('--retention.resolution-raw: raw resolution must be higher than the minimum block size after which 5m resolution downsampling will occur (40 hours)');
  }
  if (retention.fiveMinutes !== 0 && !downsamplingDisabled && retention.fiveMinutes < DownsampleRange.L2) {
    throw new UserError('--retention.resolution-5m: 5m resolution retention must be higher than the minimum block size after which 1h resolution downsampling will occur (10 days)');
  }
  const maxLevel = f.int('debug.max-compaction-level');
  if (maxLevel < 1 || maxLevel > DEFAULT_COMPACTION_RANGES.length - 1) throw new UserError(`--debug.max-compaction-level: must be between 1 and ${DEFAULT_COMPACTION_RANGES.length - 1}`);
  const routePrefix = f.str('web.route-prefix');
  return {
    bkt,
    logger,
    httpAddress: f.str('http-address'),
    httpConfigFile: httpConfigFileFromFlags(f),
    webRoutePrefix: routePrefix === '/' ? '' : routePrefix.replace(/\/+$/, ''),
    webDisable: f.bool('web.disable'),
    dataDir: f.str('data-dir'),
    wait: f.bool('wait'),
    waitIntervalMs: f.duration('wait-interval'),
    retention,
    downsamplingDisabled,
    consistencyDelayMs: f.duration('consistency-delay'),
    deleteDelayMs: f.duration('delete-delay'),
    cleanupIntervalMs: f.duration('compact.cleanup-interval'),
    compactConcurrency: Math.max(1, f.int('compact.concurrency')),
    downsampleConcurrency: Math.max(1, f.int('downsample.concurrency')),
    metaFetchConcurrency: Math.max(1, f.int('block-meta-fetch-concurrency')),
    verticalCompaction: f.bool('compact.enable-vertical-compaction') || labels.length > 0,
    replicaLabels: labels,
    dedupFunc,
    relabelFilter: relabelBlockFilter(pathOrContent(f, 'selector.relabel-config')),
    minTime,
    maxTime,
    maxIndexSizeBytes: f.bytes('compact.block-max-index-size'),
    hashFunc: hashFunc as HashFunc,
    haltOnError: f.bool('debug.halt-on-error'),
    skipOutOfOrderChunks: f.bool('compact.skip-block-with-out-of-order-chunks'),
    ranges: DEFAULT_COMPACTION_RANGES.slice(0, maxLevel + 1),
    bucketWebLabel: f.str('bucket-web-label'),
  };
}
