import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@thanos-ts/testutil';

import { describeBucketContract, list } from './bucket.contract.js';
import { isObjectNotFound } from './errors.js';
import { FilesystemBucket } from './filesystem.js';
import { getBytes, getRangeBytes } from './helpers.js';

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

describe('FilesystemBucket: kept file handles', () => {
  const range = async (bkt: FilesystemBucket, name: string, off: number, len?: number): Promise<string> =>
    Buffer.from(await getRangeBytes(bkt, name, off, len)).toString();
  const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

  it('reuses one handle for the ranged reads of a file and closes it on close()', async () => {
    const root = await tempDir();
    const bkt = new FilesystemBucket(root);
    await bkt.upload('a/obj', Buffer.from('0123456789'));
    const before = await openFds();
    const got = await Promise.all(Array.from({ length: 50 }, (_, i) => range(bkt, 'a/obj', i % 10, 1)));
    expect(got.join('')).toBe('0123456789'.repeat(5));
    expect(await openFds()).toBe(before + 1);
    await bkt.close();
    expect(await openFds()).toBe(before);
  });

  it('sees an upload or a delete through the same bucket at once', async () => {
    const bkt = new FilesystemBucket(await tempDir(), { handles: { revalidateMs: 60_000 } });
    await bkt.upload('obj', Buffer.from('old content'));
    expect(await range(bkt, 'obj', 0, 3)).toBe('old');
    await bkt.upload('obj', Buffer.from('new content'));
    expect(await range(bkt, 'obj', 0, 3)).toBe('new');
    await bkt.delete('obj');
    await expect(bkt.getRange('obj', 0, 3)).rejects.toSatisfy(isObjectNotFound);
    await bkt.close();
  });

  it('notices a file replaced or deleted by another writer once the revalidation window passes', async () => {
    const root = await tempDir();
    const reader = new FilesystemBucket(root, { handles: { revalidateMs: 0 } });
    const other = new FilesystemBucket(root);
    await other.upload('b/obj', Buffer.from('first'));
    expect(await range(reader, 'b/obj', 0, 5)).toBe('first');
    await other.upload('b/obj', Buffer.from('second'));
    await new Promise((r) => setTimeout(r, 5));
    expect(await range(reader, 'b/obj', 0, 6)).toBe('second');
    await other.delete('b/obj');
    await new Promise((r) => setTimeout(r, 5));
    await expect(reader.getRange('b/obj', 0, 6)).rejects.toSatisfy(isObjectNotFound);
    // Within the window a kept handle still serves the file it has open, as a reader
    // opened before the change would.
    const lazy = new FilesystemBucket(root, { handles: { revalidateMs: 60_000 } });
    await other.upload('c', Buffer.from('kept'));
    expect(await range(lazy, 'c', 0)).toBe('kept');
    await other.delete('c');
    expect(await range(lazy, 'c', 0)).toBe('kept');
    await Promise.all([reader.close(), other.close(), lazy.close()]);
  });

  it('keeps at most maxOpen handles and closes idle ones', async () => {
    const root = await tempDir();
    const bkt = new FilesystemBucket(root, { handles: { maxOpen: 2, idleMs: 30 } });
    for (let i = 0; i < 6; i++) await bkt.upload(`f${i}`, Buffer.from(`file-${i}`));
    const before = await openFds();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 6; i++) expect(await range(bkt, `f${i}`, 5)).toBe(String(i));
    }
    expect(await openFds()).toBe(before + 2);
    // Idle for idleMs (30): closed by the next sweep, however loaded the machine is.
    await waitFor(async () => (await openFds()) === before, { timeoutMs: 5000, intervalMs: 10, what: `open descriptors back to ${before}` });
    expect(await range(bkt, 'f3', 0)).toBe('file-3');
    await bkt.close();
  });

  it('streams long ranges from a kept handle and gives it back when destroyed early', async () => {
    const bkt = new FilesystemBucket(await tempDir(), { handles: { maxOpen: 0 } });
    const data = Buffer.alloc(9 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    await bkt.upload('big', data);
    const before = await openFds();
    const got = Buffer.from(await getRangeBytes(bkt, 'big', 100, 6 * 1024 * 1024));
    expect(got.equals(data.subarray(100, 100 + 6 * 1024 * 1024))).toBe(true);
    expect(Buffer.from(await getRangeBytes(bkt, 'big', 8 * 1024 * 1024)).equals(data.subarray(8 * 1024 * 1024))).toBe(true);
    const stream = await bkt.getRange('big', 0, 8 * 1024 * 1024);
    for await (const piece of stream) {
      expect((piece as Buffer).length).toBeGreaterThan(0);
      break; // destroys the stream
    }
    // maxOpen 0: nothing is kept, and the early exit closes its handle too (the close
    // goes through the thread pool: on a loaded machine it can take longer than 20 ms).
    await waitFor(async () => (await openFds()) === before, { timeoutMs: 5000, intervalMs: 10, what: `open descriptors back to ${before}` });
    expect(await openFds()).toBe(before);
    await expect(bkt.getRange('missing', 0, 5 * 1024 * 1024)).rejects.toSatisfy(isObjectNotFound);
    await bkt.upload('dir/x', Buffer.from('x'));
    await expect(bkt.getRange('dir', 0, 1)).rejects.toSatisfy(isObjectNotFound);
  });
});
