import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { startAzurite, type AzuriteServer } from '@thanos-ts/testutil';

import { AzureBucket } from './azure.js';
import { parseAzureConfig } from './azure-config.js';
import type { Bucket, Logger } from './bucket.js';
import { chunked, describeBucketContract, failingStream, list } from './bucket.contract.js';
import { bucketFromConfig, parseBucketConfig } from './config.js';
import { isObjectNotFound } from './errors.js';
import { getBytes, getRangeBytes } from './helpers.js';
import { instrumentBucket } from './instrumented.js';
import { PrefixedBucket } from './prefixed-bucket.js';

const MiB = 1024 * 1024;

let azurite: AzuriteServer;
beforeAll(async () => {
  // azurite is a devDependency of this package, so it is resolved from here.
  azurite = await startAzurite({ resolveFrom: import.meta.url });
});
afterAll(async () => {
  await azurite?.stop();
});

// Fail fast against a dead endpoint: one retry, short delays.
const FAST_RETRIES = ['pipeline_config: {max_tries: 1, retry_delay: 10ms, max_retry_delay: 20ms}'];

let containers = 0;
function azureYaml(extra: string[] = [], container = `c-${++containers}`): string {
  return azurite.objstoreYaml({ container, extraConfig: [...FAST_RETRIES, ...extra] });
}

// Each bucket gets a fresh container, which the bucket creates.
describeBucketContract('AZURE', () => bucketFromConfig(azureYaml()));

// A prefix, and small pages so paging is exercised with few objects.
describeBucketContract(
  'AZURE (prefix, 10 blobs per page)',
  async () => {
    const conf = parseBucketConfig(azureYaml());
    return new PrefixedBucket(await AzureBucket.open(parseAzureConfig(conf.config), { listMaxResults: 10 }), 'tenant/a');
  },
  { listPageSize: 10 },
);

/** recorder is a Logger that keeps its warnings. */
function recorder(): Logger & { warns: [Record<string, unknown>, string][] } {
  const warns: [Record<string, unknown>, string][] = [];
  return { warns, debug: () => {}, warn: (obj, msg) => void warns.push([obj as Record<string, unknown>, msg]) };
}

async function openSmallBlocks(blockSize: number): Promise<Bucket> {
  const conf = parseBucketConfig(azureYaml());
  return AzureBucket.open(parseAzureConfig(conf.config), { blockSize });
}

