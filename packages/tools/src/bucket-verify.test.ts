import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketFromConfig, FilesystemBucket } from '@thanos-ts/objstore';
import { nopLogger, UserError } from '@thanos-ts/runtime';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { bucketVerify } from './bucket-verify.js';

afterAll(removeTempDirs);

const opts = { issues: ['index_known_issues', 'overlapped_blocks'], logger: nopLogger() };

describe('bucketVerify on a FILESYSTEM bucket', () => {
  it('fails naming the directory when it does not exist', async () => {
    const dir = join(await tempDir('verify-missing'), 'no', 'such-bucket');
    const err = await bucketVerify(new FilesystemBucket(dir), opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`bucket directory ${dir} does not exist`);
  });

  it('fails through a prefix too, and when the directory is a file', async () => {
    const base = await tempDir('verify-file');
    const missing = join(base, 'missing');
    await expect(bucketVerify(await bucketFromConfig(`type: FILESYSTEM\nconfig:\n  directory: ${missing}\nprefix: tenant-a\n`), opts)).rejects.toThrow(
      `bucket directory ${missing} does not exist`,
    );
    const file = join(base, 'a-file');
    await writeFile(file, 'x');
    await expect(bucketVerify(new FilesystemBucket(file), opts)).rejects.toThrow(`bucket directory ${file} is not a directory`);
  });

  it('finds no problems in an existing empty directory', async () => {
    expect(await bucketVerify(new FilesystemBucket(await tempDir('verify-empty')), opts)).toEqual([]);
  });
});
