export type { Postings } from './postings.js';
export {
  BigEndianPostings,
  emptyPostings,
  isEmptyPostings,
  errPostings,
  listPostings,
  intersect,
  merge,
  mergeBigEndianLists,
  without,
  expandPostings,
} from './postings.js';
export type { IndexPostingsReader } from './postings-for-matchers.js';
export { ALL_POSTINGS_KEY, postingsForMatchers } from './postings-for-matchers.js';
