import { readFileSync } from 'node:fs';
import type * as http from 'node:http';
import type * as https from 'node:https';
import { Readable } from 'node:stream';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { HeadObjectCommandOutput, PutObjectCommandInput, StorageClass } from '@aws-sdk/client-s3';
import { StandardRetryStrategy } from '@smithy/core/retry';
import type { RetryErrorInfo, RetryStrategyV2, RetryToken, StandardRetryToken } from '@smithy/types';

import { DIR_DELIM } from './bucket.js';
import type { Bucket, IterFn, IterOptions, Logger, ObjectAttributes, UploadBody, UploadOptions } from './bucket.js';
import { ObjectNotFoundError, errorMessage, notFound } from './errors.js';
import { httpAgents } from './http-config.js';
import { MAX_PART_SIZE, maxAttempts, resolveRegion, usePathStyle } from './s3-config.js';
import type { S3Config } from './s3-config.js';
import { ObjectReader, checkRange, checkSize, emptyReader, holdErrors, partSizeFor, rangeContext, readAll, sliceParts, toBuffer, uploadParted } from './streams.js';

/** S3 allows at most this many parts in one multipart upload. */
const MAX_PARTS = 10_000;

/** Go's net.Dialer timeout in Thanos's transport; the SDK measures it up to TCP connect. */
const CONNECT_TIMEOUT_MS = 30_000;

export interface S3BucketOptions {
  logger?: Logger;
  /**
   * Parts uploaded concurrently by one multipart upload (Thanos uses 4). Memory
   * per upload is about (uploadConcurrency + 1) × part_size.
   */
  uploadConcurrency?: number;
  /** Page size for listings; only tests set it, to paginate with few objects. */
  listMaxKeys?: number;
}

/** Request parameters for server-side encryption, per kind of request. */
interface SseParams {
  /** PutObject and CreateMultipartUpload. */
  write: Partial<PutObjectCommandInput>;
  /** GetObject, HeadObject, UploadPart and CompleteMultipartUpload (SSE-C only). */
  customerKey: { SSECustomerAlgorithm?: string; SSECustomerKey?: string };
}

/**
 * S3Bucket implements Bucket over the S3 API with the AWS SDK v3, configured
 * like Thanos's minio-go based provider (see parseS3Config for the keys).
 *
 * Upload bodies are cut into parts held in memory: every request body is then
 * a buffer the SDK can resend when it retries, which a half-consumed stream is not.
 */
export class S3Bucket implements Bucket {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #partSize: number;
  readonly #disableMultipart: boolean;
  readonly #listV1: boolean;
  readonly #listMaxKeys: number | undefined;
  readonly #concurrency: number;
  readonly #logger: Logger | undefined;
  readonly #metadata: Record<string, string> | undefined;
  readonly #storageClass: string | undefined;
  readonly #sse: SseParams;

