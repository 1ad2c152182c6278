import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDir, tempDir } from '@thanos-ts/testutil';
import {
  emptyBlockMeta,
  encodeBlockMeta,
  encodeDeletionMark,
  encodeNoCompactMark,
  encodeNoDownsampleMark,
  encodePromBlockMeta,
  formatUploadTime,
  InvalidBlockMetaError,
  InvalidMarkerError,
  NoCompactReason,
  parseBlockMeta,
  parseDeletionMark,
  parseNoCompactMark,
  parseNoDownsampleMark,
  readBlockMeta,
  SourceType,
  writeBlockMeta,
} from './index.js';
import type { BlockMeta } from './index.js';
import { ulid } from '../ulid/index.js';
import { promtoolCreateBlocks } from '../block/test-fixture.js';

/** Go's ulid.MustNew(ms, nil). */
const goUlid = (ms: number): string => ulid(ms, new Uint8Array(10));

describe('meta.json encoding (Thanos golden outputs from meta_test.go)', () => {
  it('serialises the empty meta exactly like Thanos', () => {
    // formats.md 4.1 / Thanos TestMeta_ReadWrite "empty write/read/write"
    expect(encodeBlockMeta(emptyBlockMeta())).toBe(`{
	"ulid": "00000000000000000000000000",
	"minTime": 0,
	"maxTime": 0,
	"stats": {},
	"compaction": {
		"level": 0
	},
	"version": 0,
	"thanos": {
		"labels": null,
		"downsample": {
			"resolution": 0
		},
		"source": "",
		"index_stats": {},
		"upload_time": "0001-01-01T00:00:00Z"
	}
}
`);
    expect(() => parseBlockMeta(encodeBlockMeta(emptyBlockMeta()))).toThrow('meta.json: unexpected meta file version 0');
  });

  const real = (): BlockMeta => ({
    ulid: goUlid(5),
    minTime: 2424,
    maxTime: 134,
    version: 1,
    compaction: {
      level: 123,
      sources: [goUlid(1), goUlid(2)],
      parents: [{ ulid: goUlid(3), minTime: 442, maxTime: 24225 }],
    },
    stats: { numChunks: 14, numSamples: 245, numSeries: 4 },
    thanos: {
      version: 1,
      labels: { ext: 'lset1' },
      source: SourceType.Receive,
      files: [{ rel_path: 'chunks/000001', size_bytes: 3751 }, { rel_path: 'index', size_bytes: 401 }, { rel_path: 'meta.json' }],
      downsample: { resolution: 123144 },
      index_stats: { series_max_size: 2000, chunk_max_size: 1000 },
      upload_time: '0001-01-01T00:00:00Z',
    },
  });

  it('serialises a full meta like Thanos ("real write/read/write")', () => {
    expect(encodeBlockMeta(real())).toBe(`{
	"ulid": "00000000050000000000000000",
	"minTime": 2424,
	"maxTime": 134,
	"stats": {
		"numSamples": 245,
		"numSeries": 4,
		"numChunks": 14
	},
	"compaction": {
		"level": 123,
		"sources": [
			"00000000010000000000000000",
			"00000000020000000000000000"
		],
		"parents": [
			{
				"ulid": "00000000030000000000000000",
				"minTime": 442,
				"maxTime": 24225
			}
		]
	},
	"version": 1,
	"thanos": {
		"version": 1,
		"labels": {
			"ext": "lset1"
		},
		"downsample": {
			"resolution": 123144
		},
		"source": "receive",
		"files": [
			{
				"rel_path": "chunks/000001",
				"size_bytes": 3751
			},
			{
				"rel_path": "index",
				"size_bytes": 401
			},
			{
				"rel_path": "meta.json"
			}
		],
		"index_stats": {
			"series_max_size": 2000,
			"chunk_max_size": 1000
		},
		"upload_time": "0001-01-01T00:00:00Z"
	}
}
`);
  });

  it('writes labels null, omits empty extensions and keeps extensions ("missing labels", "extensions")', () => {
    const m = real();
    m.thanos = { labels: null, source: 'receive', downsample: { resolution: 123144 }, index_stats: {}, upload_time: '' };
    m.compaction = { level: 123 };
    const text = encodeBlockMeta(m);
    expect(text).toContain('\t"thanos": {\n\t\t"labels": null,\n\t\t"downsample": {\n\t\t\t"resolution": 123144\n\t\t},\n\t\t"source": "receive",\n\t\t"index_stats": {},\n\t\t"upload_time": "0001-01-01T00:00:00Z"\n\t}\n}\n');
    expect(text).toContain('\t"compaction": {\n\t\t"level": 123\n\t},\n');
    m.thanos.labels = { ext: 'lset1' };
    m.thanos.extensions = { field2: 'test_string', field1: 1 };
    expect(encodeBlockMeta(m)).toContain(
      '\t\t"source": "receive",\n\t\t"index_stats": {},\n\t\t"extensions": {\n\t\t\t"field1": 1,\n\t\t\t"field2": "test_string"\n\t\t},\n\t\t"upload_time": "0001-01-01T00:00:00Z"\n',
    );
  });

  it('escapes strings like Go (HTML-safe) and sorts label names byte-wise', () => {
    const m = { ...real(), minTime: 0 };
    m.thanos.labels = { b: '<x>&y', a: 'é\u2028\u2029"\\', B: '\n\t\r\b\f\u0001\u001f\u007f', é: 'z', z: '💡' };
    const text = encodeBlockMeta(m);
    expect(text).toContain(
      '"labels": {\n\t\t\t"B": "\\n\\t\\r\\b\\f\\u0001\\u001f\u007f",\n\t\t\t"a": "é\\u2028\\u2029\\"\\\\",\n\t\t\t"b": "\\u003cx\\u003e\\u0026y",\n\t\t\t"z": "💡",\n\t\t\t"é": "z"\n\t\t},',
    );
    expect(parseBlockMeta(text).thanos.labels).toEqual(m.thanos.labels);
  });
});

