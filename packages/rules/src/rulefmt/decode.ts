// Decoding a rule file's YAML the way Prometheus's rulefmt.Parse does with yaml.v3: a
// strict decode into the typed groups (KnownFields(true): unknown fields are errors), then
// a loose decode of `groups` as raw nodes, whose positions the group errors cite.
//
// yaml.v3 has two kinds of decode errors and we keep both: type errors ("line 4: field foo
// not found in type rulefmt.RuleGroup") are collected and reported together as
// "yaml: unmarshal errors:\n  line …"; an error from a custom unmarshaler (a bad
// duration) aborts the decode and is reported alone, dropping the collected ones.
// Go type names appear in the messages because promtool prints them.

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit } from 'yaml';
import type { Document, Node as YNode, Pair, Scalar } from 'yaml';
import { quoteGo } from '@thanos-ts/promql';
import { parsePromDuration } from '@thanos-ts/runtime';
import type { YamlPos } from '../types.js';

/** A yaml.v3 Node field (record, alert, expr): the scalar's text and where it is; pos null for an absent field (Go's zero Node, "0:0"). */
export interface NodeField {
  value: string;
  pos: YamlPos | null;
}

export interface RawRule {
  record: NodeField;
  alert: NodeField;
  expr: NodeField;
  forMs: number;
  keepFiringForMs: number;
  labels: Map<string, string>;
  annotations: Map<string, string>;
  pos: YamlPos;
}

export interface RawGroup {
  name: string;
  intervalMs: number;
  queryOffsetMs: number | null;
  limit: number;
  labels: Map<string, string>;
  partialResponseStrategy: 'abort' | 'warn';
  rules: RawRule[];
}

export interface Decoded {
  groups: RawGroup[];
  /** Positions of every item of `groups` as raw nodes (null items included, unlike `groups`). */
  groupPos: YamlPos[];
}

/** Aborts the typed decode, as yaml.v3's fail() does for an unmarshaler's error. */
class DecodeAbort extends Error {}

const ZERO_POS: YamlPos = { line: 0, column: 0 };

/**
 * Decodes rule-file YAML. Returns the groups, or the error messages rulefmt.Parse would
 * give (without the file name): a YAML syntax error, a type-error list, or an aborting
 * unmarshaler error, one from each of the two decodes.
 */
export function decodeRuleGroups(content: string | Uint8Array): { decoded: Decoded | null; errors: string[] } {
  let text: string;
  if (typeof content === 'string') {
    text = content;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch {
      return { decoded: null, errors: ['yaml: invalid leading UTF-8 octet'] };
    }
  }
  const lc = new LineCounter();
  // failsafe: every scalar stays the text it was written as; we resolve tags ourselves,
  // as yaml.v3 does, where a field's type needs it.
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false, schema: 'failsafe', strict: false, prettyErrors: false });
  // Like yaml.v3's Decoder.Decode, only the first document counts.
  const doc = Array.isArray(docs) ? docs[0] : undefined;
  if (!doc) return { decoded: { groups: [], groupPos: [] }, errors: [] };
  const syntax = syntaxError(doc, lc);
  if (syntax) return { decoded: null, errors: [syntax] };

  const d = new Decoder(doc, lc);
  const errors: string[] = [];
  let groups: RawGroup[] = [];
  try {
    groups = d.ruleGroups(doc.contents as YNode | null);
    if (d.terrors.length > 0) errors.push(typeErrors(d.terrors));
  } catch (err) {
    if (!(err instanceof DecodeAbort)) throw err;
    errors.push(err.message);
  }
  const loose = new Decoder(doc, lc);
  const groupPos = loose.groupNodes(doc.contents as YNode | null);
  if (loose.terrors.length > 0) errors.push(typeErrors(loose.terrors));
  return errors.length > 0 ? { decoded: null, errors } : { decoded: { groups, groupPos }, errors: [] };
}

function typeErrors(list: string[]): string {
  return `yaml: unmarshal errors:\n  ${list.join('\n  ')}`;
}

