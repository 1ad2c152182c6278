// Receive hashrings: which receiver(s) own a series of a tenant.
//
// Follows Thanos pkg/receive/hashring.go and config.go:
//   - the hashrings file is a JSON array of HashringConfig (config.go), parsed as Go's
//     encoding/json would (field names case-insensitive, unknown fields ignored);
//   - a series is placed by xxHash64(tenant ‖ 0xFF ‖ name1 ‖ 0xFF ‖ value1 ‖ 0xFF ‖ …)
//     over its labels in request order (labelpb.HashWithPrefix);
//   - "hashmod" (simpleHashring): endpoints sorted by address, replica n →
//     endpoints[(hash + n) mod 2^64 mod len];
//   - "ketama" (ketamaHashring): endpoints in file order, SECTIONS_PER_NODE virtual nodes
//     each, section hash = xxHash64(address ":" i) for i = 1..SECTIONS_PER_NODE, replicas
//     precomputed per section on distinct endpoints, spread evenly over availability zones;
//   - multiHashring: a tenant goes to the first hashring in file order whose tenants match
//     (exact or Go filepath.Match glob); a hashring without tenants matches everyone.
//
// 64-bit values: hashes are uint64 in Go. The hot path keeps them as two uint32 halves
// (hi, lo) in plain numbers so hashing a series allocates nothing; the public
// `xxhash64`/`hashLabels` return a bigint for callers and tests.

import { XXH64_RESULT as R, xxh64 } from '@thanos-ts/runtime';
import { compareStrings } from '@thanos-ts/tsdb';
import type { Label, Labels } from '@thanos-ts/tsdb';

// ---------------------------------------------------------------------------------------
// Series hash (labelpb.HashWithPrefix).

const SEP = 0xff;
// Reused scratch buffer for the bytes being hashed; grows, never shrinks.
let scratch = Buffer.allocUnsafe(1024);

function ensureScratch(need: number, used: number): void {
  if (need <= scratch.length) return;
  const next = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  scratch.copy(next, 0, 0, used);
  scratch = next;
}

/** Writes s as UTF-8 at off and returns the new offset; fast path for ASCII. */
function putString(s: string, off: number): number {
  const n = s.length;
  ensureScratch(off + n * 3 + 1, off);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return off + scratch.write(s.slice(i), off, 'utf8');
    scratch[off++] = c;
  }
  return off;
}

/** Hash of (tenant, labels) into (R[0], R[1]). */
function hashLabelsHL(tenant: string, labels: Labels): void {
  let off = putString(tenant, 0);
  scratch[off++] = SEP;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    off = putString(l.name, off);
    scratch[off++] = SEP;
    off = putString(l.value, off);
    scratch[off++] = SEP;
  }
  xxh64(scratch, 0, off, 0, 0);
}

/** Copies buf[start, end) into scratch at off; returns the new offset. */
function putBytes(buf: Uint8Array, start: number, end: number, off: number): number {
  const n = end - start;
  ensureScratch(off + n + 1, off);
  // Label names and values are short: a loop beats making a subarray to set().
  const out = scratch;
  if (n < 64) {
    for (let i = start; i < end; i++) out[off++] = buf[i];
    return off;
  }
  out.set(buf.subarray(start, end), off);
  return off + n;
}

/**
 * hashLabels for labels still encoded (the remote write fast path): label k's name is
 * buf[ranges[4k], ranges[4k+1]) and its value buf[ranges[4k+2], ranges[4k+3]), as UTF-8.
 * The hash, equal to hashLabels(tenant, decoded labels), goes to out[0] (high 32 bits)
 * and out[1] (low 32 bits), for getNByHash; nothing is allocated.
 */
export function hashRawLabels(tenant: string, buf: Uint8Array, ranges: Int32Array, numLabels: number, out: Uint32Array): void {
  let off = putString(tenant, 0);
  scratch[off++] = SEP;
  for (let k = 0; k < numLabels; k++) {
    const r = k * 4;
    off = putBytes(buf, ranges[r], ranges[r + 1], off);
    scratch[off++] = SEP;
    off = putBytes(buf, ranges[r + 2], ranges[r + 3], off);
    scratch[off++] = SEP;
  }
  xxh64(scratch, 0, off, 0, 0);
  out[0] = R[0];
  out[1] = R[1];
}

