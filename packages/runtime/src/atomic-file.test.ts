import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renameDirAtomic, writeFileAtomic } from './atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomic-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A promise and the function that resolves it. */
function latch(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe('writeFileAtomic', () => {
  it('writes bytes, text, iterables, async iterables and streams', async () => {
    const f = join(dir, 'f');
    expect(await writeFileAtomic(f, new Uint8Array([1, 2, 3]))).toBe(3);
    expect([...(await readFile(f))]).toEqual([1, 2, 3]);
    expect(await writeFileAtomic(f, 'héllo')).toBe(6);
    expect(await readFile(f, 'utf8')).toBe('héllo');
    await writeFileAtomic(f, ['a', Buffer.from('b'), 'c']);
    expect(await readFile(f, 'utf8')).toBe('abc');
    await writeFileAtomic(
      f,
      (async function* () {
        yield 'x';
        yield new Uint8Array([0x79]);
      })(),
    );
    expect(await readFile(f, 'utf8')).toBe('xy');
    expect(await writeFileAtomic(f, Readable.from([Buffer.from('stream'), Buffer.from('ed')]))).toBe(8);
    expect(await readFile(f, 'utf8')).toBe('streamed');
    expect(await readdir(dir)).toEqual(['f']);
  });

  it('never shows a partial file: the old content stays until the rename', async () => {
    const f = join(dir, 'meta.json');
    await writeFile(f, 'old');
    const halfway = latch();
    const finish = latch();
    const done = writeFileAtomic(
      f,
      (async function* () {
        yield 'new-';
        halfway.open();
        await finish.wait;
        yield 'content';
      })(),
    );
    await halfway.wait;
    expect(await readFile(f, 'utf8')).toBe('old');
    // The bytes so far sit in a temporary file beside the target.
    const names = await readdir(dir);
    expect(names.length).toBe(2);
    expect(names.find((n) => n !== 'meta.json')).toMatch(/^meta\.json\.tmp-[0-9a-f]{16}$/);
    finish.open();
    await done;
    expect(await readFile(f, 'utf8')).toBe('new-content');
    expect(await readdir(dir)).toEqual(['meta.json']);
  });

  it('removes the temporary file and keeps the old content when the source fails', async () => {
    const f = join(dir, 'index-header');
    await writeFile(f, 'old');
    const failing = (async function* () {
      yield 'partial';
      throw new Error('source broke');
    })();
    await expect(writeFileAtomic(f, failing)).rejects.toThrow('source broke');
    expect(await readFile(f, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['index-header']);
    // A new file that failed does not appear at all.
    await expect(writeFileAtomic(join(dir, 'new'), Readable.from((async function* () {
      yield Buffer.from('x');
      throw new Error('stream broke');
    })()))).rejects.toThrow('stream broke');
    expect(await readdir(dir)).toEqual(['index-header']);
  });

  it('fails on a size mismatch before the rename', async () => {
    const f = join(dir, 'sized');
    await expect(writeFileAtomic(f, 'abcde', { size: 4 })).rejects.toThrow('body has 5 bytes, expected 4');
    await expect(writeFileAtomic(f, Readable.from([Buffer.from('abc')]), { size: 4 })).rejects.toThrow('body has 3 bytes, expected 4');
    expect(await readdir(dir)).toEqual([]);
    expect(await writeFileAtomic(f, 'abcd', { size: 4 })).toBe(4);
  });

  it('stops on abort, destroys a stream source and cleans up', async () => {
    const ac = new AbortController();
    const src = new Readable({ read() {} });
    src.push('first');
    const done = writeFileAtomic(join(dir, 'f'), src, { signal: ac.signal });
    setTimeout(() => {
      ac.abort(new Error('stop'));
      src.push('second');
    }, 20);
    await expect(done).rejects.toThrow('stop');
    expect(src.destroyed).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    await expect(writeFileAtomic(join(dir, 'g'), 'x', { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early');
    expect(await readdir(dir)).toEqual([]);
  });

  it('leaves nothing behind when the target cannot be replaced', async () => {
    const target = join(dir, 'taken');
    await mkdir(join(target, 'sub'), { recursive: true });
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken']);
  });

  it('concurrent writers of one path: the result is one of them whole, no temporary files left', async () => {
    const f = join(dir, 'shared');
    // Each body is big enough to take several writes and unique per writer.
    const bodies = Array.from({ length: 16 }, (_, i) => Buffer.alloc(256 * 1024 + i, 0x41 + i));
    const chunked = async function* (b: Buffer): AsyncGenerator<Uint8Array> {
      for (let o = 0; o < b.length; o += 16 * 1024) yield b.subarray(o, o + 16 * 1024);
    };
    const reader = (async (): Promise<void> => {
      // Whatever a reader sees while the writers race is one body, complete.
      for (let i = 0; i < 50; i++) {
        if (!existsSync(f)) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const got = await readFile(f);
        expect(bodies.some((b) => b.equals(got))).toBe(true);
      }
    })();
    await Promise.all([...bodies.map((b) => writeFileAtomic(f, chunked(b))), reader]);
    const final = await readFile(f);
    expect(bodies.some((b) => b.equals(final))).toBe(true);
    expect(await readdir(dir)).toEqual(['shared']);
  });

  it('creates parent directories, applies the mode and a temporary-name prefix', async () => {
    const f = join(dir, 'a', 'b', 'c');
    await expect(writeFileAtomic(f, 'x')).rejects.toThrow(/ENOENT/);
    await writeFileAtomic(f, 'x', { mkdir: true, mode: 0o600 });
    expect((await stat(f)).mode & 0o777).toBe(0o600);
    const halfway = latch();
    const finish = latch();
    const done = writeFileAtomic(
      join(dir, 'a', 'obj'),
      (async function* () {
        yield 'x';
        halfway.open();
        await finish.wait;
      })(),
      { tmpPrefix: '.objstore-tmp-' },
    );
    await halfway.wait;
    expect((await readdir(join(dir, 'a'))).some((n) => /^\.objstore-tmp-[0-9a-f]{16}$/.test(n))).toBe(true);
    finish.open();
    await done;
    expect((await readdir(join(dir, 'a'))).sort()).toEqual(['b', 'obj']);
  });
});

describe('renameDirAtomic', () => {
  it('moves a written directory into place', async () => {
    const from = join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation');
    await mkdir(from);
    await writeFileAtomic(join(from, 'meta.json'), '{}');
    await renameDirAtomic(from, join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAV'));
    expect(await readdir(dir)).toEqual(['01ARZ3NDEKTSV4RRFFQ69G5FAV']);
    expect(await readFile(join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'meta.json'), 'utf8')).toBe('{}');
  });
});
