// Parse errors, rendered like Prometheus's: `1:5: parse error: unexpected <op:*>`.

import type { PositionRange } from './ast.js';
import { utf8ByteLength } from './go-strconv.js';

/**
 * Prometheus's "line:col" for offset pos of query (posrange.StartPosInput): lines count
 * from 1 (plus lineOffset), columns are 1-based *byte* columns of the UTF-8 query.
 */
export function positionToLineCol(query: string, pos: number, lineOffset = 0): string {
  if (query === '') return 'unknown position';
  if (pos < 0 || pos > query.length) return 'invalid position';
  let line = lineOffset + 1;
  let lastLineBreak = -1;
  for (let i = query.indexOf('\n'); i !== -1 && i < pos; i = query.indexOf('\n', i + 1)) {
    lastLineBreak = i;
    line++;
  }
  const col = utf8ByteLength(query.slice(lastLineBreak + 1, pos)) + 1;
  return `${line}:${col}`;
}

/** One parse error: where, what, and in which query. */
export class ParseErr {
  constructor(
    readonly positionRange: PositionRange,
    /** The error text without position, e.g. `unexpected end of input`. */
    readonly err: string,
    readonly query: string,
    /** Added to the line number; set by test-script runners that report file lines. */
    public lineOffset = 0,
  ) {}

  toString(): string {
    return `${positionToLineCol(this.query, this.positionRange.start, this.lineOffset)}: parse error: ${this.err}`;
  }
}

/**
 * The error thrown by the parser: every error found, in order. Like Prometheus, only the
 * first one makes up the message.
 */
export class ParseErrors extends Error {
  constructor(readonly errors: ParseErr[]) {
    super(errors.length > 0 ? errors[0].toString() : 'error contains no error message');
    this.name = 'ParseErrors';
  }

  /** The first error. */
  get first(): ParseErr {
    return this.errors[0];
  }

  /** Re-renders the message after errors were adjusted (e.g. lineOffset set). */
  refreshMessage(): void {
    this.message = this.errors.length > 0 ? this.errors[0].toString() : 'error contains no error message';
  }
}
