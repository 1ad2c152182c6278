// Go's filepath.Glob, which Prometheus and Thanos use for rule-file flags: `*`, `?` and
// `[...]` within one path element (no `**`), hidden files included, matches sorted per
// directory; a pattern without meta characters matches the file if it exists.

import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** filepath.ErrBadPattern. */
export class BadPatternError extends Error {
  override readonly name = 'BadPatternError';
  constructor() {
    super('syntax error in pattern');
  }
}

/** The files matching pattern (empty when none); throws BadPatternError for a malformed one. */
export async function glob(pattern: string): Promise<string[]> {
  // Go checks the whole pattern's syntax first.
  for (const part of pattern.split('/')) compileElement(part);
  return globPath(pattern);
}

async function globPath(pattern: string): Promise<string[]> {
  if (!hasMeta(pattern)) {
    try {
      await lstat(pattern);
      return [pattern];
    } catch {
      return [];
    }
  }
  const slash = pattern.lastIndexOf('/');
  let dir = slash < 0 ? '' : pattern.slice(0, slash + 1);
  const file = pattern.slice(slash + 1);
  dir = cleanGlobPath(dir);
  if (!hasMeta(dir)) return globDir(dir, file);
  if (dir === pattern) throw new BadPatternError();
  const out: string[] = [];
  for (const d of await globPath(dir)) out.push(...(await globDir(d, file)));
  return out;
}

async function globDir(dir: string, pattern: string): Promise<string[]> {
  try {
    if (!(await stat(dir)).isDirectory()) return [];
  } catch {
    return [];
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const re = compileElement(pattern);
  // Go sorts by bytes; code-unit order agrees for the names that occur in practice.
  return names
    .sort()
    .filter((n) => re.test(n))
    .map((n) => join(dir, n));
}

function hasMeta(p: string): boolean {
  return /[*?[]/.test(p);
}

function cleanGlobPath(dir: string): string {
  if (dir === '') return '.';
  if (dir === '/') return dir;
  return dir.slice(0, -1);
}

/** One path element of a pattern as a RegExp, with path.Match's syntax and errors. */
function compileElement(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) throw new BadPatternError();
      re += escapeRe(pattern[++i]);
    } else if (c === '[') {
      let j = i + 1;
      const negated = pattern[j] === '^';
      if (negated) j++;
      let items = '';
      for (let ranges = 0; ; ranges++) {
        if (j >= pattern.length) throw new BadPatternError();
        if (pattern[j] === ']' && ranges > 0) break;
        let lo: string;
        [lo, j] = classChar(pattern, j);
        let hi = lo;
        if (pattern[j] === '-') {
          [hi, j] = classChar(pattern, j + 1);
          if (hi < lo) throw new BadPatternError();
        }
        items += lo === hi ? escapeRe(lo) : `${escapeRe(lo)}-${escapeRe(hi)}`;
      }
      re += negated ? `[^/${items}]` : `[${items}]`;
      i = j;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

/** One character of a class (path.Match's getEsc): `\x` escapes, a bare `-` or `]` is an error. */
function classChar(pattern: string, j: number): [string, number] {
  let c = pattern[j];
  if (c === undefined || c === '-' || c === ']') throw new BadPatternError();
  if (c === '\\') {
    c = pattern[j + 1];
    if (c === undefined) throw new BadPatternError();
    return [c, j + 2];
  }
  return [c, j + 1];
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}
