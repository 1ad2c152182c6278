// Flags shared by components, spelled as Thanos spells them.

import { Option } from 'commander';
import type { Command } from 'commander';
import { SUPPORTED_PROVIDERS, bucketFromFlags } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { createLogger, FlagValues, parseTimeOrDuration, UserError } from '@thanos-ts/runtime';
import type { FlagSpec, Logger, LogFormat, LogLevel } from '@thanos-ts/runtime';

export function addObjstoreFlags(cmd: Command, required = true): Command {
  const suffix = required ? '' : ' Optional: without it nothing is uploaded.';
  const providers = SUPPORTED_PROVIDERS.join(', ');
  return cmd
    .option('--objstore.config-file <file-path>', `Path to YAML file that contains object store configuration. See format details: https://thanos.io/tip/thanos/storage.md/#configuration (supported types: ${providers}).${suffix}`)
    .option('--objstore.config <content>', `Alternative to 'objstore.config-file' flag (mutually exclusive). Content of YAML file that contains object store configuration (supported types: ${providers}).`);
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

// What --help shows beyond commander's defaults (see helpConfiguration in main.ts).
const negatable = new WeakSet<Option>();
const requiredNotes = new WeakMap<Option, string>();

/** Whether --help shows the option as `--[no-]name`, as Thanos (kingpin) prints bool flags. */
export function isNegatable(option: Option): boolean {
  return negatable.has(option);
}

/** "required" or "required unless …" for an option marked with markRequired. */
export function requiredNote(option: Option): string | undefined {
  return option.mandatory ? 'required' : requiredNotes.get(option);
}

/**
 * Marks a flag required in --help when the command checks it itself (a message of its
 * own, or one of two flags): `note` completes "required", e.g. "unless --objstore.config is set".
 */
export function markRequired(cmd: Command, flag: string, note?: string): void {
  const o = cmd.options.find((x) => x.long === flag);
  if (!o) throw new Error(`markRequired: ${cmd.name()} has no ${flag}`);
  requiredNotes.set(o, note ? `required ${note}` : 'required');
}

/** Marks the bucket flags of a command that needs a bucket: one of the pair is required. */
export function markObjstoreRequired(cmd: Command): Command {
  markRequired(cmd, '--objstore.config-file', 'unless --objstore.config is set');
  return cmd;
}

/**
 * Registers flag specs on a command: bool flags also take --no-name (shown as one
 * `--[no-]name` entry), repeatable ones collect.
 */
export function addFlags(cmd: Command, specs: readonly FlagSpec[]): void {
  for (const f of specs) {
    const ph = (f.placeholder ?? '<value>').replace(/[<>]/g, '');
    if (f.kind === 'bool') {
      const o = new Option(`--${f.name}`, f.help).default(f.default === true);
      if (f.hidden) o.hideHelp();
      else negatable.add(o);
      cmd.addOption(o);
      cmd.addOption(new Option(`--no-${f.name}`).hideHelp());
    } else if (f.kind === 'strings') {
      // No default: FlagValues reads an absent repeatable flag as [].
      cmd.addOption(new Option(`--${f.name} <${ph}>`, f.help).argParser(collect));
    } else {
      const o = new Option(`--${f.name} <${ph}>`, f.help);
      // Defaults print as Thanos prints them ("2m", "250MB"), unquoted; an empty one not at all.
      if (typeof f.default === 'string' && f.default !== '') o.default(f.default, f.default);
      if (f.hidden) o.hideHelp();
      cmd.addOption(o);
    }
  }
}

/** The objstore flags as Thanos lists them: masked, since they can hold credentials. */
const MASKED_OBJSTORE_FLAGS: Record<string, string> = { 'objstore.config': '<REDACTED>', 'objstore.config-file': '<REDACTED>' };

/**
 * Every flag of a command as /api/v1/status/flags lists them (Thanos getFlagsMap): the
 * component's flags with their defaults, and the objstore flags masked when it has them.
 */
export function statusFlags(cmd: Command, opts: Record<string, unknown>, specs: readonly FlagSpec[]): Record<string, string> {
  const flags = new FlagValues(opts, specs).asStrings();
  if (cmd.options.some((o) => o.long === '--objstore.config')) Object.assign(flags, MASKED_OBJSTORE_FLAGS);
  return flags;
}
