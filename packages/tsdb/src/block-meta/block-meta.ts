// Block meta.json: the Prometheus part (tsdb/block.go BlockMeta) and Thanos' `thanos`
// section (pkg/block/metadata/meta.go). Types mirror the JSON wire names exactly so
// that what we read is what Thanos reads and what we write is byte-identical to
// Thanos' encoder: fields in Go struct order, Go omitempty rules (a struct-typed
// field such as `stats` or `index_stats` is never omitted, `labels` is null when
// nil), HTML-escaped strings, tab indentation and a trailing newline.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@thanos-ts/runtime';
import { isValidUlid } from '../ulid/ulid.js';
import { goMarshal, goStruct, GoStruct, OMIT, omitEmpty } from './go-json.js';

export const META_FILENAME = 'meta.json';
/** The only supported top-level meta.json version (TSDBVersion1). */
export const TSDB_VERSION_1 = 1;
/** The only supported `thanos.version` (0 is read as 1 for compatibility). */
export const THANOS_VERSION_1 = 1;
/** Go's zero ulid.ULID. */
export const ZERO_ULID = '00000000000000000000000000';
/** Go's zero time.Time as JSON. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Upload sources written into `thanos.source` (metadata.SourceType). */
export const SourceType = {
  Unknown: '',
  Sidecar: 'sidecar',
  Receive: 'receive',
  Compactor: 'compactor',
  CompactorRepair: 'compactor.repair',
  Ruler: 'ruler',
  BucketRepair: 'bucket.repair',
  BucketRewrite: 'bucket.rewrite',
  BucketUpload: 'bucket.upload',
  Test: 'test',
} as const;

/** Counts are uint64 in Go, omitted when 0. */
export interface BlockStats {
  numSamples?: number;
  numFloatSamples?: number;
  numHistogramSamples?: number;
  numSeries?: number;
  numChunks?: number;
  numTombstones?: number;
}

export interface BlockDesc {
  ulid: string;
  minTime: number;
  maxTime: number;
}

export interface BlockMetaCompaction {
  level: number;
  sources?: string[];
  deletable?: boolean;
  parents?: BlockDesc[];
  failed?: boolean;
  hints?: string[];
}

/** The Prometheus part of meta.json. minTime is inclusive, maxTime exclusive (ms). */
export interface PromBlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats: BlockStats;
  compaction: BlockMetaCompaction;
  version: number;
}

export interface ObjectHash {
  hashFunc: string;
  value: string;
}

export interface ThanosFile {
  rel_path: string;
  size_bytes?: number;
  hash?: ObjectHash;
}

/** A Prometheus labels.Matcher as Go's encoder writes it (no json tags). */
export interface GoLabelMatcher {
  Type: number;
  Name: string;
  Value: string;
}

export interface DeletionRequest {
  matchers: GoLabelMatcher[] | null;
  /** tombstones.Intervals as Go encodes them (no json tags). */
  intervals?: { Mint: number; Maxt: number }[];
  request_id?: string;
}

export interface Rewrite {
  sources?: string[];
  deletions_applied?: DeletionRequest[];
  /** relabel.Config values, kept as parsed (their key order is preserved on write). */
  relabels_applied?: unknown[];
}

export interface IndexStats {
  series_max_size?: number;
  chunk_max_size?: number;
}

export interface ThanosMeta {
  version?: number;
  /** External labels; null when nil (never omitted). */
  labels: Record<string, string> | null;
  downsample: { resolution: number };
  source: string;
  /** Deprecated: chunk file names relative to chunks/. */
  segment_files?: string[];
  /** Files of the block sorted by rel_path. */
  files?: ThanosFile[];
  rewrites?: Rewrite[];
  index_stats: IndexStats;
  /** Arbitrary JSON; written with map keys sorted, as Go re-encodes a decoded `any`. */
  extensions?: unknown;
  /** RFC 3339 time as Go writes time.Time; ZERO_TIME when unset. Kept verbatim. */
  upload_time: string;
}