describe('meta.json parsing', () => {
  const base = (): Record<string, unknown> => ({
    ulid: '01M85F1GK7K451AEAYJATQSKRF',
    minTime: 1000,
    maxTime: 4011,
    stats: { numSamples: 4, numSeries: 1, numChunks: 1 },
    compaction: { level: 1, sources: ['01M85F1GK7K451AEAYJATQSKRF'] },
    version: 1,
  });
  const parse = (o: unknown): BlockMeta => parseBlockMeta(JSON.stringify(o), 'blk/meta.json');

  it('validates versions, ULIDs, times and types with precise errors', () => {
    expect(parse(base()).thanos).toEqual({ labels: {}, downsample: { resolution: 0 }, source: '', index_stats: {}, upload_time: '0001-01-01T00:00:00Z' });
    expect(() => parse({ ...base(), version: 2 })).toThrow(InvalidBlockMetaError);
    expect(() => parse({ ...base(), version: 2 })).toThrow('blk/meta.json: unexpected meta file version 2');
    expect(() => parse({ ...base(), version: undefined })).toThrow('unexpected meta file version 0');
    expect(() => parse({ ...base(), thanos: { version: 2 } })).toThrow('blk/meta.json: unexpected meta file Thanos section version 2');
    expect(parse({ ...base(), thanos: { version: 1 } }).thanos.version).toBe(1);
    expect(parse({ ...base(), thanos: { version: 0 } }).thanos.version).toBeUndefined();
    expect(() => parse({ ...base(), ulid: '01M85F1GK7K451AEAYJATQSKR' })).toThrow('blk/meta.json: ulid: "01M85F1GK7K451AEAYJATQSKR" is not a valid ULID');
    expect(() => parse({ ...base(), compaction: { level: 1, sources: ['x'] } })).toThrow('compaction.sources[0]: "x" is not a valid ULID');
    expect(() => parse({ ...base(), minTime: 5000 })).toThrow('blk/meta.json: minTime 5000 is after maxTime 4011');
    expect(() => parse({ ...base(), maxTime: 1.5 })).toThrow('maxTime: expected an integer within ±2^53, got number 1.5');
    expect(() => parse({ ...base(), stats: { numSamples: -1 } })).toThrow('stats.numSamples: expected a non-negative integer, got -1');
    expect(() => parse({ ...base(), thanos: { labels: { a: 1 } } })).toThrow('thanos.labels.a: expected a string, got number 1');
    expect(() => parse({ ...base(), thanos: { upload_time: 'yesterday' } })).toThrow('thanos.upload_time: "yesterday" is not an RFC 3339 time');
    expect(() => parse([1])).toThrow('expected an object, got an array');
    expect(() => parseBlockMeta('{"ulid": ', 'm')).toThrow(/^m: invalid JSON/);
    expect(parse({ ...base(), ulid: '01m85f1gk7k451aeayjatqskrf' }).ulid).toBe('01M85F1GK7K451AEAYJATQSKRF');
  });

  it('round-trips every Thanos field byte for byte', () => {
    const text = `{
	"ulid": "01HZX3Q5ZK8N1M2P3Q4R5S6T7V",
	"minTime": -7200000,
	"maxTime": 1717171717171,
	"stats": {
		"numSamples": 9007199254740991,
		"numFloatSamples": 5,
		"numHistogramSamples": 6,
		"numSeries": 7,
		"numChunks": 8,
		"numTombstones": 9
	},
	"compaction": {
		"level": 4,
		"sources": [
			"01HZX3Q5ZK8N1M2P3Q4R5S6T7V"
		],
		"deletable": true,
		"parents": [
			{
				"ulid": "01HZX3Q5ZK8N1M2P3Q4R5S6T7W",
				"minTime": 0,
				"maxTime": 1
			}
		],
		"failed": true,
		"hints": [
			"from-out-of-order"
		]
	},
	"version": 1,
	"thanos": {
		"version": 1,
		"labels": {
			"cluster": "eu\\u003c1\\u003e",
			"replica": "r0"
		},
		"downsample": {
			"resolution": 300000
		},
		"source": "compactor",
		"segment_files": [
			"000001",
			"000002"
		],
		"files": [
			{
				"rel_path": "chunks/000001",
				"size_bytes": 1024,
				"hash": {
					"hashFunc": "SHA256",
					"value": "ab12"
				}
			},
			{
				"rel_path": "meta.json"
			}
		],
		"rewrites": [
			{
				"sources": [
					"01HZX3Q5ZK8N1M2P3Q4R5S6T7V"
				],
				"deletions_applied": [
					{
						"matchers": [
							{
								"Type": 0,
								"Name": "__name__",
								"Value": "up"
							}
						],
						"intervals": [
							{
								"Mint": -5,
								"Maxt": 10
							}
						],
						"request_id": "req-1"
					},
					{
						"matchers": null
					}
				],
				"relabels_applied": [
					{
						"source_labels": [
							"a"
						],
						"action": "drop"
					}
				]
			}
		],
		"index_stats": {
			"series_max_size": 65536
		},
		"extensions": {
			"a": [
				1.5,
				1e-7,
				1e+21,
				null,
				true
			],
			"parquet_migrated": true
		},
		"upload_time": "2024-05-01T10:11:12.123456789+02:00"
	}
}
`;
    const m = parseBlockMeta(text);
    expect(m.thanos.labels).toEqual({ cluster: 'eu<1>', replica: 'r0' });
    expect(encodeBlockMeta(m)).toBe(text);
  });
});

