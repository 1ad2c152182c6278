import type { Command } from 'commander';
import { bucketBackfill, bucketInspect, bucketLs, bucketVerify, DEFAULT_VERIFY_ISSUES, INSPECT_COLUMNS, parseFlagLabels } from '@thanos-ts/tools';
import { parsePromDuration } from '@thanos-ts/runtime';
import { UserError } from '@thanos-ts/runtime';
import { addObjstoreFlags, bucketFromOptions, collect, loggerFor, timeFlag } from './common.js';
import { registerToolsStore } from './tools-store.js';

export function registerTools(program: Command): void {
  const tools = program.command('tools').description('Tools utility commands');
  registerToolsStore(tools);
  const bucket = tools.command('bucket').description('Bucket utility commands');

  addObjstoreFlags(bucket.command('ls').description('List all blocks in the bucket.'))
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

  addObjstoreFlags(bucket.command('inspect').description('Inspect all blocks in the bucket in detailed, table-like way.'))
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

  addObjstoreFlags(
    bucket
      .command('verify')
      .description('Verify all blocks in the bucket against specified issues: index and chunk integrity, overlaps, duplicated compactions.'),
  )
    .option('-i, --issues <issue>', 'Issues to verify (repeatable): index_known_issues, overlapped_blocks, duplicated_compaction.', collect)
    .option('--id <ulid>', 'Block IDs to verify (and optionally repair) only (repeatable).', collect)
    .option('-r, --repair', 'Attempt to repair blocks for which issues were detected (not supported yet).', false)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const logger = loggerFor(cmd);
      if (opts.repair) throw new UserError('--repair is not supported yet: verify reports problems only');
      const bkt = (await bucketFromOptions(opts, logger))!;
      try {
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

  addObjstoreFlags(
    bucket
      .command('backfill')
      .description('Turn an OpenMetrics text file into 2h-aligned blocks uploaded with the given external labels.')
      .argument('<file>', 'OpenMetrics text file (timestamps in seconds, ending with # EOF), as promtool tsdb create-blocks-from openmetrics reads it'),
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
}
