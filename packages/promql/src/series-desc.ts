// Series descriptions: the `load` lines and expected results of PromQL test scripts and
// promtool rule tests (Prometheus's ParseSeriesDesc), e.g.
//
//   metric{a="b"} 1+2x5 _ stale 3x2 -1-1x3 {{schema:0 sum:5 count:4 buckets:[1 2 1]}}x3
//
// A metric, then whitespace-separated items: `v`, `_`, `stale`, `vxN` (N+1 copies), `_xN`
// (N omissions), `a+bxN` / `a-bxN` (N+1 values by repeated addition), `{{…}}` native
// histogram literals with the same repetitions, and `{{a}}+{{b}}xN`.

import { type Label, type Labels, STALE_NAN, compareStrings } from '@thanos-ts/tsdb';
import { GoStrconvError, parseUintGo10 } from './go-strconv.js';
import { CounterResetHint, FloatHistogram, HistogramError } from './histogram.js';
import { type Item, ItemType } from './lexer.js';
import { ParserBase } from './parser-base.js';
import { METRIC_IDENTIFIERS } from './parser.js';

/** One position of a value sequence. */
export interface SequenceValue {
  /** `_`: no sample at this position. */
  omitted: boolean;
  /** The float value (STALE_NAN for `stale`); 0 for histograms and omissions. */
  value: number;
  histogram: FloatHistogram | null;
  /**
   * The literal spelled out counter_reset_hint (for `{{a}}+{{b}}xN`: b did), so a test
   * must compare the hint; otherwise the hint is not checked.
   */
  counterResetHintSet: boolean;
}

export interface SeriesDesc {
  labels: Labels;
  values: SequenceValue[];
}

/** Parses a series description; throws ParseErrors like Prometheus's ParseSeriesDesc. */
export function parseSeriesDesc(input: string): SeriesDesc {
  return new SeriesDescParser(input, true).parseSeriesDesc();
}

/** Parses a metric with its labels, `foo{a="b"}` or `{__name__="foo"}` (ParseMetric). */
export function parseMetric(input: string): Labels {
  return new SeriesDescParser(input, false).parseMetric();
}

const T = ItemType;

/** Tokens that can begin an item of a value sequence. */
const ITEM_START = new Set<ItemType>([T.BLANK, T.DURATION, T.IDENTIFIER, T.OPEN_HIST, T.NUMBER, T.ADD, T.SUB]);

const HISTOGRAM_REGION = ['histogram description', 'histogram description key, e.g. buckets:[5 10 7]'] as const;

type DescValue = number | number[] | CounterResetHint;

class SeriesDescParser extends ParserBase {
  /** Whether the histogram built last spelled out counter_reset_hint. */
  private lastHintSet = false;

  constructor(input: string, seriesDesc: boolean) {
    super(input);
    this.lex.seriesDesc = seriesDesc;
  }

  parseSeriesDesc(): SeriesDesc {
    return this.run(() => {
      const labels = this.parseMetricLabels();
      const values = this.parseValues();
      return { labels, values };
    });
  }

  parseMetric(): Labels {
    return this.run(() => {
      const labels = this.parseMetricLabels();
      if (this.peekType() !== T.EOF) this.unexpected('', '');
      return labels;
    });
  }

  private parseMetricLabels(): Labels {
    const t = this.peek();
    let name: string | null = null;
    if (METRIC_IDENTIFIERS.has(t.typ)) {
      this.advance();
      name = t.val;
    }
    let labels: Label[] = [];
    if (this.peekType() === T.LEFT_BRACE) {
      this.advance();
      labels = this.parseLabelSet();
    }
    if (name !== null) {
      labels = labels.filter((l) => l.name !== '__name__');
      labels.push({ name: '__name__', value: name });
    }
    return labels.sort((a, b) => compareStrings(a.name, b.name));
  }