describe('meta.json files', () => {
  let work = '';
  beforeAll(async () => {
    work = await tempDir('block-meta');
  });
  afterAll(() => removeTempDir(work));

  it('re-encodes the Prometheus part of a promtool-written meta.json byte for byte', async () => {
    const blocks = await promtoolCreateBlocks(
      [{ name: 'up', samples: Array.from({ length: 10 }, (_, i) => ({ t: 1000 + i * 1000, v: i })) }],
      join(work, 'prom'),
    );
    expect(blocks).toHaveLength(1);
    const m = parseBlockMeta(blocks[0].metaText);
    expect(m.ulid).toBe(blocks[0].meta.ulid);
    expect(m.minTime).toBe(1000);
    expect(m.maxTime).toBe(10001);
    expect(m.stats).toEqual({ numSamples: 10, numSeries: 1, numChunks: 1 });
    expect(m.compaction).toEqual({ level: 1, sources: [m.ulid] });
    expect(encodePromBlockMeta(m)).toBe(blocks[0].metaText);
  });

  it('writes meta.json atomically and reads it back', async () => {
    const dir = join(work, goUlid(Date.now()));
    await mkdir(dir);
    const m: BlockMeta = {
      ...emptyBlockMeta(),
      ulid: ulid(),
      minTime: 0,
      maxTime: 7_200_000,
      version: 1,
      compaction: { level: 1 },
      thanos: { labels: { replica: 'a' }, downsample: { resolution: 0 }, source: 'sidecar', index_stats: {}, upload_time: formatUploadTime(Date.UTC(2024, 0, 2, 3, 4, 5, 120)) },
    };
    await writeBlockMeta(dir, m);
    expect(readdirSync(dir)).toEqual(['meta.json']);
    expect(readFileSync(join(dir, 'meta.json'), 'utf8')).toBe(encodeBlockMeta(m));
    expect(await readBlockMeta(dir)).toEqual(m);
    await writeBlockMeta(dir, { ...m, maxTime: 1 });
    expect((await readBlockMeta(dir)).maxTime).toBe(1);
    expect(readdirSync(dir)).toEqual(['meta.json']); // no temporary file left
    await expect(readBlockMeta(join(work, 'missing'))).rejects.toThrow(/ENOENT/);
  });

  it('formats upload times like Go time.Time', () => {
    expect(formatUploadTime(Date.UTC(2024, 0, 2, 3, 4, 5, 120))).toBe('2024-01-02T03:04:05.12Z');
    expect(formatUploadTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 0)))).toBe('2024-01-02T03:04:05Z');
    expect(formatUploadTime(Date.UTC(2024, 0, 2, 3, 4, 5, 7))).toBe('2024-01-02T03:04:05.007Z');
  });
});

