// Go's strconv and fmt behaviour where it reaches PromQL users: number syntax, quoting,
// float formatting and Prometheus durations (prometheus/common model.Duration).
//
// Strings. Go strings are bytes; a PromQL string literal may hold bytes that are not valid
// UTF-8 ("a\xc5z"), and Prometheus reports them back byte for byte (`invalid label name
// "a\xc5z"`). We keep such bytes in JS strings the way Python's "surrogateescape" does: a
// byte 0x80..0xff that is not part of a valid UTF-8 sequence becomes the lone surrogate
// U+DC80..U+DCFF. Text read from UTF-8 never contains lone surrogates, so the mapping is
// unambiguous; quoteGo() turns them back into `\xNN`, and isValidUTF8() rejects them.

const ESCAPED_BYTE_BASE = 0xdc00;

/** Number of bytes of s in UTF-8 (escaped bytes count as one, lone surrogates as three). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) n += 1; // an escaped raw byte
    else n += 3;
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Whether s is valid UTF-8 in Go's sense: no escaped raw bytes and no lone surrogates. */
export function isValidUTF8(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    return false;
  }
  return true;
}

/**
 * Decodes UTF-8 bytes like Go's utf8.DecodeRune loop: valid sequences become their
 * characters, every byte of an invalid sequence becomes an escaped raw byte.
 */
export function decodeGoBytes(b: ArrayLike<number>): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c0 = b[i];
    if (c0 < 0x80) {
      out += String.fromCharCode(c0);
      i++;
      continue;
    }
    let need = 0;
    let cp = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (c0 >= 0xc2 && c0 <= 0xdf) {
      need = 1;
      cp = c0 & 0x1f;
    } else if (c0 >= 0xe0 && c0 <= 0xef) {
      need = 2;
      cp = c0 & 0x0f;
      if (c0 === 0xe0) lo = 0xa0;
      if (c0 === 0xed) hi = 0x9f; // no surrogates
    } else if (c0 >= 0xf0 && c0 <= 0xf4) {
      need = 3;
      cp = c0 & 0x07;
      if (c0 === 0xf0) lo = 0x90;
      if (c0 === 0xf4) hi = 0x8f;
    }
    let ok = need > 0 && i + need < b.length;
    if (ok) {
      for (let k = 1; k <= need; k++) {
        const ck = b[i + k];
        if (ck === undefined || ck < (k === 1 ? lo : 0x80) || ck > (k === 1 ? hi : 0xbf)) {
          ok = false;
          break;
        }
        cp = (cp << 6) | (ck & 0x3f);
      }
    }
    if (!ok) {
      out += String.fromCharCode(ESCAPED_BYTE_BASE + c0);
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** Appends the UTF-8 encoding of code point cp (escaped raw bytes as the byte) to out. */
function pushUTF8(out: number[], cp: number): void {
  if (cp >= 0xdc80 && cp <= 0xdcff) out.push(cp - ESCAPED_BYTE_BASE);
  else if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isPrint(cp: number): boolean {
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp < 0x7f) return true;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return PRINTABLE.test(String.fromCodePoint(cp));
}

function escapeRune(cp: number, quote: number): string {
  if (cp === quote || cp === 0x5c) return '\\' + String.fromCharCode(cp);
  if (isPrint(cp)) return String.fromCodePoint(cp);
  switch (cp) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + hex(cp, 2);
  if (cp < 0x10000) return '\\u' + hex(cp, 4);
  return '\\U' + hex(cp, 8);
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * Go's strconv.Quote (and fmt's %q of a string). Escaped raw bytes print as `\xNN`; other
 * lone surrogates print as U+FFFD, which is what they become in UTF-8.
 */
export function quoteGo(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; ) {
    const cp = s.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    if (cp >= 0xdc80 && cp <= 0xdcff) out += '\\x' + hex(cp - ESCAPED_BYTE_BASE, 2);
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\ufffd';
    else out += escapeRune(cp, 0x22);
  }
  return out + '"';
}