/** The first syntax error of the document as "yaml: line N: …", or an alias to no anchor. */
function syntaxError(doc: Document.Parsed, lc: LineCounter): string | null {
  const e = doc.errors[0];
  if (e) {
    const { line } = lc.linePos(e.pos[0]);
    const msg = e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
    return `yaml: line ${line}: ${msg.charAt(0).toLowerCase()}${msg.slice(1)}`;
  }
  let unknown: string | null = null;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) {
        unknown = `yaml: unknown anchor '${node.source}' referenced`;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return unknown;
}

type FieldDecoder = (value: YNode | null, keyNode: Scalar) => void;

class Decoder {
  readonly terrors: string[] = [];

  constructor(
    private readonly doc: Document.Parsed,
    private readonly lc: LineCounter,
  ) {}

  // --- the typed decode (rulefmt.RuleGroups, with Thanos's partial_response_strategy)

  ruleGroups(node: YNode | null): RawGroup[] {
    let groups: RawGroup[] = [];
    this.struct(node, 'rulefmt.RuleGroups', {
      groups: (v) => {
        groups = this.seq(v, '[]rulefmt.RuleGroup', (n) => this.ruleGroup(n));
      },
    });
    return groups;
  }

  private ruleGroup(node: YNode): RawGroup | null {
    const g: RawGroup = { name: '', intervalMs: 0, queryOffsetMs: null, limit: 0, labels: new Map(), partialResponseStrategy: 'abort', rules: [] };
    const ok = this.struct(node, 'rulefmt.RuleGroup', {
      name: (v) => (g.name = this.string(v)),
      interval: (v) => (g.intervalMs = this.duration(v) ?? 0),
      query_offset: (v) => (g.queryOffsetMs = this.duration(v)),
      limit: (v) => (g.limit = this.int(v)),
      labels: (v) => (g.labels = this.stringMap(v)),
      rules: (v) => (g.rules = this.seq(v, '[]rulefmt.RuleNode', (n) => this.rule(n))),
      partial_response_strategy: (v) => (g.partialResponseStrategy = partialResponseStrategy(this.string(v))),
    });
    return ok ? g : null;
  }

  private rule(node: YNode): RawRule | null {
    const absent = (): NodeField => ({ value: '', pos: null });
    const r: RawRule = {
      record: absent(),
      alert: absent(),
      expr: absent(),
      forMs: 0,
      keepFiringForMs: 0,
      labels: new Map(),
      annotations: new Map(),
      pos: this.pos(node),
    };
    const ok = this.struct(node, 'rulefmt.RuleNode', {
      record: (v, k) => (r.record = this.nodeField(v, k)),
      alert: (v, k) => (r.alert = this.nodeField(v, k)),
      expr: (v, k) => (r.expr = this.nodeField(v, k)),
      for: (v) => (r.forMs = this.duration(v) ?? 0),
      keep_firing_for: (v) => (r.keepFiringForMs = this.duration(v) ?? 0),
      labels: (v) => (r.labels = this.stringMap(v)),
      annotations: (v) => (r.annotations = this.stringMap(v)),
    });
    return ok ? r : null;
  }

  // --- the loose decode (rulefmt.ruleGroups: groups as []yaml.Node)

  groupNodes(node: YNode | null): YamlPos[] {
    let out: YamlPos[] = [];
    this.struct(
      node,
      'rulefmt.ruleGroups',
      {
        groups: (v) => {
          out = this.seq(v, '[]yaml.Node', (n) => this.pos(n), true);
        },
      },
      false,
    );
    return out;
  }

  // --- yaml.v3's decoding of Go kinds

  /** A mapping into a struct; false (with type errors) when it could not be decoded. */
  private struct(raw: YNode | null, typeName: string, fields: Record<string, FieldDecoder>, knownFields = true): boolean {
    const node = this.deref(raw);
    if (node === null || isNull(node)) return false;
    if (!isMap(node)) {
      this.terror(node, typeName);
      return false;
    }
    const pairs = node.items as Pair<YNode | null, YNode | null>[];
    if (!this.uniqueKeys(pairs)) return false;
    for (const p of pairs) {
      const key = this.deref(p.key);
      if (key === null || !isScalar(key)) {
        if (key !== null) this.terror(key, 'string');
        continue;
      }
      const name = String(key.value);
      const f = Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (f) f(this.deref(p.value), key);
      else if (knownFields) this.terrors.push(`line ${this.pos(key).line}: field ${name} not found in type ${typeName}`);
    }
    return true;
  }

