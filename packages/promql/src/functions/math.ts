// Per-sample instant-vector kernels (promql/functions.go simpleFloatFunc users and the
// date functions). Where Go's math differs from JavaScript's in the result bits, Go's
// algorithm is used (gomath.ts); exp, sinh, cosh and tanh stay within a few ulps.

import { goAcos, goAcosh, goAsin, goAsinh, goAtan, goCos, goLog, goLog10, goLog2, goSin, goTan } from './gomath.js';
import type { InstantKernel } from './types.js';

export { goLog, goLog10, goLog2 } from './gomath.js';

export const funcAbs: InstantKernel = (v) => Math.abs(v);
export const funcCeil: InstantKernel = (v) => Math.ceil(v);
export const funcFloor: InstantKernel = (v) => Math.floor(v);
export const funcExp: InstantKernel = (v) => Math.exp(v);
export const funcSqrt: InstantKernel = (v) => Math.sqrt(v);
export const funcLn: InstantKernel = (v) => goLog(v);
export const funcSin: InstantKernel = (v) => goSin(v);
export const funcCos: InstantKernel = (v) => goCos(v);
export const funcTan: InstantKernel = (v) => goTan(v);
export const funcAsin: InstantKernel = (v) => goAsin(v);
export const funcAcos: InstantKernel = (v) => goAcos(v);
export const funcAtan: InstantKernel = (v) => goAtan(v);
export const funcSinh: InstantKernel = (v) => Math.sinh(v);
export const funcCosh: InstantKernel = (v) => Math.cosh(v);
export const funcTanh: InstantKernel = (v) => Math.tanh(v);
export const funcAsinh: InstantKernel = (v) => goAsinh(v);
export const funcAcosh: InstantKernel = (v) => goAcosh(v);
export const funcAtanh: InstantKernel = (v) => Math.atanh(v);

export const funcLog2: InstantKernel = (v) => goLog2(v);
export const funcLog10: InstantKernel = (v) => goLog10(v);

export const funcDeg: InstantKernel = (v) => (v * 180) / Math.PI;
export const funcRad: InstantKernel = (v) => (v * Math.PI) / 180;

export const funcSgn: InstantKernel = (v) => (v < 0 ? -1 : v > 0 ? 1 : v);

/** round(v, to_nearest = 1): ties round up; uses the inverse of to_nearest as Prometheus. */
export const funcRound: InstantKernel = (v, args) => {
  const toNearest = args.length > 0 ? args[0] : 1;
  const toNearestInverse = 1.0 / toNearest;
  return Math.floor(v * toNearestInverse + 0.5) / toNearestInverse;
};

/**
 * Go's math.Max: +Inf wins over NaN (Max(+Inf, NaN) = +Inf), otherwise NaN wins; +0 > -0.
 */
export function goMax(x: number, y: number): number {
  if (x === Infinity || y === Infinity) return Infinity;
  if (x !== x || y !== y) return NaN;
  if (x === 0 && x === y) return Object.is(x, -0) ? y : x;
  return x > y ? x : y;
}

/** Go's math.Min: -Inf wins over NaN, otherwise NaN wins; -0 < +0. */
export function goMin(x: number, y: number): number {
  if (x === -Infinity || y === -Infinity) return -Infinity;
  if (x !== x || y !== y) return NaN;
  if (x === 0 && x === y) return Object.is(x, -0) ? x : y;
  return x < y ? x : y;
}

/** clamp(v, min, max): no output at all when max < min. */
export const funcClamp: InstantKernel = (v, args) => {
  const minVal = args[0];
  const maxVal = args[1];
  if (maxVal < minVal) return undefined;
  return goMax(minVal, goMin(maxVal, v));
};

export const funcClampMin: InstantKernel = (v, args) => goMax(args[0], goMin(Infinity, v));

export const funcClampMax: InstantKernel = (v, args) => goMax(-Infinity, goMin(args[0], v));

// ---- date functions: v is Unix seconds, read in UTC ----

/**
 * Go's int64(v) on amd64: truncation; NaN, ±Inf and out-of-range values become
 * math.MinInt64 (the "integer indefinite" of CVTTSD2SQ).
 */
function goInt64(v: number): number | bigint {
  if (v !== v || v >= 9223372036854775807 || v < -9223372036854775808) return -9223372036854775808n;
  const t = Math.trunc(v);
  return Number.isSafeInteger(t) ? t : BigInt(t);
}

/** Broken-down UTC civil time of a Unix second count. */
interface Civil {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
  yday: number; // 1..366
  wday: number; // 0 = Sunday
  hour: number;
  minute: number;
}

const civil: Civil = { year: 0, month: 0, day: 0, yday: 0, wday: 0, hour: 0, minute: 0 };

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const CUMULATIVE_DAYS = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/** Fills `civil` from days since 1970-01-01 (proleptic Gregorian) and seconds of the day. */
function fillCivil(days: number, secOfDay: number): void {
  // Howard Hinnant's civil_from_days, eras of 400 years starting on March 1st.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  civil.year = year;
  civil.month = month;
  civil.day = day;
  civil.yday = CUMULATIVE_DAYS[month - 1] + day + (month > 2 && isLeap(year) ? 1 : 0);
  // 1970-01-01 was a Thursday.
  civil.wday = (((days + 4) % 7) + 7) % 7;
  civil.hour = Math.floor(secOfDay / 3600);
  civil.minute = Math.floor((secOfDay % 3600) / 60);
}

function toCivil(v: number): Civil {
  const sec = goInt64(v);
  if (typeof sec === 'number') {
    const days = Math.floor(sec / 86400);
    fillCivil(days, sec - days * 86400);
  } else {
    // Beyond 2^53 seconds: split exactly with BigInt; days then fit a double exactly.
    // Go computes in uint64 "absolute" seconds, which wrap below this bound (year
    // -292277022399): math.MinInt64 (NaN's seconds) comes out as year 292277026596.
    let s = sec;
    if (s < -9223372028715321600n) s += 1n << 64n;
    let days = s / 86400n;
    let rem = s % 86400n;
    if (rem < 0n) {
      rem += 86400n;
      days -= 1n;
    }
    fillCivil(Number(days), Number(rem));
  }
  return civil;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export const funcYear: InstantKernel = (v) => toCivil(v).year;
export const funcMonth: InstantKernel = (v) => toCivil(v).month;
export const funcDayOfMonth: InstantKernel = (v) => toCivil(v).day;
export const funcDayOfYear: InstantKernel = (v) => toCivil(v).yday;
export const funcDayOfWeek: InstantKernel = (v) => toCivil(v).wday;
export const funcHour: InstantKernel = (v) => toCivil(v).hour;
export const funcMinute: InstantKernel = (v) => toCivil(v).minute;
export const funcDaysInMonth: InstantKernel = (v) => {
  const c = toCivil(v);
  return c.month === 2 && isLeap(c.year) ? 29 : DAYS_IN_MONTH[c.month - 1];
};
