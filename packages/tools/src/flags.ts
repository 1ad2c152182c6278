import { UserError } from '@thanos-ts/runtime';

/**
 * Parses repeated `name=value` flags (Thanos' parseFlagLabels). Thanos requires the value
 * quoted (`cluster="eu1"`); an unquoted value is accepted as is, which is what people type.
 */
export function parseFlagLabels(flags: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new UserError(`${flag}: unrecognized label "${f}", want name="value"`);
    const name = f.slice(0, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new UserError(`${flag}: unsupported format for label ${f}`);
    let value = f.slice(eq + 1);
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        throw new UserError(`${flag}: unquote label value: invalid syntax in ${f}`);
      }
    }
    out[name] = value;
  }
  return out;
}
