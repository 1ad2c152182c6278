// The thanos-ts command line: global flags as Thanos spells them, one subcommand per
// component. Components register their commands in ./commands/*; this file only wires.

import { Command, CommanderError } from 'commander';
import { UserError, VERSION } from '@thanos-ts/runtime';
import { registerQuery } from './commands/query.js';
import { registerQuickstart } from './commands/quickstart.js';
import { registerSidecar } from './commands/sidecar.js';
import { registerStore } from './commands/store.js';
import { registerTools } from './commands/tools.js';

export function buildProgram(): Command {
  const program = new Command('thanos-ts')
    .description('A Thanos-compatible, highly available Prometheus setup with long-term storage capabilities.')
    .version(VERSION, '--version')
    .option('--log.level <level>', 'Log filtering level (debug, info, warn, error).', 'info')
    .option('--log.format <format>', 'Log format to use. Possible options: logfmt or json.', 'logfmt')
    .showHelpAfterError(false)
    .exitOverride();
  registerQuickstart(program);
  registerSidecar(program);
  registerQuery(program);
  registerStore(program);
  registerTools(program);
  return program;
}

/** Parses argv and runs the chosen command; user errors print one line and exit non-zero. */
export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message (unknown option, missing argument...).
    return err.exitCode;
  }
  if (err instanceof UserError) {
    process.stderr.write(`error: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  if (process.env.THANOS_TS_DEBUG) process.stderr.write(`${e.stack ?? e}\n`);
  else process.stderr.write(`error: ${e?.message ?? String(err)}\n`);
  return 1;
}
