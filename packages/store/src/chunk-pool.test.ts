import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChunkPool, ChunkSlabs, SLAB_SIZE } from './chunk-pool.js';
import { RangeCursor } from './range-cursor.js';

describe('ChunkPool and ChunkSlabs', () => {
  it('packs saved bytes into slabs, bounds them by the pool size and reuses them after release', () => {
    const pool = new ChunkPool(3 * SLAB_SIZE);
    const a = new ChunkSlabs(pool);
    const x = a.save(Uint8Array.from([1, 2, 3]));
    const y = a.save(Uint8Array.from([4, 5]));
    expect([...x, ...y]).toEqual([1, 2, 3, 4, 5]);
    expect(x.buffer).toBe(y.buffer);
    expect(pool.inUse).toBe(SLAB_SIZE);
    // A record larger than a slab gets one of its own; the pool refuses what it cannot hold.
    a.save(new Uint8Array(SLAB_SIZE + 1));
    expect(pool.inUse).toBe(2 * SLAB_SIZE + 1);
    expect(() => pool.reserve(SLAB_SIZE)).toThrow(/chunk pool exhausted: 65536 bytes wanted/);
    a.release();
    expect(pool.inUse).toBe(0);
    expect(pool.idleBytes).toBe(SLAB_SIZE);
    const b = new ChunkSlabs(pool);
    expect(b.save(Uint8Array.from([9])).buffer).toBe(x.buffer);
    expect(() => a.save(Uint8Array.from([1]))).toThrow(/Series call has finished/);
  });

  it('gives slabs back only when no load is running', () => {
    const pool = new ChunkPool(1 << 20);
    const s = new ChunkSlabs(pool);
    s.beginLoad();
    s.save(new Uint8Array(10));
    s.release();
    expect(pool.inUse).toBe(SLAB_SIZE);
    // The running load (an abandoned prefetch) may still be copying into what it has; it
    // gets nothing more.
    expect(() => s.save(new Uint8Array(10))).toThrow(/Series call has finished/);
    s.endLoad();
    expect(pool.inUse).toBe(0);
    expect(() => s.beginLoad()).toThrow(/Series call has finished/);
  });
});

describe('RangeCursor', () => {
  const cursor = (pieces: number[][], start: number): { cur: RangeCursor; stream: Readable } => {
    const stream = Readable.from(pieces.map((p) => Uint8Array.from(p)));
    return { cur: new RangeCursor(stream[Symbol.asyncIterator](), start), stream };
  };

  it('skips gaps and copies bytes across pieces', async () => {
    const { cur } = cursor([[10, 11, 12], [13], [14, 15, 16, 17]], 10);
    expect(await cur.skipTo(12)).toBe(true);
    const dst = new Uint8Array(6);
    expect(await cur.read(dst, 1, 4)).toBe(4);
    expect([...dst]).toEqual([0, 12, 13, 14, 15, 0]);
    expect(cur.pos).toBe(16);
    expect(await cur.read(dst, 0, 5)).toBe(2);
    expect(await cur.skipTo(30)).toBe(false);
    expect(cur.received).toBe(8);
  });

  it('stops the source when closed early', async () => {
    const { cur, stream } = cursor([[1], [2], [3]], 0);
    await cur.skipTo(1);
    await cur.close();
    expect(stream.destroyed).toBe(true);
  });
});
