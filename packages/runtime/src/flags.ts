// Component flags as data: each component lists its flags (name as Thanos spells it, kind,
// default, help) once; the CLI registers them and hands the parsed values back, and the
// component reads them through FlagValues, which names the flag in every error.

import { readFileSync } from 'node:fs';
import { parseBytes } from './bytes.js';
import { parsePromDuration, parseTimeOrDuration } from './duration.js';
import { UserError } from './errors.js';

export interface FlagSpec {
  /** The flag without dashes, e.g. "query.replica-label". */
  name: string;
  help: string;
  /** string: one value; strings: repeatable; bool: with a --no- form. */
  kind: 'string' | 'strings' | 'bool';
  /** Default as Thanos prints it (absent: none). */
  default?: string | boolean;
  /** Placeholder for the value in --help. */
  placeholder?: string;
  /** Left out of --help (Thanos' hidden flags). */
  hidden?: boolean;
}

/**
 * commander's key for an option: dashes inside each dot-separated part camel-cased,
 * as commander does it — a dash before a digit just goes (`resolution-5m` →
 * `resolution5m`).
 */
export function flagKey(name: string): string {
  return name
    .split('.')
    .map((part) => part.replace(/-(.)/g, (_, c: string) => c.toUpperCase()))
    .join('.');
}

/**
 * Typed access to parsed flag values keyed by flag name or commander's key; missing
 * flags take their spec's default. Bad values throw UserError naming the flag.
 */
export class FlagValues {
  private readonly spec: Map<string, FlagSpec>;

  constructor(
    private readonly values: Record<string, unknown>,
    specs: readonly FlagSpec[],
  ) {
    this.spec = new Map(specs.map((f) => [f.name, f]));
  }

  raw(name: string): unknown {
    const v = this.values[name] ?? this.values[flagKey(name)];
    return v ?? this.spec.get(name)?.default;
  }

  /** Whether the flag was given (or has a default). */
  has(name: string): boolean {
    const v = this.raw(name);
    return v !== undefined && v !== null && v !== '';
  }

  str(name: string): string {
    return String(this.raw(name) ?? '');
  }

  strs(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined || v === null) return [];
    return (Array.isArray(v) ? v : [v]).map(String);
  }

  bool(name: string): boolean {
    const v = this.raw(name);
    return v === true || v === 'true';
  }

  /** A non-negative integer. */
  int(name: string): number {
    const s = this.str(name);
    const n = Number(s);
    if (s === '' || !Number.isInteger(n) || n < 0) throw new UserError(`--${name}: expected a non-negative integer, got "${s}"`);
    return n;
  }

  /** A Thanos model.Duration ("5m", "1h30m", "0s") in ms. */
  duration(name: string): number {
    return this.wrap(name, () => parsePromDuration(this.str(name)));
  }

  /** A byte size ("250MB") in bytes. */
  bytes(name: string): number {
    return this.wrap(name, () => parseBytes(this.str(name)));
  }

  /** An RFC3339 time or a duration relative to now ("-2w"), in unix ms. */
  time(name: string, now = Date.now()): number {
    return this.wrap(name, () => parseTimeOrDuration(this.str(name), now));
  }

  /**
   * Every flag's value as a string, as /api/v1/status/flags lists them (Thanos flagsMap):
   * defaults included, repeated flags joined by commas.
   */
  asStrings(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of this.spec.values()) {
      const v = this.raw(f.name);
      if (v === undefined || v === null) out[f.name] = '';
      else if (Array.isArray(v)) out[f.name] = v.map(String).join(',');
      else out[f.name] = String(v);
    }
    return out;
  }

  private wrap<T>(name: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new UserError(`--${name}: ${(err as Error).message}`);
    }
  }
}

/**
 * Reads a path-or-content flag pair (Thanos extflag.PathOrContent): the file named by
 * `--<flag>-file` or the content of `--<flag>`; '' when neither is set.
 */
export function pathOrContent(f: FlagValues, flag: string): string {
  const file = f.str(`${flag}-file`);
  const content = f.str(flag);
  if (file !== '' && content !== '') throw new UserError(`both --${flag}-file and --${flag} are set; they are mutually exclusive`);
  if (file !== '') {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new UserError(`--${flag}-file: ${(err as Error).message}`);
    }
  }
  return content;
}
