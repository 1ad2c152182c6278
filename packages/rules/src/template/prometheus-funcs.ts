// Prometheus's template functions (template/template.go NewTemplateExpander's funcMap, as
// of Prometheus 3.x: 2.42's set plus toDuration, now and urlQueryEscape).

import { isIP } from 'node:net';
import { quoteGo } from '@thanos-ts/promql';
import { parsePromDuration } from '@thanos-ts/runtime';
import type { VectorSample } from '../types.js';
import { queryEscape } from './builtins.js';
import { type FuncDef, GoError } from './exec.js';
import { compareStrings } from './go-fmt.js';
import { convertToFloat, floatToTimeNs, humanize, humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp } from './humanize.js';
import { goRegexp } from './regexp.js';
import { GoDuration, GoMap, GoSlice, GoStruct, GoTime, type GoValue } from './value.js';

const QUERY_RESULT = 'template.queryResult';
const SAMPLE = '*template.sample';
const ANY = 'interface {}';

/** What the functions need from the expansion in progress. */
export interface FuncContext {
  /** Evaluation time of the rule, ms. */
  timeMs: number;
  /** Answers `query`; may throw Suspend while the answer is on its way. */
  query(expr: string): VectorSample[];
  externalURL: string;
  pathPrefix: string;
}

function sampleValue(s: VectorSample): GoValue {
  const labels = new Map<string, GoValue>();
  for (const l of s.labels) labels.set(l.name, l.value);
  return new GoStruct(SAMPLE, { Labels: new GoMap(labels, 'string'), Value: s.value }, true);
}

function sampleOf(v: GoValue): GoStruct {
  if (!(v instanceof GoStruct)) throw new GoError('runtime error: invalid memory address or nil pointer dereference');
  return v;
}

function labelsOf(s: GoStruct): GoMap {
  return s.fields.Labels as GoMap;
}

/** net.SplitHostPort; null where Go returns an error. */
function splitHostPort(hostport: string): { host: string; port: string } | null {
  const i = hostport.lastIndexOf(':');
  if (i < 0) return null;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === '[') {
    const end = hostport.indexOf(']');
    if (end < 0 || end + 1 === hostport.length || end + 1 !== i) return null;
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return null;
  }
  if (hostport.slice(j).includes('[') || hostport.slice(k).includes(']')) return null;
  return { host, port: hostport.slice(i + 1) };
}

function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** strings.Title: upper-cases the first letter of every word. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    out += isSeparator(prev) ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function isSeparator(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if (cp <= 0x7f) return !/[0-9A-Za-z_]/.test(ch);
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /\s/u.test(ch);
}

