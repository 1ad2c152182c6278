// Series selectors as PromQL writes them: `metric`, `metric{a="b", c=~"d.*"}`,
// `{a!="b"}`, and the quoted names of Prometheus 3 (`{"my.metric", "a.b"="c"}`). This is
// not the PromQL parser: just what --match flags and the `match[]` API parameter take.
//
// Strings follow PromQL's lexer and strutil.Unquote: "…" and '…' with Go escapes
// (\a \b \f \n \r \t \v \\, the enclosing quote, \NNN octal and \xHH bytes, \uHHHH and
// \UHHHHHHHH code points), and `…` raw strings without escapes.

import { InvalidArgumentError } from '@thanos-ts/runtime';
import { MatchType, METRIC_NAME, newMatcher, RegexpSyntaxError } from '@thanos-ts/tsdb';
import type { Matcher } from '@thanos-ts/tsdb';

const UTF8 = new TextDecoder('utf-8', { fatal: false });
const ENC = new TextEncoder();

/**
 * Parses a series selector into matchers (the metric name first). Throws
 * InvalidArgumentError with Prometheus-style positions: `1:9: parse error: …`.
 */
export function parseSelector(input: string): Matcher[] {
  return new SelectorParser(input).parse();
}

class SelectorParser {
  private pos = 0;

  constructor(private readonly src: string) {}

  parse(): Matcher[] {
    const out: Matcher[] = [];
    let name: string | null = null;
    this.skipSpace();
    if (this.pos >= this.src.length) throw this.error('unexpected end of input');
    const c = this.src[this.pos];
    if (c !== '{') {
      if (!isMetricStart(c)) throw this.error(`unexpected character ${JSON.stringify(c)}, expected a metric name or "{"`);
      name = this.identifier(true);
      out.push(newMatcher(MatchType.EQ, METRIC_NAME, name));
      this.skipSpace();
    }
    if (this.pos < this.src.length && this.src[this.pos] === '{') {
      this.pos++;
      this.matchers(out, name);
    }
    this.skipSpace();
    if (this.pos < this.src.length) throw this.error(`unexpected ${JSON.stringify(this.src[this.pos])} after the selector`);
    if (!out.some((m) => !m.matches(''))) {
      throw new InvalidArgumentError(`1:1: parse error: vector selector must contain at least one non-empty matcher`);
    }
    return out;
  }

