// Go's fmt as templates reach it: Sprint/Sprintln/Sprintf over Go values, with the verbs
// people write in alert templates (%s %v %d %f %.2f %e %g %q %x %t %c %T …), flags, width
// and precision, and Go's complaints (%!d(string=x), %!(EXTRA …), %!s(MISSING)).

import { formatFloatFixed, formatFloatG, quoteGo } from '@thanos-ts/promql';
import { formatDuration, formatTime } from './go-time.js';
import { GoDuration, GoMap, GoSlice, GoStruct, GoTime, type GoValue, typeName } from './value.js';

// ---- runes ----

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isPrint(cp: number): boolean {
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp < 0x7f) return true;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return PRINTABLE.test(String.fromCodePoint(cp));
}

/** fmt's %#U: "U+0071 'q'" for printable runes, "U+000A" otherwise. */
export function formatRune(cp: number): string {
  const code = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  return isPrint(cp) ? `${code} '${String.fromCodePoint(cp)}'` : code;
}

// ---- floats ----

/** Exact decimal digits of finite non-zero |v|: v = 0.d1d2… × 10^dp, trailing zeros trimmed. */
function exactDigits(v: number): { digits: string; dp: number } {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(v));
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (bexp === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = bexp - 1075;
  }
  let digits: string;
  let dp: number;
  if (e2 >= 0) {
    digits = (mant << BigInt(e2)).toString();
    dp = digits.length;
  } else {
    // mant × 2^e2 = mant × 5^-e2 / 10^-e2
    digits = (mant * 5n ** BigInt(-e2)).toString();
    dp = digits.length + e2;
  }
  digits = digits.replace(/0+$/, '');
  return { digits, dp };
}

/** Rounds exact digits to n significant digits, half to even (strconv's decimal rounding). */
function roundDigits(d: { digits: string; dp: number }, n: number): { digits: string; dp: number } {
  if (d.digits.length <= n) return d;
  const next = d.digits.charCodeAt(n) - 48;
  let up = next > 5;
  if (next === 5) {
    up = d.digits.length > n + 1 || (n > 0 && (d.digits.charCodeAt(n - 1) - 48) % 2 === 1);
  }
  let digits = d.digits.slice(0, n);
  let dp = d.dp;
  if (up) {
    let i = n - 1;
    const arr = digits.split('');
    while (i >= 0 && arr[i] === '9') {
      arr[i] = '0';
      i--;
    }
    if (i < 0) {
      arr.unshift('1');
      arr.pop();
      dp++;
    } else arr[i] = String.fromCharCode(arr[i].charCodeAt(0) + 1);
    digits = arr.join('');
  }
  return { digits: digits.replace(/0+$/, ''), dp };
}

function shortestDigits(v: number): { digits: string; dp: number } {
  const [mant, exp] = Math.abs(v).toExponential().split('e');
  return { digits: mant.replace('.', ''), dp: Number(exp) + 1 };
}

function special(v: number): string | null {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return null;
}

function expForm(digits: string, dp: number, prec: number, e: string): string {
  let mant = digits[0] ?? '0';
  if (prec > 0) mant += '.' + digits.slice(1).padEnd(prec, '0').slice(0, prec);
  const exp = digits === '' || digits === '0' ? 0 : dp - 1;
  return `${mant}${e}${exp < 0 ? '-' : '+'}${Math.abs(exp).toString().padStart(2, '0')}`;
}

/** %e / %E with precision prec (-1: shortest). */
export function formatFloatE(v: number, prec: number, e = 'e'): string {
  const s = special(v);
  if (s !== null) return s;
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (v === 0) return sign + expForm('0', 1, prec < 0 ? 0 : prec, e);
  const d = prec < 0 ? shortestDigits(v) : roundDigits(exactDigits(v), prec + 1);
  return sign + expForm(d.digits, d.dp, prec < 0 ? d.digits.length - 1 : prec, e);
}

/** %g / %G with precision prec (-1: shortest, as %v prints floats). */
export function formatFloatGPrec(v: number, prec: number, e = 'e'): string {
  if (prec < 0) {
    const s = formatFloatG(v);
    return e === 'E' ? s.replace('e', 'E') : s;
  }
  const s = special(v);
  if (s !== null) return s;
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (prec === 0) prec = 1;
  if (v === 0) return sign + '0';
  const d = roundDigits(exactDigits(v), prec);
  let eprec = prec;
  if (eprec > d.digits.length && d.digits.length >= d.dp) eprec = d.digits.length;
  const exp = d.dp - 1;
  if (exp < -4 || exp >= eprec) {
    return sign + expForm(d.digits, d.dp, Math.min(prec, d.digits.length) - 1, e);
  }
  const fracDigits = Math.max((prec > d.dp ? d.digits.length : prec) - d.dp, 0);
  return sign + fixedFromDigits(d.digits, d.dp, fracDigits);
}

