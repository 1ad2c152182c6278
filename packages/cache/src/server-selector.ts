// Which memcached server holds a key, as Thanos picks it (pkg/cacheutil
// memcached_server_selector.go): the servers sorted naturally, then jump consistent hash
// (Lamping & Veach) of the key's xxHash64. The same key lands on the same server as in a
// Thanos process with the same server list, and adding a server moves only ~1/n keys.
//
// 64-bit arithmetic is done with BigInt: it runs once per key and only with several
// servers (one server is the fast path).

import { xxhash64 } from '@thanos-ts/runtime';

const M64 = (1n << 64n) - 1n;

/** Jump consistent hash: a bucket in [0, buckets) for key (float64 steps as in Go). */
export function jumpHash(key: bigint, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & M64;
    j = Math.floor((b + 1) * (2147483648 / (Number(key >> 33n) + 1)));
  }
  return b;
}

/** Natural order ("host2" before "host10"), as facette/natsort sorts the server list. */
export function naturalCompare(a: string, b: string): number {
  const ca = a.match(/\d+|\D+/g) ?? [];
  const cb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i];
    const y = cb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = Number(x);
      const ny = Number(y);
      if (nx !== ny) return nx < ny ? -1 : 1;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

const encoder = new TextEncoder();

/** The servers of a client, and which one a key goes to. */
export class ServerSelector {
  private servers: string[] = [];

  /** Replaces the server list (order does not matter: it is sorted naturally). */
  setServers(servers: readonly string[]): void {
    this.servers = [...new Set(servers)].sort(naturalCompare);
  }

  list(): readonly string[] {
    return this.servers;
  }

  /** The server for key, or undefined when there is none. */
  pick(key: string): string | undefined {
    const s = this.servers;
    if (s.length <= 1) return s[0]; // fast path: nothing to hash
    return s[jumpHash(xxhash64(encoder.encode(key)), s.length)];
  }
}
