const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign, as Go accepts
  μs: 1e-3, // U+03BC Greek mu, as Go accepts
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w|y)/y;

/**
 * parseDuration parses the durations found in Thanos YAML ("1m30s", "2m",
 * "500ms", "0") into milliseconds. It accepts the union of Go's
 * time.ParseDuration units and Prometheus model.Duration's d/w/y; negative
 * durations are rejected since every use here is a timeout.
 */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new Error('empty duration');
  let ms = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < s.length) {
    const m = TERM.exec(s);
    if (m === null) throw new Error(`invalid duration "${s}"`);
    ms += Number(m[1]) * UNIT_MS[m[2]];
  }
  if (!Number.isFinite(ms)) throw new Error(`invalid duration "${s}"`);
  return ms;
}
