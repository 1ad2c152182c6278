export {
  RelabelAction,
  RelabelConfigError,
  DEFAULT_SEPARATOR,
  DEFAULT_REPLACEMENT,
  DEFAULT_RELABEL_REGEX,
  parseRelabelConfigs,
  relabelConfigToObject,
  isValidLabelName,
  isValidTargetTemplate,
} from './relabel-config.js';
export type { RelabelConfig, ParseRelabelOptions, NameValidationScheme } from './relabel-config.js';
export { RelabelRegexp } from './relabel-regexp.js';
export { relabel, hashMod } from './relabel.js';