/** fmt's %.Nq: the first n characters of s, quoted. */
export function quoteGoPrefix(s: string, n: number): string {
  let end = 0;
  for (let k = 0; k < n && end < s.length; k++) {
    const cp = s.codePointAt(end)!;
    end += cp > 0xffff ? 2 : 1;
  }
  return quoteGo(s.slice(0, end));
}

/** Go's strconv.QuoteRune (fmt's %q of a rune): 'x', '\n', '\''. */
export function quoteRuneGo(cp: number): string {
  if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
  return "'" + escapeRune(cp, 0x27) + "'";
}

/** fmt's %#U: "U+0071 'q'" for printable runes, "U+000A" otherwise. */
export function formatRuneGo(cp: number): string {
  const code = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  return isPrint(cp) ? `${code} '${String.fromCodePoint(cp)}'` : code;
}

/** An error from Go's strconv (ErrSyntax or ErrRange), with Go's message. */
export class GoStrconvError extends Error {
  constructor(fn: string, input: string, reason: 'invalid syntax' | 'value out of range') {
    super(`strconv.${fn}: parsing ${quoteGo(input)}: ${reason}`);
    this.name = 'GoStrconvError';
  }
}

/**
 * Prometheus's util/strutil.Unquote: like strconv.Unquote, but single-quoted strings may
 * hold any number of characters. `\x`/octal escapes yield raw bytes (see the top of this
 * file). Throws Error("invalid syntax") like strconv.ErrSyntax.
 */
