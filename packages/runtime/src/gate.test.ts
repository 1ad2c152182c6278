import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Gate } from './gate.js';

describe('Gate', () => {
  it('lets n hold at once and passes turns on in order', async () => {
    const g = new Gate(2);
    await g.acquire();
    await g.acquire();
    const order: number[] = [];
    const a = g.acquire().then(() => order.push(1));
    const b = g.acquire().then(() => order.push(2));
    expect(g.queued).toBe(2);
    g.release();
    g.release();
    await Promise.all([a, b]);
    expect(order).toEqual([1, 2]);
    expect(g.inFlight).toBe(2);
  });

  it('tryAcquire takes a free turn and refuses when all are held', async () => {
    const g = new Gate(1);
    expect(g.tryAcquire()).toBe(true);
    expect(g.tryAcquire()).toBe(false);
    const next = g.acquire();
    g.release();
    await next;
    expect(g.inFlight).toBe(1);
    g.release();
    expect(g.tryAcquire()).toBe(true);
  });

  it('listens once per signal however many wait on it, and an abort rejects just those', async () => {
    const g = new Gate(1);
    await g.acquire();
    const ac = new AbortController();
    const waits = Array.from({ length: 50 }, () => g.acquire(ac.signal));
    const other = g.acquire();
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort(new Error('client went away'));
    for (const w of waits) await expect(w).rejects.toThrow('client went away');
    expect(g.queued).toBe(1);
    g.release();
    await other;
    expect(g.queued).toBe(0);
  });

  it('stops listening once no waiter needs the signal', async () => {
    const g = new Gate(1);
    await g.acquire();
    const ac = new AbortController();
    const w = g.acquire(ac.signal);
    g.release();
    await w;
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});
