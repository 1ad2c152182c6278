import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

import {
  AnonymousCredential,
  ContainerClient,
  Pipeline,
  RestError,
  StorageSharedKeyCredential,
  newPipeline,
} from '@azure/storage-blob';
import type { RequestPolicy, RequestPolicyFactory, WebResource } from '@azure/storage-blob';

import { DIR_DELIM } from './bucket.js';
import type { Bucket, IterFn, IterOptions, Logger, ObjectAttributes, UploadBody, UploadOptions } from './bucket.js';
import { azureConnection, storageMaxTries } from './azure-config.js';
import type { AzureConfig } from './azure-config.js';
import { ObjectNotFoundError, errorMessage, notFound } from './errors.js';
import { httpAgents } from './http-config.js';
import type { HttpAgents } from './http-config.js';
import { ObjectReader, checkRange, checkSize, emptyReader, holdErrors, partSizeFor, rangeContext, sliceParts, toBuffer, uploadParted } from './streams.js';

const MiB = 1024 * 1024;
/** Thanos uploads in 3 MiB blocks, 4 at a time (blockblob.UploadStreamOptions). */
const DEFAULT_BLOCK_SIZE = 3 * MiB;
/** A block blob has at most 50,000 committed blocks of at most 4000 MiB each. */
const MAX_BLOCKS = 50_000;
const MAX_BLOCK_SIZE = 4000 * MiB;

export interface AzureBucketOptions {
  logger?: Logger;
  /** Block size for staged uploads; bodies up to this size are one Put Blob. Default 3 MiB, as Thanos. */
  blockSize?: number;
  /** Blocks staged concurrently by one upload (Thanos uses 4). */
  uploadConcurrency?: number;
  /** Page size for listings; only tests set it, to paginate with few objects. */
  listMaxResults?: number;
}

/**
 * AzureBucket implements Bucket over Azure Blob Storage with @azure/storage-blob,
 * configured like Thanos's AZURE provider (see parseAzureConfig for the keys).
 *
 * Uploads: a body of at most one block is a single Put Blob; a larger one is
 * staged block by block and made visible by one Put Block List, so readers never
 * see a partial object. A failed upload commits nothing; Azure drops the
 * uncommitted blocks on its own (after a week, or at the blob's next commit).
 */
export class AzureBucket implements Bucket {
  readonly #container: ContainerClient;
  readonly #name: string;
  readonly #agents: HttpAgents;
  readonly #readerMaxRetries: number;
  readonly #blockSize: number;
  readonly #concurrency: number;
  readonly #listMaxResults: number | undefined;
  readonly #logger: Logger | undefined;

