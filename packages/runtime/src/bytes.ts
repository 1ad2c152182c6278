// Byte sizes as Thanos flags and cache configs spell them (alecthomas/units
// ParseBase2Bytes): "250MB", "2GB", "512KiB", "1GB512MB", "0". Every unit is a power of
// 1024, KB as well as KiB, because that is what Thanos users' configs mean.

const UNITS: Record<string, number> = {
  B: 1,
  KB: 1024,
  KiB: 1024,
  MB: 1024 ** 2,
  MiB: 1024 ** 2,
  GB: 1024 ** 3,
  GiB: 1024 ** 3,
  TB: 1024 ** 4,
  TiB: 1024 ** 4,
  PB: 1024 ** 5,
  PiB: 1024 ** 5,
};

/** Parses a base-2 byte size; throws naming the input when it is not one. */
export function parseBytes(s: string): number {
  const str = s.trim();
  if (str === '0') return 0;
  if (str === '') throw new Error('invalid byte size "": empty');
  const re = /(\d+)([A-Za-z]+)/y;
  let total = 0;
  let pos = 0;
  while (pos < str.length) {
    re.lastIndex = pos;
    const m = re.exec(str);
    if (!m) throw new Error(`invalid byte size "${s}": expected a number and a unit such as 250MB`);
    const unit = UNITS[m[2]];
    if (unit === undefined) throw new Error(`invalid byte size "${s}": unknown unit "${m[2]}" (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`);
    total += Number(m[1]) * unit;
    pos = re.lastIndex;
  }
  return total;
}

/** Formats bytes the way Thanos prints its defaults: the largest unit dividing it, e.g. 250MB. */
export function formatBytes(n: number): string {
  if (n === 0) return '0B';
  for (const u of ['PB', 'TB', 'GB', 'MB', 'KB']) if (n % UNITS[u] === 0) return `${n / UNITS[u]}${u}`;
  return `${n}B`;
}
