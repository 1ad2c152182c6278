// Methods templates may call on the values Prometheus's functions return: time.Time (from
// toTime) and time.Duration (from toDuration), e.g. `{{ (now | toTime).Format "2006" }}`,
// `{{ (1800 | toDuration).String }}`.

import type { FuncDef } from './exec.js';
import { formatDuration, formatTime, formatTimeLayout } from './go-time.js';
import { GoDuration, GoTime, type GoValue } from './value.js';

const NS_PER_S = 1_000_000_000n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function m0(fn: () => GoValue): FuncDef {
  return { params: [], fn: () => fn() };
}

function timeMethods(t: GoTime): Record<string, FuncDef> {
  const date = (): Date => new Date(Number(floorDiv(t.ns, 1_000_000n)));
  return {
    String: m0(() => formatTime(t.ns)),
    Format: { params: ['string'], fn: ([layout]) => formatTimeLayout(t.ns, layout as string) },
    Unix: m0(() => floorDiv(t.ns, NS_PER_S)),
    UnixMilli: m0(() => floorDiv(t.ns, 1_000_000n)),
    UnixMicro: m0(() => floorDiv(t.ns, 1000n)),
    UnixNano: m0(() => t.ns),
    UTC: m0(() => new GoTime(t.ns)),
    Local: m0(() => new GoTime(t.ns)),
    Add: { params: ['time.Duration'], fn: ([d]) => new GoTime(t.ns + (d as GoDuration).ns) },
    Sub: { params: ['time.Time'], fn: ([u]) => new GoDuration(t.ns - (u as GoTime).ns) },
    Before: { params: ['time.Time'], fn: ([u]) => t.ns < (u as GoTime).ns },
    After: { params: ['time.Time'], fn: ([u]) => t.ns > (u as GoTime).ns },
    Equal: { params: ['time.Time'], fn: ([u]) => t.ns === (u as GoTime).ns },
    Truncate: { params: ['time.Duration'], fn: ([d]) => roundTime(t, d as GoDuration, false) },
    Round: { params: ['time.Duration'], fn: ([d]) => roundTime(t, d as GoDuration, true) },
    Year: m0(() => BigInt(date().getUTCFullYear())),
    Day: m0(() => BigInt(date().getUTCDate())),
    Hour: m0(() => BigInt(date().getUTCHours())),
    Minute: m0(() => BigInt(date().getUTCMinutes())),
    Second: m0(() => BigInt(date().getUTCSeconds())),
    Nanosecond: m0(() => t.ns - floorDiv(t.ns, NS_PER_S) * NS_PER_S),
    IsZero: m0(() => false),
  };
}

// Go rounds relative to the zero time (year 1); for whole-second divisors of a day this
// matches rounding the Unix time.
function roundTime(t: GoTime, d: GoDuration, round: boolean): GoTime {
  if (d.ns <= 0n) return new GoTime(t.ns);
  const r = t.ns - floorDiv(t.ns, d.ns) * d.ns;
  let ns = t.ns - r;
  if (round && r + r >= d.ns) ns += d.ns;
  return new GoTime(ns);
}

function durationMethods(d: GoDuration): Record<string, FuncDef> {
  const secs = (): number => Number(d.ns / NS_PER_S) + Number(d.ns % NS_PER_S) / 1e9;
  return {
    String: m0(() => formatDuration(d.ns)),
    Seconds: m0(secs),
    Minutes: m0(() => secs() / 60),
    Hours: m0(() => secs() / 3600),
    Milliseconds: m0(() => d.ns / 1_000_000n),
    Microseconds: m0(() => d.ns / 1000n),
    Nanoseconds: m0(() => d.ns),
    Abs: m0(() => new GoDuration(d.ns < 0n ? -d.ns : d.ns)),
    Truncate: { params: ['time.Duration'], fn: ([m]) => new GoDuration((m as GoDuration).ns <= 0n ? d.ns : d.ns - (d.ns % (m as GoDuration).ns)) },
  };
}

/** The method `name` of a value, bound to it, or undefined. */
export function methodOf(v: GoValue, name: string): FuncDef | undefined {
  if (v instanceof GoTime) return Object.prototype.hasOwnProperty.call(TIME_NAMES, name) ? timeMethods(v)[name] : undefined;
  if (v instanceof GoDuration) return Object.prototype.hasOwnProperty.call(DURATION_NAMES, name) ? durationMethods(v)[name] : undefined;
  return undefined;
}

const TIME_NAMES = timeMethods(new GoTime(0n));
const DURATION_NAMES = durationMethods(new GoDuration(0n));
