import { describe, expect, it } from 'vitest';
import { labelsFromStrings } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import {
  InsufficientNodesError,
  NoMatchingHashringError,
  SECTIONS_PER_NODE,
  SingleNodeHashring,
  hashLabels,
  hashRawLabels,
  loadHashringsConfig,
  matchTenantGlob,
  newHashring,
  newKetamaHashring,
  newMultiHashring,
  parseHashringsConfig,
} from './hashring.js';
import { xxhash64 } from '@thanos-ts/runtime';
import type { Endpoint, Hashring, HashringConfig } from './hashring.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const ep = (address: string, az = ''): Endpoint => ({ address, capnprotoAddress: '', az });

function cfg(c: Partial<HashringConfig>): HashringConfig {
  return {
    hashring: '',
    tenants: [],
    tenantMatcherType: '',
    endpoints: [],
    algorithm: '',
    externalLabels: [],
    shuffleShardingConfig: { shardSize: 0, cacheSize: 0, zoneAwarenessDisabled: false, overrides: [] },
    ...c,
  };
}

describe('hashLabels', () => {
  const bytesOf = (tenant: string, ls: Labels): Uint8Array => {
    const parts: number[] = [...enc(tenant), 0xff];
    for (const l of ls) parts.push(...enc(l.name), 0xff, ...enc(l.value), 0xff);
    return new Uint8Array(parts);
  };

  it('hashes tenant, names and values each followed by 0xFF (labelpb.HashWithPrefix)', () => {
    const ls = labelsFromStrings('__name__', 'up', 'job', 'node');
    expect(hashLabels('tenant', ls)).toBe(xxhash64(bytesOf('tenant', ls)));
    expect(hashLabels('', [])).toBe(xxhash64(new Uint8Array([0xff])));
  });

  it('encodes non-ASCII as UTF-8 and handles label sets over 1 KiB', () => {
    const ls = labelsFromStrings('é', 'ü\u{1F600}x', 'z', 'a'.repeat(3000));
    expect(hashLabels('ténant', ls)).toBe(xxhash64(bytesOf('ténant', ls)));
    // The scratch buffer grew; short inputs still hash right afterwards.
    const small = labelsFromStrings('a', 'b');
    expect(hashLabels('t', small)).toBe(xxhash64(bytesOf('t', small)));
  });

  it('hashes labels in the given order, as Thanos does', () => {
    const a = [{ name: 'a', value: '1' }, { name: 'b', value: '2' }];
    expect(hashLabels('t', a)).not.toBe(hashLabels('t', [a[1], a[0]]));
  });
});