/** The path of an external URL as Go's url.URL.Path holds it ("" when there is none). */
export function urlPath(u: string): string {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*([^?#]*)/.exec(u);
  if (m) return decodeURIComponentSafe(m[1]);
  return decodeURIComponentSafe(u.split(/[?#]/)[0]);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseDuration(d: string): number {
  const neg = d.startsWith('-');
  let ms: number;
  try {
    ms = parsePromDuration(neg ? d.slice(1) : d);
  } catch (e) {
    if (d === '') throw new GoError('empty duration string');
    throw new GoError(`not a valid duration string: ${quoteGo(d)}`, { cause: e });
  }
  return (neg ? -ms : ms) / 1000;
}

/** Prometheus's template functions over a context. */
export function prometheusFuncs(ctx: FuncContext): Map<string, FuncDef> {
  const f = (params: string[], fn: (a: GoValue[]) => GoValue, variadic?: string): FuncDef => ({ params, fn, variadic });
  return new Map<string, FuncDef>([
    ['query', f(['string'], ([q]) => new GoSlice(ctx.query(q as string).map(sampleValue), QUERY_RESULT))],
    [
      'first',
      f([QUERY_RESULT], ([v]) => {
        const items = v instanceof GoSlice ? v.items : [];
        if (items.length > 0) return items[0];
        throw new GoError('first() called on vector with no elements');
      }),
    ],
    [
      'label',
      f(['string', SAMPLE], ([l, s]) => {
        const m = labelsOf(sampleOf(s));
        return (m.entries.get(l as string) as string | undefined) ?? '';
      }),
    ],
    ['value', f([SAMPLE], ([s]) => sampleOf(s).fields.Value)],
    ['strvalue', f([SAMPLE], ([s]) => (labelsOf(sampleOf(s)).entries.get('__value__') as string | undefined) ?? '')],
    ['args', f([], (a) => new GoMap(new Map(a.map((v, i) => [`arg${i}`, v] as [string, GoValue])), 'interface {}'), ANY)],
    ['reReplaceAll', f(['string', 'string', 'string'], ([p, r, t]) => goRegexp(p as string, true).replaceAll(t as string, r as string))],
    ['safeHtml', f(['string'], ([s]) => s)],
    ['match', f(['string', 'string'], ([p, s]) => goRegexp(p as string, false).test(s as string))],
    ['title', f(['string'], ([s]) => title(s as string))],
    ['toUpper', f(['string'], ([s]) => (s as string).toUpperCase())],
    ['toLower', f(['string'], ([s]) => (s as string).toLowerCase())],
    ['graphLink', f(['string'], ([e]) => `/graph?g0.expr=${queryEscape(e as string)}&g0.tab=0`)],
    ['tableLink', f(['string'], ([e]) => `/graph?g0.expr=${queryEscape(e as string)}&g0.tab=1`)],
    [
      'sortByLabel',
      f(['string', QUERY_RESULT], ([l, v]) => {
        if (!(v instanceof GoSlice)) return v;
        const key = (s: GoValue): string => (labelsOf(sampleOf(s)).entries.get(l as string) as string | undefined) ?? '';
        // Array.prototype.sort is stable, as sort.Stable is; Prometheus sorts in place.
        v.items.sort((a, b) => compareStrings(key(a), key(b)));
        return v;
      }),
    ],
    [
      'stripPort',
      f(['string'], ([hp]) => {
        const r = splitHostPort(hp as string);
        return r === null ? hp : r.host;
      }),
    ],
    [
      'stripDomain',
      f(['string'], ([hp]) => {
        const r = splitHostPort(hp as string);
        const host = r === null ? (hp as string) : r.host;
        if (isIP(host) !== 0) return hp;
        const short = host.split('.')[0];
        return r !== null && r.port !== '' ? joinHostPort(short, r.port) : short;
      }),
    ],
    ['humanize', f([ANY], ([v]) => humanize(v))],
    ['humanize1024', f([ANY], ([v]) => humanize1024(v))],
    ['humanizeDuration', f([ANY], ([v]) => humanizeDuration(v))],
    ['humanizePercentage', f([ANY], ([v]) => humanizePercentage(v))],
    ['humanizeTimestamp', f([ANY], ([v]) => humanizeTimestamp(v))],
    [
      'toTime',
      f([ANY], ([v]) => {
        const ns = floatToTimeNs(convertToFloat(v));
        if (ns === null) throw new GoError('value is NaN or Inf');
        return new GoTime(ns, true);
      }),
    ],
    ['toDuration', f([ANY], ([v]) => new GoDuration(BigInt(Math.trunc(convertToFloat(v) * 1e9)), true))],
    ['now', f([], () => ctx.timeMs / 1000)],
    ['pathPrefix', f([], () => ctx.pathPrefix)],
    ['externalURL', f([], () => ctx.externalURL)],
    ['parseDuration', f(['string'], ([d]) => parseDuration(d as string))],
    ['urlQueryEscape', f(['string'], ([s]) => queryEscape(s as string))],
  ]);
}

/** The names of Prometheus's template functions (for parsing without an expander). */
export const PROMETHEUS_FUNC_NAMES: ReadonlySet<string> = new Set(
  prometheusFuncs({ timeMs: 0, query: () => [], externalURL: '', pathPrefix: '' }).keys(),
);