  constructor(cfg: S3Config, opts: S3BucketOptions = {}) {
    this.#bucket = cfg.bucket;
    this.#partSize = cfg.partSize;
    this.#disableMultipart = cfg.disableMultipart;
    this.#listV1 = cfg.listObjectsVersion === 'v1';
    this.#listMaxKeys = opts.listMaxKeys;
    this.#concurrency = Math.max(1, opts.uploadConcurrency ?? 4);
    this.#logger = opts.logger;
    this.#sse = sseParams(cfg);

    // Like minio-go, an X-Amz-Storage-Class entry (any case) selects the storage
    // class instead of becoming user metadata.
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg.putUserMetadata)) {
      if (k.toLowerCase() === 'x-amz-storage-class') this.#storageClass = v;
      else metadata[k.replace(/^x-amz-meta-/i, '')] = v;
    }
    this.#metadata = Object.keys(metadata).length > 0 ? metadata : undefined;

    // send_content_md5 is accepted and ignored: request checksums follow
    // checksum_calculation instead (when_required by default, since MinIO, Ceph
    // and s3rver reject the SDK's newer default checksums). disable_dualstack
    // needs no handling: with an explicit endpoint the SDK never picks a dual-stack one.
    const maxAttemptCount = maxAttempts(cfg.maxRetries);
    this.#client = new S3Client({
      endpoint: `${cfg.insecure ? 'http' : 'https'}://${cfg.endpoint}`,
      region: resolveRegion(cfg),
      // With no region configured the SDK follows the bucket's real region.
      followRegionRedirects: cfg.region === '',
      forcePathStyle: usePathStyle(cfg),
      // Without static keys the SDK default chain applies (env, shared files,
      // SSO, web identity, ECS/EC2 metadata): that serves aws_sdk_auth as well
      // as Thanos's env → ~/.aws/credentials → IAM fallback.
      credentials:
        cfg.accessKey !== ''
          ? { accessKeyId: cfg.accessKey, secretAccessKey: cfg.secretKey, sessionToken: cfg.sessionToken || undefined }
          : undefined,
      requestChecksumCalculation: cfg.checksumCalculation === 'when_supported' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
      responseChecksumValidation: cfg.checksumValidation === 'when_supported' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
      maxAttempts: maxAttemptCount,
      retryStrategy: new LoggingRetryStrategy(new StandardRetryStrategy(maxAttemptCount), opts.logger),
      requestHandler: httpHandlerOptions(cfg),
    });
    if (cfg.traceEnable && opts.logger) addTraceMiddleware(this.#client, opts.logger);
  }

  name(): string {
    return this.#bucket;
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
      await this.#head(op, name);
      return emptyReader();
    }
    const toEnd = length < 0;
    // Never a suffix range ("bytes=-n"): s3rver does not implement them.
    const range = offset === 0 && toEnd ? undefined : `bytes=${offset}-${toEnd ? '' : offset + length - 1}`;
    let out;
    try {
      out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: name, Range: range, ...this.#sse.customerKey }),
      );
    } catch (err) {
      // 416: the offset is at or past the end. Read it as empty, like a file.
      if (range !== undefined && (err as { name?: string }).name === 'InvalidRange') return emptyReader();
      throw s3Error(op, name, err);
    }
    const body = out.Body;
    if (body === undefined) return emptyReader();
    if (!(body instanceof Readable)) throw new Error(`${op}: unexpected response body type`);

    let skip = 0;
    let limit = toEnd ? Infinity : length;
    if (range !== undefined) {
      const served = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(out.ContentRange ?? '');
      if (served === null) {
        // The server ignored Range and sent the whole object.
        skip = offset;
      } else if (Number(served[1]) !== offset) {
        body.destroy();
        throw new Error(`${op}: server answered with range "${out.ContentRange}"`);
      } else if (served[2] !== '*') {
        // Trust the object size over the body: s3rver answers a range of an
        // empty object with "bytes 0-0/0" and a body that never comes.
        limit = Math.min(limit, Number(served[2]) - offset);
        if (limit <= 0) {
          body.destroy();
          return emptyReader();
        }
      }
    }
    return new ObjectReader(body, op, skip, limit);
  }

  async #head(op: string, name: string): Promise<HeadObjectCommandOutput> {
    if (name === '') throw new Error(`${op}: object name is empty`);
    try {
      return await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: name, ...this.#sse.customerKey }));
    } catch (err) {
      throw s3Error(op, name, err);
    }
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.#head(`exists ${name}`, name);
      return true;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return false;
      throw err;
    }
  }

  async attributes(name: string): Promise<ObjectAttributes> {
    const out = await this.#head(`attributes ${name}`, name);
    return { size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
  }

  async delete(name: string): Promise<void> {
    const op = `delete ${name}`;
    if (name === '') throw new Error(`${op}: object name is empty`);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: name }));
    } catch (err) {
      // S3 answers 204 for missing keys; some compatible stores say NoSuchKey.
      if (isS3NotFound(err)) return;
      throw s3Error(op, name, err);
    }
  }

  async upload(name: string, body: UploadBody, opts?: UploadOptions): Promise<void> {
    const op = `upload ${name}`;
    holdErrors(body);
    try {
      if (name === '') throw new Error('object name is empty');
      if (body instanceof Uint8Array) {
        const buf = toBuffer(body);
        checkSize(buf.length, opts?.size);
        if (this.#disableMultipart || buf.length <= this.#partSize) await this.#put(name, buf);
        else await this.#multipart(name, sliceParts(buf, partSizeFor(buf.length, this.#partSize, MAX_PARTS, MAX_PART_SIZE)), buf.length);
        return;
      }
      if (this.#disableMultipart) {
        // PutObject needs the whole body up front (see the class comment).
        const buf = await readAll(body);
        checkSize(buf.length, opts?.size);
        await this.#put(name, buf);
        return;
      }
      const partSize = partSizeFor(opts?.size, this.#partSize, MAX_PARTS, MAX_PART_SIZE);
      await uploadParted(body, partSize, opts?.size, {
        put: (buf) => this.#put(name, buf),
        parts: (parts, size) => this.#multipart(name, parts, size),
      });
    } catch (err) {
      if (!(body instanceof Uint8Array)) body.destroy();
      throw s3Error(op, name, err);
    }
  }

  #writeParams(key: string): PutObjectCommandInput {
    return {
      Bucket: this.#bucket,
      Key: key,
      Metadata: this.#metadata,
      StorageClass: this.#storageClass as StorageClass | undefined,
      ...this.#sse.write,
    };
  }

  async #put(key: string, body: Buffer): Promise<void> {
    await this.#client.send(new PutObjectCommand({ ...this.#writeParams(key), Body: body }));
  }

  /**
   * #multipart uploads parts with bounded concurrency, reading the next part
   * only when a slot is free. On failure it aborts the upload best-effort:
   * errors from AbortMultipartUpload (s3rver does not implement it) are logged
   * and dropped so the caller sees the cause of the failure.
   */
  async #multipart(key: string, parts: AsyncIterable<Buffer> | Iterable<Buffer>, declaredSize: number | undefined): Promise<void> {
    const created = await this.#client.send(new CreateMultipartUploadCommand(this.#writeParams(key)));
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new Error('create multipart upload: response has no upload id');

    const etags: string[] = [];
    const inflight = new Set<Promise<void>>();
    let failure: Error | undefined;
    try {
      let count = 0;
      let total = 0;
      for await (const part of parts) {
        const partNumber = ++count;
        if (partNumber > MAX_PARTS) {
          throw new Error(`body needs more than ${MAX_PARTS} parts of ${part.length} bytes; pass its size or raise part_size`);
        }
        total += part.length;
        const p: Promise<void> = this.#client
          .send(
            new UploadPartCommand({
              Bucket: this.#bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: part,
              ...this.#sse.customerKey,
            }),
          )
          .then((out) => {
            if (out.ETag === undefined) throw new Error('response has no ETag');
            etags[partNumber - 1] = out.ETag;
          })
          .catch((err: unknown) => {
            failure ??= new Error(`upload part ${partNumber}: ${describeS3Error(err)}`, { cause: err });
          })
          .finally(() => inflight.delete(p));
        inflight.add(p);
        while (inflight.size >= this.#concurrency) await Promise.race(inflight);
        if (failure !== undefined) break;
      }
      await Promise.all(inflight);
      if (failure !== undefined) throw failure;
      checkSize(total, declaredSize);
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          ...this.#sse.customerKey,
        }),
      );
    } catch (err) {
      await Promise.all(inflight);
      try {
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }));
      } catch (abortErr) {
        this.#logger?.warn({ key, uploadId, err: describeS3Error(abortErr) }, 'abort multipart upload failed');
      }
      throw err;
    }
  }

  async iter(dir: string, fn: IterFn, opts?: IterOptions): Promise<void> {
    const op = `iter ${dir === '' ? '/' : dir}`;
    const prefix = dir === '' || dir.endsWith(DIR_DELIM) ? dir : dir + DIR_DELIM;
    const delimiter = opts?.recursive ? undefined : DIR_DELIM;
    let token: string | undefined;
    for (;;) {
      let page: ListPage;
      try {
        page = this.#listV1 ? await this.#listPageV1(prefix, delimiter, token) : await this.#listPageV2(prefix, delimiter, token);
      } catch (err) {
        throw s3Error(op, prefix, err);
      }
      for (const name of page.names) {
        // A zero-byte "dir/" marker object some tools create is not an entry of dir.
        if (name !== '' && name !== prefix) await fn(name);
      }
      if (page.next === undefined) return;
      token = page.next;
    }
  }

  async #listPageV2(prefix: string, delimiter: string | undefined, token: string | undefined): Promise<ListPage> {
    const out = await this.#client.send(
      new ListObjectsV2Command({
        Bucket: this.#bucket,
        Prefix: prefix,
        Delimiter: delimiter,
        ContinuationToken: token,
        MaxKeys: this.#listMaxKeys,
      }),
    );
    const names = mergeSorted(
      (out.Contents ?? []).map((o) => o.Key ?? ''),
      (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''),
    );
    if (!out.IsTruncated) return { names };
    if (!out.NextContinuationToken) throw new Error('truncated listing without continuation token');
    return { names, next: out.NextContinuationToken };
  }

  async #listPageV1(prefix: string, delimiter: string | undefined, marker: string | undefined): Promise<ListPage> {
    const out = await this.#client.send(
      new ListObjectsCommand({
        Bucket: this.#bucket,
        Prefix: prefix,
        Delimiter: delimiter,
        Marker: marker,
        MaxKeys: this.#listMaxKeys,
      }),
    );
    const names = mergeSorted(
      (out.Contents ?? []).map((o) => o.Key ?? ''),
      (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''),
    );
    if (!out.IsTruncated) return { names };
    // V1 only returns NextMarker when a delimiter is set; else the last key is the marker.
    const next = out.NextMarker || names[names.length - 1];
    if (!next) throw new Error('truncated listing without marker');
    return { names, next };
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}

