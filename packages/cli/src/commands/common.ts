// Flags shared by components, spelled as Thanos spells them.

import { Option } from 'commander';
import type { Command } from 'commander';
import { bucketFromFlags } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { createLogger, parseTimeOrDuration, UserError } from '@thanos-ts/runtime';
import type { FlagSpec, Logger, LogFormat, LogLevel } from '@thanos-ts/runtime';

export function addObjstoreFlags(cmd: Command, required = true): Command {
  const suffix = required ? '' : ' Optional: without it nothing is uploaded.';
  return cmd
    .option('--objstore.config-file <file-path>', `Path to YAML file that contains object store configuration. See format details: https://thanos.io/tip/thanos/storage.md/#configuration${suffix}`)
    .option('--objstore.config <content>', 'Alternative to \'objstore.config-file\' flag (mutually exclusive). Content of YAML file that contains object store configuration.');
}

/** The bucket named by --objstore.config-file / --objstore.config; null when optional and absent. */
export async function bucketFromOptions(opts: Record<string, unknown>, logger: Logger, required = true): Promise<Bucket | null> {
  const configFile = opts['objstore.configFile'] as string | undefined;
  const config = opts['objstore.config'] as string | undefined;
  if (!configFile && !config) {
    if (!required) return null;
    throw new UserError('no object store configuration: set --objstore.config-file or --objstore.config');
  }
  try {
    return await bucketFromFlags({ configFile, config }, { logger });
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

/** The logger configured by the global --log.level and --log.format flags. */
export function loggerFor(cmd: Command): Logger {
  const o = cmd.optsWithGlobals() as Record<string, string>;
  try {
    return createLogger({ level: o['log.level'] as LogLevel, format: o['log.format'] as LogFormat });
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function timeFlag(flag: string): (v: string) => number {
  return (v) => {
    try {
      return parseTimeOrDuration(v);
    } catch (err) {
      throw new UserError(`--${flag}: ${(err as Error).message}`);
    }
  };
}

/** Registers flag specs on a command: bool flags get a --no- form, repeatable ones collect. */
export function addFlags(cmd: Command, specs: readonly FlagSpec[]): void {
  for (const f of specs) {
    const ph = (f.placeholder ?? '<value>').replace(/[<>]/g, '');
    if (f.kind === 'bool') {
      cmd.option(`--${f.name}`, f.help, f.default === true);
      cmd.option(`--no-${f.name}`, `Disable --${f.name}.`);
    } else if (f.kind === 'strings') {
      cmd.option(`--${f.name} <${ph}>`, f.help, collect, []);
    } else if (f.hidden) {
      cmd.addOption(new Option(`--${f.name} <${ph}>`, f.help).default(f.default).hideHelp());
    } else {
      cmd.option(`--${f.name} <${ph}>`, f.help, f.default as string | undefined);
    }
  }
}
