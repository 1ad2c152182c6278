// Block marker files (Thanos pkg/block/metadata/markers.go): small JSON objects next
// to a block's meta.json, written compact with json.Marshal and rejected on read when
// their version is not 1.

import { isValidUlid } from '../ulid/ulid.js';
import { goMarshal, goStruct, omitEmpty } from './go-json.js';

export const DELETION_MARK_FILENAME = 'deletion-mark.json';
export const NO_COMPACT_MARK_FILENAME = 'no-compact-mark.json';
export const NO_DOWNSAMPLE_MARK_FILENAME = 'no-downsample-mark.json';
export const MARKER_VERSION_1 = 1;

/** Reasons Thanos records in no-compact marks. */
export const NoCompactReason = {
  Manual: 'manual',
  IndexSizeExceeding: 'index-size-exceeding',
  OutOfOrderChunks: 'block-index-out-of-order-chunk',
  DownsampleVerticalCompaction: 'downsample-vertical-compaction',
} as const;

export const NoDownsampleReason = {
  Manual: 'manual',
} as const;

/** `<ULID>/deletion-mark.json`: the block is to be deleted after a delay. */
export interface DeletionMark {
  id: string;
  version: number;
  details?: string;
  /** Unix seconds. */
  deletion_time: number;
}

/** `<ULID>/no-compact-mark.json`: the block is excluded from compaction. */
export interface NoCompactMark {
  id: string;
  version: number;
  details?: string;
  /** Unix seconds. */
  no_compact_time: number;
  reason: string;
}

/** `<ULID>/no-downsample-mark.json`: the block is excluded from downsampling. */
export interface NoDownsampleMark {
  id: string;
  version: number;
  details?: string;
  /** Unix seconds. */
  no_downsample_time: number;
  reason: string;
}

/** A marker file that cannot be parsed or has an unsupported version. */
export class InvalidMarkerError extends Error {
  override readonly name = 'InvalidMarkerError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

export function encodeDeletionMark(m: DeletionMark): string {
  return goMarshal(
    goStruct([
      ['id', m.id],
      ['version', m.version],
      ['details', omitEmpty(m.details)],
      ['deletion_time', m.deletion_time],
    ]),
  );
}

export function encodeNoCompactMark(m: NoCompactMark): string {
  return goMarshal(
    goStruct([
      ['id', m.id],
      ['version', m.version],
      ['details', omitEmpty(m.details)],
      ['no_compact_time', m.no_compact_time],
      ['reason', m.reason],
    ]),
  );
}

export function encodeNoDownsampleMark(m: NoDownsampleMark): string {
  return goMarshal(
    goStruct([
      ['id', m.id],
      ['version', m.version],
      ['details', omitEmpty(m.details)],
      ['no_downsample_time', m.no_downsample_time],
      ['reason', m.reason],
    ]),
  );
}

type Fields = Record<string, unknown>;

interface MarkerBase {
  id: string;
  version: number;
  details?: string;
}

/** Parses the JSON and the fields common to all markers; returns them and the raw object. */
function parseMarker(json: string | Uint8Array, file: string, kind: string): [MarkerBase, Fields] {
  const text = typeof json === 'string' ? json : new TextDecoder().decode(json);
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    throw new InvalidMarkerError(file, `unmarshal marker JSON: ${(err as Error).message}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new InvalidMarkerError(file, 'unmarshal marker JSON: expected an object');
  const f = o as Fields;
  if (typeof f.id !== 'string' || !isValidUlid(f.id)) throw new InvalidMarkerError(file, `id: ${JSON.stringify(f.id)} is not a valid ULID`);
  const version = f.version ?? 0;
  if (version !== MARKER_VERSION_1) {
    throw new InvalidMarkerError(file, `unexpected ${kind} file version ${JSON.stringify(version)}, expected ${MARKER_VERSION_1}`);
  }
  const base: MarkerBase = { id: f.id.toUpperCase(), version: MARKER_VERSION_1 };
  const details = str(f, 'details', file);
  if (details !== '') base.details = details;
  return [base, f];
}

function int(f: Fields, key: string, file: string): number {
  const v = f[key] ?? 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new InvalidMarkerError(file, `${key}: expected an integer, got ${JSON.stringify(v)}`);
  return v;
}

function str(f: Fields, key: string, file: string): string {
  const v = f[key] ?? '';
  if (typeof v !== 'string') throw new InvalidMarkerError(file, `${key}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

/** @throws InvalidMarkerError */
export function parseDeletionMark(json: string | Uint8Array, file = DELETION_MARK_FILENAME): DeletionMark {
  const [base, raw] = parseMarker(json, file, 'deletion-mark');
  return { ...base, deletion_time: int(raw, 'deletion_time', file) };
}

/** @throws InvalidMarkerError */
export function parseNoCompactMark(json: string | Uint8Array, file = NO_COMPACT_MARK_FILENAME): NoCompactMark {
  const [base, raw] = parseMarker(json, file, 'no-compact-mark');
  return { ...base, no_compact_time: int(raw, 'no_compact_time', file), reason: str(raw, 'reason', file) };
}

/** @throws InvalidMarkerError */
export function parseNoDownsampleMark(json: string | Uint8Array, file = NO_DOWNSAMPLE_MARK_FILENAME): NoDownsampleMark {
  const [base, raw] = parseMarker(json, file, 'no-downsample-mark');
  return { ...base, no_downsample_time: int(raw, 'no_downsample_time', file), reason: str(raw, 'reason', file) };
}