/**
 * The routing hash Thanos gives a series of a tenant: xxHash64 over the tenant, then each
 * label's name and value, every one followed by a 0xFF byte. Labels are hashed in the
 * order given (remote write sends them sorted; Thanos does not re-sort).
 */
export function hashLabels(tenant: string, labels: Labels): bigint {
  hashLabelsHL(tenant, labels);
  return (BigInt(R[0]) << 32n) | BigInt(R[1]);
}

// ---------------------------------------------------------------------------------------
// Configuration (config.go).

export type HashringAlgorithm = 'hashmod' | 'ketama';
export const ALGORITHM_HASHMOD: HashringAlgorithm = 'hashmod';
export const ALGORITHM_KETAMA: HashringAlgorithm = 'ketama';

/** `exact` (also the empty default) or `glob`; any other value never matches, as in Thanos. */
export type TenantMatcherType = 'exact' | 'glob' | (string & {});

/** Number of ring sections per endpoint in a ketama hashring (Thanos SectionsPerNode). */
export const SECTIONS_PER_NODE = 1000;

/** Port of the Cap'n Proto replication server an endpoint gets when none is configured. */
export const DEFAULT_CAPNPROTO_PORT = '19391';

export interface Endpoint {
  /** The receiver's gRPC address (WriteableStore), as written in the hashrings file. */
  address: string;
  capnprotoAddress: string;
  /** Availability zone; "" when not set. */
  az: string;
}

export interface ShuffleShardingOverrideConfig {
  shardSize: number;
  tenants: string[];
  tenantMatcherType: TenantMatcherType;
}

export interface ShuffleShardingConfig {
  /** 0 = shuffle sharding off. */
  shardSize: number;
  cacheSize: number;
  zoneAwarenessDisabled: boolean;
  overrides: ShuffleShardingOverrideConfig[];
}

export interface HashringConfig {
  hashring: string;
  /** Empty = this hashring takes every tenant not claimed by an earlier one. */
  tenants: string[];
  tenantMatcherType: TenantMatcherType;
  endpoints: Endpoint[];
  /** "" = the --receive.hashrings-algorithm default; unknown values fall back to hashmod. */
  algorithm: string;
  externalLabels: Labels;
  shuffleShardingConfig: ShuffleShardingConfig;
}

export type HashringConfigErrorKind = 'parse' | 'empty';

/** The hashrings file or flag content is not valid JSON of the expected shape, or is empty. */
export class HashringConfigError extends Error {
  constructor(
    message: string,
    readonly kind: HashringConfigErrorKind = 'parse',
  ) {
    super(message);
    this.name = 'HashringConfigError';
  }
}

// Go's encoding/json describes the JSON value it could not place by these names.
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

function typeError(v: unknown, field: string, goType: string): HashringConfigError {
  const where = field === '' ? 'Go value' : `Go struct field ${field}`;
  const what = typeof v === 'number' ? `number ${v}` : jsonKind(v);
  return new HashringConfigError(`json: cannot unmarshal ${what} into ${where} of type ${goType}`);
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Iterates an object's keys against struct fields the way encoding/json does: exact name
 * first, otherwise case-insensitively; unknown keys are ignored; null leaves the zero value.
 */
function forFields(obj: JsonObject, fields: readonly string[], fn: (field: string, v: unknown) => void): void {
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === null) continue;
    let field = fields.includes(key) ? key : undefined;
    if (field === undefined) {
      const lower = key.toLowerCase();
      field = fields.find((f) => f === lower);
    }
    if (field !== undefined) fn(field, v);
  }
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw typeError(v, field, 'string');
  return v;
}

function int(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(v, field, 'int');
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw typeError(v, field, 'bool');
  return v;
}

function arr<T>(v: unknown, field: string, goType: string, item: (x: unknown) => T): T[] {
  if (!Array.isArray(v)) throw typeError(v, field, goType);
  return v.map(item);
}

