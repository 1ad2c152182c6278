// The thanos-ts command line: global flags as Thanos spells them, one subcommand per
// component. Components register their commands in ./commands/*; this file only wires.

import { Command, CommanderError, Help } from 'commander';
import type { HelpConfiguration, Option } from 'commander';
import { UserError, versionText } from '@thanos-ts/runtime';
import { isNegatable, requiredNote } from './commands/common.js';
import { registerCompact } from './commands/compact.js';
import { registerQuery } from './commands/query.js';
import { registerQueryFrontend } from './commands/query-frontend.js';
import { registerQuickstart } from './commands/quickstart.js';
import { registerReceive } from './commands/receive.js';
import { registerRule } from './commands/rule.js';
import { registerSidecar } from './commands/sidecar.js';
import { registerStore } from './commands/store.js';
import { registerTools } from './commands/tools.js';
import { tuneTierUp } from './tier-up.js';

// --help as Thanos users read it: a bool flag with its --no- form is one `--[no-]name`
// entry, and required flags say so.
const helpConfiguration: HelpConfiguration = {
  optionTerm(option: Option): string {
    const term = Help.prototype.optionTerm.call(this, option);
    return isNegatable(option) ? term.replace(/^--/, '--[no-]') : term;
  },
  optionDescription(option: Option): string {
    let text = Help.prototype.optionDescription.call(this, option);
    const d: unknown = option.defaultValue;
    if (typeof d === 'string' && option.defaultValueDescription === undefined) {
      // Defaults as Thanos prints them: `(default: 2m)`, not `(default: "2m")`; none when empty.
      text = text.replace(`(default: ${JSON.stringify(d)})`, d === '' ? '' : `(default: ${d})`).trimEnd();
    }
    const note = requiredNote(option);
    return note ? `${text} (${note})` : text;
  },
};

export function buildProgram(): Command {
  const program = new Command('thanos-ts')
    .description('A Thanos-compatible, highly available Prometheus setup with long-term storage capabilities.')
    .version(versionText(), '--version', 'Show application version.')
    .option('--log.level <level>', 'Log filtering level (debug, info, warn, error).', 'info')
    .option('--log.format <format>', 'Log format to use. Possible options: logfmt or json.', 'logfmt')
    .showHelpAfterError(false)
    .configureHelp(helpConfiguration)
    .exitOverride()
    .hook('preAction', (_program, action) => tuneTierUp(action.name()));
  registerQuickstart(program);
  registerSidecar(program);
  registerQuery(program);
  registerQueryFrontend(program);
  registerStore(program);
  registerCompact(program);
  registerReceive(program);
  registerRule(program);
  registerTools(program);
  return program;
}

/** Parses argv and runs the chosen command; user errors print one line and exit non-zero. */
export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    const unknown = unknownCommand(program, argv.slice(2));
    if (unknown) throw new UserError(unknown);
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
}

/**
 * The error for a command name that names no command, or null. Commander prints the
 * parent's help for `thanos-ts nosuch --help` and exits 0; a typo must fail loudly,
 * with or without --help, so the command path is checked before parsing.
 */
export function unknownCommand(program: Command, args: string[]): string | null {
  let cmd = program;
  const path: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return null;
    if (a.startsWith('-')) {
      // Skip an option's separate value (`--log.level debug`) so it is not read as a command.
      if (!a.includes('=') && takesValue(cmd, a)) i++;
      continue;
    }
    if (cmd.commands.length === 0) return null; // an argument of a leaf command
    if (a === 'help') continue; // `help tools bucket`: check the path that follows
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) {
      const where = path.length > 0 ? ` of 'thanos-ts ${path.join(' ')}'` : '';
      const names = cmd.commands.map((c) => c.name()).join(', ');
      return `unknown command '${[...path, a].join(' ')}' (commands${where}: ${names}; see --help)`;
    }
    path.push(a);
    cmd = sub;
  }
  return null;
}

function takesValue(cmd: Command, flag: string): boolean {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.options.find((x) => x.long === flag || x.short === flag);
    if (o) return o.required || o.optional;
  }
  return false;
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