// Ported from Thanos pkg/receive/hashring_test.go.
describe('multi hashring (TestHashringGet)', () => {
  const ts = [
    { name: 'foo', value: 'bar' },
    { name: 'baz', value: 'qux' },
  ];
  const cases: { name: string; cfg: HashringConfig[]; nodes?: string[]; tenant: string }[] = [
    { name: 'empty', cfg: [], tenant: 'tenant1' },
    { name: 'simple', cfg: [cfg({ endpoints: [ep('node1')] })], nodes: ['node1'], tenant: '' },
    {
      name: 'specific',
      cfg: [cfg({ endpoints: [ep('node2')], tenants: ['tenant2'] }), cfg({ endpoints: [ep('node1')] })],
      nodes: ['node2'],
      tenant: 'tenant2',
    },
    {
      name: 'many tenants',
      cfg: [
        cfg({ endpoints: [ep('node1')], tenants: ['tenant1'] }),
        cfg({ endpoints: [ep('node2')], tenants: ['tenant2'] }),
        cfg({ endpoints: [ep('node3')], tenants: ['tenant3'] }),
      ],
      nodes: ['node1'],
      tenant: 'tenant1',
    },
    {
      name: 'many tenants error',
      cfg: [
        cfg({ endpoints: [ep('node1')], tenants: ['tenant1'] }),
        cfg({ endpoints: [ep('node2')], tenants: ['tenant2'] }),
        cfg({ endpoints: [ep('node3')], tenants: ['tenant3'] }),
      ],
      tenant: 'tenant4',
    },
    {
      name: 'many nodes',
      cfg: [
        cfg({ endpoints: [ep('node1'), ep('node2'), ep('node3')], tenants: ['tenant1'] }),
        cfg({ endpoints: [ep('node4'), ep('node5'), ep('node6')] }),
      ],
      nodes: ['node1', 'node2', 'node3'],
      tenant: 'tenant1',
    },
    {
      name: 'many nodes default',
      cfg: [
        cfg({ endpoints: [ep('node1'), ep('node2'), ep('node3')], tenants: ['tenant1'] }),
        cfg({ endpoints: [ep('node4'), ep('node5'), ep('node6')] }),
      ],
      nodes: ['node4', 'node5', 'node6'],
      tenant: '',
    },
    {
      name: 'glob hashring match',
      cfg: [
        cfg({ endpoints: [ep('node1'), ep('node2'), ep('node3')], tenants: ['prefix*'], tenantMatcherType: 'glob' }),
        cfg({ endpoints: [ep('node4'), ep('node5'), ep('node6')] }),
      ],
      nodes: ['node1', 'node2', 'node3'],
      tenant: 'prefix-1',
    },
    {
      name: 'glob hashring not match',
      cfg: [
        cfg({ endpoints: [ep('node1'), ep('node2'), ep('node3')], tenants: ['prefix*'], tenantMatcherType: 'glob' }),
        cfg({ endpoints: [ep('node4'), ep('node5'), ep('node6')] }),
      ],
      nodes: ['node4', 'node5', 'node6'],
      tenant: 'suffix-1',
    },
    {
      name: 'glob hashring multiple matches',
      cfg: [
        cfg({
          endpoints: [ep('node1'), ep('node2'), ep('node3')],
          tenants: ['t1-*', 't2', 't3-*'],
          tenantMatcherType: 'glob',
        }),
        cfg({ endpoints: [ep('node4'), ep('node5'), ep('node6')] }),
      ],
      nodes: ['node1', 'node2', 'node3'],
      tenant: 't2',
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const h = newMultiHashring('hashmod', 3, tc.cfg);
      if (tc.nodes === undefined) {
        expect(() => h.getN(tc.tenant, ts, 0)).toThrow(NoMatchingHashringError);
      } else {
        expect(tc.nodes).toContain(h.getN(tc.tenant, ts, 0));
      }
    });
  }

  it('sends every tenant to a tenant-less hashring listed first', () => {
    const h = newMultiHashring('hashmod', 1, [
      cfg({ endpoints: [ep('catch-all')] }),
      cfg({ endpoints: [ep('special')], tenants: ['special'] }),
    ]);
    expect(h.getN('special', ts, 0)).toBe('catch-all');
  });

  it('never matches an unknown tenant matcher type', () => {
    const h = newMultiHashring('hashmod', 1, [
      cfg({ endpoints: [ep('a')], tenants: ['t'], tenantMatcherType: 'regex' }),
      cfg({ endpoints: [ep('b')] }),
    ]);
    expect(h.getN('t', ts, 0)).toBe('b');
  });

  it('reports a malformed glob when it has to be evaluated', () => {
    const h = newMultiHashring('hashmod', 1, [
      cfg({ endpoints: [ep('a')], tenants: ['ok-*', 'bad['], tenantMatcherType: 'glob' }),
      cfg({ endpoints: [ep('b')] }),
    ]);
    expect(h.getN('ok-1', ts, 0)).toBe('a');
    expect(() => h.getN('other', ts, 0)).toThrow(
      'error matching tenant pattern bad[ (tenant other): syntax error in pattern',
    );
  });

  it('uses each hashring own algorithm over the default and lists all nodes sorted', () => {
    const h = newMultiHashring('hashmod', 2, [
      cfg({ endpoints: [ep('z', 'az1'), ep('y', 'az2')], tenants: ['k'], algorithm: 'ketama' }),
      cfg({ endpoints: [ep('c'), ep('a')] }),
    ]);
    expect(['y', 'z']).toContain(h.getN('k', ts, 0));
    expect(h.nodes().map((e) => e.address)).toEqual(['a', 'c', 'y', 'z']);
  });
});

