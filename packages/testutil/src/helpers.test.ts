import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { findBinary, freePort, LogBuffer, removeTempDir, rng, startExporter, tempDir, waitFor } from './index.js';

describe('small helpers', () => {
  it('freePort returns a port that can be listened on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => srv.close(resolve));
  });

  it('tempDir creates and removes directories', async () => {
    const dir = await tempDir('x/y z');
    expect(existsSync(dir)).toBe(true);
    expect(dir).toMatch(/thanos-ts-x_y_z-/);
    await removeTempDir(dir);
    expect(existsSync(dir)).toBe(false);
  });

  it('waitFor returns the value, or times out naming the last error', async () => {
    let n = 0;
    expect(await waitFor(async () => ++n >= 3 && n, { intervalMs: 1 })).toBe(3);
    await expect(
      waitFor(
        async () => {
          throw new Error('nope');
        },
        { timeoutMs: 50, intervalMs: 10, what: 'the thing' },
      ),
    ).rejects.toThrow('timed out after 50 ms waiting for the thing: nope');
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('process died')), 20);
    await expect(waitFor(() => false, { signal: ac.signal, timeoutMs: 10_000 })).rejects.toThrow(
      'gave up waiting for condition: process died',
    );
  });

  it('rng is a deterministic mulberry32 in [0, 1)', () => {
    const a = rng(42);
    const b = rng(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBe(1000);
    expect(rng(1)()).not.toBe(rng(2)());
    // Pinned: tests that generate data from a seed rely on the sequence never changing.
    expect(rng(0)() * 2 ** 32).toBe(0x4434b462);
  });

  it('LogBuffer keeps the tail', () => {
    const b = new LogBuffer(10);
    for (let i = 0; i < 10; i++) b.append(`line${i}\n`);
    expect(b.toString()).toBe('ne8\nline9\n');
  });

  it('findBinary finds prometheus and explains how to install what is missing', () => {
    expect(findBinary('prometheus')).toMatch(/prometheus$/);
    expect(() => findBinary('no-such-binary-xyz')).toThrow('apt-get install prometheus');
  });

  it('startExporter serves /metrics in text format 0.0.4', async () => {
    let v = 0;
    const e = await startExporter(() => `x ${++v}\n`);
    try {
      const r = await fetch(`${e.url}/metrics`);
      expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await r.text()).toBe('x 1\n');
      expect(await (await fetch(`${e.url}/metrics`)).text()).toBe('x 2\n');
      expect((await fetch(`${e.url}/other`)).status).toBe(404);
      expect(e.scrapes()).toBe(2);
    } finally {
      await e.stop();
    }
  });
});