/** A full Thanos meta.json. */
export interface BlockMeta extends PromBlockMeta {
  thanos: ThanosMeta;
}

/** meta.json content that is malformed or of an unsupported version. */
export class InvalidBlockMetaError extends Error {
  override readonly name = 'InvalidBlockMetaError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/** Go's zero Meta{}: what Thanos writes for an empty struct. */
export function emptyBlockMeta(): BlockMeta {
  return {
    ulid: ZERO_ULID,
    minTime: 0,
    maxTime: 0,
    stats: {},
    compaction: { level: 0 },
    version: 0,
    thanos: { labels: null, downsample: { resolution: 0 }, source: '', index_stats: {}, upload_time: ZERO_TIME },
  };
}

/** Formats a time like Go's time.Time JSON in UTC (RFC 3339, fraction trimmed of zeros). */
export function formatUploadTime(t: Date | number): string {
  const d = typeof t === 'number' ? new Date(t) : t;
  const iso = d.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

// ---------------------------------------------------------------------------
// Parsing

type Json = unknown;

class Reader {
  constructor(readonly file: string) {}

  fail(path: string, reason: string): never {
    throw new InvalidBlockMetaError(this.file, path ? `${path}: ${reason}` : reason);
  }

  object(v: Json, path: string): Record<string, Json> | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(path, `expected an object, got ${describe(v)}`);
    return v as Record<string, Json>;
  }

  array(v: Json, path: string): Json[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) this.fail(path, `expected an array, got ${describe(v)}`);
    return v;
  }

  int(v: Json, path: string, unsigned = false): number {
    if (v === undefined || v === null) return 0;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(path, `expected an integer within ±2^53, got ${describe(v)}`);
    if (unsigned && v < 0) this.fail(path, `expected a non-negative integer, got ${v}`);
    return v;
  }

  str(v: Json, path: string): string {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') this.fail(path, `expected a string, got ${describe(v)}`);
    return v;
  }

  bool(v: Json, path: string): boolean {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') this.fail(path, `expected a boolean, got ${describe(v)}`);
    return v;
  }

  ulid(v: Json, path: string): string {
    const s = this.str(v, path);
    if (!isValidUlid(s)) this.fail(path, `${JSON.stringify(s)} is not a valid ULID`);
    return s.toUpperCase();
  }

  strings(v: Json, path: string, ulids = false): string[] | undefined {
    const a = this.array(v, path);
    return a?.map((x, i) => (ulids ? this.ulid(x, `${path}[${i}]`) : this.str(x, `${path}[${i}]`)));
  }
}

function describe(v: Json): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Sets key on o only when the value is not omitted, to keep parsed objects tidy. */
function put<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined, keep: (x: unknown) => boolean = (x) => x !== undefined): void {
  if (keep(v)) o[k] = v as T[K];
}

const nonEmpty = (x: unknown): boolean => omitEmpty(x) !== OMIT;

