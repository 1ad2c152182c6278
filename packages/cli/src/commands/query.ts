// `thanos-ts query`: the query component with Thanos's flags (QUERY_FLAGS): one global,
// deduplicated PromQL view over every StoreAPI endpoint, served as the Prometheus HTTP
// API and as StoreAPI itself. Runs until SIGTERM/SIGINT, then stops gracefully.

import type { Command } from 'commander';
import { Query, QUERY_FLAGS, queryConfigFromFlags } from '@thanos-ts/query';
import { runUntilSignal } from '@thanos-ts/runtime';
import type { LogFormat, LogLevel } from '@thanos-ts/runtime';
import { addFlags, loggerFor } from './common.js';

export function registerQuery(program: Command): void {
  const cmd = program
    .command('query')
    .description('Query node exposing PromQL enabled Query API with data retrieved from multiple store nodes.');
  addFlags(cmd, QUERY_FLAGS);
  cmd.action(async (opts: Record<string, unknown>, c: Command) => {
    const logger = loggerFor(c).child({ component: 'query' });
    const cfg = queryConfigFromFlags(opts, logger);
    const globals = c.optsWithGlobals() as Record<string, string>;
    cfg.workerLog = { level: globals['log.level'] as LogLevel, format: globals['log.format'] as LogFormat };
    const query = new Query(cfg);
    await runUntilSignal(query, logger, cfg.grpcGracePeriodMs + 5_000);
  });
}
