import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startS3Server, type S3Server } from './index.js';

afterAll(removeTempDirs);

function sdkClient(s3: S3Server): S3Client {
  return new S3Client({
    endpoint: s3.url,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
  });
}

describe('startS3Server', () => {
  it('serves PutObject, GetObject and paginated ListObjectsV2 to the AWS SDK', async () => {
    const s3 = await startS3Server({ buckets: ['blocks', 'other'] });
    const client = sdkClient(s3);
    try {
      expect(s3.bucket).toBe('blocks');
      expect(s3.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
      for (const key of ['a/1', 'a/2', 'b/3']) {
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: `body of ${key}` }));
      }
      const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'a/2' }));
      expect(await got.Body!.transformToString()).toBe('body of a/2');

      // Continuation tokens are what needs --openssl-legacy-provider.
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page: ListObjectsV2CommandOutput = await client.send(
          new ListObjectsV2Command({ Bucket: s3.bucket, MaxKeys: 1, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).map((c) => c.Key!));
        token = page.NextContinuationToken;
      } while (token);
      expect(keys).toEqual(['a/1', 'a/2', 'b/3']);

      const other = await client.send(new ListObjectsV2Command({ Bucket: 'other' }));
      expect(other.KeyCount).toBe(0);
    } finally {
      client.destroy();
      await s3.stop();
    }
  });

  it('writes an objstore.yml for the bucket', async () => {
    const s3 = await startS3Server();
    try {
      expect(s3.objstoreYaml('tenant-a')).toBe(
        [
          'type: S3',
          'config:',
          '  bucket: "thanos"',
          `  endpoint: "${s3.endpoint}"`,
          '  region: us-east-1',
          '  access_key: S3RVER',
          '  secret_key: S3RVER',
          '  insecure: true',
          '  bucket_lookup_type: path',
          'prefix: "tenant-a"',
          '',
        ].join('\n'),
      );
      expect(s3.objstoreYaml()).not.toContain('prefix');
      expect(s3.objstoreYaml({ bucket: 'other', extraConfig: ['max_retries: 1'], clientDefaults: true, prefix: 'p' })).toBe(
        [
          'type: S3',
          'config:',
          '  bucket: "other"',
          `  endpoint: "${s3.endpoint}"`,
          '  access_key: S3RVER',
          '  secret_key: S3RVER',
          '  insecure: true',
          '  max_retries: 1',
          'prefix: "p"',
          '',
        ].join('\n'),
      );
    } finally {
      await s3.stop();
    }
  });

  it('runs in a child process and creates buckets on demand', async () => {
    const s3 = await startS3Server({ childProcess: true });
    const client = sdkClient(s3);
    try {
      await s3.createBucket('fresh');
      await expect(s3.createBucket('fresh')).rejects.toThrow(/^create bucket fresh: 409: [\s\S]*BucketAlreadyExists/);
      await client.send(new PutObjectCommand({ Bucket: 'fresh', Key: 'k', Body: 'v' }));
      const got = await client.send(new GetObjectCommand({ Bucket: 'fresh', Key: 'k' }));
      expect(await got.Body!.transformToString()).toBe('v');
      expect((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))).KeyCount).toBe(0);
    } finally {
      client.destroy();
      await s3.stop();
    }
    await expect(fetch(s3.url)).rejects.toThrow();
  });
});