function strings(v: unknown, field: string): string[] {
  return arr(v, field, '[]string', (x) => (x === null ? '' : str(x, field)));
}

function parseEndpoint(v: unknown): Endpoint {
  const e: Endpoint = { address: '', capnprotoAddress: '', az: '' };
  if (typeof v === 'string') {
    e.address = v;
  } else if (isObject(v)) {
    forFields(v, ['address', 'capnproto_address', 'az'], (f, x) => {
      const s = str(x, `endpointAlias.${f}`);
      if (f === 'address') e.address = s;
      else if (f === 'az') e.az = s;
      else e.capnprotoAddress = s;
    });
  } else if (v !== null) {
    throw typeError(v, '', 'receive.endpointAlias');
  }
  if (e.address === '') throw new HashringConfigError('endpoint address must be set');
  if (e.capnprotoAddress === '') {
    const colon = e.address.indexOf(':');
    e.capnprotoAddress = (colon < 0 ? e.address : e.address.slice(0, colon)) + ':' + DEFAULT_CAPNPROTO_PORT;
  }
  return e;
}

function parseExternalLabels(v: unknown): Labels {
  if (!isObject(v)) throw typeError(v, 'HashringConfig.external_labels', 'map[string]string');
  const out: Label[] = [];
  for (const name of Object.keys(v)) {
    const value = v[name];
    out.push({ name, value: value === null ? '' : str(value, 'HashringConfig.external_labels') });
  }
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

function parseShuffleOverride(v: unknown): ShuffleShardingOverrideConfig {
  const o: ShuffleShardingOverrideConfig = { shardSize: 0, tenants: [], tenantMatcherType: '' };
  if (v === null) return o;
  if (!isObject(v)) throw typeError(v, 'ShuffleShardingConfig.overrides', 'receive.ShuffleShardingOverrideConfig');
  forFields(v, ['shard_size', 'tenants', 'tenant_matcher_type'], (f, x) => {
    const field = `ShuffleShardingOverrideConfig.${f}`;
    if (f === 'shard_size') o.shardSize = int(x, field);
    else if (f === 'tenants') o.tenants = strings(x, field);
    else o.tenantMatcherType = str(x, field);
  });
  return o;
}

function parseShuffleSharding(v: unknown): ShuffleShardingConfig {
  const c = emptyShuffleSharding();
  if (!isObject(v)) throw typeError(v, 'HashringConfig.shuffle_sharding_config', 'receive.ShuffleShardingConfig');
  forFields(v, ['shard_size', 'cache_size', 'zone_awareness_disabled', 'overrides'], (f, x) => {
    const field = `ShuffleShardingConfig.${f}`;
    if (f === 'shard_size') c.shardSize = int(x, field);
    else if (f === 'cache_size') c.cacheSize = int(x, field);
    else if (f === 'zone_awareness_disabled') c.zoneAwarenessDisabled = bool(x, field);
    else c.overrides = arr(x, field, '[]receive.ShuffleShardingOverrideConfig', parseShuffleOverride);
  });
  return c;
}

function emptyShuffleSharding(): ShuffleShardingConfig {
  return { shardSize: 0, cacheSize: 0, zoneAwarenessDisabled: false, overrides: [] };
}

const HASHRING_FIELDS = [
  'hashring',
  'tenants',
  'tenant_matcher_type',
  'endpoints',
  'algorithm',
  'external_labels',
  'shuffle_sharding_config',
] as const;

function parseHashringConfig(v: unknown): HashringConfig {
  const c: HashringConfig = {
    hashring: '',
    tenants: [],
    tenantMatcherType: '',
    endpoints: [],
    algorithm: '',
    externalLabels: [],
    shuffleShardingConfig: emptyShuffleSharding(),
  };
  if (v === null) return c;
  if (!isObject(v)) throw typeError(v, '', 'receive.HashringConfig');
  forFields(v, HASHRING_FIELDS, (f, x) => {
    const field = `HashringConfig.${f}`;
    switch (f) {
      case 'hashring':
        c.hashring = str(x, field);
        break;
      case 'tenants':
        c.tenants = strings(x, field);
        break;
      case 'tenant_matcher_type':
        c.tenantMatcherType = str(x, field);
        break;
      case 'endpoints':
        c.endpoints = arr(x, field, '[]receive.Endpoint', parseEndpoint);
        break;
      case 'algorithm':
        c.algorithm = str(x, field);
        break;
      case 'external_labels':
        c.externalLabels = parseExternalLabels(x);
        break;
      case 'shuffle_sharding_config':
        c.shuffleShardingConfig = parseShuffleSharding(x);
        break;
    }
  });
  return c;
}

/**
 * Parses hashrings JSON as Thanos's receive.ParseConfig does (the `--receive.hashrings`
 * flag path): an array of hashrings, endpoints as "host:port" strings or
 * {"address", "az", "capnproto_address"} objects. `null` and `[]` both give [] here;
 * the caller decides what an empty configuration means (see loadHashringsConfig).
 * Throws HashringConfigError.
 */
export function parseHashringsConfig(text: string): HashringConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HashringConfigError((err as Error).message);
  }
  if (raw === null) return [];
  if (!Array.isArray(raw)) throw typeError(raw, '', '[]receive.HashringConfig');
  return raw.map(parseHashringConfig);
}

