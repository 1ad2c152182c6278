// The caching bucket (Thanos pkg/store/cache/caching_bucket.go with the config of
// caching_bucket_factory.go, --store.caching-bucket.config): a Bucket wrapper that keeps
//   - chunk file ranges, in subranges aligned to chunk_subrange_size ("chunks"),
//   - chunk file attributes ("chunks"),
//   - meta.json and deletion-mark.json existence and content ("meta.jsons"),
//   - the listing of the bucket's root ("blocks-iter"),
// in a Cache (IN-MEMORY or MEMCACHED), under Thanos's keys (subrange:<name>:<start>:<end>,
// attrs:<name>, exists:<name>, content:<name>, iter:<dir>:<config hash>).
//
// A getRange asks the cache for every subrange it covers in one fetch, reads the missing
// ones from the bucket (adjacent ones merged into one request, and merged further, gaps
// included, until at most max_chunks_get_range_requests requests remain), stores them,
// and streams the covered bytes as views of the subranges: nothing is copied except
// what the in-memory cache copies to own its items.

import { Readable } from 'node:stream';
import { parseCacheConfig, parseYamlMapping, FieldReader } from '@thanos-ts/cache';
import { xxhash64 } from '@thanos-ts/runtime';
import type { Cache, CacheConfig } from '@thanos-ts/cache';
import { isObjectNotFound, ObjectNotFoundError } from '@thanos-ts/objstore';
import type { Bucket, IterFn, IterOptions, ObjectAttributes, UploadBody, UploadOptions } from '@thanos-ts/objstore';
import { nopLogger, UserError } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

/** --store.caching-bucket.config (Thanos CachingWithBackendConfig). */
export interface CachingBucketConfig {
  cache: CacheConfig;
  chunkSubrangeSize: number;
  /** Most bucket requests one getRange is split into; 0: no limit. */
  maxChunksGetRangeRequests: number;
  chunkObjectAttrsTTLMs: number;
  chunkSubrangeTTLMs: number;
  blocksIterTTLMs: number;
  metafileExistsTTLMs: number;
  metafileDoesntExistTTLMs: number;
  metafileContentTTLMs: number;
  metafileMaxSizeBytes: number;
  /** Part of the iter key, so that buckets sharing a memcached keep their listings apart. */
  configHash: string;
}

const FIELDS = [
  'type',
  'config',
  'chunk_subrange_size',
  'max_chunks_get_range_requests',
  'chunk_object_attrs_ttl',
  'chunk_subrange_ttl',
  'blocks_iter_ttl',
  'metafile_exists_ttl',
  'metafile_doesnt_exist_ttl',
  'metafile_content_ttl',
  'metafile_max_size',
];

const H = 3600_000;

/** Parses the caching bucket config; errors name `what` (the flag) and the field. */
export function parseCachingBucketConfig(text: string, what: string): CachingBucketConfig {
  const doc = parseYamlMapping(text, what);
  const f = new FieldReader(doc, what);
  f.only(FIELDS, 'storecache.CachingWithBackendConfig');
  const cfg: CachingBucketConfig = {
    cache: parseCacheConfig(text, what),
    chunkSubrangeSize: f.int('chunk_subrange_size', 16000),
    maxChunksGetRangeRequests: f.int('max_chunks_get_range_requests', 3),
    chunkObjectAttrsTTLMs: f.duration('chunk_object_attrs_ttl', 24 * H),
    chunkSubrangeTTLMs: f.duration('chunk_subrange_ttl', 24 * H),
    blocksIterTTLMs: f.duration('blocks_iter_ttl', 5 * 60_000),
    metafileExistsTTLMs: f.duration('metafile_exists_ttl', 2 * H),
    metafileDoesntExistTTLMs: f.duration('metafile_doesnt_exist_ttl', 15 * 60_000),
    metafileContentTTLMs: f.duration('metafile_content_ttl', 24 * H),
    metafileMaxSizeBytes: f.bytes('metafile_max_size', 1024 * 1024),
    configHash: xxhash64(new TextEncoder().encode(text)).toString(),
  };
  if (cfg.chunkSubrangeSize <= 0) throw new UserError(`${what}.chunk_subrange_size: must be positive`);
  return cfg;
}

