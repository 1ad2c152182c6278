export { bucketLs, LS_OUTPUTS, LS_COLUMNS, formatBlockLabels } from './bucket-ls.js';
export type { LsOptions, LsOutput } from './bucket-ls.js';
export { bucketInspect, INSPECT_COLUMNS } from './bucket-inspect.js';
export type { InspectOptions } from './bucket-inspect.js';
export { bucketVerify, VERIFY_ISSUES, DEFAULT_VERIFY_ISSUES } from './bucket-verify.js';
export type { VerifyOptions, VerifyProblem } from './bucket-verify.js';
export { renderTable, formatCount } from './table.js';
export type { Table, TableFormat } from './table.js';
export { parseFlagLabels } from './flags.js';
