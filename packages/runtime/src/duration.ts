// Durations and times as Prometheus and Thanos spell them on flags and in APIs.

const UNITS_MS: Record<string, number> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const UNIT_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/**
 * Parses a Prometheus duration (model.ParseDuration): "0", "30s", "1h30m", "2w", "10s53ms".
 * Units must appear largest first, each at most once. Returns milliseconds.
 */
export function parsePromDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new Error('empty duration string');
  const re = /(\d+)(ms|[ywdhms])/gy;
  let total = 0;
  let lastUnit = -1;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const u = UNIT_ORDER.indexOf(m[2]);
    if (u <= lastUnit) throw new Error(`not a valid duration string: "${s}"`);
    lastUnit = u;
    total += Number(m[1]) * UNITS_MS[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length || lastUnit < 0) throw new Error(`not a valid duration string: "${s}"`);
  if (!Number.isSafeInteger(total)) throw new Error(`duration out of range: "${s}"`);
  return total;
}

/** Formats milliseconds as Prometheus does (model.Duration.String): "1h30m", "2w", "0s". */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  for (const u of UNIT_ORDER) {
    const n = Math.floor(rest / UNITS_MS[u]);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * UNITS_MS[u];
    }
  }
  return out;
}

// Go's time.ParseDuration units, and the same plus Prometheus model.Duration's d/w/y
// for config files. Fractions ("1.5h") and any order of units are allowed.
const GO_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3600_000 };
const CONFIG_UNITS_MS: Record<string, number> = { ...GO_UNITS_MS, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
const GO_TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
const CONFIG_TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w|y)/y;

/** The sum of `s`'s terms in milliseconds, or null unless `s` is one or more terms and nothing else. */
function sumTerms(s: string, term: RegExp, units: Record<string, number>): number | null {
  let total = 0;
  term.lastIndex = 0;
  while (term.lastIndex < s.length) {
    const m = term.exec(s);
    if (m === null) return null;
    total += Number(m[1]) * units[m[2]];
  }
  return s === '' ? null : total;
}

/**
 * Parses a Go time.ParseDuration string ("1m30s", "500ms", "1.5h", "2h45m"), as used by
 * flags like --query.timeout and objstore http_config. Returns milliseconds.
 */
export function parseGoDuration(s: string): number {
  const src = s;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  const total = sumTerms(s, GO_TERM, GO_UNITS_MS);
  if (total === null) throw new Error(`time: invalid duration "${src}"`);
  return sign * total;
}

/**
 * Parses the durations found in Thanos YAML configs ("1m30s", "2m", "500ms", "1d", "0")
 * into milliseconds: the union of Go's time.ParseDuration units and Prometheus
 * model.Duration's d/w/y, fractions allowed. Signs are rejected, since every such
 * duration is a timeout or an interval.
 */
export function parseConfigDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new Error('empty duration');
  const total = sumTerms(s, CONFIG_TERM, CONFIG_UNITS_MS);
  if (total === null || !Number.isFinite(total)) throw new Error(`invalid duration "${s}"`);
  return total;
}

/** Formats milliseconds like Go's time.Duration.String(): "2h0m0s", "1m30s", "500ms", "0s". */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    out = `${trimFloat(rest)}ms`;
  } else {
    const h = Math.floor(rest / 3600_000);
    rest -= h * 3600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const s = trimFloat(rest / 1000);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}

function trimFloat(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toFixed(9)));
}

/**
 * Parses Thanos' time-or-duration flag values (model.TimeOrDurationValue): an RFC3339
 * time, or a duration relative to now such as "-2w" or "2h45m". Returns unix ms.
 */
export function parseTimeOrDuration(s: string, now = Date.now()): number {
  const dm = /^([+-]?)(.+)$/.exec(s);
  if (dm) {
    try {
      const d = parsePromDuration(dm[2]);
      return dm[1] === '-' ? now - d : now + d;
    } catch {
      // not a duration; try a time below
    }
  }
  const t = Date.parse(s);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(s)) {
    throw new Error(`"${s}" is neither an RFC3339 time nor a duration such as -2w or 2h45m`);
  }
  return t;
}

/** Formats unix ms as RFC3339 in UTC without fractional seconds (Go's time.RFC3339 in UTC). */
export function formatRFC3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
