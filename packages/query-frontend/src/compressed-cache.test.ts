import { describe, expect, it } from 'vitest';
import type { Cache } from '@thanos-ts/cache';
import { compressedCache } from './compressed-cache.js';

function mapCache(): Cache & { raw: Map<string, Uint8Array> } {
  const raw = new Map<string, Uint8Array>();
  return {
    name: 'map',
    raw,
    store(items) {
      for (const [k, v] of items) raw.set(k, v);
    },
    async fetch(keys) {
      const out = new Map<string, Uint8Array>();
      for (const k of keys) if (raw.has(k)) out.set(k, raw.get(k)!);
      return out;
    },
    async close() {},
  };
}

describe('compressedCache', () => {
  it('stores snappy-compressed values and gives back the originals', async () => {
    const inner = mapCache();
    const c = compressedCache(inner, 'snappy');
    const value = new TextEncoder().encode('{"metric":{"__name__":"up"},"values":[[1,"1"],[2,"1"],[3,"1"]]}'.repeat(50));
    c.store(new Map([['k', value]]), 0);
    expect(inner.raw.get('k')!.length).toBeLessThan(value.length / 4);
    expect((await c.fetch(['k', 'missing'])).get('k')).toEqual(value);
  });

  it('reads a value that does not decompress as a miss', async () => {
    const inner = mapCache();
    inner.raw.set('bad', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    const c = compressedCache(inner, 'snappy');
    expect((await c.fetch(['bad'])).size).toBe(0);
  });

  it('is the cache itself without compression', () => {
    const inner = mapCache();
    expect(compressedCache(inner, '')).toBe(inner);
  });
});
