import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { Bucket, IterOptions } from './bucket.js';
import { ObjectNotFoundError, isObjectNotFound } from './errors.js';
import { getBytes, getRangeBytes } from './helpers.js';
import { readAll } from './streams.js';

export interface ContractOptions {
  /** Objects per listing page of the backend; the paging test writes one more. */
  listPageSize?: number;
  /**
   * Whether recursive listings come in key order. True for real S3 and the
   * filesystem; s3rver lists recursively in the order it walks its directories.
   */
  recursiveKeyOrder?: boolean;
}

/**
 * describeBucketContract runs the behaviour every Bucket must share against
 * buckets made by factory, a fresh empty one per test. It follows Thanos's
 * objstore acceptance test where that test pins behaviour down.
 */
export function describeBucketContract(name: string, factory: () => Promise<Bucket>, opts: ContractOptions = {}): void {
  describe(`${name}: bucket contract`, () => {
    let bkt: Bucket;
    beforeEach(async () => {
      bkt = await factory();
    });
    afterEach(async () => {
      await bkt.close();
    });

    it('round-trips binary data from bytes and from streams', async () => {
      const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(200_000)]);
      await bkt.upload('a/bytes', data);
      await bkt.upload('a/stream', chunked(data, 7_777));
      await bkt.upload('a/sized', chunked(data, 65_536), { size: data.length });
      await bkt.upload('a/uint8', new Uint8Array(data.buffer, data.byteOffset, data.length));
      for (const n of ['a/bytes', 'a/stream', 'a/sized', 'a/uint8']) {
        expect(Buffer.from(await getBytes(bkt, n)).equals(data), n).toBe(true);
      }
      // The raw stream works too, not just the helper.
      const chunks: Buffer[] = [];
      for await (const c of await bkt.get('a/bytes')) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
    });

    it('reads ranges', async () => {
      const data = randomBytes(100_000);
      await bkt.upload('obj', data);
      const cases: [number, number | undefined, Buffer][] = [
        [0, 10, data.subarray(0, 10)],
        [0, 1, data.subarray(0, 1)],
        [500, 1_000, data.subarray(500, 1_500)],
        [99_990, -1, data.subarray(99_990)],
        [99_990, undefined, data.subarray(99_990)],
        [0, -1, data],
        [99_990, 1_000, data.subarray(99_990)], // length past the end
        [100_000, 10, Buffer.alloc(0)], // offset at the end
        [200_000, 10, Buffer.alloc(0)], // offset past the end
        [5, 0, Buffer.alloc(0)],
      ];
      for (const [off, len, want] of cases) {
        const got = Buffer.from(await getRangeBytes(bkt, 'obj', off, len));
        expect(got.length, `[${off}, ${len})`).toBe(want.length);
        expect(got.equals(want), `[${off}, ${len})`).toBe(true);
        // The stream and, where the backend has one, the bytes fast path agree.
        expect(Buffer.from(await readAll(await bkt.getRange('obj', off, len))).equals(want), `stream [${off}, ${len})`).toBe(true);
        if (bkt.readRange !== undefined && len !== undefined && len >= 0) {
          const seen = await bkt.readRange('obj', off, len, (b) => Buffer.from(b));
          expect(seen.equals(want), `readRange [${off}, ${len})`).toBe(true);
        }
      }
      if (bkt.readRange !== undefined) {
        // What `use` throws comes out as it is, not as a bucket error.
        const mine = new Error('mine');
        await expect(bkt.readRange('obj', 0, 10, () => { throw mine; })).rejects.toBe(mine);
        await expect(bkt.readRange('missing/obj', 0, 10, () => 1)).rejects.toBeInstanceOf(ObjectNotFoundError);
      }
      if (bkt.readRanges !== undefined) {
        // Many ranges in one call, in order, past the end cut short; more than one turn's worth.
        const starts: number[] = [];
        const ends: number[] = [];
        for (let i = 0; i < 2500; i++) {
          const at = (i * 7919) % 100_000;
          starts.push(at);
          ends.push(at + 1 + (i % 50));
        }
        starts.push(99_995, 100_000);
        ends.push(100_010, 100_004);
        const seen: number[] = [];
        await bkt.readRanges('obj', starts, ends, (i, b) => {
          seen.push(i);
          expect(Buffer.from(b).equals(data.subarray(starts[i], Math.min(ends[i], data.length))), `readRanges ${i}`).toBe(true);
        });
        expect(seen).toEqual(starts.map((_, i) => i));
        const mine = new Error('mine');
        await expect(bkt.readRanges('obj', [0, 5], [3, 9], () => { throw mine; })).rejects.toBe(mine);
        await expect(bkt.readRanges('missing/obj', [0], [10], () => {})).rejects.toBeInstanceOf(ObjectNotFoundError);
      }
    });

    it('stops a ranged read early when the stream is destroyed', async () => {
      await bkt.upload('big', randomBytes(1_000_000));
      const r = await bkt.getRange('big', 10, 900_000);
      const first = await new Promise<Buffer>((resolve, reject) => {
        r.once('data', resolve);
        r.once('error', reject);
      });
      expect(first.length).toBeGreaterThan(0);
      r.destroy();
      // The bucket stays usable afterwards.
      expect(Buffer.from(await getRangeBytes(bkt, 'big', 0, 3)).length).toBe(3);
    });

    it('handles empty objects', async () => {
      await bkt.upload('empty', Buffer.alloc(0));
      await bkt.upload('empty-stream', Readable.from([]));
      for (const n of ['empty', 'empty-stream']) {
        expect((await getBytes(bkt, n)).length).toBe(0);
        expect((await bkt.attributes(n)).size).toBe(0);
        expect(await bkt.exists(n)).toBe(true);
      }
      expect((await getRangeBytes(bkt, 'empty', 0, 10)).length).toBe(0);
    });

    it('reports existence and attributes', async () => {
      const before = Date.now();
      await bkt.upload('dir/obj', Buffer.from('@test-data@'));
      const after = Date.now();
      expect(await bkt.exists('dir/obj')).toBe(true);
      expect(await bkt.exists('dir/missing')).toBe(false);
      expect(await bkt.exists('dir')).toBe(false); // a directory is not an object
      const attrs = await bkt.attributes('dir/obj');
      expect(attrs.size).toBe(11);
      // S3 has second resolution.
      expect(attrs.lastModified.getTime()).toBeGreaterThanOrEqual(before - 2_000);
      expect(attrs.lastModified.getTime()).toBeLessThanOrEqual(after + 2_000);
    });

    it('overwrites objects', async () => {
      await bkt.upload('x', Buffer.from('first version'));
      await bkt.upload('x', Buffer.from('second'));
      expect(Buffer.from(await getBytes(bkt, 'x')).toString()).toBe('second');
      expect((await bkt.attributes('x')).size).toBe(6);
    });

    it('deletes objects, and deleting a missing object succeeds', async () => {
      await bkt.upload('d/one', Buffer.from('1'));
      await bkt.upload('d/two', Buffer.from('2'));
      await bkt.delete('d/one');
      expect(await bkt.exists('d/one')).toBe(false);
      expect(await bkt.exists('d/two')).toBe(true);
      await expect(bkt.get('d/one')).rejects.toBeInstanceOf(ObjectNotFoundError);
      await bkt.delete('d/one');
      await bkt.delete('never/existed');
      await bkt.delete('d/two');
      expect(await list(bkt, '')).toEqual([]);
    });

    it('throws ObjectNotFoundError for missing objects', async () => {
      await bkt.upload('present', Buffer.from('x'));
      const attempts: [string, () => Promise<unknown>][] = [
        ['get', () => bkt.get('missing/obj')],
        ['get range', () => bkt.getRange('missing/obj', 8, 1024)],
        ['get range', () => bkt.getRange('missing/obj', 0, 0)],
        ['get range', () => getRangeBytes(bkt, 'missing/obj', 8, 1024)],
        ['get range', () => getRangeBytes(bkt, 'missing/obj', 0, 0)],
        ['attributes', () => bkt.attributes('missing/obj')],
        ['get', () => bkt.get('present/under-a-file')],
      ];
      for (const [op, attempt] of attempts) {
        const err = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, op).toBeInstanceOf(ObjectNotFoundError);
        expect(isObjectNotFound(err)).toBe(true);
        expect(isObjectNotFound(new Error('wrapped', { cause: err }))).toBe(true);
        expect((err as Error).message).toMatch(new RegExp(`^${op} \\S*(missing/obj|present/under-a-file)\\b.*: object not found$`));
      }
      const ranged = await bkt.getRange('missing/obj', 8, 1024).catch((e: unknown) => e);
      expect((ranged as Error).message).toContain('missing/obj [8, 1032): object not found');
      expect(isObjectNotFound(new Error('other'))).toBe(false);
    });

    it('rejects invalid arguments with errors that are not not-found', async () => {
      const bad = [
        () => bkt.get(''),
        () => bkt.getRange('x', -1, 10),
        () => bkt.getRange('x', 0, -2),
        () => bkt.getRange('x', 1.5, 10),
      ];
      for (const attempt of bad) {
        const err = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(Error);
        expect(isObjectNotFound(err)).toBe(false);
      }
    });

    it('iterates directories flat and recursively', async () => {
      const objects = [
        'id1/obj_1.some',
        'id1/obj_2.some',
        'id1/obj_3.some',
        'id1/sub/subobj_1.some',
        'id1/sub/subobj_2.some',
        'id2/obj_4.some',
        'obj_5.some',
      ];
      for (const o of objects) await bkt.upload(o, Buffer.from(`@${o}@`));

      expect(await list(bkt, '')).toEqual(['id1/', 'id2/', 'obj_5.some']);
      expect(await list(bkt, '', { recursive: true })).toEqual(objects);
      const id1 = ['id1/obj_1.some', 'id1/obj_2.some', 'id1/obj_3.some', 'id1/sub/'];
      expect(await list(bkt, 'id1/')).toEqual(id1);
      expect(await list(bkt, 'id1')).toEqual(id1);
      expect(await list(bkt, 'id1/', { recursive: true })).toEqual(objects.slice(0, 5));
      expect(await list(bkt, 'id1', { recursive: true })).toEqual(objects.slice(0, 5));
      expect(await list(bkt, 'id1/sub')).toEqual(['id1/sub/subobj_1.some', 'id1/sub/subobj_2.some']);
      expect(await list(bkt, 'id0')).toEqual([]);
      expect(await list(bkt, 'obj_5.some')).toEqual([]);

      await bkt.delete('id2/obj_4.some');
      expect(await list(bkt, '')).toEqual(['id1/', 'obj_5.some']);
    });

    it('orders directories as S3 orders keys', async () => {
      // '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f), '0' (0x30) after.
      for (const o of ['a/x', 'a-b', 'a.c', 'a0', 'b']) await bkt.upload(o, Buffer.from(o));
      expect(await list(bkt, '')).toEqual(['a-b', 'a.c', 'a/', 'a0', 'b']);
      const all = await list(bkt, '', { recursive: true });
      if (opts.recursiveKeyOrder === false) all.sort();
      expect(all).toEqual(['a-b', 'a.c', 'a/x', 'a0', 'b']);
    });

    it('awaits the callback and stops at its first error', async () => {
      for (const o of ['k1', 'k2', 'k3']) await bkt.upload(o, Buffer.from(o));
      const seen: string[] = [];
      let active = 0;
      await bkt.iter('', async (n) => {
        expect(++active).toBe(1);
        await new Promise((r) => setTimeout(r, 5));
        seen.push(n);
        active--;
      });
      expect(seen).toEqual(['k1', 'k2', 'k3']);

      const stop = new Error('stop here');
      const visited: string[] = [];
      const err = await bkt
        .iter('', (n) => {
          visited.push(n);
          if (n === 'k2') throw stop;
        })
        .catch((e: unknown) => e);
      expect(err).toBe(stop);
      expect(visited).toEqual(['k1', 'k2']);
    });

    it('iterates past one listing page', async () => {
      const n = (opts.listPageSize ?? 1000) + 1;
      const names = Array.from({ length: n }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      await runConcurrently(names, 16, (name) => bkt.upload(name, Buffer.from(name)));
      await bkt.upload('many/sub/deep', Buffer.from('deep'));
      expect(await list(bkt, 'many/')).toEqual([...names, 'many/sub/']);
      const all = await list(bkt, '', { recursive: true });
      if (opts.recursiveKeyOrder === false) all.sort();
      expect(all).toEqual([...names, 'many/sub/deep']);
      expect(await list(bkt, '')).toEqual(['many/']);
    });

    it('stores nothing when the upload body fails midway', async () => {
      const boom = new Error('disk on fire');
      const err = await bkt.upload('broken/obj', failingStream(randomBytes(100_000), boom)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^upload \S*broken\/obj: .*disk on fire/);
      expect(isObjectNotFound(err)).toBe(false);
      expect(await bkt.exists('broken/obj')).toBe(false);
      expect(await list(bkt, '', { recursive: true })).toEqual([]);

      // A failed overwrite keeps the previous object.
      await bkt.upload('keep', Buffer.from('old'));
      await expect(bkt.upload('keep', failingStream(Buffer.from('new data'), boom))).rejects.toThrow(/disk on fire/);
      expect(Buffer.from(await getBytes(bkt, 'keep')).toString()).toBe('old');
      expect(await list(bkt, '', { recursive: true })).toEqual(['keep']);
    });

    it('rejects a body whose length differs from the declared size', async () => {
      await expect(bkt.upload('sized', Buffer.from('12345'), { size: 4 })).rejects.toThrow(/upload \S*sized: body has 5 bytes, expected 4/);
      await expect(bkt.upload('sized', chunked(Buffer.from('123'), 1), { size: 4 })).rejects.toThrow(/body has 3 bytes, expected 4/);
      expect(await bkt.exists('sized')).toBe(false);
    });
  });
}

/** list collects iter results. */
export async function list(bkt: Bucket, dir: string, opts?: IterOptions): Promise<string[]> {
  const names: string[] = [];
  await bkt.iter(dir, (n) => void names.push(n), opts);
  return names;
}

/** chunked streams data in pieces of size bytes. */
export function chunked(data: Buffer, size: number): Readable {
  const pieces: Buffer[] = [];
  for (let off = 0; off < data.length; off += size) pieces.push(data.subarray(off, off + size));
  return Readable.from(pieces);
}

/** failingStream yields data, then fails with err. */
export function failingStream(data: Buffer, err: Error): Readable {
  return Readable.from(
    (async function* () {
      yield data;
      await new Promise((r) => setTimeout(r, 1));
      throw err;
    })(),
  );
}

export async function runConcurrently<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