interface ListPage {
  names: string[];
  next?: string;
}

/** mergeSorted merges a page's keys and common prefixes, each sorted, into one sorted list. */
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

function sseParams(cfg: S3Config): SseParams {
  const { sse } = cfg;
  switch (sse.type) {
    case 'SSE-S3':
      return { write: { ServerSideEncryption: 'AES256' }, customerKey: {} };
    case 'SSE-KMS': {
      const hasContext = Object.keys(sse.kmsEncryptionContext).length > 0;
      return {
        write: {
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: sse.kmsKeyId,
          SSEKMSEncryptionContext: hasContext
            ? Buffer.from(JSON.stringify(sse.kmsEncryptionContext)).toString('base64')
            : undefined,
        },
        customerKey: {},
      };
    }
    case 'SSE-C': {
      let key: Buffer;
      try {
        key = readFileSync(sse.encryptionKey);
      } catch (err) {
        throw new Error(`objstore config: S3: sse_config.encryption_key: ${errorMessage(err)}`, { cause: err });
      }
      if (key.length !== 32) {
        throw new Error(`objstore config: S3: sse_config.encryption_key: SSE-C key must be 32 bytes, file has ${key.length}`);
      }
      // Base64 of exactly 32 bytes: the SDK decodes it and adds the key MD5 header.
      const customerKey = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64') };
      return { write: customerKey, customerKey };
    }
    default:
      return { write: {}, customerKey: {} };
  }
}