  private matchers(out: Matcher[], outerName: string | null): void {
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.src.length) throw this.error('unexpected end of input inside braces');
      if (this.src[this.pos] === '}') {
        this.pos++;
        return;
      }
      const start = this.pos;
      let label: string;
      const c = this.src[this.pos];
      if (c === '"' || c === "'" || c === '`') label = this.string();
      else if (isLabelStart(c)) label = this.identifier(false);
      else throw this.error(`unexpected ${JSON.stringify(c)} in label matching, expected label name or "}"`);
      this.skipSpace();
      const op = this.operator();
      if (op === null) {
        // A lone quoted string is the metric name (Prometheus 3: {"my.metric"}).
        if (c !== '"' && c !== "'" && c !== '`') throw this.error(`unexpected ${this.describeHere()} in label matching, expected one of "=", "!=", "=~", "!~"`);
        this.setName(out, label, outerName, start);
        outerName = label;
      } else {
        this.skipSpace();
        const q = this.src[this.pos];
        if (q !== '"' && q !== "'" && q !== '`') throw this.error(`unexpected ${this.describeHere()} in label matching, expected string`);
        const vpos = this.pos;
        const value = this.string();
        try {
          out.push(newMatcher(op, label, value));
        } catch (err) {
          if (err instanceof RegexpSyntaxError) throw this.error(`invalid regular expression in ${label}: ${err.message}`, vpos);
          throw err;
        }
      }
      this.skipSpace();
      if (this.src[this.pos] === ',') {
        this.pos++;
        continue;
      }
      if (this.src[this.pos] === '}') continue;
      throw this.error(`unexpected ${this.describeHere()} in label matching, expected "," or "}"`);
    }
  }

  private setName(out: Matcher[], name: string, outer: string | null, at: number): void {
    if (outer !== null) throw this.error(`metric name must not be set twice: ${JSON.stringify(outer)} or ${JSON.stringify(name)}`, at);
    out.unshift(newMatcher(MatchType.EQ, METRIC_NAME, name));
  }

  private operator(): MatchType | null {
    const s = this.src;
    const p = this.pos;
    if (s[p] === '=') {
      if (s[p + 1] === '~') {
        this.pos += 2;
        return MatchType.RE;
      }
      this.pos += 1;
      return MatchType.EQ;
    }
    if (s[p] === '!' && s[p + 1] === '=') {
      this.pos += 2;
      return MatchType.NEQ;
    }
    if (s[p] === '!' && s[p + 1] === '~') {
      this.pos += 2;
      return MatchType.NRE;
    }
    return null;
  }

  private identifier(metric: boolean): string {
    const start = this.pos;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (isLabelStart(c) || (c >= '0' && c <= '9') || (metric && c === ':')) this.pos++;
      else break;
    }
    return this.src.slice(start, this.pos);
  }

  /** A quoted string at pos, unquoted. */
  private string(): string {
    const s = this.src;
    const start = this.pos;
    const q = s[this.pos++];
    if (q === '`') {
      const end = s.indexOf('`', this.pos);
      if (end < 0) throw this.error('unterminated raw string', start);
      this.pos = end + 1;
      return s.slice(start + 1, end);
    }
    // Fast path: no escapes.
    let i = this.pos;
    while (i < s.length && s[i] !== q && s[i] !== '\\' && s[i] !== '\n') i++;
    if (i < s.length && s[i] === q) {
      this.pos = i + 1;
      return s.slice(start + 1, i);
    }
    // Escapes may produce raw bytes (\xHH, octal), so assemble UTF-8 bytes and decode.
    const bytes: number[] = [];
    for (;;) {
      if (this.pos >= s.length || s[this.pos] === '\n') throw this.error('unterminated quoted string', start);
      const ch = s[this.pos];
      if (ch === q) {
        this.pos++;
        return UTF8.decode(Uint8Array.from(bytes));
      }
      if (ch !== '\\') {
        const cp = s.codePointAt(this.pos)!;
        const w = cp > 0xffff ? 2 : 1;
        for (const b of ENC.encode(s.slice(this.pos, this.pos + w))) bytes.push(b);
        this.pos += w;
        continue;
      }
      const escPos = this.pos;
      this.pos++;
      if (this.pos >= s.length) throw this.error('escape sequence not terminated', escPos);
      const e = s[this.pos++];
      switch (e) {
        case 'a':
          bytes.push(7);
          break;
        case 'b':
          bytes.push(8);
          break;
        case 'f':
          bytes.push(12);
          break;
        case 'n':
          bytes.push(10);
          break;
        case 'r':
          bytes.push(13);
          break;
        case 't':
          bytes.push(9);
          break;
        case 'v':
          bytes.push(11);
          break;
        case '\\':
          bytes.push(0x5c);
          break;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
          const v = this.digits(e + this.take(2, escPos), 8, escPos);
          if (v > 255) throw this.error('escape sequence is an invalid Unicode code point', escPos);
          bytes.push(v);
          break;
        }
        case 'x':
          bytes.push(this.digits(this.take(2, escPos), 16, escPos));
          break;
        case 'u':
        case 'U': {
          const v = this.digits(this.take(e === 'u' ? 4 : 8, escPos), 16, escPos);
          if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw this.error('escape sequence is an invalid Unicode code point', escPos);
          for (const b of ENC.encode(String.fromCodePoint(v))) bytes.push(b);
          break;
        }
        default:
          if (e === q) {
            bytes.push(q.charCodeAt(0));
            break;
          }
          throw this.error(`unknown escape sequence ${JSON.stringify('\\' + e)}`, escPos);
      }
    }
  }

  private take(n: number, escPos: number): string {
    if (this.pos + n > this.src.length) throw this.error('escape sequence not terminated', escPos);
    const t = this.src.slice(this.pos, this.pos + n);
    this.pos += n;
    return t;
  }

  private digits(t: string, base: number, escPos: number): number {
    let v = 0;
    for (const c of t) {
      const d = parseInt(c, base);
      if (Number.isNaN(d)) throw this.error(`illegal character ${JSON.stringify(c)} in escape sequence`, escPos);
      v = v * base + d;
    }
    return v;
  }

  private skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos])) this.pos++;
  }

  private describeHere(): string {
    return this.pos >= this.src.length ? 'end of input' : JSON.stringify(this.src[this.pos]);
  }

  private error(msg: string, at = this.pos): InvalidArgumentError {
    return new InvalidArgumentError(`1:${at + 1}: parse error: ${msg}`);
  }
}

function isLabelStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isMetricStart(c: string): boolean {
  return isLabelStart(c) || c === ':';
}
