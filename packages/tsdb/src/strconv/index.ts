export { goQuote, parseGoFloat, parseGoInt } from './go-strconv.js';
