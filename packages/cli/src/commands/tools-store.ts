import { Option } from 'commander';
import type { Command } from 'commander';
import { parseTimeFlag, runStoreInfo, runStoreLabels, runStoreLabelValues, runStoreSeries } from '@thanos-ts/storeapi';
import { parseGoDuration, UserError } from '@thanos-ts/runtime';
import { collect } from './common.js';

function parse<T>(flag: string, fn: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return fn(v);
    } catch (err) {
      throw new UserError(`--${flag}: ${(err as Error).message}`);
    }
  };
}

function int(flag: string): (v: string) => number {
  return parse(flag, (v) => {
    if (!/^\d+$/.test(v)) throw new Error(`not a non-negative integer: "${v}"`);
    return Number(v);
  });
}

function common(cmd: Command, withRange = true): Command {
  cmd
    .requiredOption('--endpoint <host:port>', 'StoreAPI endpoint to query.')
    .addOption(new Option('--timeout <duration>', 'Timeout of the call.').argParser(parse('timeout', parseGoDuration)).default(parseGoDuration('2m'), '2m'));
  if (withRange) {
    cmd
      .option('--match <selector>', 'Series selector, e.g. \'{job="x"}\' (repeatable; selectors are ORed).', collect)
      .option('--min-time <time>', 'Start of the time range: unix ms, RFC3339, or relative like -1h.', parse('min-time', parseTimeFlag))
      .option('--max-time <time>', 'End of the time range: unix ms, RFC3339, or relative like -1h.', parse('max-time', parseTimeFlag))
      .option('--limit <n>', 'Maximum number of results (0 = no limit).', int('limit'), 0);
  }
  return cmd;
}

/** `tools store series|labels|label-values|info`: a StoreAPI debugging client. */
export function registerToolsStore(tools: Command): void {
  const store = tools.command('store').description('StoreAPI debugging client: ask any StoreAPI endpoint (sidecar, store, query, …) directly');

  common(store.command('series').description('Print the series an endpoint returns, with chunk and sample counts and timings.'))
    .option('--skip-chunks', 'Ask for labels only.', false)
    .option('--without-replica-label <name>', 'Replica label the endpoint should remove (repeatable).', collect)
    .option('--batch-size <n>', 'Series per response frame (response_batch_size).', int('batch-size'), 64)
    .action(async (o: Record<string, unknown>) => {
      await runStoreSeries(
        {
          endpoint: o.endpoint as string,
          match: o.match as string[] | undefined,
          minTime: o.minTime as number | undefined,
          maxTime: o.maxTime as number | undefined,
          skipChunks: o.skipChunks as boolean,
          withoutReplicaLabels: o.withoutReplicaLabel as string[] | undefined,
          limit: o.limit as number,
          responseBatchSize: o.batchSize as number,
          timeoutMs: o.timeout as number,
        },
        process.stdout,
      );
    });

  common(store.command('labels').description('Print the label names an endpoint knows.')).action(async (o: Record<string, unknown>) => {
    await runStoreLabels(
      {
        endpoint: o.endpoint as string,
        match: o.match as string[] | undefined,
        minTime: o.minTime as number | undefined,
        maxTime: o.maxTime as number | undefined,
        limit: o.limit as number,
        timeoutMs: o.timeout as number,
      },
      process.stdout,
    );
  });

  common(store.command('label-values').description('Print the values of one label.'))
    .requiredOption('--label <name>', 'Label name.')
    .action(async (o: Record<string, unknown>) => {
      await runStoreLabelValues(
        {
          endpoint: o.endpoint as string,
          label: o.label as string,
          match: o.match as string[] | undefined,
          minTime: o.minTime as number | undefined,
          maxTime: o.maxTime as number | undefined,
          limit: o.limit as number,
          timeoutMs: o.timeout as number,
        },
        process.stdout,
      );
    });

  common(store.command('info').description('Print what an endpoint advertises: component type, external labels, time range.'), false).action(
    async (o: Record<string, unknown>) => {
      await runStoreInfo({ endpoint: o.endpoint as string, timeoutMs: o.timeout as number }, process.stdout);
    },
  );
}