export function unquoteGo(s: string): string {
  const n = s.length;
  if (n < 2) throw new Error('invalid syntax');
  const quote = s.charCodeAt(0);
  if (quote !== s.charCodeAt(n - 1)) throw new Error('invalid syntax');
  const body = s.slice(1, n - 1);
  if (quote === 0x60) {
    if (body.includes('`')) throw new Error('invalid syntax');
    return body;
  }
  if (quote !== 0x22 && quote !== 0x27) throw new Error('invalid syntax');
  if (body.includes('\n')) throw new Error('invalid syntax');
  const q = String.fromCharCode(quote);
  if (!body.includes('\\') && !body.includes(q)) return body;

  // Escapes may produce raw bytes that combine with their neighbours ("\xc3\xa9" is "é"),
  // so the body is rebuilt as UTF-8 bytes and decoded once.
  const bytes: number[] = [];
  for (let i = 0; i < body.length; ) {
    const cp = body.codePointAt(i)!;
    if (cp === quote) throw new Error('invalid syntax');
    if (cp !== 0x5c) {
      pushUTF8(bytes, cp);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = body.charCodeAt(i + 1);
    i += 2;
    switch (e) {
      case 0x61:
        bytes.push(7);
        continue;
      case 0x62:
        bytes.push(8);
        continue;
      case 0x66:
        bytes.push(12);
        continue;
      case 0x6e:
        bytes.push(10);
        continue;
      case 0x72:
        bytes.push(13);
        continue;
      case 0x74:
        bytes.push(9);
        continue;
      case 0x76:
        bytes.push(11);
        continue;
      case 0x5c:
        bytes.push(0x5c);
        continue;
      case 0x27:
      case 0x22:
        if (e !== quote) throw new Error('invalid syntax');
        bytes.push(e);
        continue;
      case 0x78: // \xhh: one raw byte
      case 0x75: // \uhhhh
      case 0x55: {
        // \Uhhhhhhhh
        const len = e === 0x78 ? 2 : e === 0x75 ? 4 : 8;
        const digits = body.slice(i, i + len);
        if (digits.length !== len || !/^[0-9a-fA-F]+$/.test(digits)) throw new Error('invalid syntax');
        i += len;
        const v = parseInt(digits, 16);
        if (e === 0x78) {
          bytes.push(v);
        } else {
          if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new Error('invalid syntax');
          pushUTF8(bytes, v);
        }
        continue;
      }
      default: {
        if (e >= 0x30 && e <= 0x37) {
          const digits = body.slice(i - 1, i + 2);
          if (!/^[0-7]{3}$/.test(digits)) throw new Error('invalid syntax');
          const v = parseInt(digits, 8);
          if (v > 255) throw new Error('invalid syntax');
          i += 2;
          bytes.push(v);
          continue;
        }
        throw new Error('invalid syntax');
      }
    }
  }
  return decodeGoBytes(bytes);
}

// ---- numbers ----

const INT64_MAX = (1n << 63n) - 1n;

function lower(c: string): string {
  return c.toLowerCase();
}

/** Go's strconv underscoreOK: underscores only between digits or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let isHex = false;
  if (s.length >= 2 && s[0] === '0' && (lower(s[1]) === 'b' || lower(s[1]) === 'o' || lower(s[1]) === 'x')) {
    i = 2;
    saw = '0';
    isHex = lower(s[1]) === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= '0' && c <= '9') || (isHex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * Go's strconv.ParseInt(s, 0, 64) converted to float64, or null when Go would fail
 * (syntax or range). Base prefixes 0x, 0o, 0b and a leading 0 (octal) are honoured.
 */
export function parseIntGo0(s: string): number | null {
  let body = s;
  let neg = false;
  if (body[0] === '+' || body[0] === '-') {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  if (body === '') return null;
  let base = 10;
  let digits = body;
  if (body[0] === '0' && body.length > 1) {
    const p = lower(body[1]);
    if (p === 'x') {
      base = 16;
      digits = body.slice(2);
    } else if (p === 'o') {
      base = 8;
      digits = body.slice(2);
    } else if (p === 'b') {
      base = 2;
      digits = body.slice(2);
    } else {
      base = 8;
      digits = body.slice(1);
    }
  }
  if (digits.includes('_')) {
    if (!underscoreOK(s)) return null;
    digits = digits.replace(/_/g, '');
  }
  if (digits === '') return null;
  const valid = base === 16 ? /^[0-9a-fA-F]+$/ : base === 10 ? /^[0-9]+$/ : base === 8 ? /^[0-7]+$/ : /^[01]+$/;
  if (!valid.test(digits)) return null;
  const prefix = base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '';
  const v = BigInt(prefix + digits);
  if (neg ? v > INT64_MAX + 1n : v > INT64_MAX) return null;
  const f = Number(v); // round to nearest, ties to even, as Go's float64(int64)
  return neg ? -f : f;
}

/** Go's strconv.ParseFloat(s, 64); throws GoStrconvError with Go's message. */
export function parseFloatGo(s: string): number {
  let body = s;
  let sign = 1;
  if (body[0] === '+' || body[0] === '-') {
    if (body[0] === '-') sign = -1;
    body = body.slice(1);
  }
  const l = body.toLowerCase();
  if (l === 'inf' || l === 'infinity') return sign * Infinity;
  if (l === 'nan') return NaN;
  let digits = body;
  if (digits.includes('_')) {
    if (!underscoreOK(s)) throw new GoStrconvError('ParseFloat', s, 'invalid syntax');
    digits = digits.replace(/_/g, '');
  }
  let v: number;
  if (/^0[xX]/.test(digits)) {
    // Hexadecimal floats need a 'p' exponent; the PromQL lexer never produces one.
    const m = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(digits);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) throw new GoStrconvError('ParseFloat', s, 'invalid syntax');
    const mant = BigInt('0x' + (m[1] || '0') + (m[2] ?? ''));
    const exp = Number(m[3]) - 4 * (m[2] ?? '').length;
    v = Number(mant) * Math.pow(2, exp);
  } else {
    if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(digits)) {
      throw new GoStrconvError('ParseFloat', s, 'invalid syntax');
    }
    v = Number(digits);
  }
  if (!Number.isFinite(v)) throw new GoStrconvError('ParseFloat', s, 'value out of range');
  return sign * v;
}

