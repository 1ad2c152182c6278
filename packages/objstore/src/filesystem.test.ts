import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterAll, describe, expect, it } from 'vitest';

import { describeBucketContract, list } from './bucket.contract.js';
import { isObjectNotFound } from './errors.js';
import { FilesystemBucket } from './filesystem.js';
import { getBytes } from './helpers.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'objstore-fs-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describeBucketContract('FILESYSTEM', async () => new FilesystemBucket(await tempDir()));

describe('FilesystemBucket', () => {
  it('resolves the directory to an absolute path', async () => {
    const bkt = new FilesystemBucket('relative/dir');
    expect(bkt.name()).toBe(`fs: ${join(process.cwd(), 'relative/dir')}`);
  });

  it('rejects object names that could leave the root', async () => {
    const root = await tempDir();
    const bkt = new FilesystemBucket(join(root, 'bucket'));
    for (const name of ['../escape', 'a/../../escape', 'a/./b', '/abs', 'a//b', 'trailing/']) {
      const err = await bkt.upload(name, Buffer.from('x')).catch((e: unknown) => e);
      expect((err as Error).message, name).toMatch(/^upload .*: invalid object name/);
      await expect(bkt.get(name)).rejects.toThrow(/invalid object name/);
      await expect(bkt.delete(name)).rejects.toThrow(/invalid object name/);
    }
    await expect(bkt.iter('../', () => {})).rejects.toThrow(/^iter \.\.\/: invalid object name/);
    expect(await readdir(root)).toEqual([]);
  });

  it('hides an in-flight upload from readers and listings', async () => {
    const bkt = new FilesystemBucket(await tempDir());
    const body = new PassThrough();
    const done = bkt.upload('new/obj', body);
    body.write(Buffer.alloc(50_000, 1));
    await new Promise((r) => setTimeout(r, 20));
    // The temporary file exists by now but is invisible.
    expect(await bkt.exists('new/obj')).toBe(false);
    expect(await list(bkt, '')).toEqual([]);
    expect(await list(bkt, '', { recursive: true })).toEqual([]);
    await expect(bkt.get('new/obj')).rejects.toSatisfy(isObjectNotFound);
    body.end(Buffer.alloc(50_000, 2));
    await done;
    expect((await getBytes(bkt, 'new/obj')).length).toBe(100_000);
  });

  it('keeps serving the old content to a reader opened before an overwrite', async () => {
    const bkt = new FilesystemBucket(await tempDir());
    await bkt.upload('obj', Buffer.alloc(300_000, 'a'));
    const reader = await bkt.get('obj');
    await bkt.upload('obj', Buffer.alloc(10, 'b'));
    const chunks: Buffer[] = [];
    for await (const c of reader) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(Buffer.alloc(300_000, 'a'))).toBe(true);
  });

  it('leaves no temporary file behind after a failed upload', async () => {
    const root = await tempDir();
    const bkt = new FilesystemBucket(root);
    const body = new PassThrough();
    const done = bkt.upload('d/obj', body);
    body.write('partial');
    body.destroy(new Error('client went away'));
    await expect(done).rejects.toThrow('upload d/obj: client went away');
    expect(await readdir(join(root, 'd'))).toEqual([]);
  });

  it('skips empty directories and prunes them on delete', async () => {
    const root = await tempDir();
    const bkt = new FilesystemBucket(root);
    await mkdir(join(root, 'empty/nested'), { recursive: true });
    await bkt.upload('a/b/c', Buffer.from('x'));
    expect(await list(bkt, '')).toEqual(['a/']);
    expect(await list(bkt, '', { recursive: true })).toEqual(['a/b/c']);
    await bkt.delete('a/b/c');
    expect(await readdir(root)).toEqual(['empty']);
  });

  it('treats directories as missing objects', async () => {
    const root = await tempDir();
    const bkt = new FilesystemBucket(root);
    await bkt.upload('dir/obj', Buffer.from('x'));
    await expect(bkt.get('dir')).rejects.toSatisfy(isObjectNotFound);
    await expect(bkt.attributes('dir')).rejects.toSatisfy(isObjectNotFound);
    await bkt.delete('dir'); // no-op, like S3
    expect(await bkt.exists('dir/obj')).toBe(true);
  });

  it('lists files placed in the directory by other means', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'outside'), 'x');
    expect(await list(new FilesystemBucket(root), '')).toEqual(['outside']);
  });
});