/**
 * httpHandlerOptions maps Thanos http_config onto the SDK's handler (agents: see
 * httpAgents). response_header_timeout becomes the SDK's socket inactivity
 * timeout, which covers waiting for headers and also a body download that
 * stalls. tls_handshake_timeout, expect_continue_timeout, max_idle_conns and
 * disable_compression are accepted and not applied (the SDK never asks for
 * compressed responses, and sends bodies without waiting for 100-continue).
 */
function httpHandlerOptions(cfg: S3Config): {
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  connectionTimeout: number;
  socketTimeout?: number;
} {
  const agents = httpAgents(cfg.http, 'objstore config: S3: ');
  return {
    httpAgent: agents.http,
    httpsAgent: agents.https,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: cfg.http.responseHeaderTimeoutMs > 0 ? cfg.http.responseHeaderTimeoutMs : undefined,
  };
}

/** LoggingRetryStrategy is the SDK's standard strategy (exponential backoff with jitter) plus a log line per retry. */
class LoggingRetryStrategy implements RetryStrategyV2 {
  readonly #inner: StandardRetryStrategy;
  readonly #logger: Logger | undefined;

  constructor(inner: StandardRetryStrategy, logger: Logger | undefined) {
    this.#inner = inner;
    this.#logger = logger;
  }

  acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    return this.#inner.acquireInitialRetryToken(scope);
  }

  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    // Throws, ending the retries, when the error is not retryable or attempts are used up.
    const next = await this.#inner.refreshRetryTokenForRetry(token as StandardRetryToken, info);
    this.#logger?.warn(
      { retry: next.getRetryCount(), delayMs: next.getRetryDelay(), errorType: info.errorType, err: describeS3Error(info.error) },
      's3 request failed, retrying',
    );
    return next;
  }

  recordSuccess(token: RetryToken): void {
    this.#inner.recordSuccess(token as StandardRetryToken);
  }
}

/** addTraceMiddleware logs every S3 operation at debug level (Thanos `trace.enable`). */
function addTraceMiddleware(client: S3Client, logger: Logger): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const start = performance.now();
      const key = (args.input as { Key?: unknown }).Key;
      try {
        const out = await next(args);
        logger.debug({ op: context.commandName, key, ms: Math.round(performance.now() - start) }, 's3 request');
        return out;
      } catch (err) {
        logger.debug({ op: context.commandName, key, ms: Math.round(performance.now() - start), err: describeS3Error(err) }, 's3 request failed');
        throw err;
      }
    },
    { step: 'initialize', name: 'thanosTsTrace' },
  );
}

interface S3ErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/** isS3NotFound: NoSuchKey from GET/DELETE, NotFound from HEAD (which has no error body). Not NoSuchBucket. */
function isS3NotFound(err: unknown): boolean {
  const name = (err as S3ErrorShape | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

/** describeS3Error renders an SDK error on one line: "s3 AccessDenied (403): Access Denied". */
function describeS3Error(err: unknown): string {
  const e = err as S3ErrorShape | null;
  const status = e?.$metadata?.httpStatusCode;
  if (e === null || typeof e !== 'object' || status === undefined) return errorMessage(err);
  const attempts = e.$metadata?.attempts ?? 1;
  const msg = e.message && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  return `s3 ${e.name} (${status})${msg}${attempts > 1 ? ` after ${attempts} attempts` : ''}`;
}

function s3Error(op: string, name: string, err: unknown): Error {
  if (isS3NotFound(err)) return notFound(op, name, err);
  if (err instanceof ObjectNotFoundError) return err;
  return new Error(`${op}: ${describeS3Error(err)}`, { cause: err });
}