describe('tenant globs (Go filepath.Match)', () => {
  it('matches as filepath.Match does', () => {
    const yes: [string, string][] = [
      ['team-*', 'team-a'],
      ['team-*', 'team-'],
      ['*', ''],
      ['t?', 't1'],
      ['t[a-c]', 'tb'],
      ['t[^a-c]', 'td'],
      ['t[\\-]', 't-'],
      ['a\\*', 'a*'],
      ['*x*y', 'axbxy'],
      ['ü?', 'üé'],
    ];
    const no: [string, string][] = [
      ['team-*', 'tea'],
      ['t?', 't'],
      ['t[a-c]', 'td'],
      ['t[^a-c]', 'ta'],
      ['a\\*', 'ab'],
      ['*', 'a/b'],
    ];
    for (const [p, s] of yes) expect(matchTenantGlob(p, s), `${p} ${s}`).toBe(true);
    for (const [p, s] of no) expect(matchTenantGlob(p, s), `${p} ${s}`).toBe(false);
  });

  it('rejects malformed patterns', () => {
    for (const p of ['[', 'a[', '[]', '[^]', '[a-]', '[-a]', 'a\\', '[a']) {
      expect(() => matchTenantGlob(p, 'a'), p).toThrow('syntax error in pattern');
    }
  });
});

describe('hashmod', () => {
  const nodes = ['node-3', 'node-1', 'node-2', 'node-0'];
  const ring = newHashring('hashmod', nodes.map((a) => ep(a)), 3);
  const sorted = [...nodes].sort();

  it('places replica n at (hash + n) mod len over endpoints sorted by address', () => {
    for (let i = 0; i < 200; i++) {
      const ls = labelsFromStrings('__name__', 'm', 'i', String(i));
      const h = hashLabels('tenant', ls);
      for (let n = 0; n < 4; n++) {
        const want = sorted[Number((h + BigInt(n)) % (1n << 64n) % BigInt(sorted.length))];
        expect(ring.getN('tenant', ls, n)).toBe(want);
      }
    }
  });

  it('gives distinct endpoints to replicas and refuses more replicas than endpoints', () => {
    const ls = labelsFromStrings('a', 'b');
    const got = new Set([0, 1, 2, 3].map((n) => ring.getN('t', ls, n)));
    expect(got.size).toBe(4);
    expect(() => ring.getN('t', ls, 4)).toThrow(new InsufficientNodesError(4, 5));
    expect(() => newHashring('hashmod', [], 1).getN('t', ls, 0)).toThrow('insufficient nodes; have 0, want 1');
  });

  it('spreads 100k series evenly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const a = ring.getN('tenant', [{ name: 'series', value: String(i) }], 0);
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    for (const c of counts.values()) expect(Math.abs(c - 25_000) / 25_000).toBeLessThan(0.03);
  });

  it('rejects availability zones (TestInvalidAZHashringCfg)', () => {
    expect(() => newMultiHashring('hashmod', 2, [cfg({ endpoints: [ep('a', '1'), ep('b', '2')] })])).toThrow(
      'Hashmod algorithm does not support AZ aware hashring configuration. Either use Ketama or remove AZ configuration.',
    );
  });

  it('is what an unknown algorithm falls back to', () => {
    const other = newHashring('consistent-something', nodes.map((a) => ep(a)), 1);
    const ls = labelsFromStrings('x', 'y');
    expect(other.getN('t', ls, 0)).toBe(ring.getN('t', ls, 0));
  });
});