function parseProm(r: Reader, m: Record<string, Json>): PromBlockMeta {
  const stats: BlockStats = {};
  const st = r.object(m.stats, 'stats') ?? {};
  for (const k of ['numSamples', 'numFloatSamples', 'numHistogramSamples', 'numSeries', 'numChunks', 'numTombstones'] as const) {
    put(stats, k, r.int(st[k], `stats.${k}`, true), nonEmpty);
  }
  const c = r.object(m.compaction, 'compaction') ?? {};
  const compaction: BlockMetaCompaction = { level: r.int(c.level, 'compaction.level') };
  put(compaction, 'sources', r.strings(c.sources, 'compaction.sources', true), nonEmpty);
  put(compaction, 'deletable', r.bool(c.deletable, 'compaction.deletable'), nonEmpty);
  put(
    compaction,
    'parents',
    r.array(c.parents, 'compaction.parents')?.map((p, i) => {
      const path = `compaction.parents[${i}]`;
      const o = r.object(p, path) ?? {};
      return { ulid: r.ulid(o.ulid, `${path}.ulid`), minTime: r.int(o.minTime, `${path}.minTime`), maxTime: r.int(o.maxTime, `${path}.maxTime`) };
    }),
    nonEmpty,
  );
  put(compaction, 'failed', r.bool(c.failed, 'compaction.failed'), nonEmpty);
  put(compaction, 'hints', r.strings(c.hints, 'compaction.hints'), nonEmpty);

  const version = r.int(m.version, 'version');
  if (version !== TSDB_VERSION_1) r.fail('', `unexpected meta file version ${version}`);
  const meta: PromBlockMeta = {
    ulid: r.ulid(m.ulid, 'ulid'),
    minTime: r.int(m.minTime, 'minTime'),
    maxTime: r.int(m.maxTime, 'maxTime'),
    stats,
    compaction,
    version,
  };
  if (meta.minTime > meta.maxTime) r.fail('', `minTime ${meta.minTime} is after maxTime ${meta.maxTime}`);
  return meta;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function parseThanos(r: Reader, t: Record<string, Json> | undefined): ThanosMeta {
  t ??= {};
  const version = r.int(t.version, 'thanos.version');
  if (version !== 0 && version !== THANOS_VERSION_1) r.fail('', `unexpected meta file Thanos section version ${version}`);
  const lo = r.object(t.labels, 'thanos.labels');
  // Like Thanos' Read: a nil map becomes an empty one.
  const labels: Record<string, string> = {};
  if (lo) for (const [k, v] of Object.entries(lo)) labels[k] = r.str(v, `thanos.labels.${k}`);
  const ds = r.object(t.downsample, 'thanos.downsample') ?? {};
  const is = r.object(t.index_stats, 'thanos.index_stats') ?? {};
  const uploadTime = t.upload_time === undefined || t.upload_time === null ? ZERO_TIME : r.str(t.upload_time, 'thanos.upload_time');
  if (!RFC3339.test(uploadTime)) r.fail('thanos.upload_time', `${JSON.stringify(uploadTime)} is not an RFC 3339 time`);

  const out: ThanosMeta = {
    labels,
    downsample: { resolution: r.int(ds.resolution, 'thanos.downsample.resolution') },
    source: r.str(t.source, 'thanos.source'),
    index_stats: {},
    upload_time: uploadTime,
  };
  if (version !== 0) out.version = version;
  put(out, 'segment_files', r.strings(t.segment_files, 'thanos.segment_files'), nonEmpty);
  put(
    out,
    'files',
    r.array(t.files, 'thanos.files')?.map((f, i) => {
      const path = `thanos.files[${i}]`;
      const o = r.object(f, path) ?? {};
      const file: ThanosFile = { rel_path: r.str(o.rel_path, `${path}.rel_path`) };
      put(file, 'size_bytes', r.int(o.size_bytes, `${path}.size_bytes`), nonEmpty);
      const h = r.object(o.hash, `${path}.hash`);
      if (h) file.hash = { hashFunc: r.str(h.hashFunc, `${path}.hash.hashFunc`), value: r.str(h.value, `${path}.hash.value`) };
      return file;
    }),
    nonEmpty,
  );
  put(
    out,
    'rewrites',
    r.array(t.rewrites, 'thanos.rewrites')?.map((rw, i) => parseRewrite(r, rw, `thanos.rewrites[${i}]`)),
    nonEmpty,
  );
  put(out.index_stats, 'series_max_size', r.int(is.series_max_size, 'thanos.index_stats.series_max_size'), nonEmpty);
  put(out.index_stats, 'chunk_max_size', r.int(is.chunk_max_size, 'thanos.index_stats.chunk_max_size'), nonEmpty);
  if (t.extensions !== undefined && t.extensions !== null) out.extensions = t.extensions;
  return out;
}

function parseRewrite(r: Reader, v: Json, path: string): Rewrite {
  const o = r.object(v, path) ?? {};
  const rw: Rewrite = {};
  put(rw, 'sources', r.strings(o.sources, `${path}.sources`, true), nonEmpty);
  put(
    rw,
    'deletions_applied',
    r.array(o.deletions_applied, `${path}.deletions_applied`)?.map((d, i) => {
      const p = `${path}.deletions_applied[${i}]`;
      const od = r.object(d, p) ?? {};
      const req: DeletionRequest = {
        matchers:
          r.array(od.matchers, `${p}.matchers`)?.map((mv, j) => {
            const om = r.object(mv, `${p}.matchers[${j}]`) ?? {};
            return { Type: r.int(om.Type, `${p}.matchers[${j}].Type`), Name: r.str(om.Name, `${p}.matchers[${j}].Name`), Value: r.str(om.Value, `${p}.matchers[${j}].Value`) };
          }) ?? null,
      };
      put(
        req,
        'intervals',
        r.array(od.intervals, `${p}.intervals`)?.map((iv, j) => {
          const oi = r.object(iv, `${p}.intervals[${j}]`) ?? {};
          return { Mint: r.int(oi.Mint, `${p}.intervals[${j}].Mint`), Maxt: r.int(oi.Maxt, `${p}.intervals[${j}].Maxt`) };
        }),
        nonEmpty,
      );
      put(req, 'request_id', r.str(od.request_id, `${p}.request_id`), nonEmpty);
      return req;
    }),
    nonEmpty,
  );
  put(rw, 'relabels_applied', r.array(o.relabels_applied, `${path}.relabels_applied`), nonEmpty);
  return rw;
}

/**
 * Parses and validates meta.json content: top-level version must be 1, thanos.version
 * 0 or 1, ULIDs well-formed, minTime <= maxTime, integers exact. A missing `thanos`
 * section reads as Thanos' zero value (with empty labels, as Thanos' reader does).
 * @param file name used in errors
 * @throws InvalidBlockMetaError
 */
export function parseBlockMeta(json: string | Uint8Array, file = META_FILENAME): BlockMeta {
  const text = typeof json === 'string' ? json : new TextDecoder().decode(json);
  let raw: Json;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidBlockMetaError(file, `invalid JSON: ${(err as Error).message}`);
  }
  const r = new Reader(file);
  const m = r.object(raw, '') ?? r.fail('', 'expected a JSON object');
  const prom = parseProm(r, m);
  return { ...prom, thanos: parseThanos(r, r.object(m.thanos, 'thanos')) };
}

