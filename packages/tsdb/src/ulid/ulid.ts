// ULIDs as used for block IDs (github.com/oklog/ulid): 48-bit millisecond timestamp
// and 80 bits of randomness, as 26 characters of Crockford base32 (the first one
// 0-7, since 26*5 = 130 bits). Lexicographic order is time order.
//
// IDs generated in the same millisecond by this process increase monotonically (the
// previous randomness + 1, as ulid.Monotonic does), so blocks created in a burst sort
// in creation order.

import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const MAX_TIME = 2 ** 48 - 1;
/** Crockford base32 value of each char code (upper and lower case), -1 if invalid. */
const DECODE: Int8Array = (() => {
  const d = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) {
    d[ALPHABET.charCodeAt(i)] = i;
    d[ALPHABET.toLowerCase().charCodeAt(i)] = i;
  }
  return d;
})();

let lastTime = -1;
const lastRandom = new Uint8Array(10);

/**
 * A new ULID string.
 * @param timeMs milliseconds since the Unix epoch (default: now), 0 <= timeMs < 2^48
 * @param random 10 bytes of entropy (default: crypto randomness)
 */
export function ulid(timeMs: number = Date.now(), random?: Uint8Array): string {
  if (!Number.isInteger(timeMs) || timeMs < 0 || timeMs > MAX_TIME) {
    throw new RangeError(`ulid: time ${timeMs} is outside [0, 2^48)`);
  }
  let entropy: Uint8Array;
  if (random !== undefined) {
    if (random.length !== 10) throw new RangeError(`ulid: need 10 random bytes, got ${random.length}`);
    entropy = random;
  } else {
    if (timeMs !== lastTime || !increment(lastRandom)) randomFillSync(lastRandom);
    lastTime = timeMs;
    entropy = lastRandom;
  }
  let s = '';
  // 48-bit time: 10 chars, top 2 bits zero (exact: timeMs < 2^53)
  let t = timeMs;
  const tc: string[] = new Array(10);
  for (let i = 9; i >= 0; i--) {
    tc[i] = ALPHABET[t % 32];
    t = Math.floor(t / 32);
  }
  s += tc.join('');
  // 80-bit randomness: two 40-bit halves, 8 chars each
  for (let half = 0; half < 2; half++) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 256 + entropy[half * 5 + j];
    const rc: string[] = new Array(8);
    for (let i = 7; i >= 0; i--) {
      rc[i] = ALPHABET[v % 32];
      v = Math.floor(v / 32);
    }
    s += rc.join('');
  }
  return s;
}

/** Adds 1 to a big-endian byte string; false on overflow. */
function increment(b: Uint8Array): boolean {
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] !== 0xff) {
      b[i]++;
      return true;
    }
    b[i] = 0;
  }
  return false;
}

/** Reports whether s is a well-formed ULID (26 Crockford base32 chars, either case, not overflowing 128 bits). */
export function isValidUlid(s: string): boolean {
  if (typeof s !== 'string' || s.length !== 26) return false;
  for (let i = 0; i < 26; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || DECODE[c] < 0) return false;
  }
  return DECODE[s.charCodeAt(0)] <= 7;
}

/** The millisecond timestamp of a ULID. @throws RangeError if s is not a valid ULID */
export function ulidTime(s: string): number {
  if (!isValidUlid(s)) throw new RangeError(`ulid: ${JSON.stringify(s)} is not a valid ULID`);
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + DECODE[s.charCodeAt(i)];
  return t;
}