  /** yaml.v3 rejects a mapping whose keys repeat (before decoding any of it). */
  private uniqueKeys(pairs: Pair<YNode | null, YNode | null>[]): boolean {
    const before = this.terrors.length;
    for (let i = 0; i < pairs.length; i++) {
      const ki = this.keyIdentity(pairs[i]);
      for (let j = i + 1; j < pairs.length; j++) {
        if (ki !== this.keyIdentity(pairs[j])) continue;
        const kj = pairs[j].key as YNode;
        this.terrors.push(`line ${this.pos(kj).line}: mapping key ${quoteGo(keyText(pairs[j]))} already defined at line ${this.pos(pairs[i].key as YNode).line}`);
      }
    }
    return this.terrors.length === before;
  }

  private keyIdentity(p: Pair<YNode | null, YNode | null>): string {
    const k = p.key;
    if (k === null || isScalar(k)) return `s:${keyText(p)}`;
    return isMap(k) ? 'm:' : isSeq(k) ? 'q:' : `a:${(k as { source?: string }).source ?? ''}`;
  }

  /** A sequence of T; items that decode to nothing (null, or with type errors) are dropped unless keepAll. */
  private seq<T>(raw: YNode | null, typeName: string, item: (n: YNode) => T | null, keepAll = false): T[] {
    const node = this.deref(raw);
    if (node === null || isNull(node)) return [];
    if (!isSeq(node)) {
      this.terror(node, typeName);
      return [];
    }
    const out: T[] = [];
    for (const it of node.items as (YNode | null)[]) {
      const n = this.deref(it);
      if (!keepAll && (n === null || isNull(n))) continue;
      const v = item(n ?? (it as YNode));
      if (v !== null) out.push(v);
    }
    return out;
  }

  private string(raw: YNode | null): string {
    const node = this.deref(raw);
    if (node === null || isNull(node)) return '';
    if (!isScalar(node)) {
      this.terror(node, 'string');
      return '';
    }
    return String(node.value);
  }

  private stringMap(raw: YNode | null): Map<string, string> {
    const out = new Map<string, string>();
    const node = this.deref(raw);
    if (node === null || isNull(node)) return out;
    if (!isMap(node)) {
      this.terror(node, 'map[string]string');
      return out;
    }
    const pairs = node.items as Pair<YNode | null, YNode | null>[];
    if (!this.uniqueKeys(pairs)) return out;
    for (const p of pairs) {
      const before = this.terrors.length;
      const k = this.string(p.key);
      const v = this.string(p.value);
      if (this.terrors.length === before) out.set(k, v);
    }
    return out;
  }

  /** model.Duration: null keeps the default; a bad string aborts the decode. */
  private duration(raw: YNode | null): number | null {
    const node = this.deref(raw);
    if (node === null || isNull(node)) return null;
    if (!isScalar(node)) {
      this.terror(node, 'string');
      return null;
    }
    try {
      return parsePromDuration(String(node.value));
    } catch (err) {
      throw new DecodeAbort((err as Error).message);
    }
  }

  /** An int as yaml.v3 resolves one: ints in any Go base, and floats (truncated). */
  private int(raw: YNode | null): number {
    const node = this.deref(raw);
    if (node === null || isNull(node)) return 0;
    if (!isScalar(node)) {
      this.terror(node, 'int');
      return 0;
    }
    const text = String(node.value);
    if (scalarTag(node) !== '!!str') {
      const n = resolveNumber(text);
      if (n !== null) return n;
    }
    this.terror(node, 'int');
    return 0;
  }