/** Reads and validates `<dir>/meta.json`. */
export async function readBlockMeta(dir: string): Promise<BlockMeta> {
  const file = join(dir, META_FILENAME);
  return parseBlockMeta(await readFile(file), file);
}

// ---------------------------------------------------------------------------
// Encoding

const ulidOrZero = (s: string): string => (s === '' ? ZERO_ULID : s);

function promFields(m: PromBlockMeta): GoStruct {
  const s = m.stats ?? {};
  const c = m.compaction ?? { level: 0 };
  return goStruct([
    ['ulid', ulidOrZero(m.ulid ?? '')],
    ['minTime', m.minTime ?? 0],
    ['maxTime', m.maxTime ?? 0],
    [
      'stats',
      goStruct([
        ['numSamples', omitEmpty(s.numSamples)],
        ['numFloatSamples', omitEmpty(s.numFloatSamples)],
        ['numHistogramSamples', omitEmpty(s.numHistogramSamples)],
        ['numSeries', omitEmpty(s.numSeries)],
        ['numChunks', omitEmpty(s.numChunks)],
        ['numTombstones', omitEmpty(s.numTombstones)],
      ]),
    ],
    [
      'compaction',
      goStruct([
        ['level', c.level ?? 0],
        ['sources', omitEmpty(c.sources)],
        ['deletable', omitEmpty(c.deletable)],
        [
          'parents',
          omitEmpty(c.parents)  === OMIT
            ? OMIT
            : c.parents!.map((p) => goStruct([['ulid', ulidOrZero(p.ulid)], ['minTime', p.minTime], ['maxTime', p.maxTime]])),
        ],
        ['failed', omitEmpty(c.failed)],
        ['hints', omitEmpty(c.hints)],
      ]),
    ],
    ['version', m.version ?? 0],
  ]);
}

