// Go's strings.ToLower / strings.ToUpper for the lowercase and uppercase relabel actions.
//
// Go maps rune by rune with the simple (one-to-one) Unicode case mappings. JavaScript's
// toLowerCase/toUpperCase use the full mappings, which may expand a character ('ß' →
// 'SS', 'İ' → 'i̇') and lowercase a word-final 'Σ' to 'ς'. Mapping one code point at a
// time removes the context rule; the few code points whose full mapping expands are
// handled below with their simple mappings from UnicodeData.txt.

const ASCII = /^[\x00-\x7f]*$/;

export function goToLower(s: string): string {
  if (ASCII.test(s)) return s.toLowerCase(); // fast path
  let out = '';
  for (const ch of s) {
    // U+0130 'İ' is the only code point whose full lowercase mapping expands.
    out += ch === '\u0130' ? 'i' : ch.toLowerCase();
  }
  return out;
}

export function goToUpper(s: string): string {
  if (ASCII.test(s)) return s.toUpperCase(); // fast path
  let out = '';
  for (const ch of s) {
    const u = ch.toUpperCase();
    const cp = u.codePointAt(0)!;
    out += u.length === (cp > 0xffff ? 2 : 1) ? u : simpleUpperOfExpanding(ch.codePointAt(0)!);
  }
  return out;
}

/**
 * Simple uppercase mapping of a code point whose full mapping is several code points
 * (SpecialCasing.txt). Only the Greek letters with ypogegrammeni have one; the rest ('ß',
 * 'ŉ', ligatures, titlecase ᾈ…) map to themselves.
 */
function simpleUpperOfExpanding(cp: number): string {
  if ((cp >= 0x1f80 && cp <= 0x1f87) || (cp >= 0x1f90 && cp <= 0x1f97) || (cp >= 0x1fa0 && cp <= 0x1fa7)) {
    return String.fromCodePoint(cp + 8);
  }
  if (cp === 0x1fb3 || cp === 0x1fc3 || cp === 0x1ff3) return String.fromCodePoint(cp + 9);
  return String.fromCodePoint(cp);
}