describe('AzureBucket', () => {
  it('creates a missing container, and opens an existing one', async () => {
    const log = recorder();
    const yaml = azureYaml([], 'created-here');
    const first = await bucketFromConfig(yaml, { logger: log });
    expect(first.name()).toBe('created-here');
    expect(log.warns.map(([, msg]) => msg)).toEqual(['azure blob container created']);
    await first.upload('x', Buffer.from('x'));
    const again = await bucketFromConfig(yaml, { logger: log });
    expect(await again.exists('x')).toBe(true);
    expect(log.warns).toHaveLength(1);
    await Promise.all([first.close(), again.close()]);
  });

  it('leaves a missing container alone with storage_create_container: false', async () => {
    const bkt = await bucketFromConfig(azureYaml(['storage_create_container: false'], 'never-created'));
    const err = await bkt.get('obj').catch((e: unknown) => e);
    // A missing container is not a missing object.
    expect(isObjectNotFound(err)).toBe(false);
    expect((err as Error).message).toMatch(/^get obj: azure ContainerNotFound \(404\): The specified container does not exist\.$/);
    await expect(bkt.iter('', () => {})).rejects.toThrow(/^iter \/: azure ContainerNotFound \(404\)/);
    await expect(bkt.upload('obj', Buffer.from('x'))).rejects.toThrow(/^upload obj: azure ContainerNotFound \(404\)/);
    await bkt.close();
  });

  it('fails at startup with a clear error when the key is wrong', async () => {
    const wrongKey = randomBytes(64).toString('base64');
    const yaml = azureYaml().replace(azurite.accountKey, wrongKey);
    const err = await bucketFromConfig(yaml).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      // Azure says AuthenticationFailed, Azurite AuthorizationFailure.
      /^azure container c-\d+: azure Authori[sz]ationFailure \(403\): Server failed to authenticate the request\..* \(check storage_account and storage_account_key, or the account key in storage_connection_string\)$/,
    );
  });

  it('stages blocks for a stream larger than one block and commits them at once', async () => {
    const bkt = await openSmallBlocks(MiB);
    const data = randomBytes(3 * MiB + 12_345);
    await bkt.upload('big/stream', chunked(data, 64 * 1024));
    expect(Buffer.from(await getBytes(bkt, 'big/stream')).equals(data)).toBe(true);
    expect((await bkt.attributes('big/stream')).size).toBe(data.length);
    // Also a buffer, with its size given, and ranged reads across block boundaries.
    await bkt.upload('big/buffer', data, { size: data.length });
    const range = Buffer.from(await getRangeBytes(bkt, 'big/buffer', MiB - 10, MiB + 20));
    expect(range.equals(data.subarray(MiB - 10, 2 * MiB + 10))).toBe(true);
    // Exactly one block is a single Put Blob.
    const exact = randomBytes(MiB);
    await bkt.upload('exact', chunked(exact, 100_000));
    expect(Buffer.from(await getBytes(bkt, 'exact')).equals(exact)).toBe(true);
    await bkt.close();
  });

  it('commits nothing when a staged upload fails, keeping the previous object', async () => {
    const bkt = await openSmallBlocks(MiB);
    await bkt.upload('big/broken', Buffer.from('old'));
    const err = await bkt
      .upload('big/broken', failingStream(randomBytes(3 * MiB), new Error('source truncated')))
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('upload big/broken: source truncated');
    expect(Buffer.from(await getBytes(bkt, 'big/broken')).toString()).toBe('old');
    await expect(bkt.upload('big/sized', randomBytes(2 * MiB + 1), { size: 2 * MiB })).rejects.toThrow(
      'upload big/sized: body has 2097153 bytes, expected 2097152',
    );
    await expect(bkt.upload('big/sized', chunked(randomBytes(2 * MiB + 1), 65_536), { size: 2 * MiB })).rejects.toThrow(
      'upload big/sized: body has 2097153 bytes, expected 2097152',
    );
    expect(await bkt.exists('big/sized')).toBe(false);
    await bkt.close();
  });

  it('iterates the listing of a prefix that is also an object name', async () => {
    const bkt = await bucketFromConfig(azureYaml());
    await bkt.upload('dir/', Buffer.alloc(0));
    await bkt.upload('dir/a', Buffer.from('a'));
    expect(await list(bkt, 'dir')).toEqual(['dir/a']);
    await bkt.close();
  });

  it('reports a refused connection with context after its retries', async () => {
    const port = new URL(azurite.blobEndpoint).port;
    const yaml = azureYaml(['storage_create_container: false']).replace(`127.0.0.1:${port}`, '127.0.0.1:1');
    const bkt = await bucketFromConfig(yaml);
    const err = await bkt.getRange('chunks/000001', 8, 1024).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^get range chunks\/000001 \[8, 1032\): .*ECONNREFUSED/);
    expect(isObjectNotFound(err)).toBe(false);
    await bkt.close();
  });

  it('works under the metrics wrapper like any bucket', async () => {
    const reg = new Registry();
    const raw = await bucketFromConfig(azureYaml([], 'metered'));
    const bkt = instrumentBucket(raw, reg);
    await bkt.upload('a/b', Buffer.from('0123456789'));
    expect(Buffer.from(await getRangeBytes(bkt, 'a/b', 2, 3)).toString()).toBe('234');
    await expect(bkt.get('a/missing')).rejects.toSatisfy(isObjectNotFound);
    const text = await reg.metrics();
    const line = (metric: string, op: string): string => `${metric}{bucket="metered",operation="${op}"}`;
    expect(text).toContain(`${line('thanos_objstore_bucket_operations_total', 'upload')} 1`);
    expect(text).toContain(`${line('thanos_objstore_bucket_operations_total', 'get')} 1`);
    expect(text).toContain(`${line('thanos_objstore_bucket_operation_failures_total', 'get')} 0`);
    expect(text).toContain(`${line('thanos_objstore_bucket_operation_fetched_bytes_total', 'get_range')} 3`);
    await bkt.close();
  });
});
