import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { UserError } from '@thanos-ts/runtime';
import {
  DEFAULT_MAX_TIME,
  DEFAULT_MIN_TIME,
  describeSeries,
  parseTimeFlag,
  runStoreInfo,
  runStoreLabels,
  runStoreLabelValues,
  runStoreSeries,
} from './debug-client.js';
import { StoreServer } from './server.js';
import { FakeStore, makeSeries, makeXorChunk } from './testing.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const T0 = 1_700_000_000_000;

describe('tools store', () => {
  const series = [
    ...makeSeries(3, { t0: T0, chunksPerSeries: 2 }),
    ...makeSeries(2, { t0: T0, metric: 'other', extra: [{ name: 'zone', value: 'eu "1"' }] }),
  ].sort((a, b) => (a.labels[0].value < b.labels[0].value ? -1 : a.labels[0].value > b.labels[0].value ? 1 : 0));
  const store = new FakeStore({
    series,
    warnings: ['store is partial'],
    info: {
      ComponentType: 'sidecar',
      labelSets: [{ labels: [{ name: 'cluster', value: 'eu1' }, { name: 'replica', value: '0' }] }],
      store: { minTime: T0, maxTime: 9_223_372_036_854_775_807, supportsWithoutReplicaLabels: true },
      exemplars: { minTime: 0, maxTime: 0 },
    },
  });
  const server = new StoreServer({ address: '127.0.0.1:0', store, info: store });
  beforeAll(() => server.start());
  afterAll(() => server.stop(1000));

  it('series: one line per series and a summary', async () => {
    const out = new Capture();
    const sum = await runStoreSeries({ endpoint: server.address, match: ['test_metric{i=~"0|1"}'] }, out);
    const lines = out.text.trimEnd().split('\n');
    expect(lines[0]).toBe('warning: store is partial');
    expect(lines[1]).toMatch(
      /^\{__name__="test_metric", i="0", job="fake"\} chunks=2 samples=240 bytes=\d+ mint=1700000000000 maxt=1700003585000$/,
    );
    expect(lines[2]).toMatch(/^\{__name__="test_metric", i="1", job="fake"\} chunks=2 samples=240 /);
    expect(lines[3]).toMatch(/^series=2 chunks=4 samples=480 bytes=\d+ took=[\d.]+ms$/);
    expect(lines.length).toBe(4);
    expect(sum).toMatchObject({ series: 2, chunks: 4, samples: 480, warnings: 1 });
    expect(store.lastRequest).toMatchObject({ minTime: DEFAULT_MIN_TIME, maxTime: DEFAULT_MAX_TIME, responseBatchSize: 64 });
  });

  it('series: several --match selectors are ORed and merged; --skip-chunks', async () => {
    const out = new Capture();
    await runStoreSeries({ endpoint: server.address, match: ['{i="0"}', 'other', '{__name__="other"}'], skipChunks: true }, out);
    const lines = out.text.trimEnd().split('\n').filter((l) => !l.startsWith('warning'));
    expect(lines).toEqual([
      '{__name__="other", i="0", job="fake", zone="eu \\"1\\""} chunks=0 samples=0 bytes=0 mint=- maxt=-',
      '{__name__="other", i="1", job="fake", zone="eu \\"1\\""} chunks=0 samples=0 bytes=0 mint=- maxt=-',
      '{__name__="test_metric", i="0", job="fake"} chunks=0 samples=0 bytes=0 mint=- maxt=-',
      expect.stringMatching(/^series=3 chunks=0 samples=0 bytes=0 took=/) as unknown as string,
    ]);
  });

  it('series: time range and limit are passed on', async () => {
    const out = new Capture();
    await runStoreSeries({ endpoint: server.address, minTime: T0 + 1_800_000, maxTime: T0 + 1_900_000, limit: 1 }, out);
    expect(store.lastRequest).toMatchObject({ minTime: T0 + 1_800_000, maxTime: T0 + 1_900_000, limit: 1 });
    expect(out.text).toMatch(/\nseries=1 chunks=1 samples=120 /);
  });

  it('labels, label-values and info', async () => {
    const out = new Capture();
    await runStoreLabels({ endpoint: server.address }, out);
    expect(out.text).toMatch(/^warning: store is partial\n__name__\ni\njob\nzone\nnames=4 took=[\d.]+ms\n$/);

    const out2 = new Capture();
    await runStoreLabelValues({ endpoint: server.address, label: '__name__', match: ['{i="2"}', '{zone!=""}'] }, out2);
    expect(out2.text).toMatch(/^warning: store is partial\nwarning: store is partial\nother\ntest_metric\nvalues=2 took=/);

    const out3 = new Capture();
    await runStoreInfo({ endpoint: server.address }, out3);
    expect(out3.text).toMatch(
      new RegExp(
        [
          '^ComponentType: sidecar',
          'LabelSets: \\{cluster="eu1", replica="0"\\}',
          'MinTime: 2023-11-14T22:13:20.000Z \\(1700000000000\\)',
          'MaxTime: 9223372036854775807 \\(max int64\\)',
          'Flags: supports_sharding=false supports_without_replica_labels=true supports_projections=false',
          'APIs: store, exemplars',
          'took=[\\d.]+ms\n$',
        ].join('\n'),
      ),
    );
  });

  it('reports errors as one-line user errors', async () => {
    await expect(runStoreSeries({ endpoint: server.address, match: ['{a=~"("}'] }, new Capture())).rejects.toThrow(
      new UserError('--match "{a=~\\"(\\"}": 1:5: parse error: invalid regular expression in a: error parsing regexp: missing closing ): `(`'),
    );
    const err = await runStoreSeries({ endpoint: '127.0.0.1:1', timeoutMs: 5000 }, new Capture()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^store 127\.0\.0\.1:1: Series: rpc error: code = Unavailable desc = /);
    await expect(runStoreLabelValues({ endpoint: server.address, label: '' }, new Capture())).rejects.toThrow(/--label/);
    await expect(runStoreInfo({ endpoint: '127.0.0.1:1' }, new Capture())).rejects.toThrow(/^store 127\.0\.0\.1:1: Info: rpc error: code = Unavailable/);
  });

  it('flags a corrupt chunk on its line', () => {
    const good = makeXorChunk(T0, 10, 1000);
    const bad = { ...good, raw: { type: 0, data: good.raw!.data.subarray(0, 6) } };
    const line = describeSeries({ labels: [{ name: 'a', value: '1' }], chunks: [good, bad] });
    expect(line.errors).toBe(1);
    expect(line.text).toMatch(/^\{a="1"\} chunks=2 samples=1\d bytes=\d+ mint=1700000000000 maxt=1700000009000 error=".+"$/);
  });

  it('parses time flags: unix ms, RFC3339 and relative durations', () => {
    const now = 1_700_000_000_000;
    expect(parseTimeFlag('1700000000123', now)).toBe(1_700_000_000_123);
    expect(parseTimeFlag('2023-11-14T22:13:20Z', now)).toBe(now);
    expect(parseTimeFlag('2023-11-14T22:13:20.5+01:00', now)).toBe(now - 3600_000 + 500);
    expect(parseTimeFlag('-1h', now)).toBe(now - 3600_000);
    expect(parseTimeFlag('30m', now)).toBe(now + 1800_000);
    expect(parseTimeFlag('0000-01-01T00:00:00Z')).toBe(DEFAULT_MIN_TIME);
    expect(parseTimeFlag('9999-12-31T23:59:59Z')).toBe(DEFAULT_MAX_TIME);
    expect(() => parseTimeFlag('yesterday')).toThrow(/neither an RFC3339 time nor a duration/);
  });
});