  /** Use open(), which also checks (and creates) the container. */
  constructor(cfg: AzureConfig, opts: AzureBucketOptions = {}) {
    this.#name = cfg.container;
    this.#readerMaxRetries = cfg.readerMaxRetryRequests;
    this.#blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.#concurrency = Math.max(1, opts.uploadConcurrency ?? 4);
    this.#listMaxResults = opts.listMaxResults;
    this.#logger = opts.logger;
    this.#agents = httpAgents(cfg.http, 'objstore config: AZURE: ');

    const conn = azureConnection(cfg);
    const credential = conn.accountKey !== '' ? new StorageSharedKeyCredential(conn.accountName, conn.accountKey) : new AnonymousCredential();
    const base = newPipeline(credential, {
      retryOptions: {
        maxTries: storageMaxTries(cfg.pipeline.maxTries),
        // The JS SDK sends try_timeout to the server as the "timeout" query parameter (in seconds).
        tryTimeoutInMs: cfg.pipeline.tryTimeoutMs > 0 ? cfg.pipeline.tryTimeoutMs : undefined,
        retryDelayInMs: cfg.pipeline.retryDelayMs > 0 ? cfg.pipeline.retryDelayMs : undefined,
        maxRetryDelayInMs: cfg.pipeline.maxRetryDelayMs > 0 ? cfg.pipeline.maxRetryDelayMs : undefined,
      },
      userAgentOptions: { userAgentPrefix: 'Thanos' },
    });
    // newPipeline keeps the credential aside; a pipeline with extra factories
    // must list it, where the SDK looks for it.
    const pipeline = new Pipeline([credential, agentPolicy(this.#agents)], base.options);
    const url = `${conn.blobEndpoint}/${encodeURIComponent(cfg.container)}${conn.sas !== '' ? `?${conn.sas}` : ''}`;
    this.#container = new ContainerClient(url, pipeline);
  }

  /**
   * open creates the bucket and, unless storage_create_container is false, the
   * container if it is missing (as Thanos does). That first request also shows a
   * wrong account, key or endpoint at startup rather than at the first upload.
   */
  static async open(cfg: AzureConfig, opts: AzureBucketOptions = {}): Promise<AzureBucket> {
    const bkt = new AzureBucket(cfg, opts);
    if (cfg.storageCreateContainer) {
      try {
        await bkt.#ensureContainer();
      } catch (err) {
        await bkt.close();
        throw err;
      }
    }
    return bkt;
  }

  async #ensureContainer(): Promise<void> {
    const op = `azure container ${this.#name}`;
    try {
      await this.#container.getProperties();
      return;
    } catch (err) {
      if (azureCode(err) !== 'ContainerNotFound') throw new Error(`${op}: ${describeAzureError(err)}${authHint(err)}`, { cause: err });
    }
    try {
      await this.#container.create();
      this.#logger?.warn({ container: this.#name }, 'azure blob container created');
    } catch (err) {
      // Another replica may have created it meanwhile.
      if (azureCode(err) === 'ContainerAlreadyExists') return;
      throw new Error(`create ${op}: ${describeAzureError(err)}${authHint(err)}`, { cause: err });
    }
  }

  name(): string {
    return this.#name;
  }

  get(name: string): Promise<Readable> {
    return this.#getRange(`get ${name}`, name, 0, -1);
  }

  async getRange(name: string, offset: number, length?: number): Promise<Readable> {
    const len = checkRange(name, offset, length);
    return this.#getRange(rangeContext(name, offset, len), name, offset, len);
  }

  async #getRange(op: string, name: string, offset: number, length: number): Promise<Readable> {
    if (name === '') throw new Error(`${op}: object name is empty`);
    if (length === 0) {
      await this.#properties(op, name);
      return emptyReader();
    }
    // Aborting stops the download and any resumed request the SDK makes for it.
    const abort = new AbortController();
    let res;
    try {
      res = await this.#container.getBlobClient(name).download(offset, length > 0 ? length : undefined, {
        abortSignal: abort.signal,
        maxRetryRequests: this.#readerMaxRetries,
      });
    } catch (err) {
      // 416: the offset is at or past the end (or the blob is empty). Read it as empty, like a file.
      if (azureCode(err) === 'InvalidRange' || (err as RestError | null)?.statusCode === 416) return emptyReader();
      throw azureError(op, name, err);
    }
    const body = res.readableStreamBody;
    if (body === undefined) return emptyReader();
    const reader = new ObjectReader(body as Readable, op, 0, length > 0 ? length : Infinity);
    // A reader destroyed before its end also stops the download.
    reader.once('close', () => {
      if (!reader.readableEnded) abort.abort();
    });
    return reader;
  }

  async #properties(op: string, name: string): Promise<{ contentLength?: number; lastModified?: Date }> {
    if (name === '') throw new Error(`${op}: object name is empty`);
    try {
      return await this.#container.getBlobClient(name).getProperties();
    } catch (err) {
      throw azureError(op, name, err);
    }
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.#properties(`exists ${name}`, name);
      return true;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return false;
      throw err;
    }
  }

  async attributes(name: string): Promise<ObjectAttributes> {
    const props = await this.#properties(`attributes ${name}`, name);
    return { size: props.contentLength ?? 0, lastModified: props.lastModified ?? new Date(0) };
  }

  async delete(name: string): Promise<void> {
    const op = `delete ${name}`;
    if (name === '') throw new Error(`${op}: object name is empty`);
    try {
      await this.#container.getBlobClient(name).delete({ deleteSnapshots: 'include' });
    } catch (err) {
      if (isBlobNotFound(err)) return;
      throw azureError(op, name, err);
    }
  }

  async upload(name: string, body: UploadBody, opts?: UploadOptions): Promise<void> {
    const op = `upload ${name}`;
    holdErrors(body);
    try {
      if (name === '') throw new Error('object name is empty');
      const blockSize = partSizeFor(opts?.size, this.#blockSize, MAX_BLOCKS, MAX_BLOCK_SIZE);
      if (body instanceof Uint8Array) {
        const buf = toBuffer(body);
        checkSize(buf.length, opts?.size);
        if (buf.length <= blockSize) await this.#put(name, buf);
        else await this.#staged(name, sliceParts(buf, blockSize), buf.length);
        return;
      }
      await uploadParted(body, blockSize, opts?.size, {
        put: (buf) => this.#put(name, buf),
        parts: (blocks, size) => this.#staged(name, blocks, size),
      });
    } catch (err) {
      if (!(body instanceof Uint8Array)) body.destroy();
      throw azureError(op, name, err);
    }
  }

  async #put(name: string, buf: Buffer): Promise<void> {
    await this.#container.getBlockBlobClient(name).upload(buf, buf.length);
  }

  /**
   * #staged stages blocks with bounded concurrency, reading the next block only
   * when a slot is free, then commits them in order. Block IDs carry a random
   * per-upload part, so two uploads of one name never mix their blocks.
   */
  async #staged(name: string, blocks: AsyncIterable<Buffer> | Iterable<Buffer>, declaredSize: number | undefined): Promise<void> {
    const client = this.#container.getBlockBlobClient(name);
    const uploadId = randomBytes(8).toString('hex');
    // Every ID of a blob must have the same length before base64 encoding.
    const blockId = (i: number): string => Buffer.from(`${uploadId}-${String(i).padStart(6, '0')}`).toString('base64');
    const ids: string[] = [];
    const inflight = new Set<Promise<void>>();
    let failure: Error | undefined;
    try {
      let total = 0;
      for await (const block of blocks) {
        const i = ids.length;
        if (i >= MAX_BLOCKS) {
          throw new Error(`body needs more than ${MAX_BLOCKS} blocks of ${block.length} bytes; pass its size`);
        }
        ids.push(blockId(i));
        total += block.length;
        const p: Promise<void> = client
          .stageBlock(ids[i], block, block.length)
          .then(() => undefined)
          .catch((err: unknown) => {
            failure ??= new Error(`stage block ${i}: ${describeAzureError(err)}`, { cause: err });
          })
          .finally(() => inflight.delete(p));
        inflight.add(p);
        while (inflight.size >= this.#concurrency) await Promise.race(inflight);
        if (failure !== undefined) break;
      }
      await Promise.all(inflight);
      if (failure !== undefined) throw failure;
      checkSize(total, declaredSize);
      await client.commitBlockList(ids);
    } catch (err) {
      await Promise.all(inflight);
      throw err;
    }
  }

  async iter(dir: string, fn: IterFn, opts?: IterOptions): Promise<void> {
    const op = `iter ${dir === '' ? '/' : dir}`;
    const prefix = dir === '' || dir.endsWith(DIR_DELIM) ? dir : dir + DIR_DELIM;
    const pageOpts = { maxPageSize: this.#listMaxResults };
    const pages: AsyncIterable<string[]> = opts?.recursive
      ? mapPages(this.#container.listBlobsFlat({ prefix }).byPage(pageOpts), (seg) => seg.blobItems.map((b) => b.name))
      : mapPages(this.#container.listBlobsByHierarchy(DIR_DELIM, { prefix }).byPage(pageOpts), (seg) =>
          // Each page lists blobs and "directories" apart, each sorted; merged they are in key order.
          mergeSorted(
            seg.blobItems.map((b) => b.name),
            (seg.blobPrefixes ?? []).map((p) => p.name),
          ),
        );
    const it = pages[Symbol.asyncIterator]();
    for (;;) {
      let page: IteratorResult<string[]>;
      try {
        page = await it.next();
      } catch (err) {
        throw azureError(op, prefix, err);
      }
      if (page.done) return;
      for (const name of page.value) {
        // A zero-byte "dir/" marker blob some tools create is not an entry of dir.
        if (name !== '' && name !== prefix) await fn(name);
      }
    }
  }

  async close(): Promise<void> {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }
}

async function* mapPages<S>(pages: AsyncIterable<{ segment: S }>, names: (segment: S) => string[]): AsyncGenerator<string[]> {
  for await (const page of pages) yield names(page.segment);
}

/**
 * agentPolicy hands every request the agents built from http_config (connection
 * pool limits, idle timeout, TLS settings); the SDK's HTTP client uses a
 * request's agent when it has one.
 */
function agentPolicy(agents: HttpAgents): RequestPolicyFactory {
  return {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (req: WebResource) => {
        req.agent = req.url.startsWith('https:') ? agents.https : agents.http;
        return next.sendRequest(req);
      },
    }),
  };
}