/** Converts parsed JSON into GoStructs that keep their key order (for Go-typed opaque values). */
function keepOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keepOrder);
  if (typeof v === 'object' && v !== null && !(v instanceof GoStruct)) {
    return new GoStruct(Object.entries(v).map(([k, x]) => [k, keepOrder(x)] as const));
  }
  return v;
}

function thanosFields(t: ThanosMeta): GoStruct {
  const mapArr = <T>(a: T[] | undefined, f: (x: T) => unknown): unknown => (omitEmpty(a) === OMIT ? OMIT : a!.map(f));
  return goStruct([
    ['version', omitEmpty(t.version)],
    ['labels', t.labels ?? null],
    ['downsample', goStruct([['resolution', t.downsample?.resolution ?? 0]])],
    ['source', t.source ?? ''],
    ['segment_files', omitEmpty(t.segment_files)],
    [
      'files',
      mapArr(t.files, (f) =>
        goStruct([
          ['rel_path', f.rel_path],
          ['size_bytes', omitEmpty(f.size_bytes)],
          ['hash', f.hash ? goStruct([['hashFunc', f.hash.hashFunc], ['value', f.hash.value]]) : OMIT],
        ]),
      ),
    ],
    [
      'rewrites',
      mapArr(t.rewrites, (rw) =>
        goStruct([
          ['sources', omitEmpty(rw.sources)],
          [
            'deletions_applied',
            mapArr(rw.deletions_applied, (d) =>
              goStruct([
                ['matchers', d.matchers ? d.matchers.map((m) => goStruct([['Type', m.Type], ['Name', m.Name], ['Value', m.Value]])) : null],
                ['intervals', mapArr(d.intervals, (iv) => goStruct([['Mint', iv.Mint], ['Maxt', iv.Maxt]]))],
                ['request_id', omitEmpty(d.request_id)],
              ]),
            ),
          ],
          ['relabels_applied', omitEmpty(rw.relabels_applied) === OMIT ? OMIT : keepOrder(rw.relabels_applied)],
        ]),
      ),
    ],
    [
      'index_stats',
      goStruct([
        ['series_max_size', omitEmpty(t.index_stats?.series_max_size)],
        ['chunk_max_size', omitEmpty(t.index_stats?.chunk_max_size)],
      ]),
    ],
    ['extensions', t.extensions === undefined || t.extensions === null ? OMIT : t.extensions],
    ['upload_time', t.upload_time || ZERO_TIME],
  ]);
}

/**
 * meta.json bytes as Thanos writes them (json.Encoder, tab indent, HTML escaping,
 * trailing newline).
 */
export function encodeBlockMeta(meta: BlockMeta): string {
  return `${goMarshal(fullFields(meta), '\t')}\n`;
}

/** The same JSON on one line (json.Marshal), for JSON-lines output. */
export function encodeBlockMetaCompact(meta: BlockMeta): string {
  return goMarshal(fullFields(meta));
}

function fullFields(meta: BlockMeta): GoStruct {
  const prom = promFields(meta);
  return new GoStruct([...prom.fields, ['thanos', thanosFields(meta.thanos ?? emptyBlockMeta().thanos)]]);
}

/** The Prometheus-only meta.json as Prometheus writes it (json.MarshalIndent, no trailing newline). */
export function encodePromBlockMeta(meta: PromBlockMeta): string {
  return goMarshal(promFields(meta), '\t');
}

/**
 * Writes `<dir>/meta.json` atomically: a tmp file that is fsynced, renamed over the
 * target, and the directory fsynced (as Thanos' WriteToDir).
 */
export async function writeBlockMeta(dir: string, meta: BlockMeta): Promise<void> {
  await writeFileAtomic(join(dir, META_FILENAME), encodeBlockMeta(meta));
}
