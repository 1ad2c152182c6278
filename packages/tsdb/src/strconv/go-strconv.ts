// The parts of Go's strconv that Prometheus's formats lean on: ParseFloat's grammar
// (which differs from JS Number(): no hex/binary literals, no surrounding whitespace,
// "Inf" and "NaN" in any case), ParseInt, and Quote, for label matchers and for error
// messages that read like Prometheus's.

/** Exact powers of ten: 10^k is representable in a double for k <= 22. */
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

/**
 * Parses s[a, b) as Prometheus's textparse.parseFloat does: strconv.ParseFloat(s, 64)
 * after rejecting 'p', 'P' and '_' ("pre-Go 1.13 float formats"). Throws an Error with
 * Go's message on failure.
 */
export function parseGoFloat(s: string, a: number, b: number): number {
  // Fast path: [+-]digits[.digits] with at most 15 significant digits. Both the
  // integer mantissa and 10^k are exact doubles, so one division rounds correctly
  // (Clinger's fast path) and the result equals Go's correctly rounded parse.
  let i = a;
  let neg = false;
  let c = s.charCodeAt(i);
  if (c === 45 /* - */ || c === 43 /* + */) {
    neg = c === 45;
    c = s.charCodeAt(++i);
  }
  let m = 0;
  let digits = 0;
  let frac = 0;
  let dot = false;
  for (; i < b; i++) {
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (dot) frac++;
    } else if (c === 46 /* . */ && !dot) {
      dot = true;
    } else break;
  }
  if (i === b && digits > 0 && digits <= 15) {
    const v = frac === 0 ? m : m / POW10[frac];
    return neg ? -v : v;
  }
  return parseGoFloatSlow(s, a, b);
}

function parseGoFloatSlow(s: string, a: number, b: number): number {
  const str = s.slice(a, b);
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c === 112 /* p */ || c === 80 /* P */ || c === 95 /* _ */) throw new Error('unsupported character in float');
  }
  let i = a;
  let c = s.charCodeAt(i);
  let signed = false;
  if (c === 43 || c === 45) {
    signed = true;
    c = s.charCodeAt(++i);
  }
  // Specials, case-insensitive as in Go: [+-]inf, [+-]infinity, nan (no sign).
  if (c === 105 || c === 73 || c === 110 || c === 78) {
    const rest = s.slice(i, b).toLowerCase();
    if (rest === 'inf' || rest === 'infinity') return s.charCodeAt(a) === 45 ? -Infinity : Infinity;
    if (rest === 'nan' && !signed) return NaN;
    throw syntaxError(str);
  }
  // Decimal: digits [. digits] [(e|E) [+-] digits], at least one mantissa digit.
  let mant = 0;
  while (i < b && isDigit(s.charCodeAt(i))) (i++, mant++);
  if (i < b && s.charCodeAt(i) === 46) {
    i++;
    while (i < b && isDigit(s.charCodeAt(i))) (i++, mant++);
  }
  if (mant === 0) throw syntaxError(str);
  if (i < b && (s.charCodeAt(i) | 32) === 101 /* e */) {
    i++;
    if (i < b && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++;
    let exp = 0;
    while (i < b && isDigit(s.charCodeAt(i))) (i++, exp++);
    if (exp === 0) throw syntaxError(str);
  }
  if (i !== b) throw syntaxError(str);
  // JS and Go both round decimal strings correctly, so Number() agrees bit for bit.
  const v = Number(str);
  if (v === Infinity || v === -Infinity) throw new Error(`strconv.ParseFloat: parsing ${goQuote(str)}: value out of range`);
  return v;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function syntaxError(str: string): Error {
  return new Error(`strconv.ParseFloat: parsing ${goQuote(str)}: invalid syntax`);
}

/**
 * Parses s[a, b) as strconv.ParseInt(s, 10, 64) for the unsigned digit strings the
 * Prometheus text format allows in timestamps. Values beyond 2^53 lose precision (JS
 * numbers); ones beyond int64 are rejected like Go does.
 */
export function parseGoInt(s: string, a: number, b: number): number {
  let i = a;
  const c0 = s.charCodeAt(i);
  if (c0 === 43 || c0 === 45) i++;
  if (i === b) throw new Error(`strconv.ParseInt: parsing ${goQuote(s.slice(a, b))}: invalid syntax`);
  let v = 0;
  for (; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) throw new Error(`strconv.ParseInt: parsing ${goQuote(s.slice(a, b))}: invalid syntax`);
    v = v * 10 + (c - 48);
  }
  if (b - a > 15) {
    // Range-check on the digit string (doubles cannot tell 2^63-1 from 2^63), then let
    // Number() round once instead of accumulating rounding error.
    const digits = s.slice(c0 === 43 || c0 === 45 ? a + 1 : a, b).replace(/^0+/, '');
    const limit = c0 === 45 ? '9223372036854775808' : '9223372036854775807';
    if (digits.length > 19 || (digits.length === 19 && digits > limit)) {
      throw new Error(`strconv.ParseInt: parsing ${goQuote(s.slice(a, b))}: value out of range`);
    }
    v = Number(digits || '0');
  }
  return c0 === 45 ? -v : v;
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/**
 * Quotes s like Go's strconv.Quote: `"` and `\` escaped, named escapes (\n, \t, ...) and
 * \xHH for other ASCII control characters, printable runes verbatim, other runes as \u or
 * \U.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (r === 0x22 || r === 0x5c) {
      out += '\\' + ch;
      continue;
    }
    if (r >= 0x20 && r < 0x7f) {
      out += ch;
      continue;
    }
    if (r >= 0x80 && (r < 0xd800 || r > 0xdfff) && PRINTABLE.test(ch)) {
      out += ch;
      continue;
    }
    switch (r) {
      case 0x07:
        out += '\\a';
        continue;
      case 0x08:
        out += '\\b';
        continue;
      case 0x0c:
        out += '\\f';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
      case 0x0b:
        out += '\\v';
        continue;
    }
    if (r < 0x20 || r === 0x7f) out += '\\x' + r.toString(16).padStart(2, '0');
    else if (r >= 0xd800 && r <= 0xdfff) out += '\ufffd'; // a lone surrogate reaches Go as U+FFFD
    else if (r < 0x10000) out += '\\u' + r.toString(16).padStart(4, '0');
    else out += '\\U' + r.toString(16).padStart(8, '0');
  }
  return out + '"';
}
