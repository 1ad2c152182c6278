// `thanos-ts query-frontend`: Thanos's query-frontend with its flags (QUERY_FRONTEND_FLAGS):
// the Prometheus HTTP API in front of a query, splitting, caching and retrying range and
// label queries. Runs until SIGTERM/SIGINT, then stops gracefully.

import type { Command } from 'commander';
import { QueryFrontend, QUERY_FRONTEND_FLAGS, queryFrontendConfigFromFlags } from '@thanos-ts/query-frontend';
import { createRegistry, runUntilSignal } from '@thanos-ts/runtime';
import { addFlags, loggerFor } from './common.js';

export function registerQueryFrontend(program: Command): void {
  const cmd = program
    .command('query-frontend')
    .description('Query frontend command implements a service deployed in front of queriers to improve query parallelization and caching.');
  addFlags(cmd, QUERY_FRONTEND_FLAGS);
  cmd.action(async (opts: Record<string, unknown>, c: Command) => {
    const logger = loggerFor(c).child({ component: 'query-frontend' });
    const cfg = queryFrontendConfigFromFlags(opts, logger);
    const frontend = new QueryFrontend(cfg, { logger, registry: createRegistry('query-frontend') });
    await runUntilSignal(frontend, logger, cfg.httpGracePeriodMs + 5_000);
  });
}