describe('ketama', () => {
  const nginx = [{ name: 'pod', value: 'nginx' }];
  // TestKetamaHashringGet: exact placements Thanos computes with 10 sections per node.
  const vectors: { endpoints: string[]; labels: Labels; n: number; want: string }[] = [
    { endpoints: ['node-1', 'node-2', 'node-3'], labels: nginx, n: 0, want: 'node-2' },
    { endpoints: ['node-1', 'node-2', 'node-3'], labels: nginx, n: 1, want: 'node-1' },
    { endpoints: ['node-1', 'node-2', 'node-3'], labels: nginx, n: 2, want: 'node-3' },
    { endpoints: ['node-1', 'node-3', 'node-2'], labels: nginx, n: 2, want: 'node-3' },
    { endpoints: ['node-0', 'node-1', 'node-2', 'node-3'], labels: nginx, n: 0, want: 'node-2' },
    { endpoints: ['node-1', 'node-2', 'node-3', 'node-4'], labels: nginx, n: 0, want: 'node-2' },
    { endpoints: ['node-1', 'node-2', 'node-3'], labels: [{ name: 'pod', value: 'thanos' }], n: 0, want: 'node-3' },
  ];
  for (const v of vectors) {
    it(`places ${v.labels[0].value} replica ${v.n} on ${v.want} of [${v.endpoints.join(' ')}] as Thanos does`, () => {
      const ring = newKetamaHashring(v.endpoints.map((a) => ep(a)), 10, v.n + 1);
      expect(ring.getN('tenant', v.labels, v.n)).toBe(v.want);
    });
  }

  it('rejects fewer endpoints than the replication factor (TestKetamaHashringBadConfigIsRejected)', () => {
    expect(() => newKetamaHashring([ep('node-1')], 1, 2)).toThrow(
      'ketama: amount of endpoints needs to be larger than replication factor',
    );
    expect(() => newHashring('ketama', [], 1)).toThrow(/replication factor/);
  });

  const makeSeries = (): Labels[] =>
    Array.from({ length: 10_000 }, (_, i) => [{ name: 'pod', value: `nginx-${i}` }]);

  function assign(series: Labels[], endpoints: Endpoint[], replicas: number): Map<string, Set<string>> {
    const ring = newKetamaHashring(endpoints, SECTIONS_PER_NODE, replicas);
    const out = new Map<string, Set<string>>();
    for (let r = 0; r < replicas; r++) {
      for (const s of series) {
        const a = ring.getN('tenant', s, r);
        if (!out.has(a)) out.set(a, new Set());
        out.get(a)!.add(s[0].value);
      }
    }
    return out;
  }

  function expectNoNewSeriesOnOldNodes(initial: Endpoint[], resized: Endpoint[], replicas: number): void {
    const series = makeSeries();
    const before = assign(series, initial, replicas);
    const after = assign(series, resized, replicas);
    for (const e of initial) {
      const had = before.get(e.address) ?? new Set();
      for (const s of after.get(e.address) ?? []) expect(had.has(s), `${e.address} got ${s}`).toBe(true);
    }
  }

  it('is deterministic (TestKetamaHashringConsistency)', () => {
    const series = makeSeries();
    const a = assign(series, [ep('node-1'), ep('node-2'), ep('node-3')], 1);
    const b = assign(series, [ep('node-1'), ep('node-2'), ep('node-3')], 1);
    expect(b).toEqual(a);
  });

  it('adds no series to existing nodes when growing at the end (TestKetamaHashringIncreaseAtEnd)', () => {
    expectNoNewSeriesOnOldNodes(
      [ep('node-1'), ep('node-2'), ep('node-3')],
      [ep('node-1'), ep('node-2'), ep('node-3'), ep('node-4'), ep('node-5')],
      1,
    );
  });

  it('adds no series to existing nodes when growing in the middle (TestKetamaHashringIncreaseInMiddle)', () => {
    expectNoNewSeriesOnOldNodes([ep('node-1'), ep('node-3')], [ep('node-1'), ep('node-2'), ep('node-3')], 1);
  });

  it('keeps replicas consistent when growing (TestKetamaHashringReplicationConsistency)', () => {
    expectNoNewSeriesOnOldNodes(
      [ep('node-1'), ep('node-4'), ep('node-5')],
      [ep('node-4'), ep('node-3'), ep('node-1'), ep('node-2'), ep('node-5')],
      2,
    );
  });

  it('keeps replicas consistent with AZs when growing (TestKetamaHashringReplicationConsistencyWithAZs)', () => {
    const cases: { initial: Endpoint[]; resized: Endpoint[]; replicas: number }[] = [
      {
        initial: [ep('a', '1'), ep('b', '2'), ep('c', '3')],
        resized: [ep('b', '2'), ep('c', '3'), ep('a', '1'), ep('d', '2'), ep('e', '4')],
        replicas: 3,
      },
      {
        initial: [ep('a', '1'), ep('b', '2'), ep('c', '3')],
        resized: [ep('a', '1'), ep('b', '2'), ep('c', '3'), ep('d', '1'), ep('e', '2'), ep('f', '3')],
        replicas: 3,
      },
      {
        initial: [ep('a', '1'), ep('b', '2'), ep('c', '3')],
        resized: [ep('a', '1'), ep('b', '2'), ep('c', '3'), ep('d', '4'), ep('e', '5'), ep('f', '6')],
        replicas: 3,
      },
      {
        initial: [ep('a', '1'), ep('b', '2'), ep('c', '3')],
        resized: [ep('a', '1'), ep('b', '2'), ep('c', '3'), ep('d', '4'), ep('e', '5'), ep('f', '6')],
        replicas: 2,
      },
      {
        initial: [ep('a', '1'), ep('c', '2'), ep('f', '3')],
        resized: [ep('a', '1'), ep('b', '1'), ep('c', '2'), ep('d', '2'), ep('f', '3')],
        replicas: 2,
      },
    ];
    for (const c of cases) expectNoNewSeriesOnOldNodes(c.initial, c.resized, c.replicas);
  });

  it('spreads the replicas of a series evenly over AZs (TestKetamaHashringEvenAZSpread)', () => {
    const ls = labelsFromStrings('foo', 'bar');
    const az = (spec: string): Endpoint[] =>
      spec.split(' ').map((s) => {
        const [a, z] = s.split('=');
        return ep(a, z ?? '');
      });
    const cases: { nodes: Endpoint[]; replicas: number }[] = [
      { nodes: az('a=1 b=2 c=1 d=2'), replicas: 1 },
      { nodes: az('a b c d'), replicas: 1 },
      { nodes: az('a=1 b=2 c=1 d=2'), replicas: 2 },
      { nodes: az('a=1 b=2 c=3 d=1 e=2 f=3'), replicas: 3 },
      { nodes: az('a b c d e f g'), replicas: 3 },
      { nodes: az('a=1 b=2 c=3 d=1 e=2 f=3 g=4 h=4 i=4 j=5 k=5 l=5'), replicas: 10 },
    ];
    for (const c of cases) {
      const ring = newKetamaHashring(c.nodes, SECTIONS_PER_NODE, c.replicas);
      const zones = new Set(c.nodes.map((n) => n.az));
      const spread = new Map<string, number>();
      const seen = new Set<string>();
      for (let r = 0; r < c.replicas; r++) {
        const a = ring.getN('default-tenant', ls, r);
        seen.add(a);
        const z = c.nodes.find((n) => n.address === a)!.az;
        spread.set(z, (spread.get(z) ?? 0) + 1);
      }
      expect(seen.size).toBe(c.replicas);
      expect(spread.size).toBe(Math.min(c.replicas, zones.size));
      const least = Math.min(...spread.values());
      for (const v of spread.values()) expect(v - least).toBeLessThanOrEqual(1);
    }
  });

  it('spreads series evenly over nodes (TestKetamaHashringEvenNodeSpread)', () => {
    const az = (spec: string): Endpoint[] =>
      spec.split(' ').map((s) => {
        const [a, z] = s.split('=');
        return ep(a, z ?? '');
      });
    const cases: { nodes: Endpoint[]; replicas: number; numSeries: number }[] = [
      { nodes: az('a=1 b=2 c=1 d=2'), replicas: 2, numSeries: 1000 },
      { nodes: az('a b c d'), replicas: 2, numSeries: 1000 },
      { nodes: az('a=1 b=2 c=3 d=2 e=1 f=3'), replicas: 3, numSeries: 10000 },
      { nodes: az('a=1 b=2 c=3 d=2 e=1 f=3 g=1 h=2 i=3'), replicas: 2, numSeries: 10000 },
      { nodes: az('a=1 b=2 c=3 d=2 e=1 f=3 g=1 h=2 i=3'), replicas: 9, numSeries: 10000 },
    ];
    for (const c of cases) {
      const ring = newKetamaHashring(c.nodes, SECTIONS_PER_NODE, c.replicas);
      const optimal = Math.floor((c.numSeries * c.replicas) / c.nodes.length);
      const spread = new Map<string, number>();
      for (let i = 0; i < c.numSeries; i++) {
        const ls = [{ name: 'foo', value: String(i) }];
        const owners = new Set<string>();
        for (let r = 0; r < c.replicas; r++) {
          const a = ring.getN('default-tenant', ls, r);
          owners.add(a);
          spread.set(a, (spread.get(a) ?? 0) + 1);
        }
        expect(owners.size).toBe(c.replicas);
      }
      for (const v of spread.values()) expect(Math.abs(v - optimal) / optimal).toBeLessThan(0.1);
    }
  });

  it('moves about 1/n of 100k series when a node is added', () => {
    const before = newHashring('ketama', ['r0', 'r1', 'r2', 'r3'].map((a) => ep(a)), 1);
    const after = newHashring('ketama', ['r0', 'r1', 'r2', 'r3', 'r4'].map((a) => ep(a)), 1);
    let moved = 0;
    const counts = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const ls = [{ name: '__name__', value: 'm' }, { name: 'i', value: String(i) }];
      const a = before.getN('t', ls, 0);
      const b = after.getN('t', ls, 0);
      counts.set(a, (counts.get(a) ?? 0) + 1);
      if (a !== b) {
        moved++;
        expect(b).toBe('r4'); // only the new node gains series
      }
    }
    expect(Math.abs(moved / 100_000 - 1 / 5)).toBeLessThan(0.03);
    for (const c of counts.values()) expect(Math.abs(c - 25_000) / 25_000).toBeLessThan(0.1);
  });

  it('does not depend on the order endpoints are listed in', () => {
    const a = newKetamaHashring([ep('x'), ep('y'), ep('z')], SECTIONS_PER_NODE, 3);
    const b = newKetamaHashring([ep('z'), ep('x'), ep('y')], SECTIONS_PER_NODE, 3);
    for (let i = 0; i < 1000; i++) {
      const ls = [{ name: 'i', value: String(i) }];
      for (let r = 0; r < 3; r++) expect(b.getN('t', ls, r)).toBe(a.getN('t', ls, r));
    }
  });

  it('refuses replicas beyond the endpoints or the replication factor', () => {
    const ring = newKetamaHashring([ep('a'), ep('b'), ep('c')], 10, 2);
    expect(() => ring.getN('t', [], 3)).toThrow(InsufficientNodesError);
    expect(() => ring.getN('t', [], 2)).toThrow(InsufficientNodesError);
  });

  it('refuses an AZ layout that cannot hold the replicas instead of looping', () => {
    expect(() => newKetamaHashring([ep('a', '1'), ep('b', '2'), ep('c', '2'), ep('d', '2')], 10, 4)).toThrow(
      /cannot place 4 replicas/,
    );
  });

  it('refuses shuffle sharding it cannot reproduce', () => {
    const ss = { shardSize: 2, cacheSize: 0, zoneAwarenessDisabled: false, overrides: [] };
    expect(() => newHashring('ketama', [ep('a'), ep('b')], 1, 'h', { ...ss, shardSize: 3 })).toThrow(
      'shard size 3 is larger than number of nodes in hashring h (2)',
    );
    expect(() => newHashring('ketama', [ep('a'), ep('b')], 1, 'h', ss)).toThrow(/not supported/);
    expect(() => newHashring('hashmod', [ep('a'), ep('b')], 1, 'h', ss)).toThrow(
      'hashmod algorithm does not support shuffle sharding. Either use Ketama or remove shuffle sharding configuration',
    );
  });
});