function fixedFromDigits(digits: string, dp: number, frac: number): string {
  let int: string;
  if (dp <= 0) int = '0';
  else int = digits.slice(0, dp).padEnd(dp, '0');
  if (frac === 0) return int;
  let f = '';
  for (let i = 0; i < frac; i++) {
    const j = dp + i;
    f += j >= 0 && j < digits.length ? digits[j] : '0';
  }
  return `${int}.${f}`;
}

/** %f with precision prec (-1: shortest). */
export function formatFloatFPrec(v: number, prec: number): string {
  const s = special(v);
  if (s !== null) return s;
  if (prec >= 0) return formatFloatFixed(v, prec);
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (v === 0) return sign + '0';
  const d = shortestDigits(v);
  return sign + fixedFromDigits(d.digits, d.dp, Math.max(d.digits.length - d.dp, 0));
}

// ---- values ----

/** fmt's %v of a value (`depth` > 0 inside composites, where pointers print as addresses in Go). */
export function formatValue(v: GoValue, plusV = false): string {
  switch (typeof v) {
    case 'undefined':
      return '<invalid reflect.Value>';
    case 'string':
      return v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return formatFloatG(v);
    case 'bigint':
      return v.toString();
  }
  if (v === null) return '<nil>';
  if (v instanceof GoMap) {
    const keys = [...v.entries.keys()].sort(compareStrings);
    return 'map[' + keys.map((k) => `${k}:${formatElem(v.entries.get(k))}`).join(' ') + ']';
  }
  if (v instanceof GoSlice) return '[' + v.items.map((x) => formatElem(x)).join(' ') + ']';
  if (v instanceof GoStruct) {
    const body = Object.entries(v.fields)
      .map(([k, x]) => (plusV ? `${k}:` : '') + formatElem(x))
      .join(' ');
    return (v.ptr ? '&' : '') + '{' + body + '}';
  }
  if (v instanceof GoTime) return formatTime(v.ns);
  if (v instanceof GoDuration) return formatDuration(v.ns);
  return String(v);
}

function formatElem(v: GoValue): string {
  if (v === undefined) return '<nil>';
  return formatValue(v);
}

/** Byte-wise string order, as Go sorts map keys. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** fmt.Sprint: operands separated by a space when neither side is a string. */
export function sprint(args: GoValue[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && typeof args[i] !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printArg(args[i]);
  }
  return out;
}

/** fmt.Sprintln: operands always separated by spaces, newline appended. */
export function sprintln(args: GoValue[]): string {
  return args.map(printArg).join(' ') + '\n';
}

function printArg(v: GoValue): string {
  if (v === undefined || v === null) return '<nil>';
  return formatValue(v);
}

// ---- Sprintf ----

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number;
  prec: number;
}

/** fmt.Sprintf over Go values. */
export function sprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argNum = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false, width: -1, prec: -1 };
    flags: for (; i < n; i++) {
      switch (format[i]) {
        case '-':
          spec.minus = true;
          spec.zero = false;
          break;
        case '+':
          spec.plus = true;
          break;
        case '#':
          spec.sharp = true;
          break;
        case ' ':
          spec.space = true;
          break;
        case '0':
          spec.zero = !spec.minus;
          break;
        default:
          break flags;
      }
    }
    // Width.
    if (format[i] === '*') {
      i++;
      const a = args[argNum++];
      if (typeof a === 'bigint') {
        spec.width = Number(a);
        if (spec.width < 0) {
          spec.minus = true;
          spec.width = -spec.width;
        }
      } else out += '%!(BADWIDTH)';
    } else {
      const m = /^[0-9]+/.exec(format.slice(i));
      if (m) {
        spec.width = Number(m[0]);
        i += m[0].length;
      }
    }
    // Precision.
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const a = args[argNum++];
        if (typeof a === 'bigint' && a >= 0n) spec.prec = Number(a);
        else out += '%!(BADPREC)';
      } else {
        const m = /^[0-9]+/.exec(format.slice(i));
        spec.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(args[argNum++], verb, spec);
  }
  if (argNum < args.length) {
    out += '%!(EXTRA ' + args.slice(argNum).map((a) => `${a === null || a === undefined ? '<nil>' : typeName(a)}=${printArg(a)}`).join(', ') + ')';
  }
  return out;
}

function pad(s: string, spec: Spec, zeroOK = true): string {
  const len = [...s].length;
  if (spec.width < 0 || len >= spec.width) return s;
  const fill = spec.width - len;
  if (spec.minus) return s + ' '.repeat(fill);
  if (spec.zero && zeroOK) {
    const signed = s[0] === '-' || s[0] === '+' || s[0] === ' ';
    return signed ? s[0] + '0'.repeat(fill) + s.slice(1) : '0'.repeat(fill) + s;
  }
  return ' '.repeat(fill) + s;
}

