import { PassThrough, Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { ObjectReader, readAll, readParts } from './streams.js';

const source = (...chunks: string[]): Readable => Readable.from(chunks.map((c) => Buffer.from(c)));

describe('ObjectReader', () => {
  it('passes a stream through', async () => {
    expect((await readAll(new ObjectReader(source('ab', 'cd'), 'get x'))).toString()).toBe('abcd');
  });

  it('cuts the stream to [skip, skip+limit)', async () => {
    const read = (skip: number, limit: number) => readAll(new ObjectReader(source('abc', 'def', 'ghi'), 'get x', skip, limit));
    expect((await read(0, 1)).toString()).toBe('a');
    expect((await read(2, 5)).toString()).toBe('cdefg');
    expect((await read(3, Infinity)).toString()).toBe('defghi');
    expect((await read(4, 100)).toString()).toBe('efghi');
    expect((await read(20, 5)).toString()).toBe('');
    expect((await read(0, 0)).toString()).toBe('');
  });

  it('destroys the source once the limit is reached', async () => {
    const src = new PassThrough();
    src.write('abcdef');
    const r = new ObjectReader(src, 'get x', 0, 3);
    expect((await readAll(r)).toString()).toBe('abc');
    expect(src.destroyed).toBe(true);
  });

  it('adds context to source errors and to a source cut short', async () => {
    const failing = new PassThrough();
    const r = new ObjectReader(failing, 'get range index [8, 1032)');
    failing.write('ab');
    setImmediate(() => failing.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    const err = await readAll(r).catch((e: unknown) => e);
    expect((err as Error).message).toBe('get range index [8, 1032): aborted');
    expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');

    const cut = new PassThrough();
    const r2 = new ObjectReader(cut, 'get x');
    setImmediate(() => cut.destroy());
    await expect(readAll(r2)).rejects.toThrow(/^get x: Premature close/);
  });

  it('destroys the source when destroyed', () => {
    const src = new PassThrough();
    new ObjectReader(src, 'get x').destroy();
    expect(src.destroyed).toBe(true);
  });
});

describe('readParts', () => {
  it('cuts a stream into full parts and a short last one', async () => {
    const parts: string[] = [];
    for await (const p of readParts(source('abcde', 'fg', 'hijklmn'), 4)) parts.push(p.toString());
    expect(parts).toEqual(['abcd', 'efgh', 'ijkl', 'mn']);
  });

  it('yields nothing for an empty stream, and no empty tail', async () => {
    const count = async (src: Readable) => {
      let n = 0;
      for await (const _ of readParts(src, 4)) n++;
      return n;
    };
    expect(await count(source())).toBe(0);
    expect(await count(source('abcd', 'efgh'))).toBe(2);
  });
});
