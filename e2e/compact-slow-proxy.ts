// A slow front for an S3 server in the compactor's kill -9 test: every mutating
// request (PUT, POST, DELETE) waits `delayMs` before it is forwarded, so a block upload
// or deletion takes long enough to be caught half done; reads pass at once. A request
// whose client went away while it waited (killed) is dropped, as if lost on the wire.

import { createServer, request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowProxy {
  /** host:port of the proxy, for objstore.yml. */
  endpoint: string;
  close(): Promise<void>;
}

export async function startSlowProxy(target: string, delayMs: number): Promise<SlowProxy> {
  const [host, port] = target.split(':');
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    // Headers go through unchanged (Host included), so the request signature holds.
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end(body);
  };
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    let gone = false;
    // Read the body at once, so that the socket's end is seen while the request waits.
    res.once('close', () => (gone = !res.writableFinished));
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const slow = req.method === 'PUT' || req.method === 'POST' || req.method === 'DELETE';
      if (!slow) return forward(req, res, Buffer.concat(parts));
      setTimeout(() => {
        if (gone || req.socket.destroyed) return void res.destroy();
        forward(req, res, Buffer.concat(parts));
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
