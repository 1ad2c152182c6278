/** Splits Thanos-style listen addresses: "0.0.0.0:10902", ":10902", "[::1]:9090", "localhost:0". */
export function parseHostPort(addr: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`${flag}: invalid address "${addr}", want host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${flag}: invalid port in "${addr}"`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}
