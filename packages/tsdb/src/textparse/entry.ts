import type { Labels } from '../labels/index.js';

/** Metric types as the text formats name them (OpenMetrics adds the last three). */
export const MetricType = {
  Counter: 'counter',
  Gauge: 'gauge',
  Histogram: 'histogram',
  Summary: 'summary',
  Unknown: 'unknown',
  GaugeHistogram: 'gaugehistogram',
  Info: 'info',
  Stateset: 'stateset',
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** One float sample. `labels` include __name__, are sorted, unique and without empty values. */
export interface SampleEntry {
  kind: 'sample';
  labels: Labels;
  /** Milliseconds since the epoch. */
  t: number;
  v: number;
}

export interface TypeEntry {
  kind: 'type';
  metric: string;
  type: MetricType;
}

export interface HelpEntry {
  kind: 'help';
  metric: string;
  help: string;
}

export interface UnitEntry {
  kind: 'unit';
  metric: string;
  unit: string;
}

export type TextEntry = SampleEntry | TypeEntry | HelpEntry | UnitEntry;

/** The text format a parser reads; it prefixes every error message. */
export const TextFormat = {
  OpenMetrics: 'openmetrics',
  Prometheus: 'prometheus',
} as const;
export type TextFormat = (typeof TextFormat)[keyof typeof TextFormat];

/**
 * TextParseError reports input that does not follow the format. The message reads
 * `<format>: line <n>: <what Prometheus's parser would say>`; `reason` is the last part.
 */
export class TextParseError extends Error {
  override readonly name = 'TextParseError';
  constructor(
    readonly format: TextFormat,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${format}: line ${line}: ${reason}`);
  }
}

export interface TextParseOptions {
  /**
   * Timestamp (ms) for samples that carry none. Absent: such samples are an error, as
   * in `promtool tsdb create-blocks-from openmetrics`; a scraper passes the scrape time.
   */
  defaultTimestamp?: number;
  /** Longest accepted line in bytes (default 16 MiB), so a file without newlines fails fast. */
  maxLineBytes?: number;
}