/**
 * Parses a hashrings file as Thanos's config watcher loads it: unparsable content and an
 * empty array are errors, with Thanos's messages.
 */
export function loadHashringsConfig(text: string, path: string): HashringConfig[] {
  let config: HashringConfig[];
  try {
    config = parseHashringsConfig(text);
  } catch (err) {
    throw new HashringConfigError(
      `failed to parse configuration file: ${(err as Error).message}: configuration file is not parsable`,
      'parse',
    );
  }
  if (config.length === 0) {
    throw new HashringConfigError(
      `failed to load configuration file, path: ${path}: configuration file is empty`,
      'empty',
    );
  }
  return config;
}

// ---------------------------------------------------------------------------------------
// Hashrings (hashring.go).

/** A hashring has fewer endpoints than the replica asked for. */
export class InsufficientNodesError extends Error {
  constructor(
    readonly have: number,
    readonly want: number,
  ) {
    super(`insufficient nodes; have ${have}, want ${want}`);
    this.name = 'InsufficientNodesError';
  }
}

/** No hashring claims the tenant and there is no catch-all hashring. */
export class NoMatchingHashringError extends Error {
  constructor() {
    super('no matching hashring to handle tenant');
    this.name = 'NoMatchingHashringError';
  }
}

/** Finds the receivers that handle a series of a tenant. */
export interface Hashring {
  /**
   * Address of the endpoint holding replica n (0-based) of the series. Throws
   * InsufficientNodesError, NoMatchingHashringError, or an Error for a bad tenant glob.
   */
  getN(tenant: string, labels: Labels, n: number): string;
  /**
   * getN for a series given by its routing hash (hashLabels or hashRawLabels of the
   * tenant and labels) as its high and low 32 bits; the tenant still picks the hashring.
   */
  getNByHash(tenant: string, hashHi: number, hashLo: number, n: number): string;
  /** Endpoints of the ring, sorted by address; an address may repeat across hashrings. */
  nodes(): readonly Endpoint[];
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return compareStrings(a.address, b.address);
}

/** The hashring of a receiver without a hashrings configuration: everything is local. */
export class SingleNodeHashring implements Hashring {
  private readonly endpoint: Endpoint;

  constructor(address: string) {
    this.endpoint = { address, capnprotoAddress: address, az: '' };
  }

  getN(_tenant: string, _labels: Labels, n: number): string {
    if (n > 0) throw new InsufficientNodesError(1, n + 1);
    return this.endpoint.address;
  }

  getNByHash(_tenant: string, _hashHi: number, _hashLo: number, n: number): string {
    if (n > 0) throw new InsufficientNodesError(1, n + 1);
    return this.endpoint.address;
  }

  nodes(): readonly Endpoint[] {
    return [this.endpoint];
  }
}

