export { MetricType, TextFormat, TextParseError } from './entry.js';
export type { SampleEntry, TypeEntry, HelpEntry, UnitEntry, TextEntry, TextParseOptions } from './entry.js';
export type { TextInput } from './line-splitter.js';
export {
  OpenMetricsParser,
  parseOpenMetrics,
  parseOpenMetricsBatches,
  parseOpenMetricsString,
} from './openmetrics-parser.js';
export { PromParser, parsePromText, parsePromTextBatches, parsePromTextString } from './prom-parser.js';