  /** `label="value", …}` after the '{'. */
  private parseLabelSet(): Label[] {
    const out: Label[] = [];
    if (this.peekType() === T.RIGHT_BRACE) {
      this.advance();
      return out;
    }
    for (;;) {
      out.push(this.parseLabelSetItem());
      const t = this.peekType();
      if (t === T.COMMA) {
        this.advance();
        if (this.peekType() === T.RIGHT_BRACE) {
          this.advance();
          return out;
        }
        continue;
      }
      if (t === T.RIGHT_BRACE) {
        this.advance();
        return out;
      }
      this.unexpected('label set', '"," or "}"');
    }
  }

  private parseLabelSetItem(): Label {
    const t = this.peek();
    if (t.typ === T.IDENTIFIER) {
      this.advance();
      if (this.peekType() !== T.EQL) this.unexpected('label set', '"="');
      this.advance();
      if (this.peekType() !== T.STRING) this.unexpected('label set', 'string');
      return { name: t.val, value: this.unquote(this.advance()) };
    }
    if (t.typ === T.STRING) {
      this.advance();
      const name = this.unquote(t);
      if (this.peekType() !== T.EQL) return { name: '__name__', value: name };
      this.advance();
      if (this.peekType() !== T.STRING) this.unexpected('label set', 'string');
      return { name, value: this.unquote(this.advance()) };
    }
    return this.unexpected('label set', 'identifier or "}"');
  }

  /**
   * The value sequence. As in Prometheus's grammar, a bad token right after the metric or
   * inside an item is reported "in series values"; one where the next item should start
   * ends the sequence and is reported without context.
   */
  private parseValues(): SequenceValue[] {
    const out: SequenceValue[] = [];
    const first = this.peekType();
    if (first !== T.EOF && first !== T.SPACE) this.unexpected('series values', '');
    this.regions.push(['series values', '']);
    for (;;) {
      const t = this.peekType();
      if (t === T.EOF) break;
      if (t !== T.SPACE) this.unexpected('', '');
      this.advance();
      if (!ITEM_START.has(this.peekType())) continue;
      this.parseItem(out);
    }
    this.regions.pop();
    return out;
  }

  private parseItem(out: SequenceValue[]): void {
    const t = this.peek();
    if (t.typ === T.BLANK) {
      this.advance();
      let n = 1;
      if (this.peekType() === T.TIMES) {
        this.advance();
        n = this.parseUint();
      }
      for (let i = 0; i < n; i++) out.push(omitted());
      return;
    }
    if (t.typ === T.OPEN_HIST) {
      this.parseHistogramItem(out);
      return;
    }
    let v = this.parseSeriesValue();
    const n = this.peekType();
    if (n === T.TIMES) {
      this.advance();
      const times = this.parseUint();
      for (let i = 0; i <= times; i++) out.push(floatValue(v));
      return;
    }
    if (n === T.ADD || n === T.SUB) {
      const inc = this.parseSignedNumber();
      this.expect(T.TIMES);
      const times = this.parseUint();
      // Repeated addition, not v + i*inc: the last bits must match Prometheus's.
      for (let i = 0; i <= times; i++) {
        out.push(floatValue(v));
        v += inc;
      }
      return;
    }
    out.push(floatValue(v));
  }

  /** A number, a signed number or `stale`. */
  private parseSeriesValue(): number {
    const t = this.peek();
    if (t.typ === T.IDENTIFIER) {
      if (t.val !== 'stale') this.unexpected('series values', 'number or "stale"');
      this.advance();
      return STALE_NAN;
    }
    if (t.typ === T.NUMBER) return this.numberValue(this.advance());
    if (t.typ === T.ADD || t.typ === T.SUB) return this.parseSignedNumber();
    return this.unexpectedInRegion();
  }

  private parseSignedNumber(): number {
    const sign = this.advance();
    const n = this.peek();
    if (n.typ !== T.NUMBER && n.typ !== T.DURATION) this.unexpectedInRegion();
    const v = this.numberOrDurationValue(this.advance());
    return sign.typ === T.SUB ? -v : v;
  }

  /** number | +number | -number */
  private parseSignedOrUnsignedNumber(): number {
    const t = this.peekType();
    if (t === T.ADD || t === T.SUB) return this.parseSignedNumber();
    if (t !== T.NUMBER && t !== T.DURATION) this.unexpectedInRegion();
    return this.numberOrDurationValue(this.advance());
  }