function badVerb(v: GoValue, verb: string): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${formatValue(v)})`;
}

function signed(s: string, neg: boolean, spec: Spec): string {
  if (neg) return '-' + s;
  if (spec.plus) return '+' + s;
  if (spec.space) return ' ' + s;
  return s;
}

function formatInt(x: bigint, verb: string, spec: Spec): string {
  const neg = x < 0n;
  const abs = neg ? -x : x;
  let digits: string;
  switch (verb) {
    case 'd':
    case 'v':
      digits = abs.toString();
      break;
    case 'b':
      digits = abs.toString(2);
      break;
    case 'o':
    case 'O':
      digits = abs.toString(8);
      break;
    case 'x':
      digits = abs.toString(16);
      break;
    case 'X':
      digits = abs.toString(16).toUpperCase();
      break;
    case 'c':
      return pad(String.fromCodePoint(Number(x)), spec, false);
    case 'q':
      return pad("'" + String.fromCodePoint(Number(x)) + "'", spec, false);
    case 'U':
      return pad('U+' + abs.toString(16).toUpperCase().padStart(4, '0'), spec, false);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return badVerb(x, verb);
    default:
      return badVerb(x, verb);
  }
  if (spec.prec >= 0) digits = digits.padStart(spec.prec, '0');
  if (spec.sharp) {
    if (verb === 'x') digits = '0x' + digits;
    else if (verb === 'X') digits = '0X' + digits;
    else if (verb === 'o' && digits[0] !== '0') digits = '0' + digits;
  }
  if (verb === 'O') digits = '0o' + digits;
  return pad(signed(digits, neg, spec), spec, spec.prec < 0);
}

function formatFloat(x: number, verb: string, spec: Spec): string {
  let s: string;
  switch (verb) {
    case 'v':
    case 'g':
      s = formatFloatGPrec(x, spec.prec);
      break;
    case 'G':
      s = formatFloatGPrec(x, spec.prec, 'E');
      break;
    case 'e':
      s = formatFloatE(x, spec.prec < 0 ? 6 : spec.prec);
      break;
    case 'E':
      s = formatFloatE(x, spec.prec < 0 ? 6 : spec.prec, 'E');
      break;
    case 'f':
    case 'F':
      s = formatFloatFPrec(x, spec.prec < 0 ? 6 : spec.prec);
      break;
    default:
      return badVerb(x, verb);
  }
  const neg = s[0] === '-';
  if (neg) s = s.slice(1);
  else if (s[0] === '+') s = s.slice(1); // +Inf: the sign comes back below
  if (!neg && x === Infinity) s = (spec.plus ? '+' : spec.space ? ' ' : '+') + s;
  else s = signed(s, neg, spec);
  // Infinities and NaN are never zero-padded.
  return pad(s, spec, Number.isFinite(x));
}

function formatString(s: string, verb: string, spec: Spec): string {
  if (spec.prec >= 0 && verb !== 'x' && verb !== 'X') s = [...s].slice(0, spec.prec).join('');
  switch (verb) {
    case 's':
    case 'v':
      return pad(s, spec);
    case 'q':
      return pad(spec.sharp && !s.includes('`') ? '`' + s + '`' : quoteGo(s), spec);
    case 'x':
    case 'X': {
      let h = Buffer.from(s, 'utf8').toString('hex');
      if (verb === 'X') h = h.toUpperCase();
      return pad(h, spec);
    }
    default:
      return badVerb(s, verb);
  }
}

function formatOne(v: GoValue, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(v === null || v === undefined ? '<nil>' : typeName(v), spec);
  if (v === undefined || v === null) return verb === 'v' || verb === 's' ? pad('<nil>', spec) : `%!${verb}(<nil>)`;
  switch (typeof v) {
    case 'string':
      return formatString(v, verb, spec);
    case 'bigint':
      return formatInt(v, verb, spec);
    case 'number':
      return formatFloat(v, verb, spec);
    case 'boolean':
      return verb === 't' || verb === 'v' ? pad(v ? 'true' : 'false', spec) : badVerb(v, verb);
  }
  if (v instanceof GoTime || v instanceof GoDuration) {
    // Both are Stringers: %s and %v print String(); %d of a Duration prints its int64.
    if (verb === 's' || verb === 'v') return pad(formatValue(v), spec);
    if (v instanceof GoDuration && !v.ptr) return formatInt(v.ns, verb, spec);
    if (verb === 'q') return pad(quoteGo(formatValue(v)), spec);
    return badVerb(v, verb);
  }
  if (verb === 'v' || verb === 's') return pad(formatValue(v, spec.plus), spec);
  return badVerb(v, verb);
}
