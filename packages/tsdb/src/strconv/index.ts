export { goQuote, parseGoFloat, parseGoInt } from './go-strconv.js';
export { parseExpandTemplate } from './go-expand.js';
export type { ExpandPiece } from './go-expand.js';
