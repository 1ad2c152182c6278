export type { Label, Labels } from './labels.js';
export {
  METRIC_NAME,
  EMPTY_LABELS,
  labelsFromRecord,
  labelsFromStrings,
  labelsToRecord,
  compareStrings,
  compareLabels,
  labelsEqual,
  getLabel,
  hasLabel,
  labelsKey,
  withoutLabels,
  keepLabels,
  mergeLabels,
  validateLabels,
  labelsToString,
} from './labels.js';
