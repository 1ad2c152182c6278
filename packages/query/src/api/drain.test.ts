import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { drainedOrClosed } from './drain.js';

/** A writable that holds every chunk until release() is called. */
function slowSink(): { w: Writable; release: () => void } {
  let pending: (() => void)[] = [];
  const w = new Writable({
    highWaterMark: 16,
    write(_chunk, _enc, cb) {
      pending.push(cb);
    },
  });
  return {
    w,
    release: () => {
      const p = pending;
      pending = [];
      for (const cb of p) cb();
    },
  };
}

describe('drainedOrClosed', () => {
  it('leaves no listeners behind after many waits for drain', async () => {
    const { w, release } = slowSink();
    const base = { drain: w.listenerCount('drain'), close: w.listenerCount('close'), error: w.listenerCount('error') };
    for (let i = 0; i < 50; i++) {
      expect(w.write(Buffer.alloc(64))).toBe(false);
      const wait = drainedOrClosed(w, w);
      setImmediate(release);
      await wait;
    }
    expect({ drain: w.listenerCount('drain'), close: w.listenerCount('close'), error: w.listenerCount('error') }).toEqual(base);
  });

  it('resolves when the response closes before draining, and at once when it is gone', async () => {
    const out = new PassThrough({ highWaterMark: 16 });
    const res = new PassThrough();
    expect(out.write(Buffer.alloc(64))).toBe(false);
    const wait = drainedOrClosed(out, res);
    res.destroy();
    await wait;
    expect(out.listenerCount('drain')).toBe(0);
    await drainedOrClosed(out, res);
  });
});