/** hashmod: series hash plus replica index, modulo the number of endpoints sorted by address. */
class SimpleHashring implements Hashring {
  private readonly addresses: string[];

  constructor(private readonly endpoints: readonly Endpoint[]) {
    this.addresses = endpoints.map((e) => e.address);
  }

  getN(tenant: string, labels: Labels, n: number): string {
    hashLabelsHL(tenant, labels);
    return this.getNByHash(tenant, R[0], R[1], n);
  }

  getNByHash(_tenant: string, hashHi: number, hashLo: number, n: number): string {
    const len = this.addresses.length;
    if (n >= len) throw new InsufficientNodesError(len, n + 1);
    // hash + n as uint64 (the addition wraps, as in Go), then mod len without leaving
    // doubles: every term stays below len² < 2^53.
    const l = hashLo + n;
    const lo = l >>> 0;
    const hi = (hashHi + (l > 0xffffffff ? 1 : 0)) >>> 0;
    const i = ((hi % len) * (4294967296 % len) + (lo % len)) % len;
    return this.addresses[i];
  }

  nodes(): readonly Endpoint[] {
    return this.endpoints;
  }
}

/** Builds a hashmod ring; endpoints are sorted by address and must not carry AZs. */
export function newSimpleHashring(endpoints: readonly Endpoint[]): Hashring {
  for (const e of endpoints) {
    if (e.az !== '') {
      throw new Error(
        'Hashmod algorithm does not support AZ aware hashring configuration. Either use Ketama or remove AZ configuration.',
      );
    }
  }
  return new SimpleHashring([...endpoints].sort(compareEndpoints));
}

/** ketama: consistent hashing over SECTIONS_PER_NODE virtual nodes per endpoint. */
class KetamaHashring implements Hashring {
  private readonly addresses: string[];
  private readonly sorted: readonly Endpoint[];

  constructor(
    private readonly endpoints: readonly Endpoint[],
    // Sections sorted by hash: hash halves side by side, and for each section the
    // endpoint indexes of its replicationFactor replicas.
    private readonly hashHi: Uint32Array,
    private readonly hashLo: Uint32Array,
    private readonly replicas: Uint32Array,
    private readonly replicationFactor: number,
  ) {
    this.addresses = endpoints.map((e) => e.address);
    this.sorted = [...endpoints].sort(compareEndpoints);
  }

  getN(tenant: string, labels: Labels, n: number): string {
    hashLabelsHL(tenant, labels);
    return this.getNByHash(tenant, R[0], R[1], n);
  }

  getNByHash(_tenant: string, vh: number, vl: number, n: number): string {
    const numEndpoints = this.addresses.length;
    if (n >= numEndpoints) throw new InsufficientNodesError(numEndpoints, n + 1);
    // Go indexes past the precomputed replicas and panics; say what happened instead.
    if (n >= this.replicationFactor) {
      throw new InsufficientNodesError(this.replicationFactor, n + 1);
    }
    // First section with hash >= v, wrapping to the start of the ring.
    const hi = this.hashHi, lo = this.hashLo;
    let a = 0, b = hi.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      const h = hi[m];
      if (h < vh || (h === vh && lo[m] < vl)) a = m + 1;
      else b = m;
    }
    if (a === hi.length) a = 0;
    return this.addresses[this.replicas[a * this.replicationFactor + n]];
  }

  nodes(): readonly Endpoint[] {
    return this.sorted;
  }
}

/**
 * Builds a ketama ring. Endpoints keep their configured order (the replica walk depends
 * on ring positions only, so reordering the file moves nothing). Throws when there are
 * fewer endpoints than the replication factor.
 */
