// Cross-checks the OpenMetrics parser against the real promtool 2.42: the samples we
// parse from a generated file must be exactly what `promtool tsdb create-blocks-from
// openmetrics` writes into blocks (read back with `promtool tsdb dump`), and malformed
// inputs must fail with the message promtool prints.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBlocksFromOpenMetrics, dumpBlocks, promtool, removeTempDirs, rng, tempDir } from '@thanos-ts/testutil';
import { compareLabels, labelsKey, type Labels } from '../labels/index.js';
import { parseOpenMetrics, parseOpenMetricsString, TextParseError, type SampleEntry } from './index.js';

afterAll(removeTempDirs);

/**
 * Builds a document in scrape order (all series at one time, then the next), spanning
 * several 2h blocks, with every value and label shape the format allows.
 */
function generate(seed: number, series: number, steps: number): string {
  const r = rng(seed);
  const values = ['NaN', '+Inf', '-Inf', '-0', '0', '1e-300', '1.7976931348623157e308', '-2.5E+3', '.5', '7.'];
  const labelValues = ['plain', 'with space', 'quote\\"d', 'back\\\\slash', 'new\\nline', 'tab\\t', 'ünï©ødé ✓', '{}=,#', ''];
  const lines: string[] = ['# HELP gen_total A counter with "quotes" \\\\ and \\n.', '# TYPE gen_total counter'];
  const names = Array.from({ length: series }, (_, i) =>
    i % 10 === 0 ? 'gen_total' : i % 10 === 1 ? 'gen_created' : i % 10 === 2 ? 'gen_bucket' : `gen:metric_${i % 7}`,
  );
  const labelSets = names.map((_, i) => {
    const lv = labelValues[Math.floor(r() * labelValues.length)];
    return `{idx="${i}",kind="${lv}"${i % 3 === 0 ? ',zz="z"' : ''}}`;
  });
  let ts = 1_600_000_000;
  for (let step = 0; step < steps; step++) {
    // Irregular steps of up to ~40 min make the 10-step run span several 2h blocks.
    ts += 1 + Math.floor(r() * 2400) + Math.floor(r() * 1000) / 1000;
    for (let i = 0; i < series; i++) {
      const x = r();
      const v =
        x < 0.1
          ? values[Math.floor(r() * values.length)]
          : x < 0.5
            ? String(Math.floor(r() * 1e6))
            : String((r() - 0.5) * 10 ** Math.floor(r() * 20 - 10));
      const exemplar = names[i] === 'gen_total' && r() < 0.5 ? ` # {trace_id="t${step}"} ${r()} ${ts}` : '';
      const tsText = r() < 0.2 ? ts.toExponential(12) : ts.toFixed(3);
      lines.push(`${names[i]}${labelSets[i]} ${v} ${tsText}${exemplar}`);
    }
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

interface Series {
  labels: Labels;
  samples: { t: number; v: number }[];
}

function groupSamples(samples: SampleEntry[]): Series[] {
  const byKey = new Map<string, Series>();
  for (const s of samples) {
    const k = labelsKey(s.labels);
    let ser = byKey.get(k);
    if (!ser) byKey.set(k, (ser = { labels: s.labels, samples: [] }));
    ser.samples.push({ t: s.t, v: s.v });
  }
  return [...byKey.values()].sort((a, b) => compareLabels(a.labels, b.labels));
}

describe('OpenMetrics parser vs promtool 2.42', () => {
  it('parses a generated file into exactly the samples promtool backfills', async () => {
    const text = generate(42, 60, 40);
    const dir = await tempDir('om-crosscheck');
    const file = join(dir, 'input.om');
    await writeFile(file, text);
    const { createReadStream } = await import('node:fs');

    const ours: SampleEntry[] = [];
    for await (const e of parseOpenMetrics(createReadStream(file, { highWaterMark: 4096 }))) {
      if (e.kind === 'sample') ours.push(e);
    }
    expect(ours).toHaveLength(60 * 40);

    const out = join(dir, 'blocks');
    const ulids = await createBlocksFromOpenMetrics(text, out);
    expect(ulids.length).toBeGreaterThan(1);
    const dumped = await dumpBlocks(out);

    const want = groupSamples(ours);
    expect(dumped.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      expect(dumped[i].labels, `series ${i}`).toEqual(want[i].labels);
      expect(dumped[i].samples, `samples of ${JSON.stringify(want[i].labels)}`).toEqual(want[i].samples);
    }
  });

  // Every malformed input must fail in both, with our reason being what promtool prints.
  // promtool says "getting min and max timestamp: next: <reason>" for parse errors.
  const malformed = [
    'm 1 1\n',
    'm 1 1',
    'm 1',
    '# EOF\nm 1 1\n',
    '# EOF\n\n',
    '# EOF \n',
    'a 1 1\nm{a=1} 1 1\n# EOF\n',
    'm{a="1",} 1 1\n# EOF\n',
    'm{,a="1"} 1 1\n# EOF\n',
    'm{a="1"b="2"} 1 1\n# EOF\n',
    'm{a="1"=} 1 1\n# EOF\n',
    'm{a:b="1"} 1 1\n# EOF\n',
    'm{1a="1"} 1 1\n# EOF\n',
    'm{a="1\n',
    'm  1 1\n# EOF\n',
    'm\n# EOF\n',
    'm{a="1"}{ 1\n# EOF\n',
    'm 1 1 \n# EOF\n',
    'm 1 1 2\n# EOF\n',
    'm 1 \n# EOF\n',
    'm 1 NaN\n# EOF\n',
    'm 1 #x\n# EOF\n',
    'm 1 # x\n# EOF\n',
    'm abc 1\n# EOF\n',
    'm 0x10 1\n# EOF\n',
    'm 0x1p3 1\n# EOF\n',
    'm 1e400 1\n# EOF\n',
    'm +NaN 1\n# EOF\n',
    'm 1\r 1\n# EOF\n',
    '# TYPE m bogus\n# EOF\n',
    '# TYPE m untyped\n# EOF\n',
    '# TYPE m\n# EOF\n',
    '# HELP m\n# EOF\n',
    '# HELP 1m x\n# EOF\n',
    '# UNIT m_seconds bytes\n# EOF\n',
    '# some comment\n# EOF\n',
    '# HELPX m x\n# EOF\n',
    '#HELP m x\n# EOF\n',
    '\n# EOF\n',
    ' m 1 1\n# EOF\n',
    '1m 1 1\n# EOF\n',
    'm 1 1 # {a="b"} 1\n# EOF\n',
    'm_total 1 1 # {a="b"} x\n# EOF\n',
    'm_total 1 1 # {a="b"}\n# EOF\n',
    'm_total 1 1 # {a="b"} 1 NaN\n# EOF\n',
    'm_total 1 1 # {a="b"} 1 1 1\n# EOF\n',
    'm_total 1 1 # {a=b} 1\n# EOF\n',
    'm_total 1 1 # {a= 1} 1\n# EOF\n',
    'm_total 1 1 # {a="b"} 1',
  ];

  it('fails on malformed input with promtool’s message', async () => {
    const dir = await tempDir('om-errors');
    const results = await Promise.all(
      malformed.map(async (text, i) => {
        const file = join(dir, `in-${i}.om`);
        await writeFile(file, text);
        const r = await promtool(['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, join(dir, `out-${i}`)]);
        return r;
      }),
    );
    for (let i = 0; i < malformed.length; i++) {
      const text = malformed[i];
      let reason = '';
      try {
        parseOpenMetricsString(text);
      } catch (e) {
        expect(e, JSON.stringify(text)).toBeInstanceOf(TextParseError);
        reason = (e as TextParseError).reason;
      }
      expect(reason, `we accept ${JSON.stringify(text)}`).not.toBe('');
      expect(results[i].code, `promtool accepts ${JSON.stringify(text)}`).toBe(1);
      expect(results[i].stderr.trim(), JSON.stringify(text)).toBe(`getting min and max timestamp: next: ${reason}`);
    }
  });

  it('rejects what promtool rejects after parsing', async () => {
    const dir = await tempDir('om-errors2');
    const cases: [string, string, string][] = [
      // promtool's first pass checks timestamps before it knows the labels.
      ['m{a="b"} 1\n# EOF\n', 'expected timestamp for series {__name__="m", a="b"}, got none', 'expected timestamp for series got none'],
      ['m{a="1",a="2"} 1 1\n# EOF\n', 'label name "a" is not unique', 'label name "a" is not unique'],
    ];
    for (const [text, ourReason, promtoolSays] of cases) {
      expect(() => parseOpenMetricsString(text)).toThrow(`openmetrics: line 1: ${ourReason}`);
      const file = join(dir, 'in.om');
      await writeFile(file, text);
      const r = await promtool(['tsdb', 'create-blocks-from', 'openmetrics', file, join(dir, 'out')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(promtoolSays);
    }
  });

  it('accepts what promtool accepts at the edges', async () => {
    const text = [
      'm{} 1 1',
      'm{a="",b="x"} 2 2',
      'm{b="x"} 3 3.0009',
      'n_total{le="a b # {"} 4 4 # {} 1',
      'n_total{le="a b # {"} 5 5 # {x="y"} 1 1.5',
      'o 1e-400 6',
      '# EOF',
    ].join('\n');
    const dir = await tempDir('om-edges');
    await createBlocksFromOpenMetrics(text, dir);
    const dumped = await dumpBlocks(dir);
    const ours = groupSamples(parseOpenMetricsString(text).filter((e): e is SampleEntry => e.kind === 'sample'));
    expect(dumped.map((s) => [s.labels, s.samples])).toEqual(ours.map((s) => [s.labels, s.samples]));
  });
});
