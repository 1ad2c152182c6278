export { MatchType, Matcher, newMatcher, matchTypeToString } from './matcher.js';
export { FastRegexMatcher } from './fast-regex.js';
export { RegexpSyntaxError, translateRE2 } from './re2.js';
export type { TranslateOptions } from './re2.js';