  private parseUint(): number {
    const t = this.peek();
    if (t.typ !== T.NUMBER) this.unexpectedInRegion();
    this.advance();
    try {
      return parseUintGo10(t.val);
    } catch (e) {
      if (!(e instanceof GoStrconvError)) throw e;
      this.addErr(this.itemRange(t), `invalid repetition in series values: ${e.message}`);
      return 0;
    }
  }

  private parseInt(): number {
    if (this.peekType() === T.SUB) {
      this.advance();
      return -this.parseUint();
    }
    return this.parseUint();
  }

  // ---- native histograms ----

  private parseHistogramItem(out: SequenceValue[]): void {
    const h = this.parseHistogram();
    const n = this.peekType();
    if (n === T.TIMES) {
      this.advance();
      const times = this.parseUint();
      const sv = histogramValue(h, this.lastHintSet);
      for (let i = 0; i <= times; i++) out.push(sv);
      return;
    }
    if (n === T.ADD || n === T.SUB) {
      const opTok = this.advance();
      const inc = this.parseHistogram();
      this.expect(T.TIMES);
      const timesTok = this.peek();
      const times = this.parseUint();
      this.histogramSeries(out, h, inc, times, opTok.typ === T.SUB, timesTok);
      return;
    }
    out.push(histogramValue(h, this.lastHintSet));
  }

  /** `{{…}}+{{…}}xN`: N+1 histograms by repeated addition (or subtraction). */
  private histogramSeries(out: SequenceValue[], base: FloatHistogram, inc: FloatHistogram, times: number, sub: boolean, at: Item): void {
    const hintSet = this.lastHintSet;
    out.push(histogramValue(base, hintSet));
    let cur = base;
    for (let i = 1; i <= times; i++) {
      if (cur.schema > inc.schema) {
        this.addErr(this.itemRange(at), `error combining histograms: cannot merge from schema ${inc.schema} to ${cur.schema}`);
        return;
      }
      const next = cur.copy();
      try {
        if (sub) next.sub(inc);
        else next.add(inc);
      } catch (e) {
        if (!(e instanceof HistogramError)) throw e;
        this.addErr(this.itemRange(at), e.message);
        return;
      }
      cur = next;
      out.push(histogramValue(cur, hintSet));
    }
  }

  /** `{{key:value …}}`. */
  private parseHistogram(): FloatHistogram {
    this.expect(T.OPEN_HIST);
    const desc = new Map<string, DescValue>();
    if (this.peekType() === T.SPACE) {
      this.advance();
      this.expect(T.CLOSE_HIST);
      return this.buildHistogram(desc);
    }
    if (this.peekType() === T.CLOSE_HIST) {
      this.advance();
      return this.buildHistogram(desc);
    }
    this.parseDescItem(desc);
    this.regions.push(HISTOGRAM_REGION);
    for (;;) {
      const t = this.peekType();
      if (t === T.SPACE) {
        this.advance();
        if (this.peekType() === T.CLOSE_HIST) {
          this.advance();
          break;
        }
        this.parseDescItem(desc);
        continue;
      }
      if (t === T.CLOSE_HIST) {
        this.advance();
        break;
      }
      this.unexpectedInRegion();
    }
    this.regions.pop();
    return this.buildHistogram(desc);
  }