/** mergeSorted merges two sorted lists into one sorted list. */
function mergeSorted(a: string[], b: string[]): string[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i] <= b[j] ? a[i++] : b[j++]);
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/** azureCode is the service's error code (x-ms-error-code), if err carries one. */
function azureCode(err: unknown): string | undefined {
  if (!(err instanceof RestError)) return undefined;
  const details = err.details as { errorCode?: unknown } | undefined;
  if (typeof details?.errorCode === 'string') return details.errorCode;
  return typeof err.code === 'string' ? err.code : undefined;
}

/**
 * isBlobNotFound: BlobNotFound, or InvalidURI as Thanos also counts it (a name
 * the service cannot address). Not ContainerNotFound: a missing container is a
 * misconfiguration, not a missing object.
 */
function isBlobNotFound(err: unknown): boolean {
  const code = azureCode(err);
  return code === 'BlobNotFound' || code === 'InvalidURI';
}

/** describeAzureError renders an SDK error on one line: "azure AuthorizationFailure (403): This request is not authorized…". */
function describeAzureError(err: unknown): string {
  if (!(err instanceof RestError) || err.statusCode === undefined) return errorMessage(err);
  // Service messages continue with "RequestId:…" and "Time:…" lines.
  const msg = (err.message || '').split('\n')[0].trim();
  const code = azureCode(err) ?? 'error';
  return `azure ${code} (${err.statusCode})${msg !== '' && msg !== code ? `: ${msg}` : ''}`;
}

/**
 * authHint adds what to check to an authentication failure, which Azure reports
 * tersely: AuthenticationFailed from Azure, AuthorizationFailure with "failed to
 * authenticate" from Azurite, for a signature made with the wrong key.
 */
function authHint(err: unknown): string {
  const code = azureCode(err);
  if (code === 'AuthenticationFailed' || (code === 'AuthorizationFailure' && /authenticate/i.test((err as Error).message))) {
    return ' (check storage_account and storage_account_key, or the account key in storage_connection_string)';
  }
  if (code === 'AuthorizationFailure' || code === 'AuthorizationPermissionMismatch') return ' (the credentials lack permission for this operation)';
  return '';
}

function azureError(op: string, name: string, err: unknown): Error {
  if (isBlobNotFound(err)) return notFound(op, name, err);
  if (err instanceof ObjectNotFoundError) return err;
  return new Error(`${op}: ${describeAzureError(err)}${authHint(err)}`, { cause: err });
}
