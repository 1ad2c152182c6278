export { MatchType, Matcher, newMatcher, matchTypeToString } from './matcher.js';
export { FastRegexMatcher } from './fast-regex.js';
export { RegexpSyntaxError, translateRE2 } from './re2.js';
export type { TranslateOptions } from './re2.js';
export { captureNames, compileRegexp, compileRegexpTree, forceRegexpEngine, regexpEngineFor } from './compiled-regexp.js';
export type { CompileRegexpOptions, CompiledRegexp, RegexpEngine, RegexpMatch } from './compiled-regexp.js';
export { backtrackCost, isBacktrackSafe } from './backtrack-safety.js';
export type { BacktrackCost } from './backtrack-safety.js';
