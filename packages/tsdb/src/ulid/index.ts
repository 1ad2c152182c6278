export { ulid, isValidUlid, ulidTime } from './ulid.js';
