import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  analyzeBlock,
  createBlocksFromOpenMetrics,
  dumpBlocks,
  listBlocks,
  parseDump,
  promtool,
  removeTempDirs,
  tempDir,
} from './index.js';

afterAll(removeTempDirs);

describe('parseDump', () => {
  it('parses labels.String() and %g as promtool 2.42 prints them', () => {
    const text = [
      '{__name__="a", x="q\\"uo\\\\te\\nnl\\tü\\x01"} 1.5 1000',
      '{__name__="a", x="q\\"uo\\\\te\\nnl\\tü\\x01"} NaN 2000',
      '{__name__="b"} +Inf -5',
      '{__name__="b"} -Inf 6',
      '{__name__="c"} 1.234567e+06 7',
      '{__name__="c"} -1e-07 8',
      '{__name__="c"} -0 9',
      '',
    ].join('\n');
    const d = parseDump(text);
    expect(d.map((s) => s.labels)).toEqual([
      [
        { name: '__name__', value: 'a' },
        { name: 'x', value: 'q"uo\\te\nnl\tü\x01' },
      ],
      [{ name: '__name__', value: 'b' }],
      [{ name: '__name__', value: 'c' }],
    ]);
    expect(d.map((s) => s.samples)).toEqual([
      [
        { t: 1000, v: 1.5 },
        { t: 2000, v: NaN },
      ],
      [
        { t: -5, v: Infinity },
        { t: 6, v: -Infinity },
      ],
      [
        { t: 7, v: 1234567 },
        { t: 8, v: -1e-7 },
        { t: 9, v: -0 },
      ],
    ]);
    expect(() => parseDump('{a="b" 1 2')).toThrow('parse dump: line 1');
  });
});

describe('promtool helpers', () => {
  it('backfills OpenMetrics into blocks and reads them back', async () => {
    const dir = await tempDir('promtool-test');
    const text = [
      '# TYPE m gauge',
      'm{a="x\\"y"} 1 0',
      'm{a="x\\"y"} 2.5 3600',
      'm{a="x\\"y"} NaN 7200.5',
      'n 1e6 10',
      '# EOF',
      '',
    ].join('\n');
    const ulids = await createBlocksFromOpenMetrics(text, dir);
    expect(ulids).toHaveLength(2);
    expect((await readdir(dir)).filter((n) => ulids.includes(n))).toHaveLength(2);

    const dumped = await dumpBlocks(dir);
    expect(dumped).toEqual([
      {
        labels: [
          { name: '__name__', value: 'm' },
          { name: 'a', value: 'x"y' },
        ],
        samples: [
          { t: 0, v: 1 },
          { t: 3_600_000, v: 2.5 },
          { t: 7_200_500, v: NaN },
        ],
      },
      { labels: [{ name: '__name__', value: 'n' }], samples: [{ t: 10_000, v: 1e6 }] },
    ]);
    expect(await dumpBlocks(dir, { minTime: 1, maxTime: 7_200_000, match: '{__name__="m"}' })).toEqual([
      { labels: dumped[0].labels, samples: [{ t: 3_600_000, v: 2.5 }] },
    ]);

    const listed = await listBlocks(dir);
    expect(listed.map((b) => b.ulid).sort()).toEqual(ulids);
    const first = listed.find((b) => b.minTime === 0)!;
    expect(first).toMatchObject({ maxTime: 3_600_001, numSamples: 3, numSeries: 2 });

    const a = await analyzeBlock(dir, first.ulid);
    expect(a).toMatchObject({ blockId: first.ulid, series: 2, labelNames: 2, postings: 3 });
    expect(a.raw).toContain('Highest cardinality metric names');
  });

  it('reports promtool failures with its output', async () => {
    const dir = await tempDir('promtool-bad');
    await expect(createBlocksFromOpenMetrics('m 1 1\n', dir)).rejects.toThrow(/data does not end with # EOF/);
    const r = await promtool(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/promtool, version 2\.42/);
  });
});
