// Character classes of Prometheus's text lexers (promlex.l, openmetricslex.l), over UTF-16
// code units. Past the end of a string charCodeAt gives NaN, which no class contains,
// just as the Go lexers see a 0 byte there.

export const TAB = 9;
export const NL = 10;
export const SPACE = 32;
export const QUOTE = 34;
export const HASH = 35;
export const COMMA = 44;
export const EQUAL = 61;
export const BACKSLASH = 92;
export const UNDERSCORE = 95;
export const LBRACE = 123;
export const RBRACE = 125;

/** [a-zA-Z_:] */
export function isMNameStart(c: number): boolean {
  const l = c | 32;
  return (l >= 97 && l <= 122) || c === UNDERSCORE || c === 58;
}

/** [a-zA-Z0-9_:] */
export function isMNameChar(c: number): boolean {
  const l = c | 32;
  return (l >= 97 && l <= 122) || (c >= 48 && c <= 58) || c === UNDERSCORE;
}

/** [a-zA-Z_] */
export function isLNameStart(c: number): boolean {
  const l = c | 32;
  return (l >= 97 && l <= 122) || c === UNDERSCORE;
}

/** [a-zA-Z0-9_] */
export function isLNameChar(c: number): boolean {
  const l = c | 32;
  return (l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c === UNDERSCORE;
}

/** Index just past the metric name characters starting at i. */
export function scanMName(s: string, i: number): number {
  while (isMNameChar(s.charCodeAt(i))) i++;
  return i;
}

/** Index just past the label name characters starting at i. */
export function scanLName(s: string, i: number): number {
  while (isLNameChar(s.charCodeAt(i))) i++;
  return i;
}