  private parseDescItem(desc: Map<string, DescValue>): void {
    const t = this.peek();
    let key: string;
    let value: DescValue;
    switch (t.typ) {
      case T.SCHEMA_DESC:
      case T.OFFSET_DESC:
      case T.NEGATIVE_OFFSET_DESC:
        this.advance();
        this.expect(T.COLON);
        key = t.typ === T.SCHEMA_DESC ? 'schema' : t.typ === T.OFFSET_DESC ? 'offset' : 'n_offset';
        value = this.parseInt();
        break;
      case T.SUM_DESC:
      case T.COUNT_DESC:
      case T.ZERO_BUCKET_DESC:
        this.advance();
        this.expect(T.COLON);
        key = t.typ === T.SUM_DESC ? 'sum' : t.typ === T.COUNT_DESC ? 'count' : 'z_bucket';
        value = this.parseSignedOrUnsignedNumber();
        break;
      case T.ZERO_BUCKET_WIDTH_DESC: {
        this.advance();
        this.expect(T.COLON);
        key = 'z_bucket_w';
        const n = this.peek();
        if (n.typ !== T.NUMBER && n.typ !== T.DURATION) this.unexpectedInRegion();
        value = this.numberOrDurationValue(this.advance());
        break;
      }
      case T.BUCKETS_DESC:
      case T.NEGATIVE_BUCKETS_DESC:
      case T.CUSTOM_VALUES_DESC:
        this.advance();
        this.expect(T.COLON);
        key = t.typ === T.BUCKETS_DESC ? 'buckets' : t.typ === T.NEGATIVE_BUCKETS_DESC ? 'n_buckets' : 'custom_values';
        value = this.parseBucketSet();
        break;
      case T.COUNTER_RESET_HINT_DESC: {
        this.advance();
        this.expect(T.COLON);
        key = 'counter_reset_hint';
        const h = this.peekType();
        if (h === T.UNKNOWN_COUNTER_RESET) value = CounterResetHint.Unknown;
        else if (h === T.COUNTER_RESET) value = CounterResetHint.CounterReset;
        else if (h === T.NOT_COUNTER_RESET) value = CounterResetHint.NotCounterReset;
        else if (h === T.GAUGE_TYPE) value = CounterResetHint.Gauge;
        else return this.unexpectedInRegion();
        this.advance();
        break;
      }
      default:
        return this.unexpectedInRegion();
    }
    if (desc.has(key)) this.addErr({ start: 0, end: 0 }, `duplicate key "${key}" in histogram`);
    else desc.set(key, value);
  }

  /** `[n n …]` */
  private parseBucketSet(): number[] {
    this.expect(T.LEFT_BRACKET);
    const out = [this.parseSignedOrUnsignedNumber()];
    for (;;) {
      const t = this.peekType();
      if (t === T.SPACE) {
        this.advance();
        if (this.peekType() === T.RIGHT_BRACKET) break;
        out.push(this.parseSignedOrUnsignedNumber());
        continue;
      }
      if (t === T.RIGHT_BRACKET) break;
      this.unexpectedInRegion();
    }
    this.advance();
    return out;
  }

  private buildHistogram(desc: Map<string, DescValue>): FloatHistogram {
    const h = new FloatHistogram();
    this.lastHintSet = false;
    const num = (k: string): number | undefined => desc.get(k) as number | undefined;
    const list = (k: string): number[] | undefined => desc.get(k) as number[] | undefined;
    h.schema = num('schema') ?? 0;
    h.sum = num('sum') ?? 0;
    h.count = num('count') ?? 0;
    h.zeroCount = num('z_bucket') ?? 0;
    h.zeroThreshold = num('z_bucket_w') ?? 0;
    h.customValues = list('custom_values') ?? null;
    const hint = desc.get('counter_reset_hint');
    if (hint !== undefined) {
      this.lastHintSet = true;
      h.counterResetHint = hint as CounterResetHint;
    }
    const pos = list('buckets') ?? [];
    h.positiveBuckets = pos;
    h.positiveSpans = pos.length > 0 ? [{ offset: num('offset') ?? 0, length: pos.length }] : [];
    const neg = list('n_buckets') ?? [];
    h.negativeBuckets = neg;
    h.negativeSpans = neg.length > 0 ? [{ offset: num('n_offset') ?? 0, length: neg.length }] : [];
    return h;
  }
}

function omitted(): SequenceValue {
  return { omitted: true, value: 0, histogram: null, counterResetHintSet: false };
}

function floatValue(v: number): SequenceValue {
  return { omitted: false, value: v, histogram: null, counterResetHintSet: false };
}

function histogramValue(h: FloatHistogram, hintSet: boolean): SequenceValue {
  return { omitted: false, value: 0, histogram: h, counterResetHintSet: hintSet };
}
