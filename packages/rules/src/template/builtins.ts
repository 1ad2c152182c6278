// Go's predefined template functions (text/template/funcs.go, Go 1.19): and or not len
// index slice print printf println eq ne lt le gt ge html js urlquery call.

import { type FuncDef, GoError } from './exec.js';
import { sprint, sprintf, sprintln } from './go-fmt.js';
import { GoDuration, GoMap, GoSlice, GoStruct, type GoValue, isTrue, typeName, zeroOf } from './value.js';
import { queryEscape } from '../go-url.js';

export { queryEscape };

const ANY = 'interface {}';
const RAW = 'reflect.Value';

type Kind = 'bool' | 'int' | 'float' | 'string' | 'invalid';

function basicKind(v: GoValue): Kind {
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float';
    case 'string':
      return 'string';
  }
  if (v instanceof GoDuration && !v.ptr) return 'int';
  throw new GoError('invalid type for comparison');
}

function num(v: GoValue): bigint | number | string | boolean {
  if (v instanceof GoDuration) return v.ns;
  return v as bigint | number | string | boolean;
}

function eq(args: GoValue[]): boolean {
  const [a1, ...rest] = args;
  if (rest.length === 0) throw new GoError('missing argument for comparison');
  const k1 = a1 === undefined || a1 === null ? 'invalid' : basicKind(a1);
  for (const a of rest) {
    const k2 = a === undefined || a === null ? 'invalid' : basicKind(a);
    if (k1 !== k2) {
      if (k1 !== 'invalid' && k2 !== 'invalid') throw new GoError('incompatible types for comparison');
      continue;
    }
    if (k1 === 'invalid' || num(a1) === num(a)) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 !== k2) throw new GoError('incompatible types for comparison');
  if (k1 === 'bool') throw new GoError('invalid type for comparison');
  return num(a) < num(b);
}

/** Printable form of print/html/js/urlquery arguments: pointers print what they point to. */
function printable(v: GoValue): GoValue {
  if (v instanceof GoStruct && v.ptr) return new GoStruct(v.typeName.slice(1), v.fields, false);
  return v;
}

function evalArgs(args: GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map(printable));
}

/** Go's template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  return s.replace(/[&'<>"\0]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case "'":
        return '&#39;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&#34;';
      default:
        return '\uFFFD';
    }
  });
}

/** Go's template.JSEscapeString. */
export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp === 0x2028 || cp === 0x2029) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    else out += ch;
  }
  return out;
}

function indexArg(v: GoValue, cap: number): number {
  if (typeof v !== 'bigint') {
    if (v === undefined || v === null) throw new GoError('cannot index slice/array with nil');
    throw new GoError(`cannot index slice/array with type ${typeName(v)}`);
  }
  const x = Number(v);
  if (x < 0 || x >= cap) throw new GoError(`index out of range: ${x}`);
  return x;
}

function index(args: GoValue[]): GoValue {
  let item = args[0];
  if (item === undefined) throw new GoError('index of untyped nil');
  for (const ix of args.slice(1)) {
    if (item === null) throw new GoError('index of nil pointer');
    if (item instanceof GoSlice) item = item.items[indexArg(ix, item.items.length)];
    else if (typeof item === 'string') {
      const bytes = Buffer.from(item, 'utf8');
      item = BigInt(bytes[indexArg(ix, bytes.length)]); // a byte (uint8)
    } else if (item instanceof GoMap) {
      if (typeof ix !== 'string') throw new GoError(`value has type ${ix === undefined || ix === null ? 'nil' : typeName(ix)}; should be string`);
      item = item.entries.has(ix) ? item.entries.get(ix) : zeroOf(item.elem);
    } else throw new GoError(`can't index item of type ${typeName(item)}`);
  }
  return item;
}

function sliceFn(args: GoValue[]): GoValue {
  const item = args[0];
  if (item === undefined || item === null) throw new GoError('slice of untyped nil');
  if (args.length > 4) throw new GoError(`too many slice indexes: ${args.length - 1}`);
  let len: number;
  if (typeof item === 'string') len = item.length;
  else if (item instanceof GoSlice) len = item.items.length;
  else throw new GoError(`can't slice item of type ${typeName(item)}`);
  const idx = [0, len];
  for (let i = 1; i < args.length; i++) idx[i - 1] = indexArg(args[i], len + 1);
  if (idx[0] > idx[1]) throw new GoError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (typeof item === 'string') return item.slice(idx[0], idx[1]);
  return new GoSlice(item.items.slice(idx[0], idx[1]), item.typeName);
}

function length(v: GoValue): bigint {
  if (v === undefined || v === null) throw new GoError('len of nil pointer');
  if (typeof v === 'string') return BigInt(Buffer.byteLength(v, 'utf8'));
  if (v instanceof GoSlice) return BigInt(v.items.length);
  if (v instanceof GoMap) return BigInt(v.entries.size);
  throw new GoError(`len of type ${typeName(v)}`);
}

export const BUILTINS: ReadonlyMap<string, FuncDef> = new Map<string, FuncDef>([
  ['and', { params: [RAW], variadic: RAW, shortCircuit: 'and', fn: () => undefined }],
  ['or', { params: [RAW], variadic: RAW, shortCircuit: 'or', fn: () => undefined }],
  ['not', { params: [RAW], fn: ([a]) => !isTrue(a) }],
  ['len', { params: [RAW], fn: ([a]) => length(a) }],
  ['index', { params: [RAW], variadic: RAW, fn: index }],
  ['slice', { params: [RAW], variadic: RAW, fn: sliceFn }],
  ['print', { params: [], variadic: ANY, fn: (a) => sprint(a.map(printable)) }],
  ['printf', { params: ['string'], variadic: ANY, fn: ([f, ...a]) => sprintf(f as string, a) }],
  ['println', { params: [], variadic: ANY, fn: (a) => sprintln(a.map(printable)) }],
  ['eq', { params: [RAW], variadic: RAW, fn: eq }],
  ['ne', { params: [RAW, RAW], fn: ([a, b]) => !eq([a, b]) }],
  ['lt', { params: [RAW, RAW], fn: ([a, b]) => lt(a, b) }],
  ['le', { params: [RAW, RAW], fn: ([a, b]) => lt(a, b) || eq([a, b]) }],
  ['gt', { params: [RAW, RAW], fn: ([a, b]) => !(lt(a, b) || eq([a, b])) }],
  ['ge', { params: [RAW, RAW], fn: ([a, b]) => !lt(a, b) }],
  ['html', { params: [], variadic: ANY, fn: (a) => htmlEscape(evalArgs(a)) }],
  ['js', { params: [], variadic: ANY, fn: (a) => jsEscape(evalArgs(a)) }],
  ['urlquery', { params: [], variadic: ANY, fn: (a) => queryEscape(evalArgs(a)) }],
  [
    'call',
    {
      params: [RAW],
      variadic: RAW,
      fn: ([f]) => {
        if (f === undefined || f === null) throw new GoError('call of nil');
        throw new GoError(`non-function of type ${typeName(f)}`);
      },
    },
  ],
]);
