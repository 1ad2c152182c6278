import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeBucketContract, list } from './bucket.contract.js';
import { bucketFromConfig, bucketFromFlags, parseBucketConfig } from './config.js';
import { FilesystemBucket } from './filesystem.js';
import { getBytes } from './helpers.js';
import { PrefixedBucket } from './prefixed-bucket.js';
import { S3Bucket } from './s3.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'objstore-config-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirs = 0;
describeBucketContract('FILESYSTEM with prefix', () =>
  bucketFromConfig(`type: filesystem\nconfig:\n  directory: ${root}/contract-${++dirs}\nprefix: /tenant/a/\n`),
);

describe('parseBucketConfig', () => {
  it('reads type, config and prefix, trimming slashes from the prefix', () => {
    expect(parseBucketConfig('type: S3\nconfig: {bucket: b}\nprefix: /x/y/\n')).toEqual({
      type: 'S3',
      config: { bucket: 'b' },
      prefix: 'x/y',
    });
    expect(parseBucketConfig('type: FILESYSTEM').prefix).toBe('');
  });

  it.each([
    ['type: S3\ntypo: 1', 'objstore config: unknown key "typo" at top level'],
    ['config: {}', 'objstore config: type is required (supported: FILESYSTEM, S3, AZURE)'],
    ['', 'objstore config: type is required (supported: FILESYSTEM, S3, AZURE)'],
    ['- a\n- b', 'objstore config: top level: expected a mapping, got a list'],
    ['type: S3\nconfig: [1]', 'objstore config: config: expected a mapping, got a list'],
    ['type: [S3]', 'objstore config: type: expected a string, got a list'],
    ['type: S3\nprefix: {a: 1}', 'objstore config: prefix: expected a string, got a mapping'],
    ['type: S3\ntype: GCS', /^objstore config: parse yaml: Map keys must be unique/],
    ['type: [S3', /^objstore config: parse yaml: /],
  ])('rejects %j', (yaml, want) => {
    expect(() => parseBucketConfig(yaml)).toThrow(want);
    try {
      parseBucketConfig(yaml);
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

describe('bucketFromConfig', () => {
  it('creates buckets by case-insensitive type', async () => {
    const fs = await bucketFromConfig(`type: FileSystem\nconfig:\n  directory: ${root}/fs`);
    expect(fs).toBeInstanceOf(FilesystemBucket);
    expect(fs.name()).toBe(`fs: ${root}/fs`);
    const s3 = await bucketFromConfig('type: s3\nconfig: {bucket: b, endpoint: "127.0.0.1:9000", insecure: true}');
    expect(s3).toBeInstanceOf(S3Bucket);
    expect(s3.name()).toBe('b');
    await s3.close();
  });

  it('accepts an already parsed config', async () => {
    const bkt = await bucketFromConfig({ type: 'FILESYSTEM', config: { directory: `${root}/obj` }, prefix: 'p' });
    expect(bkt).toBeInstanceOf(PrefixedBucket);
  });

  it('stores prefixed objects under prefix/ and hides the prefix from callers', async () => {
    const dir = `${root}/prefixed`;
    const bkt = await bucketFromConfig(`type: FILESYSTEM\nconfig: {directory: ${dir}}\nprefix: "/tenant/"`);
    await bkt.upload('01H/meta.json', Buffer.from('{}'));
    expect(await readdir(`${dir}/tenant/01H`)).toEqual(['meta.json']);
    expect(await list(bkt, '')).toEqual(['01H/']);
    expect(await list(bkt, '01H')).toEqual(['01H/meta.json']);
    expect(await list(bkt, '', { recursive: true })).toEqual(['01H/meta.json']);
    const raw = new FilesystemBucket(dir);
    expect(await list(raw, '', { recursive: true })).toEqual(['tenant/01H/meta.json']);
    expect(Buffer.from(await getBytes(bkt, '01H/meta.json')).toString()).toBe('{}');
    // Not-found errors name the real object.
    await expect(bkt.get('missing')).rejects.toThrow('get tenant/missing: object not found');
  });

  it('treats a prefix of only slashes as no prefix', async () => {
    const bkt = await bucketFromConfig(`type: FILESYSTEM\nconfig: {directory: ${root}/slashes}\nprefix: "//"`);
    expect(bkt).toBeInstanceOf(FilesystemBucket);
  });

  it.each([
    ['type: GCS\nconfig: {bucket: b}', 'objstore config: type "GCS" is not supported yet (supported: FILESYSTEM, S3, AZURE)'],
    ['type: azure', 'objstore config: AZURE: storage_account is required'],
    ['type: SWIFT', 'objstore config: type "SWIFT" is not supported yet (supported: FILESYSTEM, S3, AZURE)'],
    ['type: DROPBOX', 'objstore config: unknown type "DROPBOX" (supported: FILESYSTEM, S3, AZURE)'],
    ['type: FILESYSTEM', 'objstore config: FILESYSTEM: directory is required'],
    ['type: FILESYSTEM\nconfig: {directory: ""}', 'objstore config: FILESYSTEM: directory is required'],
    ['type: S3\nconfig: {bucket: b}', 'objstore config: S3: endpoint is required'],
    ['type: S3\nconfig: {bucket: b, endpoint: x, typo: 1}', 'objstore config: S3: unknown key "typo" in config'],
  ])('rejects %j', async (yaml, want) => {
    await expect(bucketFromConfig(yaml)).rejects.toThrow(want);
  });

  it('parses the FILESYSTEM config leniently, logging unknown keys', async () => {
    const warns: unknown[] = [];
    const logger = { debug: () => {}, warn: (obj: object) => void warns.push(obj) };
    await bucketFromConfig(`type: FILESYSTEM\nconfig: {directory: ${root}/lenient, extra: 1}`, { logger });
    expect(warns).toEqual([{ key: 'extra' }]);
  });
});

describe('bucketFromFlags', () => {
  it('reads the config file or the inline config', async () => {
    const file = join(root, 'objstore.yml');
    await writeFile(file, `type: FILESYSTEM\nconfig:\n  directory: ${root}/from-file\n`);
    expect((await bucketFromFlags({ configFile: file })).name()).toBe(`fs: ${root}/from-file`);
    const inline = `type: FILESYSTEM\nconfig: {directory: ${root}/inline}`;
    expect((await bucketFromFlags({ config: inline })).name()).toBe(`fs: ${root}/inline`);
    // Empty values count as not given, as with Thanos's flags.
    expect((await bucketFromFlags({ configFile: '', config: inline })).name()).toBe(`fs: ${root}/inline`);
  });

  it.each([
    [{}, 'objstore config: one of --objstore.config-file or --objstore.config is required'],
    [{ configFile: '', config: '  \n' }, 'objstore config: one of --objstore.config-file or --objstore.config is required'],
    [{ configFile: 'a.yml', config: 'type: S3' }, 'objstore config: both --objstore.config-file and --objstore.config are set; use only one'],
    [{ configFile: '/nonexistent/objstore.yml' }, /^objstore config: read --objstore.config-file \/nonexistent\/objstore.yml: ENOENT/],
  ])('rejects %j', async (flags, want) => {
    await expect(bucketFromFlags(flags)).rejects.toThrow(want);
  });

  it('rejects an empty config file', async () => {
    const file = join(root, 'empty.yml');
    await writeFile(file, '\n');
    await expect(bucketFromFlags({ configFile: file })).rejects.toThrow(`objstore config: --objstore.config-file ${file} is empty`);
  });
});