describe('SingleNodeHashring', () => {
  it('always answers the local endpoint and has no replicas', () => {
    const h: Hashring = new SingleNodeHashring('127.0.0.1:10901');
    expect(h.getN('any', [], 0)).toBe('127.0.0.1:10901');
    expect(() => h.getN('any', [], 1)).toThrow('insufficient nodes; have 1, want 2');
  });
});

describe('parseHashringsConfig', () => {
  it('parses both endpoint forms and every field', () => {
    const text = JSON.stringify([
      {
        hashring: 'team',
        tenants: ['team-*'],
        tenant_matcher_type: 'glob',
        endpoints: ['recv-0:10901', { address: 'recv-1:10901', az: 'a', capnproto_address: 'recv-1:7000' }],
        algorithm: 'ketama',
        external_labels: { zone: 'eu', a: '1' },
        shuffle_sharding_config: {
          shard_size: 0,
          cache_size: 100,
          zone_awareness_disabled: true,
          overrides: [{ shard_size: 5, tenants: ['x'], tenant_matcher_type: 'exact' }],
        },
        unknown_field: 1,
      },
      { endpoints: ['recv-2'] },
    ]);
    const [a, b] = parseHashringsConfig(text);
    expect(a).toEqual({
      hashring: 'team',
      tenants: ['team-*'],
      tenantMatcherType: 'glob',
      endpoints: [
        { address: 'recv-0:10901', capnprotoAddress: 'recv-0:19391', az: '' },
        { address: 'recv-1:10901', capnprotoAddress: 'recv-1:7000', az: 'a' },
      ],
      algorithm: 'ketama',
      externalLabels: [
        { name: 'a', value: '1' },
        { name: 'zone', value: 'eu' },
      ],
      shuffleShardingConfig: {
        shardSize: 0,
        cacheSize: 100,
        zoneAwarenessDisabled: true,
        overrides: [{ shardSize: 5, tenants: ['x'], tenantMatcherType: 'exact' }],
      },
    });
    expect(b.endpoints).toEqual([{ address: 'recv-2', capnprotoAddress: 'recv-2:19391', az: '' }]);
    expect(b.tenants).toEqual([]);
    expect(b.algorithm).toBe('');
  });

  it('matches field names case-insensitively and treats null as absent, as encoding/json does', () => {
    const [c] = parseHashringsConfig('[{"Endpoints": ["a"], "TENANTS": null, "Hashring": "h"}]');
    expect(c.endpoints.map((e) => e.address)).toEqual(['a']);
    expect(c.tenants).toEqual([]);
    expect(c.hashring).toBe('h');
    expect(parseHashringsConfig('null')).toEqual([]);
    expect(parseHashringsConfig('[]')).toEqual([]);
  });

  it('rejects endpoints without an address', () => {
    expect(() => parseHashringsConfig('[{"endpoints": [{"az": "az-1"}]}]')).toThrow('endpoint address must be set');
    expect(() => parseHashringsConfig('[{"endpoints": [""]}]')).toThrow('endpoint address must be set');
  });

  it('rejects values of the wrong type with encoding/json style messages', () => {
    expect(() => parseHashringsConfig('{}')).toThrow(
      'json: cannot unmarshal object into Go value of type []receive.HashringConfig',
    );
    expect(() => parseHashringsConfig('[{"endpoints": "a"}]')).toThrow(
      'json: cannot unmarshal string into Go struct field HashringConfig.endpoints of type []receive.Endpoint',
    );
    expect(() => parseHashringsConfig('[{"tenants": [1]}]')).toThrow(/cannot unmarshal number 1 .*of type string/);
    expect(() => parseHashringsConfig('[{"endpoints": [1]}]')).toThrow(/cannot unmarshal number 1/);
    expect(() => parseHashringsConfig('[{"shuffle_sharding_config": {"shard_size": 1.5}}]')).toThrow(/of type int/);
    expect(() => parseHashringsConfig('[{"external_labels": {"a": 1}}]')).toThrow(/external_labels/);
    expect(() => parseHashringsConfig('[{')).toThrow();
  });

  it('loads a hashrings file with Thanos messages for unparsable and empty content', () => {
    expect(loadHashringsConfig('[{"endpoints": ["a"]}]', '/h.json')).toHaveLength(1);
    expect(() => loadHashringsConfig('[]', '/h.json')).toThrow(
      'failed to load configuration file, path: /h.json: configuration file is empty',
    );
    expect(() => loadHashringsConfig('null', '/h.json')).toThrow(/configuration file is empty/);
    expect(() => loadHashringsConfig('{}', '/h.json')).toThrow(
      /^failed to parse configuration file: json: cannot unmarshal object .*: configuration file is not parsable$/,
    );
  });

  it('builds a working ring from a parsed file', () => {
    const h = newMultiHashring(
      'hashmod',
      2,
      parseHashringsConfig(
        JSON.stringify([
          { tenants: ['a', 'b'], endpoints: [{ address: 'k1', az: 'x' }, { address: 'k2', az: 'y' }], algorithm: 'ketama' },
          { endpoints: ['h1', 'h2', 'h3'] },
        ]),
      ),
    );
    const ls = labelsFromStrings('__name__', 'up');
    expect(new Set([h.getN('a', ls, 0), h.getN('a', ls, 1)])).toEqual(new Set(['k1', 'k2']));
    expect(['h1', 'h2', 'h3']).toContain(h.getN('c', ls, 1));
  });
});

