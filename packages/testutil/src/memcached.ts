// A real memcached (Debian's /usr/bin/memcached) for the cache tests: TCP only on
// 127.0.0.1 (-U 0 turns UDP off), on a free port or the port given, so a test can stop
// it and start it again where clients expect it.

import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { freePort } from './net.js';
import { killNow, LogBuffer, spawnTracked } from './process.js';
import { waitFor } from './wait-for.js';

export interface MemcachedOptions {
  /** Listen on this port (default: a free one). */
  port?: number;
  /** -m: memory for items in megabytes (default 64). */
  memoryMB?: number;
  /** -I: largest item memcached accepts, e.g. '1m' (its default). */
  maxItemSize?: string;
}

export interface MemcachedInstance {
  /** 127.0.0.1:PORT */
  address: string;
  port: number;
  /** Kills memcached (SIGKILL, as a crash would) and waits until it is gone. */
  stop(): Promise<void>;
}

const BINARY = '/usr/bin/memcached';

/** Starts memcached and resolves once it answers `version`. */
export async function startMemcached(opts: MemcachedOptions = {}): Promise<MemcachedInstance> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} not found; install it with \`apt-get install memcached\``);
  const port = opts.port ?? (await freePort());
  const args = ['-U', '0', '-l', '127.0.0.1', '-p', String(port), '-m', String(opts.memoryMB ?? 64)];
  if (opts.maxItemSize !== undefined) args.push('-I', opts.maxItemSize);
  // memcached refuses to run as root without being told which user to be.
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const log = new LogBuffer(64 * 1024);
  const child = spawnTracked(BINARY, args, log);
  const died = new AbortController();
  child.once('exit', (code, sig) => died.abort(new Error(`memcached exited (${code ?? sig}): ${log.toString()}`)));
  const address = `127.0.0.1:${port}`;
  try {
    await waitFor(() => answersVersion(port), { what: `memcached on ${address}`, timeoutMs: 10_000, intervalMs: 50, signal: died.signal });
  } catch (err) {
    await killNow(child);
    throw err;
  }
  return { address, port, stop: () => killNow(child) };
}

function answersVersion(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.setTimeout(1000, () => s.destroy());
    s.on('connect', () => s.write('version\r\n'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) {
        s.end();
        resolve(got.startsWith('VERSION '));
      }
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(got.startsWith('VERSION ')));
  });
}
