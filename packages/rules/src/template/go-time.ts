// Go's time.Time and time.Duration as templates print them (always UTC: Prometheus's
// toTime and humanizeTimestamp return UTC times): Time.String, Time.Format with Go's
// reference layout, Duration.String.

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const NS_PER_MS = 1_000_000n;

interface Civil {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  weekday: number;
  yday: number;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function civil(ns: bigint): Civil {
  const ms = floorDiv(ns, NS_PER_MS);
  const nsec = Number(ns - floorDiv(ns, 1_000_000_000n) * 1_000_000_000n);
  const d = new Date(Number(ms));
  const startOfYear = Date.UTC(d.getUTCFullYear(), 0, 1);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    min: d.getUTCMinutes(),
    sec: d.getUTCSeconds(),
    nsec,
    weekday: d.getUTCDay(),
    yday: Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - startOfYear) / 86_400_000) + 1,
  };
}

function p2(n: number): string {
  return n.toString().padStart(2, '0');
}

/** time.Time.String() of a UTC time: "2015-06-23 13:19:44.128 +0000 UTC". */
export function formatTime(ns: bigint): string {
  return formatTimeLayout(ns, '2006-01-02 15:04:05.999999999 -0700 MST');
}

// Layout tokens, longest first where one is a prefix of another.
const TOKENS = [
  'January', 'Monday', 'Jan', 'Mon', 'MST',
  '2006', '-07:00:00', '-0700', '-07:00', '-07', 'Z07:00:00', 'Z0700', 'Z07:00', 'Z07',
  '002', '01', '02', '03', '04', '05', '06', '_2', '15', '1', '2', '3', '4', '5', 'PM', 'pm',
];

/** time.Time.Format(layout) of a UTC time. */
export function formatTimeLayout(ns: bigint, layout: string): string {
  const c = civil(ns);
  let out = '';
  let i = 0;
  while (i < layout.length) {
    // Fractional seconds: ".000" / ",999" right after a seconds field or anywhere.
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i));
    if (frac) {
      const digits = frac[1].length;
      let f = c.nsec.toString().padStart(9, '0').slice(0, digits);
      if (frac[1][0] === '9') {
        f = f.replace(/0+$/, '');
        if (f !== '') out += layout[i] + f;
      } else out += layout[i] + f;
      i += frac[0].length;
      continue;
    }
    const tok = TOKENS.find((t) => layout.startsWith(t, i));
    if (tok === undefined) {
      out += layout[i++];
      continue;
    }
    i += tok.length;
    switch (tok) {
      case 'January':
        out += MONTHS[c.month - 1];
        break;
      case 'Jan':
        out += MONTHS[c.month - 1].slice(0, 3);
        break;
      case 'Monday':
        out += DAYS[c.weekday];
        break;
      case 'Mon':
        out += DAYS[c.weekday].slice(0, 3);
        break;
      case 'MST':
        out += 'UTC';
        break;
      case '2006':
        out += c.year.toString().padStart(4, '0');
        break;
      case '06':
        out += p2(c.year % 100);
        break;
      case '01':
        out += p2(c.month);
        break;
      case '1':
        out += c.month.toString();
        break;
      case '02':
        out += p2(c.day);
        break;
      case '2':
        out += c.day.toString();
        break;
      case '_2':
        out += c.day.toString().padStart(2, ' ');
        break;
      case '002':
        out += c.yday.toString().padStart(3, '0');
        break;
      case '15':
        out += p2(c.hour);
        break;
      case '03':
        out += p2(c.hour % 12 === 0 ? 12 : c.hour % 12);
        break;
      case '3':
        out += (c.hour % 12 === 0 ? 12 : c.hour % 12).toString();
        break;
      case '04':
        out += p2(c.min);
        break;
      case '4':
        out += c.min.toString();
        break;
      case '05':
        out += p2(c.sec);
        break;
      case '5':
        out += c.sec.toString();
        break;
      case 'PM':
        out += c.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += c.hour >= 12 ? 'pm' : 'am';
        break;
      case '-0700':
        out += '+0000';
        break;
      case '-07:00':
        out += '+00:00';
        break;
      case '-07':
        out += '+00';
        break;
      case '-07:00:00':
        out += '+00:00:00';
        break;
      default: // Z07…: UTC prints as Z
        out += 'Z';
    }
  }
  return out;
}

/** time.Duration.String(): "1h2m3.5s", "30m0s", "1.5ms", "0s". */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    // Sub-second: the largest unit that keeps a leading digit.
    let unit: string;
    let scale: bigint;
    if (u < 1000n) return (neg ? '-' : '') + u.toString() + 'ns';
    if (u < 1_000_000n) {
      unit = 'µs';
      scale = 1000n;
    } else {
      unit = 'ms';
      scale = 1_000_000n;
    }
    out = fracString(u, scale) + unit;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    out = fracString(u, 1_000_000_000n) + 's';
    if (h > 0n || m > 0n) out = m.toString() + 'm' + out;
    if (h > 0n) out = h.toString() + 'h' + out;
  }
  return (neg ? '-' : '') + out;
}

function fracString(v: bigint, scale: bigint): string {
  const int = v / scale;
  const frac = v % scale;
  if (frac === 0n) return int.toString();
  const width = scale.toString().length - 1;
  return int.toString() + '.' + frac.toString().padStart(width, '0').replace(/0+$/, '');
}
