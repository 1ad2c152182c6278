import { describe, expect, it } from 'vitest';
import { xxhash64 } from '@thanos-ts/runtime';
import { jumpHash, naturalCompare, ServerSelector } from './server-selector.js';

const enc = new TextEncoder();

describe('xxhash64', () => {
  it('matches the reference vectors', () => {
    expect(xxhash64(enc.encode(''))).toBe(0xef46db3751d8e999n);
    expect(xxhash64(enc.encode('a'))).toBe(0xd24ec4f1a98c6e5bn);
    expect(xxhash64(enc.encode('abc'))).toBe(0x44bc2cf5ad770999n);
    // 32 bytes and more take the four-lane path.
    expect(xxhash64(enc.encode('Nobody inspects the spammish repetition'))).toBe(0xfbcea83c8a378bf1n);
  });
});

describe('ServerSelector', () => {
  it('picks the servers Thanos picks (memcached_server_selector_test.go)', () => {
    const s = new ServerSelector();
    expect(s.pick('test-1')).toBeUndefined();
    s.setServers(['127.0.0.1:11211']);
    expect(s.pick('test-1')).toBe('127.0.0.1:11211');
    s.setServers(['127.0.0.2:11211', '127.0.0.1:11211']);
    expect(s.pick('test-1')).toBe('127.0.0.1:11211');
    expect(s.pick('test-2')).toBe('127.0.0.2:11211');
  });

  it('sorts servers naturally', () => {
    const names = [10, 1, 6, 3, 25].map((i) => `memcached-${i}.memcached.thanos.svc.cluster.local.`);
    expect([...names].sort(naturalCompare)).toEqual([1, 3, 6, 10, 25].map((i) => `memcached-${i}.memcached.thanos.svc.cluster.local.`));
  });

  it('spreads keys evenly and moves few of them when a server is added', () => {
    const three = ['127.0.0.1:11211', '127.0.0.2:11211', '127.0.0.3:11211'];
    const s = new ServerSelector();
    s.setServers(three);
    const before = new Map<string, string>();
    const count = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const addr = s.pick(`key-${i}`)!;
      before.set(`key-${i}`, addr);
      count.set(addr, (count.get(addr) ?? 0) + 1);
    }
    for (const a of three) expect(count.get(a)).toBeGreaterThanOrEqual(250);
    s.setServers([...three, '127.0.0.4:11211']);
    let moved = 0;
    for (const [k, a] of before) {
      const now = s.pick(k)!;
      if (now !== a) {
        moved++;
        expect(now).toBe('127.0.0.4:11211');
      }
    }
    expect(moved).toBeGreaterThan(150);
    expect(moved).toBeLessThan(350);
  });

  it('jumpHash stays within the buckets', () => {
    for (let k = 0n; k < 200n; k++) {
      const b = jumpHash(k * 0x9e3779b97f4a7c15n, 7);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(7);
    }
  });
});