export function newKetamaHashring(
  endpoints: readonly Endpoint[],
  sectionsPerNode: number,
  replicationFactor: number,
): Hashring {
  if (endpoints.length < replicationFactor) {
    throw new Error('ketama: amount of endpoints needs to be larger than replication factor');
  }
  const numSections = endpoints.length * sectionsPerNode;
  const secHi = new Uint32Array(numSections);
  const secLo = new Uint32Array(numSections);
  const secEndpoint = new Uint32Array(numSections);
  let s = 0;
  for (let e = 0; e < endpoints.length; e++) {
    const prefix = endpoints[e].address + ':';
    for (let i = 1; i <= sectionsPerNode; i++, s++) {
      const len = putString(prefix + i, 0);
      xxh64(scratch, 0, len, 0, 0);
      secHi[s] = R[0];
      secLo[s] = R[1];
      secEndpoint[s] = e;
    }
  }
  // Ties only happen when an address is listed twice; Go's unstable sort.Sort leaves their
  // order unspecified, we order them by endpoint position.
  const order = Array.from({ length: numSections }, (_, i) => i);
  order.sort((x, y) => secHi[x] - secHi[y] || secLo[x] - secLo[y] || secEndpoint[x] - secEndpoint[y]);
  const hashHi = new Uint32Array(numSections);
  const hashLo = new Uint32Array(numSections);
  const owner = new Uint32Array(numSections);
  for (let i = 0; i < numSections; i++) {
    hashHi[i] = secHi[order[i]];
    hashLo[i] = secLo[order[i]];
    owner[i] = secEndpoint[order[i]];
  }
  const replicas = calculateSectionReplicas(endpoints, owner, replicationFactor);
  return new KetamaHashring([...endpoints], hashHi, hashLo, replicas, replicationFactor);
}

/**
 * For every section, the endpoints of its replicas: walking clockwise from the section,
 * take each endpoint not taken yet, except one whose AZ already holds more replicas than
 * the least used AZ (so replicas spread evenly over AZs before doubling up in one).
 * Every AZ, including "" for endpoints without one, counts from the start.
 */
