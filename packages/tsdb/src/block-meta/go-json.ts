// A JSON encoder whose output is byte-identical to Go's encoding/json for the shapes
// Thanos and Prometheus write: structs in declaration order (GoStruct, built by the
// callers with omitempty already applied), maps with keys sorted byte-wise (plain
// objects), HTML-safe string escaping (<, >, & as \u003c, \u003e, \u0026; U+2028 and
// U+2029 escaped; \b \f \n \r \t short escapes), Go float formatting, and
// MarshalIndent / Encoder.SetIndent layout.

import { compareStrings } from '../labels/index.js';

/** An object whose keys are emitted in the given order (a Go struct). */
export class GoStruct {
  constructor(readonly fields: ReadonlyArray<readonly [string, unknown]>) {}
}

/** Builds a GoStruct, dropping fields whose value is `OMIT`. */
export function goStruct(fields: ReadonlyArray<readonly [string, unknown]>): GoStruct {
  return new GoStruct(fields.filter(([, v]) => v !== OMIT));
}

/** Marker for an omitted (omitempty) field. */
export const OMIT: unique symbol = Symbol('omit');

/** Go's omitempty: false, 0, "", null/undefined and empty arrays/maps are omitted. */
export function omitEmpty(v: unknown): unknown {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return OMIT;
  if (Array.isArray(v) && v.length === 0) return OMIT;
  if (isPlainObject(v) && Object.keys(v).length === 0) return OMIT;
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoStruct);
}

const HEX = '0123456789abcdef';

/** A Go-escaped JSON string literal. */
export function goString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c < 0x20) {
      if (c === 0x08) esc = '\\b';
      else if (c === 0x0c) esc = '\\f';
      else if (c === 0x0a) esc = '\\n';
      else if (c === 0x0d) esc = '\\r';
      else if (c === 0x09) esc = '\\t';
      else esc = `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
    } else if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x3c) esc = '\\u003c';
    else if (c === 0x3e) esc = '\\u003e';
    else if (c === 0x26) esc = '\\u0026';
    else if (c === 0x2028) esc = '\\u2028';
    else if (c === 0x2029) esc = '\\u2029';
    else if (c >= 0xd800 && c <= 0xdfff) {
      // surrogate pair passes through; a lone surrogate is invalid UTF-8 for Go
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      esc = '\ufffd';
    }
    if (esc !== null) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

/** A number as Go formats an int64 or float64. */
function goNumber(v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`json: unsupported value: ${v}`);
  if (Object.is(v, -0)) return '-0';
  // JS switches to exponent form at the same thresholds as Go (< 1e-6, >= 1e21)
  // and also writes the shortest round-trip digits and a one-digit exponent
  // ("1e-7", "1e+21").
  return String(v);
}

/**
 * Marshals v like Go. With `indent`, like json.MarshalIndent(v, "", indent);
 * without, like json.Marshal. No trailing newline.
 */
export function goMarshal(v: unknown, indent?: string): string {
  return enc(v, indent ?? '', indent === undefined ? null : '\n');
}

function enc(v: unknown, indent: string, nl: string | null): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const inner = nl === null ? null : nl + indent;
  const sep = nl === null ? ':' : ': ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const items = v.map((x) => enc(x, indent, inner));
    return inner === null ? `[${items.join(',')}]` : `[${inner}${items.join(`,${inner}`)}${nl}]`;
  }
  let fields: ReadonlyArray<readonly [string, unknown]>;
  if (v instanceof GoStruct) fields = v.fields;
  else if (typeof v === 'object') {
    fields = Object.keys(v as object)
      .sort(compareStrings)
      .map((k) => [k, (v as Record<string, unknown>)[k]] as const);
  } else throw new TypeError(`json: unsupported type ${typeof v}`);
  if (fields.length === 0) return '{}';
  const items = fields.map(([k, x]) => `${goString(k)}${sep}${enc(x, indent, inner)}`);
  return inner === null ? `{${items.join(',')}}` : `{${inner}${items.join(`,${inner}`)}${nl}}`;
}
