import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '@thanos-ts/testutil';

import type { Bucket, Logger } from './bucket.js';
import { chunked, describeBucketContract, failingStream, list } from './bucket.contract.js';
import { bucketFromConfig, parseBucketConfig } from './config.js';
import { isObjectNotFound } from './errors.js';
import { getBytes } from './helpers.js';
import { PrefixedBucket } from './prefixed-bucket.js';
import { S3Bucket } from './s3.js';
import { parseS3Config } from './s3-config.js';

const MiB = 1024 * 1024;

let s3: S3Server;
beforeAll(async () => {
  // In a child process, so that the >1000-object listing test does not run server and
  // client in one thread.
  s3 = await startS3Server({ childProcess: true });
});
afterAll(async () => {
  await s3?.stop();
});

/** objstore.yml for `bucket` with the client's defaults, one retry, and `extra` config lines. */
function s3Yaml(bucket: string, extra: string[] = []): string {
  return s3.objstoreYaml({ bucket, extraConfig: ['max_retries: 1', ...extra], clientDefaults: true });
}

let buckets = 0;
async function freshBucketName(): Promise<string> {
  const name = `bucket-${++buckets}`;
  await s3.createBucket(name);
  return name;
}

async function freshBucket(extra: string[] = [], logger?: Logger): Promise<Bucket> {
  return bucketFromConfig(s3Yaml(await freshBucketName(), extra), { logger });
}

// s3rver lists recursively in the order it walks its directory tree, not in key order.
describeBucketContract('S3', () => freshBucket(), { recursiveKeyOrder: false });

// List v1 and a prefix, with small pages so paging is exercised with few objects.
describeBucketContract(
  'S3 (list_objects_version v1, prefix, 10 keys per page)',
  async () => {
    const conf = parseBucketConfig(s3Yaml(await freshBucketName(), ['list_objects_version: v1']));
    return new PrefixedBucket(new S3Bucket(parseS3Config(conf.config), { listMaxKeys: 10 }), 'tenant/a');
  },
  { listPageSize: 10, recursiveKeyOrder: false },
);

/** recorder is a Logger that keeps what it is given, for asserting on requests made. */
function recorder(): Logger & { debugs: Record<string, unknown>[]; warns: [Record<string, unknown>, string][]; ops(): string[] } {
  const debugs: Record<string, unknown>[] = [];
  const warns: [Record<string, unknown>, string][] = [];
  return {
    debugs,
    warns,
    debug: (obj) => void debugs.push(obj as Record<string, unknown>),
    warn: (obj, msg) => void warns.push([obj as Record<string, unknown>, msg]),
    ops: () => debugs.map((d) => String(d.op).replace(/Command$/, '')),
  };
}

describe('S3Bucket', () => {
  const traced = ['part_size: 5242880', 'trace: {enable: true}'];

  it('uploads a stream larger than part_size in parts', async () => {
    const log = recorder();
    const bkt = await freshBucket(traced, log);
    const data = randomBytes(12 * MiB + 12_345);
    await bkt.upload('big/stream', chunked(data, 64 * 1024));
    expect(log.ops()).toEqual([
      'CreateMultipartUpload',
      'UploadPart',
      'UploadPart',
      'UploadPart',
      'CompleteMultipartUpload',
    ]);
    expect(Buffer.from(await getBytes(bkt, 'big/stream')).equals(data)).toBe(true);
    expect((await bkt.attributes('big/stream')).size).toBe(data.length);
    await bkt.close();
  });

  it('uploads large buffers in parts and small ones whole', async () => {
    const log = recorder();
    const bkt = await freshBucket(traced, log);
    const big = randomBytes(11 * MiB);
    await bkt.upload('big/buffer', big, { size: big.length });
    expect(log.ops().filter((o) => o === 'UploadPart')).toHaveLength(3);
    expect(Buffer.from(await getBytes(bkt, 'big/buffer')).equals(big)).toBe(true);

    log.debugs.length = 0;
    const exact = randomBytes(5 * MiB); // exactly part_size: one PutObject
    await bkt.upload('exact/stream', chunked(exact, 100_000));
    await bkt.upload('exact/buffer', exact);
    expect(log.ops()).toEqual(['PutObject', 'PutObject']);
    expect(Buffer.from(await getBytes(bkt, 'exact/stream')).equals(exact)).toBe(true);
    await bkt.close();
  });

  it('uses a single PutObject when multipart is disabled', async () => {
    const log = recorder();
    const bkt = await freshBucket([...traced, 'disable_multipart: true'], log);
    const data = randomBytes(11 * MiB);
    await bkt.upload('whole', chunked(data, 256 * 1024));
    expect(log.ops()).toEqual(['PutObject']);
    expect(Buffer.from(await getBytes(bkt, 'whole')).equals(data)).toBe(true);
    await bkt.close();
  });

  it('aborts a multipart upload whose body fails, reporting the body error', async () => {
    const log = recorder();
    const bkt = await freshBucket(traced, log);
    const err = await bkt
      .upload('big/broken', failingStream(randomBytes(11 * MiB), new Error('source truncated')))
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('upload big/broken: source truncated');
    expect(log.ops()).toContain('CreateMultipartUpload');
    expect(log.ops()).toContain('AbortMultipartUpload');
    expect(log.ops()).not.toContain('CompleteMultipartUpload');
    // s3rver does not implement AbortMultipartUpload: its failure is logged, not thrown.
    expect(log.warns.map(([, msg]) => msg)).toContain('abort multipart upload failed');
    expect(await bkt.exists('big/broken')).toBe(false);
    await bkt.close();
  });

  it('does not confuse a missing bucket with a missing object', async () => {
    const bkt = await bucketFromConfig(s3Yaml('no-such-bucket'));
    const err = await bkt.get('obj').catch((e: unknown) => e);
    expect(isObjectNotFound(err)).toBe(false);
    expect((err as Error).message).toBe('get obj: s3 NoSuchBucket (404): The specified bucket does not exist');
    await expect(bkt.iter('', () => {})).rejects.toThrow(/^iter \/: s3 NoSuchBucket \(404\)/);
    await bkt.close();
  });

  it('retries failed requests and then reports the cause with context', async () => {
    const log = recorder();
    // Port 1 on localhost refuses connections.
    const yaml = s3Yaml('test').replace(s3.endpoint, '127.0.0.1:1');
    const bkt = await bucketFromConfig(yaml, { logger: log });
    const err = await bkt.getRange('chunks/000001', 8, 1024).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^get range chunks\/000001 \[8, 1032\): .*ECONNREFUSED/);
    expect(log.warns.map(([, msg]) => msg)).toEqual(['s3 request failed, retrying']); // max_retries: 1
    await bkt.close();
  });

  it('iterates the listing of a prefix that is also an object name', async () => {
    const bkt = await freshBucket();
    // A "dir/" marker object, as some tools create, is not reported as an entry of dir.
    await bkt.upload('dir/', Buffer.alloc(0));
    await bkt.upload('dir/a', Buffer.from('a'));
    expect(await list(bkt, 'dir')).toEqual(['dir/a']);
    await bkt.close();
  });
});