/** Go's strconv.ParseUint(s, 10, 64) as a JS number; throws GoStrconvError. */
export function parseUintGo10(s: string): number {
  if (!/^[0-9]+$/.test(s)) throw new GoStrconvError('ParseUint', s, 'invalid syntax');
  const v = BigInt(s);
  if (v > (1n << 64n) - 1n) throw new GoStrconvError('ParseUint', s, 'value out of range');
  return Number(v);
}

// ---- float formatting ----

/** Shortest decimal digits and decimal exponent of a finite, non-zero |v| (v = 0.d1d2… × 10^dp). */
function shortestDigits(v: number): { digits: string; dp: number } {
  const e = Math.abs(v).toExponential(); // shortest round-trip digits, like Go's 'g' -1
  const [mant, exp] = e.split('e');
  const digits = mant.replace('.', '');
  return { digits, dp: Number(exp) + 1 };
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64). */
export function formatFloatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const sign = v < 0 ? '-' : '';
  const { digits, dp } = shortestDigits(v);
  if (dp <= 0) return sign + '0.' + '0'.repeat(-dp) + digits;
  if (dp >= digits.length) return sign + digits + '0'.repeat(dp - digits.length);
  return sign + digits.slice(0, dp) + '.' + digits.slice(dp);
}

/** Go's fmt %v / %g of a float64 (strconv 'g' with shortest precision). */
export function formatFloatG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const sign = v < 0 ? '-' : '';
  const { digits, dp } = shortestDigits(v);
  const exp = dp - 1;
  // Shortest 'g' switches to the exponent form outside [1e-4, 1e6), as Go does.
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const es = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${es}`;
  }
  if (dp <= 0) return sign + '0.' + '0'.repeat(-dp) + digits;
  if (dp >= digits.length) return sign + digits + '0'.repeat(dp - digits.length);
  return sign + digits.slice(0, dp) + '.' + digits.slice(dp);
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Go's fmt %.Nf (strconv 'f' with precision prec): exact decimal, rounded half to even. */
export function formatFloatFixed(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  F64[0] = v;
  const hi = U32[LE ? 1 : 0];
  const lo = U32[LE ? 0 : 1];
  const neg = hi >>> 31 === 1;
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (bexp === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = bexp - 1075;
  }
  const scale = 10n ** BigInt(prec);
  let q: bigint;
  if (e2 >= 0) q = (mant << BigInt(e2)) * scale;
  else {
    const num = mant * scale;
    const den = 1n << BigInt(-e2);
    q = num / den;
    const r2 = (num % den) * 2n;
    if (r2 > den || (r2 === den && (q & 1n) === 1n)) q += 1n;
  }
  let s = q.toString().padStart(prec + 1, '0');
  if (prec > 0) s = s.slice(0, s.length - prec) + '.' + s.slice(s.length - prec);
  return (neg ? '-' : '') + s;
}

// ---- durations (prometheus/common model.Duration) ----

const NS_PER_MS = 1_000_000n;
const DURATION_UNITS: Record<string, { pos: number; ns: bigint }> = {
  y: { pos: 1, ns: 365n * 24n * 3600n * 1_000_000_000n },
  w: { pos: 2, ns: 7n * 24n * 3600n * 1_000_000_000n },
  d: { pos: 3, ns: 24n * 3600n * 1_000_000_000n },
  h: { pos: 4, ns: 3600n * 1_000_000_000n },
  m: { pos: 5, ns: 60n * 1_000_000_000n },
  s: { pos: 6, ns: 1_000_000_000n },
  ms: { pos: 7, ns: 1_000_000n },
};

/**
 * model.ParseDuration: "5m", "1h30m", "10s53ms", "0". Returns nanoseconds as a BigInt (a
 * time.Duration); throws Error with prometheus/common's message.
 */
export function parseDurationNs(s: string): bigint {
  if (s === '0') return 0n;
  if (s === '') throw new Error('empty duration string');
  const orig = s;
  let dur = 0n;
  let lastUnitPos = 0;
  while (s !== '') {
    if (!(s[0] >= '0' && s[0] <= '9')) throw new Error(`not a valid duration string: ${quoteGo(orig)}`);
    let i = 0;
    while (i < s.length && s[i] >= '0' && s[i] <= '9') i++;
    const v = BigInt(s.slice(0, i));
    if (v > (1n << 64n) - 1n) throw new Error(`not a valid duration string: ${quoteGo(orig)}`);
    s = s.slice(i);
    i = 0;
    while (i < s.length && !(s[i] >= '0' && s[i] <= '9')) i++;
    if (i === 0) throw new Error(`not a valid duration string: ${quoteGo(orig)}`);
    const u = s.slice(0, i);
    s = s.slice(i);
    const unit = Object.hasOwn(DURATION_UNITS, u) ? DURATION_UNITS[u] : undefined;
    if (unit === undefined) throw new Error(`unknown unit ${quoteGo(u)} in duration ${quoteGo(orig)}`);
    if (unit.pos <= lastUnitPos) throw new Error(`not a valid duration string: ${quoteGo(orig)}`);
    lastUnitPos = unit.pos;
    if (v > (1n << 63n) / unit.ns) throw new Error('duration out of range');
    dur += v * unit.ns;
    if (dur > INT64_MAX) throw new Error('duration out of range');
  }
  return dur;
}

/** model.ParseDuration in milliseconds ("10m", "1h30m", "0"), as test scripts write times. */
export function parseDurationMs(s: string): number {
  return Number(parseDurationNs(s) / NS_PER_MS);
}

/** time.Duration.Seconds() of a nanosecond count. */
export function nsToSeconds(ns: bigint): number {
  const sec = ns / 1_000_000_000n;
  const nsec = ns % 1_000_000_000n;
  return Number(sec) + Number(nsec) / 1e9;
}

const INT64_MIN_MS = Number(-(1n << 63n) / NS_PER_MS);

/**
 * Milliseconds of time.Duration(math.Round(seconds*1e9)), truncated like Prometheus's
 * durationMilliseconds. Non-finite or overflowing values behave like Go on amd64
 * (the conversion yields math.MinInt64).
 */
export function secondsToDurationMs(seconds: number): number {
  const ns = goRound(seconds * 1e9);
  if (!Number.isFinite(ns) || ns >= 9223372036854775807 || ns < -9223372036854775808) return INT64_MIN_MS;
  return Number(BigInt(ns) / NS_PER_MS);
}

/** Milliseconds of time.Duration(f) for a float number of nanoseconds (truncating, as Go). */
export function nsFloatToMs(nsf: number): number {
  const ns = Math.trunc(nsf);
  if (!Number.isFinite(ns) || ns >= 9223372036854775807 || ns < -9223372036854775808) return INT64_MIN_MS;
  return Number(BigInt(ns) / NS_PER_MS);
}

/** Go's math.Round: half away from zero. */
export function goRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(Math.abs(x));
  return x < 0 ? -r : r;
}

const MS_UNITS: ReadonlyArray<[string, number, boolean]> = [
  ['y', 365 * 24 * 3600_000, true],
  ['w', 7 * 24 * 3600_000, true],
  ['d', 24 * 3600_000, false],
  ['h', 3600_000, false],
  ['m', 60_000, false],
  ['s', 1000, false],
  ['ms', 1, false],
];

/**
 * model.Duration.String() of a duration given in (integer) milliseconds: "1h30m", "90d"
 * (years and weeks only when exact), "0s". Negative durations print as "" like Go.
 */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let r = '';
  for (const [unit, mult, exact] of MS_UNITS) {
    if (exact && rest % mult !== 0) continue;
    const v = Math.trunc(rest / mult);
    if (v > 0) {
      r += `${v}${unit}`;
      rest -= v * mult;
    }
  }
  return r;
}
