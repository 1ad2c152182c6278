// Go text/template with Prometheus's template functions, for alert labels and annotations.
export {
  alertTemplateData,
  checkAlertTemplate,
  Expander,
  expandErrorText,
  newTemplateExpander,
  parseTemplate,
  TEMPLATE_PREAMBLE,
  TemplateExpandError,
} from './expander.js';
export type { ParsedTemplate, TemplateExpanderOptions } from './expander.js';
export { TemplateParseError } from './parse.js';
export { TemplateExecError } from './exec.js';
export { GoDuration, GoMap, GoSlice, GoStruct, GoTime, fromJS } from './value.js';
export type { GoValue } from './value.js';