const CHUNK_FILE = /^.*\/chunks\/\d+$/;

/** Which configs of Thanos's caching bucket an object falls under. */
export function isTSDBChunkFile(name: string): boolean {
  return CHUNK_FILE.test(name);
}

export function isMetaFile(name: string): boolean {
  return name.endsWith('/meta.json') || name.endsWith('/deletion-mark.json');
}

const CFG_CHUNKS = 'chunks';
const CFG_METAS = 'meta.jsons';
const CFG_ITER = 'blocks-iter';

function cachingBucketMetrics(registers: Registry[]) {
  return {
    requestedBytes: new Counter({ name: 'thanos_store_bucket_cache_getrange_requested_bytes_total', help: 'Total number of bytes requested via GetRange.', labelNames: ['config'] as const, registers }),
    fetchedBytes: new Counter({
      name: 'thanos_store_bucket_cache_getrange_fetched_bytes_total',
      help: 'Total number of bytes fetched because of GetRange operation. Data from bucket is then stored to cache.',
      labelNames: ['origin', 'config'] as const,
      registers,
    }),
    refetchedBytes: new Counter({
      name: 'thanos_store_bucket_cache_getrange_refetched_bytes_total',
      help: 'Total number of bytes re-fetched from storage because of GetRange operation, despite being in cache already.',
      labelNames: ['origin', 'config'] as const,
      registers,
    }),
    requests: new Counter({ name: 'thanos_store_bucket_cache_operation_requests_total', help: 'Number of requested operations matching given config.', labelNames: ['operation', 'config'] as const, registers }),
    hits: new Counter({ name: 'thanos_store_bucket_cache_operation_hits_total', help: 'Number of operations served from cache for given config.', labelNames: ['operation', 'config'] as const, registers }),
  };
}

export interface CachingBucketOptions {
  registry?: Registry;
  logger?: Logger;
}

// Sizes of chunk files seen lately: objects are immutable, so a getRange need not ask the
// cache for them each time. Bounded; cleared whole when full.
const MAX_LOCAL_ATTRS = 100_000;

interface LocalAttrs {
  attrs: ObjectAttributes;
  expiresAt: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const TRUE = enc.encode('true');
const FALSE = enc.encode('false');

export class CachingBucket implements Bucket {
  private readonly m: ReturnType<typeof cachingBucketMetrics>;
  private readonly logger: Logger;
  private readonly localAttrs = new Map<string, LocalAttrs>();

  constructor(
    private readonly bkt: Bucket,
    readonly cache: Cache,
    readonly cfg: CachingBucketConfig,
    opts: CachingBucketOptions = {},
  ) {
    this.logger = opts.logger ?? nopLogger();
    this.m = cachingBucketMetrics(opts.registry ? [opts.registry] : []);
    const ops: [string, string][] = [
      ['get_range', CFG_CHUNKS],
      ['attributes', CFG_CHUNKS],
      ['exists', CFG_METAS],
      ['get', CFG_METAS],
      ['iter', CFG_ITER],
    ];
    for (const [operation, config] of ops) {
      this.m.requests.inc({ operation, config }, 0);
      this.m.hits.inc({ operation, config }, 0);
    }
    this.m.requestedBytes.inc({ config: CFG_CHUNKS }, 0);
    this.m.fetchedBytes.inc({ origin: 'cache', config: CFG_CHUNKS }, 0);
    this.m.fetchedBytes.inc({ origin: 'bucket', config: CFG_CHUNKS }, 0);
    this.m.refetchedBytes.inc({ origin: 'cache', config: CFG_CHUNKS }, 0);
  }

