// Request parameters as Prometheus and Thanos read them: times as unix seconds (float)
// or RFC 3339, durations as float seconds or Prometheus durations ("5m"), booleans as
// Go's strconv.ParseBool.

import { parsePromDuration } from '@thanos-ts/runtime';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Go's %q for the ASCII strings parameters usually are. */
function quote(s: string): string {
  return JSON.stringify(s);
}

/** Unix ms of a Prometheus API time parameter; throws with Prometheus's message. */
export function parseTime(s: string): number {
  if (FLOAT.test(s)) {
    const f = Number(s);
    // Prometheus rounds to whole ms (time.Unix of the float, then ms precision).
    return Math.round(f * 1000);
  }
  const m = RFC3339.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, se, fr, z, sign, oh, om] = m;
    const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
    const ms = fr ? Number(fr.padEnd(9, '0').slice(0, 3)) : 0;
    const offset = z !== undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
    if (!Number.isNaN(t)) return t + ms - offset;
  }
  throw new Error(`cannot parse ${quote(s)} to a valid timestamp`);
}

/** ms of a Prometheus API duration parameter; throws with Prometheus's message. */
export function parseDuration(s: string): number {
  if (FLOAT.test(s)) {
    const ms = Number(s) * 1000;
    if (!Number.isFinite(ms) || Math.abs(ms) > 9.2e15) throw new Error(`cannot parse ${quote(s)} to a valid duration. It overflows int64`);
    return Math.trunc(ms);
  }
  try {
    return parsePromDuration(s);
  } catch {
    throw new Error(`cannot parse ${quote(s)} to a valid duration`);
  }
}

/** Go's strconv.ParseBool; null when it does not parse. */
export function parseBool(s: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return null;
}

/** How Thanos encodes ms as a parameter: seconds with as few digits as needed. */
export function formatSeconds(ms: number): string {
  return String(ms / 1000);
}