function calculateSectionReplicas(
  endpoints: readonly Endpoint[],
  owner: Uint32Array,
  replicationFactor: number,
): Uint32Array {
  const azIndex = new Map<string, number>();
  const endpointAz = new Uint32Array(endpoints.length);
  endpoints.forEach((e, i) => {
    let z = azIndex.get(e.az);
    if (z === undefined) azIndex.set(e.az, (z = azIndex.size));
    endpointAz[i] = z;
  });
  const numAz = azIndex.size;
  const numSections = owner.length;
  const out = new Uint32Array(numSections * replicationFactor);
  const takenAt = new Int32Array(endpoints.length).fill(-1); // section that took the endpoint
  const azSpread = new Int32Array(numAz);

  for (let i = 0; i < numSections; i++) {
    azSpread.fill(0);
    let count = 0;
    let j = i;
    let sinceProgress = 0;
    while (count < replicationFactor) {
      const e = owner[j];
      j = j + 1 === numSections ? 0 : j + 1;
      if (++sinceProgress > numSections) {
        // A full turn without a pick: Thanos loops forever here; refuse the ring instead.
        throw new Error(
          `ketama: cannot place ${replicationFactor} replicas on distinct endpoints spread evenly over ${numAz} availability zones`,
        );
      }
      if (takenAt[e] === i) continue;
      const az = endpointAz[e];
      if (numAz > 1 && azSpread[az] > 0) {
        let least = azSpread[0];
        for (let z = 1; z < numAz; z++) if (azSpread[z] < least) least = azSpread[z];
        if (azSpread[az] > least) continue;
      }
      takenAt[e] = i;
      azSpread[az]++;
      out[i * replicationFactor + count++] = e;
      sinceProgress = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Tenant matching and the multi-tenant hashring.

type GlobToken =
  | { kind: 'lit'; cp: number }
  | { kind: 'any' }
  | { kind: 'star' }
  | { kind: 'class'; negated: boolean; ranges: number[] };

const SLASH = 0x2f;

/**
 * Compiles a pattern with Go's path/filepath.Match syntax ('*', '?', '[^a-z]', '\\'
 * escapes; '*' and '?' stop at '/'); null when the pattern is malformed (ErrBadPattern).
 */
function compileGlob(pattern: string): GlobToken[] | null {
  const cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  const tokens: GlobToken[] = [];
  let i = 0;
  // A character inside a class: '-' and ']' must be escaped, '\\' escapes.
  const classChar = (): number | null => {
    if (i >= cps.length) return null;
    let c = cps[i];
    if (c === 0x2d || c === 0x5d) return null; // '-' ']'
    if (c === 0x5c) {
      if (++i >= cps.length) return null;
      c = cps[i];
    }
    i++;
    return c;
  };
  while (i < cps.length) {
    const c = cps[i];
    if (c === 0x2a) {
      if (tokens.length === 0 || tokens[tokens.length - 1].kind !== 'star') tokens.push({ kind: 'star' });
      i++;
    } else if (c === 0x3f) {
      tokens.push({ kind: 'any' });
      i++;
    } else if (c === 0x5c) {
      if (i + 1 >= cps.length) return null;
      tokens.push({ kind: 'lit', cp: cps[i + 1] });
      i += 2;
    } else if (c === 0x5b) {
      i++;
      let negated = false;
      if (i < cps.length && cps[i] === 0x5e) {
        negated = true;
        i++;
      }
      const ranges: number[] = [];
      for (;;) {
        if (i < cps.length && cps[i] === 0x5d && ranges.length > 0) {
          i++;
          break;
        }
        const lo = classChar();
        if (lo === null) return null;
        let hi = lo;
        if (i < cps.length && cps[i] === 0x2d) {
          i++;
          const h = classChar();
          if (h === null) return null;
          hi = h;
        }
        ranges.push(lo, hi);
      }
      tokens.push({ kind: 'class', negated, ranges });
    } else {
      tokens.push({ kind: 'lit', cp: c });
      i++;
    }
  }
  return tokens;
}

function tokenMatches(t: GlobToken, c: number): boolean {
  switch (t.kind) {
    case 'lit':
      return t.cp === c;
    case 'any':
      return c !== SLASH;
    case 'class': {
      let in_ = false;
      for (let k = 0; k < t.ranges.length; k += 2) {
        if (t.ranges[k] <= c && c <= t.ranges[k + 1]) {
          in_ = true;
          break;
        }
      }
      return in_ !== t.negated;
    }
    default:
      return false;
  }
}

function globMatch(tokens: GlobToken[], name: string): boolean {
  const s = Array.from(name, (c) => c.codePointAt(0)!);
  let p = 0, i = 0, starP = -1, starI = 0;
  while (i < s.length) {
    if (p < tokens.length && tokens[p].kind === 'star') {
      starP = p++;
      starI = i;
    } else if (p < tokens.length && tokenMatches(tokens[p], s[i])) {
      p++;
      i++;
    } else if (starP >= 0 && s[starI] !== SLASH) {
      // Let the last '*' swallow one more character and retry.
      p = starP + 1;
      i = ++starI;
    } else {
      return false;
    }
  }
  while (p < tokens.length && tokens[p].kind === 'star') p++;
  return p === tokens.length;
}

/** The tenants a hashring claims; null tenants = catch-all. */
class TenantSet {
  private readonly exact: Set<string>;
  private readonly globs: { pattern: string; tokens: GlobToken[] | null }[];

  constructor(tenants: readonly string[], private readonly matcher: TenantMatcherType) {
    this.exact = new Set(tenants);
    this.globs = matcher === 'glob' ? tenants.map((pattern) => ({ pattern, tokens: compileGlob(pattern) })) : [];
  }

  match(tenant: string): boolean {
    if ((this.matcher === 'exact' || this.matcher === '') && this.exact.has(tenant)) return true;
    let bad: string | undefined;
    for (const g of this.globs) {
      if (g.tokens === null) bad ??= g.pattern;
      else if (globMatch(g.tokens, tenant)) return true;
    }
    if (bad !== undefined) {
      throw new Error(`error matching tenant pattern ${bad} (tenant ${tenant}): syntax error in pattern`);
    }
    return false;
  }
}

/** Go's filepath.Match for one pattern; throws on a malformed pattern. */
export function matchTenantGlob(pattern: string, tenant: string): boolean {
  const tokens = compileGlob(pattern);
  if (tokens === null) throw new Error('syntax error in pattern');
  return globMatch(tokens, tenant);
}

/** Routes each tenant to its hashring, caching the choice per tenant. */
class MultiHashring implements Hashring {
  private readonly cache = new Map<string, Hashring>();

  constructor(
    private readonly hashrings: readonly Hashring[],
    private readonly tenantSets: readonly (TenantSet | null)[],
    private readonly allNodes: readonly Endpoint[],
  ) {}

  getN(tenant: string, labels: Labels, n: number): string {
    return this.hashringFor(tenant).getN(tenant, labels, n);
  }

  getNByHash(tenant: string, hashHi: number, hashLo: number, n: number): string {
    return this.hashringFor(tenant).getNByHash(tenant, hashHi, hashLo, n);
  }

  /** The hashring that owns the tenant; throws NoMatchingHashringError. */
  hashringFor(tenant: string): Hashring {
    const cached = this.cache.get(tenant);
    if (cached !== undefined) return cached; // fast path
    for (let i = 0; i < this.hashrings.length; i++) {
      const t = this.tenantSets[i];
      if (t === null || t.match(tenant)) {
        this.cache.set(tenant, this.hashrings[i]);
        return this.hashrings[i];
      }
    }
    throw new NoMatchingHashringError();
  }

  nodes(): readonly Endpoint[] {
    return this.allNodes;
  }
}

/**
 * Builds one hashring as Thanos's newHashring does: `algorithm` is the hashring's own or
 * the flag default; an unknown algorithm falls back to hashmod.
 */
export function newHashring(
  algorithm: string,
  endpoints: readonly Endpoint[],
  replicationFactor: number,
  name = '',
  shuffleSharding: ShuffleShardingConfig = emptyShuffleSharding(),
): Hashring {
  const hashmodShuffleError = (): Error =>
    new Error(
      'hashmod algorithm does not support shuffle sharding. Either use Ketama or remove shuffle sharding configuration',
    );
  switch (algorithm) {
    case ALGORITHM_HASHMOD: {
      const ring = newSimpleHashring(endpoints);
      if (shuffleSharding.shardSize > 0) throw hashmodShuffleError();
      return ring;
    }
    case ALGORITHM_KETAMA: {
      const ring = newKetamaHashring(endpoints, SECTIONS_PER_NODE, replicationFactor);
      if (shuffleSharding.shardSize > 0) {
        if (shuffleSharding.shardSize > endpoints.length) {
          throw new Error(
            `shard size ${shuffleSharding.shardSize} is larger than number of nodes in hashring ${name} (${endpoints.length})`,
          );
        }
        // Thanos picks shard members with Go's math/rand seeded from an MD5 of the tenant;
        // reproducing that generator is not done, and a different choice would misroute.
        throw new Error(`hashring ${name}: shuffle sharding is not supported`);
      }
      return ring;
    }
    default:
      if (shuffleSharding.shardSize > 0) throw hashmodShuffleError();
      return newSimpleHashring(endpoints);
  }
}

/**
 * The hashring for a hashrings configuration (Thanos NewMultiHashring): hashrings in file
 * order, each with its own algorithm or `algorithm` (the --receive.hashrings-algorithm
 * flag) and the receive replication factor.
 */
export function newMultiHashring(
  algorithm: string,
  replicationFactor: number,
  configs: readonly HashringConfig[],
): Hashring {
  const hashrings: Hashring[] = [];
  const tenantSets: (TenantSet | null)[] = [];
  const nodes: Endpoint[] = [];
  for (const c of configs) {
    const ring = newHashring(
      c.algorithm !== '' ? c.algorithm : algorithm,
      c.endpoints,
      replicationFactor,
      c.hashring,
      c.shuffleShardingConfig,
    );
    hashrings.push(ring);
    nodes.push(...ring.nodes());
    tenantSets.push(c.tenants.length > 0 ? new TenantSet(c.tenants, c.tenantMatcherType) : null);
  }
  nodes.sort(compareEndpoints);
  return new MultiHashring(hashrings, tenantSets, nodes);
}
