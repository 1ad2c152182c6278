import { afterAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { FilesystemBucket } from './filesystem.js';
import { getBytes, getRangeBytes } from './helpers.js';
import { instrumentBucket } from './instrumented.js';
import { describeBucketContract } from './bucket.contract.js';

afterAll(removeTempDirs);

// The wrapper keeps every promise of the bucket it wraps, fast paths included.
describeBucketContract('FILESYSTEM instrumented', async () => instrumentBucket(new FilesystemBucket(await tempDir('instrumented-contract')), new Registry()));

describe('instrumentBucket', () => {
  it('counts operations, failures and fetched bytes with Thanos metric names', async () => {
    const reg = new Registry();
    const raw = new FilesystemBucket(await tempDir('instrumented'));
    const bkt = instrumentBucket(raw, reg);
    await bkt.upload('a/b', Buffer.from('0123456789'));
    expect(Buffer.from(await getBytes(bkt, 'a/b')).toString()).toBe('0123456789');
    expect(Buffer.from(await getRangeBytes(bkt, 'a/b', 2, 3)).toString()).toBe('234');
    expect(await bkt.exists('a/c')).toBe(false);
    await expect(bkt.attributes('a/missing')).rejects.toThrow();
    await expect(bkt.upload('../escape', Buffer.from('x'))).rejects.toThrow();
    const names: string[] = [];
    await bkt.iter('a', (n) => void names.push(n));
    expect(names).toEqual(['a/b']);
    const text = await reg.metrics();
    const b = raw.name();
    const line = (metric: string, op: string): string => `${metric}{bucket="${b}",operation="${op}"}`;
    expect(text).toContain(`${line('thanos_objstore_bucket_operations_total', 'get')} 1`);
    expect(text).toContain(`${line('thanos_objstore_bucket_operations_total', 'get_range')} 1`);
    expect(text).toContain(`${line('thanos_objstore_bucket_operations_total', 'upload')} 2`);
    expect(text).toContain(`${line('thanos_objstore_bucket_operation_fetched_bytes_total', 'get')} 10`);
    expect(text).toContain(`${line('thanos_objstore_bucket_operation_fetched_bytes_total', 'get_range')} 3`);
    // A missing object is an answer; a refused upload is a failure.
    expect(text).toContain(`${line('thanos_objstore_bucket_operation_failures_total', 'attributes')} 0`);
    expect(text).toContain(`${line('thanos_objstore_bucket_operation_failures_total', 'upload')} 1`);
    expect(text).toMatch(/thanos_objstore_bucket_last_successful_upload_time\{bucket="[^"]+"\} \d/);
  });
});