describe('placing a series from its raw label bytes', () => {
  /** The labels laid out in one buffer behind some noise, with their byte ranges. */
  function raw(labels: Labels): { buf: Uint8Array; ranges: Int32Array } {
    const parts: number[] = [0xaa, 0xbb, 0xcc];
    const ranges = new Int32Array(labels.length * 4);
    labels.forEach((l, k) => {
      for (const [j, s] of [l.name, l.value].entries()) {
        const b = enc(s);
        ranges[k * 4 + j * 2] = parts.length;
        parts.push(...b);
        ranges[k * 4 + j * 2 + 1] = parts.length;
        parts.push(0x0a); // something between the fields, as in a protobuf message
      }
    });
    return { buf: Uint8Array.from(parts), ranges };
  }

  const hashOf = (tenant: string, labels: Labels): bigint => {
    const { buf, ranges } = raw(labels);
    const out = new Uint32Array(2);
    hashRawLabels(tenant, buf, ranges, labels.length, out);
    return (BigInt(out[0]) << 32n) | BigInt(out[1]);
  };

  const cases: { tenant: string; labels: Labels }[] = [
    { tenant: '', labels: [] },
    { tenant: 'tenant', labels: [{ name: 'pod', value: 'nginx' }] },
    { tenant: 'default-tenant', labels: labelsFromStrings('__name__', 'http_requests_total', 'instance', '10.1.2.3:8080', 'job', 'api') },
    { tenant: 'zürich', labels: [{ name: 'city', value: 'Zürich 東京 🙂' }] },
    // Past 64 bytes a value is copied with set(); past 32 in all, xxh64 takes its long path.
    { tenant: 't', labels: [{ name: 'long', value: 'x'.repeat(300) }, { name: 'm', value: 'y'.repeat(63) }] },
  ];

  it('hashes as hashLabels does over the decoded labels', () => {
    for (const c of cases) expect(hashOf(c.tenant, c.labels)).toBe(hashLabels(c.tenant, c.labels));
  });

  it('is xxHash64 of tenant, names and values each followed by 0xFF', () => {
    const ls = [{ name: 'pod', value: 'nginx' }, { name: 'city', value: 'Zürich' }];
    const parts = ['tenant', 'pod', 'nginx', 'city', 'Zürich'].flatMap((x) => [...enc(x), 0xff]);
    expect(hashOf('tenant', ls)).toBe(xxhash64(Uint8Array.from(parts)));
  });

  function samePlacement(ring: Hashring, tenant: string, replicas: number): void {
    const out = new Uint32Array(2);
    for (let i = 0; i < 2000; i++) {
      const ls = labelsFromStrings('__name__', `m${i % 7}`, 'instance', `10.0.${i >> 8}.${i & 255}:9100`, 'job', 'node');
      const { buf, ranges } = raw(ls);
      hashRawLabels(tenant, buf, ranges, ls.length, out);
      for (let n = 0; n < replicas; n++) expect(ring.getNByHash(tenant, out[0], out[1], n)).toBe(ring.getN(tenant, ls, n));
    }
  }

  const endpoints = ['10.0.0.1:10901', '10.0.0.2:10901', '10.0.0.3:10901', '10.0.0.4:10901'].map((a) => ep(a));

  it('hashmod: getNByHash places every replica where getN does', () => {
    samePlacement(newHashring('hashmod', endpoints, 3), 'default-tenant', 4);
  });

  it('ketama: getNByHash places every replica where getN does', () => {
    samePlacement(newHashring('ketama', endpoints, 3), 'default-tenant', 3);
  });

  it('multi: the tenant picks the hashring, then the hash the endpoint', () => {
    const ring = newMultiHashring('hashmod', 3, [
      cfg({ hashring: 'a', tenants: ['team-a'], endpoints: endpoints.slice(0, 3), algorithm: 'ketama' }),
      cfg({ hashring: 'rest', endpoints: [ep('b1:1'), ep('b2:1'), ep('b3:1')] }),
    ]);
    samePlacement(ring, 'team-a', 3);
    samePlacement(ring, 'team-b', 3);
    const out = new Uint32Array(2);
    hashRawLabels('team-b', new Uint8Array(0), new Int32Array(0), 0, out);
    expect(ring.getNByHash('team-b', out[0], out[1], 0)).toMatch(/^b/);
    const strict = newMultiHashring('hashmod', 1, [cfg({ tenants: ['only'], endpoints: [ep('x:1')] })]);
    expect(() => strict.getNByHash('other', 0, 0, 0)).toThrow(NoMatchingHashringError);
  });

  it('errors as getN does: too few nodes, single node', () => {
    const ring = newHashring('hashmod', endpoints.slice(0, 2), 3);
    expect(() => ring.getNByHash('t', 1, 2, 2)).toThrow(new InsufficientNodesError(2, 3));
    const ketama = newHashring('ketama', endpoints, 2);
    expect(() => ketama.getNByHash('t', 1, 2, 2)).toThrow(new InsufficientNodesError(2, 3));
    const single = new SingleNodeHashring('me:1');
    expect(single.getNByHash('t', 5, 6, 0)).toBe('me:1');
    expect(() => single.getNByHash('t', 5, 6, 1)).toThrow(new InsufficientNodesError(1, 2));
  });
});