  /** A yaml.Node field: any node is accepted; only a scalar has a value. */
  private nodeField(raw: YNode | null, key: Scalar): NodeField {
    const node = this.deref(raw);
    if (node === null) {
      // `record:` with nothing after it: yaml.v3 places the empty scalar right after the colon.
      const end = key.range?.[1] ?? 0;
      const p = this.lc.linePos(end);
      return { value: '', pos: { line: p.line, column: p.col + 1 } };
    }
    // The raw text, as yaml.Node keeps it: `alert: ~` names an alert "~".
    return { value: isScalar(node) ? String(node.value) : '', pos: this.pos(node) };
  }

  // --- helpers

  private deref(node: YNode | null | undefined): YNode | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return (node.resolve(this.doc) as YNode | undefined) ?? null;
    return node;
  }

  pos(node: YNode): YamlPos {
    const start = node.range?.[0];
    if (start === undefined) return ZERO_POS;
    const p = this.lc.linePos(start);
    return { line: p.line, column: p.col };
  }

  /** yaml.v3's "cannot unmarshal !!tag `value` into T". */
  private terror(node: YNode, typeName: string): void {
    let tag: string;
    let value = '';
    if (isMap(node)) tag = '!!map';
    else if (isSeq(node)) tag = '!!seq';
    else {
      tag = scalarTag(node as Scalar);
      value = ` \`${goTruncate(String((node as Scalar).value))}\``;
    }
    this.terrors.push(`line ${this.pos(node).line}: cannot unmarshal ${tag}${value} into ${typeName}`);
  }
}

function keyText(p: Pair<YNode | null, YNode | null>): string {
  const k = p.key;
  return k !== null && isScalar(k) ? String(k.value) : '';
}

function isNull(node: YNode): boolean {
  return isScalar(node) && scalarTag(node) === '!!null';
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const BOOLS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
const SPECIAL_FLOATS = new Set(['.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF']);

/** The tag yaml.v3 resolves a scalar to (quoted and block scalars are strings). */
function scalarTag(node: Scalar): string {
  if (node.tag) return node.tag.startsWith('tag:yaml.org,2002:') ? `!!${node.tag.slice(18)}` : node.tag;
  if (node.type !== 'PLAIN' && node.type !== undefined) return '!!str';
  const text = String(node.value);
  if (NULLS.has(text)) return '!!null';
  if (BOOLS.has(text)) return '!!bool';
  if (SPECIAL_FLOATS.has(text)) return '!!float';
  const plain = text.replaceAll('_', '');
  if (INT_RE.test(plain)) return '!!int';
  if (FLOAT_RE.test(plain)) return '!!float';
  return '!!str';
}

const INT_RE = /^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** A plain scalar as yaml.v3 reads a number (underscores ignored); null if it is none. */
function resolveNumber(text: string): number | null {
  const plain = text.replaceAll('_', '');
  if (INT_RE.test(plain)) {
    const neg = plain.startsWith('-');
    const digits = plain.replace(/^[-+]/, '');
    let v: number;
    if (/^0[xX]/.test(digits)) v = parseInt(digits.slice(2), 16);
    else if (/^0[oO]/.test(digits)) v = parseInt(digits.slice(2), 8);
    else if (/^0[bB]/.test(digits)) v = parseInt(digits.slice(2), 2);
    else if (digits.length > 1 && digits.startsWith('0')) v = parseInt(digits.slice(1), 8);
    else v = parseInt(digits, 10);
    return neg ? -v : v;
  }
  if (FLOAT_RE.test(plain)) return Math.trunc(Number(plain));
  return null;
}

/** yaml.v3 shows at most 10 bytes of a value: longer ones as their first 7 bytes and "...". */
function goTruncate(s: string): string {
  const b = Buffer.from(s, 'utf8');
  return b.length > 10 ? `${b.subarray(0, 7).toString('utf8')}...` : s;
}

/** Thanos's storepb.PartialResponseStrategy from its YAML string ("" = abort); an unknown one aborts, as its unmarshaler does. */
function partialResponseStrategy(s: string): 'abort' | 'warn' {
  switch (s.toUpperCase()) {
    case '':
    case 'ABORT':
      return 'abort';
    case 'WARN':
      return 'warn';
    default:
      throw new DecodeAbort(`failed to unmarshal "${s}" as 'partial_response_strategy'. Possible values are ABORT,WARN`);
  }
}
