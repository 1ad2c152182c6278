import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { listensOn, portFree } from './local-ports.js';

const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

function listen(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    servers.push(srv);
    srv.listen(0, host, () => resolve((srv.address() as AddressInfo).port));
  });
}

describe('portFree', () => {
  it('is false while something listens on the port, on loopback or on every address', async () => {
    expect(await portFree(await listen())).toBe(false);
    expect(await portFree(await listen('0.0.0.0'))).toBe(false);
  });
  it('is true for a port nobody listens on', async () => {
    const port = await listen();
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(await portFree(port)).toBe(true);
  });
});

describe.runIf(existsSync('/proc/net/tcp'))('listensOn', () => {
  it('tells the process listening on a port from any other', async () => {
    const port = await listen();
    expect(await listensOn(process.pid, port)).toBe(true);
    const other = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      expect(await listensOn(other.pid!, port)).toBe(false);
    } finally {
      other.kill();
    }
    const unused = await listen();
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(await listensOn(process.pid, unused)).toBe(false);
  });
});
