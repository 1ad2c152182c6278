// `thanos-ts query`: the query component with Thanos's flags (QUERY_FLAGS): one global,
// deduplicated PromQL view over every StoreAPI endpoint, served as the Prometheus HTTP
// API and as StoreAPI itself. Runs until SIGTERM/SIGINT, then stops gracefully.

import type { Command } from 'commander';
import { Query, QUERY_FLAGS, queryConfigFromFlags } from '@thanos-ts/query';
import { runUntilSignal } from '@thanos-ts/runtime';
import { collect, loggerFor } from './common.js';

export function registerQuery(program: Command): void {
  const cmd = program
    .command('query')
    .description('Query node exposing PromQL enabled Query API with data retrieved from multiple store nodes.');
  for (const f of QUERY_FLAGS) {
    if (f.kind === 'bool') {
      cmd.option(`--${f.name}`, f.help, f.default === true);
      cmd.option(`--no-${f.name}`, `Disable --${f.name}.`);
    } else if (f.kind === 'strings') {
      cmd.option(`--${f.name} <${stripBrackets(f.placeholder ?? 'value')}>`, f.help, collect, []);
    } else {
      cmd.option(`--${f.name} <${stripBrackets(f.placeholder ?? 'value')}>`, f.help, f.default as string | undefined);
    }
  }
  cmd.action(async (opts: Record<string, unknown>, c: Command) => {
    const logger = loggerFor(c).child({ component: 'query' });
    const cfg = queryConfigFromFlags(opts, logger);
    const query = new Query(cfg);
    await runUntilSignal(query, logger, cfg.grpcGracePeriodMs + 5_000);
  });
}

/** Commander wants `<name>`; QUERY_FLAGS placeholders already carry the brackets (`<name>="<value>"` too). */
function stripBrackets(p: string): string {
  return p.replace(/[<>]/g, '');
}