  name(): string {
    return `caching: ${this.bkt.name()}`;
  }

  async getRange(name: string, offset: number, length?: number): Promise<Readable> {
    if (offset < 0 || length === undefined || length <= 0 || !isTSDBChunkFile(name)) return this.bkt.getRange(name, offset, length);
    return Readable.from(await this.getRangeParts(name, offset, length));
  }

  /**
   * The bytes [offset, offset+length) of a chunk file (cut at its end) as views of
   * subranges, merged where they are contiguous in one buffer.
   */
  async getRangeParts(name: string, offset: number, length: number): Promise<Uint8Array[]> {
    this.m.requests.inc({ operation: 'get_range', config: CFG_CHUNKS });
    this.m.requestedBytes.inc({ config: CFG_CHUNKS }, length);
    const size = (await this.chunkAttributes(name)).size;
    const end = Math.min(offset + length, size);
    if (offset >= end) return [];
    const S = this.cfg.chunkSubrangeSize;
    const first = Math.floor(offset / S);
    const n = Math.ceil(end / S) - first;
    const keys = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const start = (first + i) * S;
      keys[i] = `subrange:${name}:${start}:${Math.min(start + S, size)}`;
    }
    const hits = await this.cache.fetch(keys);
    const parts = new Array<Uint8Array | undefined>(n);
    let found = 0;
    let cachedBytes = 0;
    for (let i = 0; i < n; i++) {
      const v = hits.get(keys[i]);
      if (v === undefined) continue;
      const start = (first + i) * S;
      // A value of the wrong length (another writer, a truncated item) is a miss.
      if (v.byteLength !== Math.min(start + S, size) - start) continue;
      parts[i] = v;
      found++;
      cachedBytes += v.byteLength;
    }
    this.m.fetchedBytes.inc({ origin: 'cache', config: CFG_CHUNKS }, cachedBytes);
    this.m.hits.inc({ operation: 'get_range', config: CFG_CHUNKS }, found / n);
    if (found < n) await this.fetchMissing(name, size, first, parts, keys);

