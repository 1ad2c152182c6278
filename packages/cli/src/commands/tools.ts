import type { Command } from 'commander';
import {
  bucketBackfill,
  bucketCleanup,
  bucketDownsample,
  bucketInspect,
  bucketLs,
  bucketMark,
  bucketRepair,
  bucketRetention,
  bucketRewrite,
  bucketVerify,
  DEFAULT_VERIFY_ISSUES,
  INSPECT_COLUMNS,
  MARKERS,
  parseDeleteConfig,
  parseFlagLabels,
  rulesCheck,
} from '@thanos-ts/tools';
import { parseSelector } from '@thanos-ts/storeapi';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePromDuration, UserError } from '@thanos-ts/runtime';
import { addObjstoreFlags, bucketFromOptions, collect, loggerFor, markObjstoreRequired, markRequired, timeFlag } from './common.js';
import { registerToolsStore } from './tools-store.js';

export function registerTools(program: Command): void {
  const tools = program.command('tools').description('Tools utility commands');
  registerToolsStore(tools);

  tools
    .command('rules-check')
    .description('Check if the rule files are valid or not.')
    .requiredOption('--rules <glob>', 'The rule files glob to check (repeated).', collect)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const r = await rulesCheck({ patterns: opts.rules as string[], logger: loggerFor(cmd) });
      if (!r.ok) {
        const failed = r.files.filter((f) => f.errors.length > 0).length + r.unmatched.length;
        throw new UserError(`rules-check: ${failed} of ${r.files.length + r.unmatched.length} rule files or patterns failed`);
      }
    });
  const bucket = tools.command('bucket').description('Bucket utility commands');

  markObjstoreRequired(addObjstoreFlags(bucket.command('ls').description('List all blocks in the bucket.')))
    .option('-o, --output <format>', "Optional format in which to print each block's information. Options are 'table', 'json' or 'wide'.", '')
    .option('--exclude-delete', 'Exclude blocks marked for deletion.', false)
    .option('--min-time <time>', 'Start of time range limit to list blocks (RFC3339 or a duration relative to now such as -1d).', timeFlag('min-time'))
    .option('--max-time <time>', 'End of time range limit to list blocks (RFC3339 or a duration relative to now).', timeFlag('max-time'))
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
        const { text, blocks } = await bucketLs(bkt, {
          output: opts.output as string,
          excludeDelete: opts.excludeDelete as boolean,
          minTime: opts.minTime as number | undefined,
          maxTime: opts.maxTime as number | undefined,
          logger,
        });
        process.stdout.write(text);
        logger.info({ objects: blocks }, 'ls done');
      } finally {
        await bkt.close();
      }
    });

  markObjstoreRequired(addObjstoreFlags(bucket.command('inspect').description('Inspect all blocks in the bucket in detailed, table-like way.')))
    .option('-l, --selector <name=value>', 'Selects blocks based on label, e.g. \'-l key1="value1" -l key2="value2"\'. All key value pairs must match.', collect)
    .option('--sort-by <column>', `Sort by columns (repeatable): ${INSPECT_COLUMNS.join(', ')}.`, collect)
    .option('--output <format>', 'Output format for result. Currently supports table, csv, tsv.', 'table')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      const selector = parseFlagLabels((opts.selector as string[]) ?? [], '--selector');
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
        process.stdout.write(
          await bucketInspect(bkt, { selector, sortBy: (opts.sortBy as string[]) ?? ['FROM', 'UNTIL'], output: opts.output as string, logger }),
        );
      } finally {
        await bkt.close();
      }
    });

  markObjstoreRequired(
    addObjstoreFlags(
      bucket
        .command('verify')
        .description('Verify all blocks in the bucket against specified issues: index and chunk integrity, overlaps, duplicated compactions.'),
    ),
  )
    .option('-i, --issues <issue>', 'Issues to verify (repeatable): index_known_issues, overlapped_blocks, duplicated_compaction.', collect)
    .option('--id <ulid>', 'Block IDs to verify (and optionally repair) only (repeatable).', collect)
    .option('-r, --repair', 'Attempt to repair blocks for which issues were detected: overlapped_blocks are merged by vertical compaction into one block (the overlapping ones marked for deletion), duplicated_compaction duplicates are marked for deletion; index_known_issues are reported only.', false)
    .option('--deduplication.func <func>', 'thanos-ts: vertical merge used by --repair for overlaps: "" (one-to-one, the default) or "penalty".', '')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
        if (opts.repair) {
          const tmp = await mkdtemp(join(tmpdir(), 'thanos-ts-repair-'));
          try {
            const actions = await bucketRepair(bkt, {
              issues: (opts.issues as string[]) ?? DEFAULT_VERIFY_ISSUES,
              ids: opts.id as string[] | undefined,
              tmpDir: tmp,
              logger,
              dedupFunc: opts['deduplication.func'] as string,
            });
            for (const a of actions) process.stdout.write(`repaired ${a.issue}: marked ${a.marked.join(',')} for deletion${a.created ? `, created ${a.created}` : ''}\n`);
          } finally {
            await rm(tmp, { recursive: true, force: true });
          }
        }
        const problems = await bucketVerify(bkt, {
          issues: (opts.issues as string[]) ?? DEFAULT_VERIFY_ISSUES,
          ids: opts.id as string[] | undefined,
          logger,
        });
        for (const p of problems) process.stdout.write(`block ${p.block}: ${p.issue}: ${p.problem}\n`);
        if (problems.length > 0) {
          throw new UserError(`verify found ${problems.length} problem(s) in ${new Set(problems.map((p) => p.block)).size} block(s)`);
        }
        logger.info({}, 'verify done: no problems found');
      } finally {
        await bkt.close();
      }
    });

  markObjstoreRequired(addObjstoreFlags(bucket.command('mark').description('Mark block for deletion or no-compact in a safe way. NOTE: If the compactor is currently running compacting same block, this operation would be potentially a noop.')))
    .option('--id <ulid>', 'ID (ULID) of the blocks to be marked (repeated flag).', collect)
    .option('--marker <marker>', `Marker to be put (${MARKERS.join(', ')}).`)
    .option('--details <text>', 'Human readable details to be put into marker.', '')
    .option('--remove', 'Remove the marker.', false)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
        const done = await bucketMark(bkt, { ids: (opts.id as string[]) ?? [], marker: (opts.marker as string) ?? '', details: opts.details as string, remove: opts.remove as boolean, logger });
        logger.info({ blocks: done.length, marker: opts.marker, removed: opts.remove }, 'mark done');
      } finally {
        await bkt.close();
      }
    });

  markObjstoreRequired(addObjstoreFlags(bucket.command('cleanup').description('Cleans up all blocks marked for deletion, and partial uploads.')))
    .option('--delete-delay <duration>', 'Time before a block marked for deletion is deleted from bucket.', '48h')
    .option('--consistency-delay <duration>', 'Minimum age of partial uploads (blocks without meta.json) before they are removed.', '30m')
    .option('--dry-run', 'thanos-ts: print what would be deleted, delete nothing.', false)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      const deleteDelayMs = durationOpt(opts, 'deleteDelay', 'delete-delay');
      const consistencyDelayMs = durationOpt(opts, 'consistencyDelay', 'consistency-delay');
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
        const r = await bucketCleanup(bkt, { deleteDelayMs, consistencyDelayMs, dryRun: opts.dryRun as boolean, logger });
        for (const id of r.deleted) process.stdout.write(`${opts.dryRun ? 'would delete' : 'deleted'} ${id} (marked for deletion)\n`);
        for (const id of r.partial) process.stdout.write(`${opts.dryRun ? 'would delete' : 'deleted'} ${id} (partial upload)\n`);
        logger.info({ deleted: r.deleted.length, partialUploads: r.partial.length, failures: r.failures }, 'cleanup done');
        if (r.failures > 0) throw new UserError(`cleanup: ${r.failures} block(s) could not be deleted`);
      } finally {
        await bkt.close();
      }
    });

  markObjstoreRequired(addObjstoreFlags(bucket.command('retention').description('Retention applies retention policies on the given bucket. Please make sure no compactor is running on the same bucket at the same time.')))
    .option('--retention.resolution-raw <duration>', 'How long to retain raw samples in bucket. Setting this to 0d will retain samples of this resolution forever', '0d')
    .option('--retention.resolution-5m <duration>', 'How long to retain samples of resolution 1 (5 minutes) in bucket. Setting this to 0d will retain samples of this resolution forever', '0d')
    .option('--retention.resolution-1h <duration>', 'How long to retain samples of resolution 2 (1 hour) in bucket. Setting this to 0d will retain samples of this resolution forever', '0d')
    .option('--consistency-delay <duration>', 'Minimum age of fresh (non-compacted) blocks before they are being processed.', '30m')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      const retention = {
        raw: durationOpt(opts, 'retention.resolutionRaw', 'retention.resolution-raw'),
        fiveMinutes: durationOpt(opts, 'retention.resolution5m', 'retention.resolution-5m'),
        oneHour: durationOpt(opts, 'retention.resolution1h', 'retention.resolution-1h'),
      };
      const consistencyDelayMs = durationOpt(opts, 'consistencyDelay', 'consistency-delay');
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
        const marked = await bucketRetention(bkt, { retention, consistencyDelayMs, logger });
        for (const id of marked) process.stdout.write(`marked ${id} for deletion\n`);
        logger.info({ marked: marked.length }, 'retention done');
      } finally {
        await bkt.close();
      }
    });

  markObjstoreRequired(addObjstoreFlags(bucket.command('downsample').description('Continuously downsamples blocks in an object store bucket (thanos-ts: one pass, then exit).')))
    .option('--data-dir <dir>', 'Data directory in which to cache blocks and process downsamplings.', './data')
    .option('--downsample.concurrency <n>', 'Number of goroutines to use when downsampling blocks.', '1')
    .option('--hash-func <func>', 'Specify which hash function to use when calculating the hashes of produced files ("" or "SHA256").', '')
    .option('--consistency-delay <duration>', 'Minimum age of fresh (non-compacted) blocks before they are being processed.', '30m')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      const concurrency = Number(opts['downsample.concurrency']);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new UserError('--downsample.concurrency: expected a positive integer');
      const hashFunc = opts.hashFunc as string;
      if (hashFunc !== '' && hashFunc !== 'SHA256') throw new UserError(`--hash-func: unsupported hash function "${hashFunc}"`);
      const consistencyDelayMs = durationOpt(opts, 'consistencyDelay', 'consistency-delay');
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
        const made = await bucketDownsample(bkt, { dataDir: join(opts.dataDir as string, 'downsample'), concurrency, hashFunc: hashFunc as '' | 'SHA256', consistencyDelayMs, logger });
        for (const id of made) process.stdout.write(`${id}\n`);
        logger.info({ created: made.length }, 'downsample done');
      } finally {
        await bkt.close();
      }
    });

  markObjstoreRequired(addObjstoreFlags(bucket.command('rewrite').description('Rewrite chosen blocks in the bucket, while deleting series; the rewritten blocks are marked for deletion.')))
    .option('--id <ulid>', 'ID (ULID) of the blocks for rewrite (repeated flag).', collect)
    .option('--tmp.dir <dir>', 'Working directory for temporary files', join(tmpdir(), 'thanos-rewrite'))
    .option('--rewrite.to-delete-config-file <file-path>', 'Path to YAML file that contains []metadata.DeletionRequest that will be applied to blocks: a list of "- matchers: <series selector>".')
    .option('--rewrite.to-delete-config <content>', "Alternative to 'rewrite.to-delete-config-file' flag (mutually exclusive). Content of YAML file that contains []metadata.DeletionRequest that will be applied to blocks")
    .option('--dry-run', 'Prints the series changes instead of doing them.', false)
    .option('--delete-blocks', 'Mark source blocks for deletion after rewrite (thanos-ts: on by default; --no-delete-blocks keeps them).', true)
    .option('--no-delete-blocks', 'Keep the source blocks after rewrite.')
    .option('--hash-func <func>', 'Specify which hash function to use when calculating the hashes of produced files ("" or "SHA256").', '')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      const file = opts['rewrite.toDeleteConfigFile'] as string | undefined;
      const content = opts['rewrite.toDeleteConfig'] as string | undefined;
      if (file && content) throw new UserError('both --rewrite.to-delete-config-file and --rewrite.to-delete-config are set; they are mutually exclusive');
      let text = content ?? '';
      if (file) {
        try {
          text = await readFile(file, 'utf8');
        } catch (err) {
          throw new UserError(`--rewrite.to-delete-config-file: ${(err as Error).message}`);
        }
      }
      const deletions = parseDeleteConfig(text, parseSelector, file ? '--rewrite.to-delete-config-file' : '--rewrite.to-delete-config');
      const hashFunc = opts.hashFunc as string;
      if (hashFunc !== '' && hashFunc !== 'SHA256') throw new UserError(`--hash-func: unsupported hash function "${hashFunc}"`);
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
        const dryRun = opts.dryRun as boolean;
        const r = await bucketRewrite(bkt, {
          ids: (opts.id as string[]) ?? [],
          deletions,
          dryRun,
          deleteBlocks: opts.deleteBlocks as boolean,
          tmpDir: opts['tmp.dir'] as string,
          hashFunc: hashFunc as '' | 'SHA256',
          logger,
          onDelete: (block, series) => process.stdout.write(`${dryRun ? 'would delete' : 'deleted'} series ${series} from block ${block}\n`),
        });
        for (const [from, to] of r.rewritten) if (to) process.stdout.write(`rewrote ${from} into ${to}\n`);
        logger.info({ blocks: r.rewritten.size, deletedSeries: r.deletedSeries, dryRun }, 'rewrite done');
      } finally {
        await bkt.close();
      }
    });

  const backfill = markObjstoreRequired(
    addObjstoreFlags(
      bucket
        .command('backfill')
        .description('Turn an OpenMetrics text file into 2h-aligned blocks uploaded with the given external labels.')
        .argument('<file>', 'OpenMetrics text file (timestamps in seconds, ending with # EOF), as promtool tsdb create-blocks-from openmetrics reads it'),
    ),
  )
    .option('--label <name=value>', 'External label of the created blocks (repeatable, at least one), e.g. --label cluster="eu1".', collect)
    .option('--block-duration <duration>', 'Duration of the created blocks.', '2h')
    .action(async (file: string, opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      const labels = parseFlagLabels((opts.label as string[]) ?? [], '--label');
      let blockDuration: number;
      try {
        blockDuration = parsePromDuration(opts.blockDuration as string);
      } catch (err) {
        throw new UserError(`--block-duration: ${(err as Error).message}`);
      }
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
        const res = await bucketBackfill(bkt, { file, labels, logger, blockDuration });
        for (const id of res.blocks) process.stdout.write(`${id}\n`);
        logger.info({ blocks: res.blocks.length, series: res.series, samples: res.samples }, 'backfill done');
      } finally {
        await bkt.close();
      }
    });
  // bucketBackfill says why at least one label is needed; --help says that it is.
  markRequired(backfill, '--label');
}

/** A Prometheus duration option as ms, naming the flag in errors. */
function durationOpt(opts: Record<string, unknown>, key: string, flag: string): number {
  try {
    return parsePromDuration(String(opts[key]));
  } catch (err) {
    throw new UserError(`--${flag}: ${(err as Error).message}`);
  }
}
