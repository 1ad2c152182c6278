// Go's regexp template syntax (Regexp.Expand), as label_replace and relabelling read
// replacements: parsed once into literal text and group references.

/** One template piece of a replacement: literal text, a group number or a group name. */
export type ExpandPiece = string | number | { name: string };

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Parses a replacement template as Go's Regexp.Expand reads it: `$$` is `$`, `$name` takes
 * the longest run of letters, digits and `_` (so `$1x` is `${1x}`), `${name}` is braced,
 * numbers with a leading zero are names, and a malformed `$` stays literal.
 */
export function parseExpandTemplate(template: string): ExpandPiece[] {
  const pieces: ExpandPiece[] = [];
  let lit = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) break;
    lit += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      lit += '$';
      i++;
      continue;
    }
    let j = i;
    const brace = template[j] === '{';
    if (brace) j++;
    const nameStart = j;
    while (j < template.length) {
      const cp = template.codePointAt(j)!;
      const ch = String.fromCodePoint(cp);
      if (!NAME_CHAR.test(ch)) break;
      j += ch.length;
    }
    const name = template.slice(nameStart, j);
    if (name === '' || (brace && template[j] !== '}')) {
      lit += '$'; // malformed: the `$` is kept as text, parsing resumes after it
      continue;
    }
    if (brace) j++;
    i = j;
    if (lit !== '') {
      pieces.push(lit);
      lit = '';
    }
    let num = 0;
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c < 0x30 || c > 0x39 || num >= 1e8) {
        num = -1;
        break;
      }
      num = num * 10 + (c - 0x30);
    }
    if (name[0] === '0' && name.length > 1) num = -1;
    pieces.push(num >= 0 ? num : { name });
  }
  lit += template.slice(i);
  if (lit !== '') pieces.push(lit);
  return pieces;
}
