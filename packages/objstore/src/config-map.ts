import { parseConfigDuration } from '@thanos-ts/runtime';

/**
 * ConfigMap reads typed fields from one YAML mapping and remembers which keys
 * were read, so strict sections can reject the rest (Go's yaml.UnmarshalStrict).
 * A null or absent value takes the default, as in Go. Errors are one line:
 * "objstore config: S3: config.part_size: expected an integer, got "64MiB"".
 */
export class ConfigMap {
  readonly #values: Record<string, unknown>;
  readonly #path: string;
  readonly #errPrefix: string;
  readonly #read = new Set<string>();

  private constructor(values: Record<string, unknown>, path: string, errPrefix: string) {
    this.#values = values;
    this.#path = path;
    this.#errPrefix = errPrefix;
  }

  /**
   * from wraps a parsed YAML value found at path ("config", or "" for the
   * document itself); null means an empty map.
   */
  static from(value: unknown, path: string, errPrefix: string): ConfigMap {
    if (value === null || value === undefined) return new ConfigMap({}, path, errPrefix);
    if (!isPlainObject(value)) {
      throw new Error(`${errPrefix}${path || 'top level'}: expected a mapping, got ${describe(value)}`);
    }
    return new ConfigMap(value, path, errPrefix);
  }

  error(msg: string): Error {
    return new Error(this.#errPrefix + msg);
  }

  #get(key: string): unknown {
    this.#read.add(key);
    return Object.hasOwn(this.#values, key) ? this.#values[key] : undefined;
  }

  #child(key: string): string {
    return this.#path === '' ? key : `${this.#path}.${key}`;
  }

  #fieldError(key: string, expected: string, got: unknown): Error {
    return this.error(`${this.#child(key)}: expected ${expected}, got ${describe(got)}`);
  }

  string(key: string, def = ''): string {
    const v = this.#get(key);
    if (v === null || v === undefined) return def;
    // Go's yaml decodes scalar numbers and booleans into string fields too.
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw this.#fieldError(key, 'a string', v);
  }

  bool(key: string, def = false): boolean {
    const v = this.#get(key);
    if (v === null || v === undefined) return def;
    if (typeof v === 'boolean') return v;
    // We parse YAML 1.2, where yes/no/on/off are strings; Go's yaml.v2 (YAML 1.1)
    // reads them as booleans, and Thanos configs use them.
    if (typeof v === 'string') {
      const b = YAML11_BOOLS.get(v);
      if (b !== undefined) return b;
    }
    throw this.#fieldError(key, 'true or false', v);
  }

  int(key: string, def = 0): number {
    const v = this.#get(key);
    if (v === null || v === undefined) return def;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    throw this.#fieldError(key, 'an integer', v);
  }

  /** duration returns milliseconds. */
  duration(key: string, defMs: number): number {
    const v = this.#get(key);
    if (v === null || v === undefined) return defMs;
    if (typeof v !== 'string') throw this.#fieldError(key, 'a duration such as "1m30s"', v);
    try {
      return parseConfigDuration(v);
    } catch {
      throw this.#fieldError(key, 'a duration such as "1m30s"', v);
    }
  }

  stringMap(key: string): Record<string, string> {
    const m = this.map(key);
    const out: Record<string, string> = {};
    for (const k of m.keys()) out[k] = m.string(k);
    return out;
  }

  map(key: string): ConfigMap {
    return ConfigMap.from(this.#get(key), this.#child(key), this.#errPrefix);
  }

  keys(): string[] {
    return Object.keys(this.#values);
  }

  /** strict fails on the first key no reader asked for. */
  strict(): void {
    for (const k of Object.keys(this.#values)) {
      if (!this.#read.has(k)) throw this.error(`unknown key "${k}" ${this.#path === '' ? 'at top level' : `in ${this.#path}`}`);
    }
  }
}

const YAML11_BOOLS = new Map<string, boolean>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'].map((s): [string, boolean] => [s, true]),
  ...['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'].map((s): [string, boolean] => [s, false]),
]);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Map);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}