    // Views of the wanted bytes; neighbours from one bucket read become one view.
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const start = (first + i) * S;
      let p = parts[i]!;
      const from = i === 0 ? offset - start : 0;
      const to = i === n - 1 ? end - start : p.byteLength;
      if (from !== 0 || to !== p.byteLength) p = p.subarray(from, to);
      const last = out[out.length - 1];
      if (last !== undefined && last.buffer === p.buffer && last.byteOffset + last.byteLength === p.byteOffset) {
        out[out.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.byteLength + p.byteLength);
      } else out.push(p);
    }
    return out;
  }

  /** Reads the subranges missing from parts from the bucket, fills parts and stores them. */
  private async fetchMissing(name: string, size: number, first: number, parts: (Uint8Array | undefined)[], keys: string[]): Promise<void> {
    const S = this.cfg.chunkSubrangeSize;
    // Runs of missing subranges as [from, to) indexes into parts.
    const runs: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] !== undefined) continue;
      if (runs.length > 0 && runs[runs.length - 1] === i) runs[runs.length - 1] = i + 1;
      else runs.push(i, i + 1);
    }
    // Too many requests: merge across the smallest gaps first (Thanos doubles the allowed
    // gap from one subrange until few enough remain).
    const max = this.cfg.maxChunksGetRangeRequests;
    for (let gap = 1; max > 0 && runs.length / 2 > max; gap *= 2) {
      let w = 0;
      for (let r = 0; r < runs.length; r += 2) {
        if (w > 0 && runs[r] - runs[w - 1] <= gap) runs[w - 1] = runs[r + 1];
        else {
          runs[w++] = runs[r];
          runs[w++] = runs[r + 1];
        }
      }
      runs.length = w;
    }
    const jobs: Promise<void>[] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const from = runs[r];
      const to = runs[r + 1];
      jobs.push(
        (async () => {
          const start = (first + from) * S;
          const stop = Math.min((first + to) * S, size);
          let buf: Uint8Array;
          try {
            buf = await readAllBytes(await this.bkt.getRange(name, start, stop - start));
          } catch (err) {
            const msg = `caching bucket: fetching range [${start}, ${stop}] of ${name}: ${(err as Error).message}`;
            throw isObjectNotFound(err) ? new ObjectNotFoundError(msg, name, { cause: err }) : new Error(msg, { cause: err });
          }
          if (buf.byteLength !== stop - start) throw new Error(`caching bucket: fetching range [${start}, ${stop}] of ${name}: got ${buf.byteLength} bytes`);
          const store = new Map<string, Uint8Array>();
          let fetched = 0;
          let refetched = 0;
          for (let i = from; i < to; i++) {
            const off = (first + i) * S - start;
            const sub = buf.subarray(off, Math.min(off + S, buf.byteLength));
            if (parts[i] === undefined) {
              parts[i] = sub;
              store.set(keys[i], sub);
              fetched += sub.byteLength;
            } else refetched += sub.byteLength;
          }
          this.m.fetchedBytes.inc({ origin: 'bucket', config: CFG_CHUNKS }, fetched);
          if (refetched > 0) this.m.refetchedBytes.inc({ origin: 'cache', config: CFG_CHUNKS }, refetched);
          this.cache.store(store, this.cfg.chunkSubrangeTTLMs);
        })(),
      );
    }
    await Promise.all(jobs);
  }

  async attributes(name: string): Promise<ObjectAttributes> {
    if (!isTSDBChunkFile(name)) return this.bkt.attributes(name);
    return this.chunkAttributes(name);
  }

  private async chunkAttributes(name: string): Promise<ObjectAttributes> {
    const now = Date.now();
    const local = this.localAttrs.get(name);
    // fast path: a chunk file seen lately
    if (local !== undefined && local.expiresAt > now) return local.attrs;
    this.m.requests.inc({ operation: 'attributes', config: CFG_CHUNKS });
    const key = `attrs:${name}`;
    let attrs: ObjectAttributes | undefined;
    const raw = (await this.cache.fetch([key])).get(key);
    if (raw !== undefined) {
      try {
        // Thanos's encoding: Go's JSON of objstore.ObjectAttributes.
        const j = JSON.parse(dec.decode(raw)) as { Size: number; LastModified: string };
        if (typeof j.Size === 'number') {
          attrs = { size: j.Size, lastModified: new Date(j.LastModified) };
          this.m.hits.inc({ operation: 'attributes', config: CFG_CHUNKS });
        }
      } catch (err) {
        this.logger.warn({ key, err: (err as Error).message }, 'failed to decode cached Attributes result');
      }
    }
    if (attrs === undefined) {
      attrs = await this.bkt.attributes(name);
      const v = enc.encode(JSON.stringify({ Size: attrs.size, LastModified: attrs.lastModified.toISOString() }));
      this.cache.store(new Map([[key, v]]), this.cfg.chunkObjectAttrsTTLMs);
    }
    if (this.localAttrs.size >= MAX_LOCAL_ATTRS) this.localAttrs.clear();
    this.localAttrs.set(name, { attrs, expiresAt: now + (this.cfg.chunkObjectAttrsTTLMs > 0 ? this.cfg.chunkObjectAttrsTTLMs : Infinity) });
    return attrs;
  }

  async exists(name: string): Promise<boolean> {
    if (!isMetaFile(name)) return this.bkt.exists(name);
    this.m.requests.inc({ operation: 'exists', config: CFG_METAS });
    const key = `exists:${name}`;
    const cached = parseBool((await this.cache.fetch([key])).get(key));
    if (cached !== undefined) {
      this.m.hits.inc({ operation: 'exists', config: CFG_METAS });
      return cached;
    }
    const t0 = Date.now();
    const ok = await this.bkt.exists(name);
    this.storeExists(key, ok, t0);
    return ok;
  }

  async get(name: string): Promise<Readable> {
    if (!isMetaFile(name)) return this.bkt.get(name);
    this.m.requests.inc({ operation: 'get', config: CFG_METAS });
    const contentKey = `content:${name}`;
    const existsKey = `exists:${name}`;
    const hits = await this.cache.fetch([contentKey, existsKey]);
    const content = hits.get(contentKey);
    if (content !== undefined) {
      this.m.hits.inc({ operation: 'get', config: CFG_METAS });
      return Readable.from([content]);
    }
    if (parseBool(hits.get(existsKey)) === false) {
      this.m.hits.inc({ operation: 'get', config: CFG_METAS });
      throw new ObjectNotFoundError(`caching bucket: get ${name}: object not found`, name);
    }
    const t0 = Date.now();
    let body: Uint8Array;
    try {
      body = await readAllBytes(await this.bkt.get(name));
    } catch (err) {
      if (isObjectNotFound(err)) this.storeExists(existsKey, false, t0);
      throw err;
    }
    this.storeExists(existsKey, true, t0);
    const ttl = this.cfg.metafileContentTTLMs - (Date.now() - t0);
    if (body.byteLength <= this.cfg.metafileMaxSizeBytes && ttl > 0) this.cache.store(new Map([[contentKey, body]]), ttl);
    return Readable.from(body.byteLength > 0 ? [body] : []);
  }

  async iter(dir: string, fn: IterFn, opts?: IterOptions): Promise<void> {
    if (dir !== '') return this.bkt.iter(dir, fn, opts);
    this.m.requests.inc({ operation: 'iter', config: CFG_ITER });
    const key = `${opts?.recursive === true ? 'iter-recursive' : 'iter'}:${dir}:${this.cfg.configHash}`;
    const raw = (await this.cache.fetch([key])).get(key);
    if (raw !== undefined) {
      let list: unknown;
      try {
        list = JSON.parse(dec.decode(raw));
      } catch (err) {
        this.logger.warn({ key, err: (err as Error).message }, 'failed to decode cached Iter result');
      }
      if (Array.isArray(list)) {
        this.m.hits.inc({ operation: 'iter', config: CFG_ITER });
        for (const n of list as string[]) await fn(n);
        return;
      }
    }
    const t0 = Date.now();
    const list: string[] = [];
    await this.bkt.iter(
      dir,
      (n) => {
        list.push(n);
        return fn(n);
      },
      opts,
    );
    const ttl = this.cfg.blocksIterTTLMs - (Date.now() - t0);
    if (ttl > 0) this.cache.store(new Map([[key, enc.encode(JSON.stringify(list))]]), ttl);
  }

  upload(name: string, body: UploadBody, opts?: UploadOptions): Promise<void> {
    return this.bkt.upload(name, body, opts);
  }

  delete(name: string): Promise<void> {
    return this.bkt.delete(name);
  }

  async close(): Promise<void> {
    await this.cache.close();
    await this.bkt.close();
  }

  private storeExists(key: string, exists: boolean, t0: number): void {
    const ttl = (exists ? this.cfg.metafileExistsTTLMs : this.cfg.metafileDoesntExistTTLMs) - (Date.now() - t0);
    if (ttl > 0) this.cache.store(new Map([[key, exists ? TRUE : FALSE]]), ttl);
  }
}

function parseBool(v: Uint8Array | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = dec.decode(v);
  return s === 'true' ? true : s === 'false' ? false : undefined;
}

async function readAllBytes(stream: Readable): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const c of stream) {
    const b = c as Uint8Array;
    chunks.push(b);
    total += b.byteLength;
  }
  if (chunks.length === 1) return chunks[0];
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