describe('markers', () => {
  const id = '01M85F1GK7K451AEAYJATQSKRF';

  it('encodes compact JSON like json.Marshal', () => {
    expect(encodeDeletionMark({ id, version: 1, deletion_time: 1700000000 })).toBe(
      `{"id":"${id}","version":1,"deletion_time":1700000000}`,
    );
    expect(encodeNoCompactMark({ id, version: 1, details: 'a<b', no_compact_time: 5, reason: NoCompactReason.IndexSizeExceeding })).toBe(
      `{"id":"${id}","version":1,"details":"a\\u003cb","no_compact_time":5,"reason":"index-size-exceeding"}`,
    );
    expect(encodeNoDownsampleMark({ id, version: 1, no_downsample_time: 7, reason: 'manual' })).toBe(
      `{"id":"${id}","version":1,"no_downsample_time":7,"reason":"manual"}`,
    );
  });

  it('parses and checks versions', () => {
    expect(parseDeletionMark(`{"id":"${id}","version":1,"details":"x","deletion_time":3}`)).toEqual({ id, version: 1, details: 'x', deletion_time: 3 });
    expect(parseNoCompactMark(encodeNoCompactMark({ id, version: 1, no_compact_time: 5, reason: 'manual' }))).toEqual({
      id,
      version: 1,
      no_compact_time: 5,
      reason: 'manual',
    });
    expect(parseNoDownsampleMark(`{"id":"${id}","version":1,"no_downsample_time":9,"reason":"manual"}`).no_downsample_time).toBe(9);
    expect(() => parseDeletionMark(`{"id":"${id}","version":2,"deletion_time":3}`, 'b/deletion-mark.json')).toThrow(
      'b/deletion-mark.json: unexpected deletion-mark file version 2, expected 1',
    );
    expect(() => parseNoCompactMark(`{"id":"${id}"}`)).toThrow('no-compact-mark.json: unexpected no-compact-mark file version 0, expected 1');
    expect(() => parseNoDownsampleMark('{"id":"nope","version":1}')).toThrow(InvalidMarkerError);
    expect(() => parseDeletionMark('{')).toThrow(/unmarshal marker JSON/);
  });
});
