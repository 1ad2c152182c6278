// Loopback ports for processes the CLI starts itself (quickstart): whether a port is
// free before anything starts, and whether the process answering on a port is the
// child we started rather than a stranger that got there first.

import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';

/** Whether `port` can be listened on at `host` now (it may be taken a moment later). */
export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Whether process `pid` holds a socket listening on `port`, from Linux's /proc (the
 * socket inodes of /proc/net/tcp{,6} in state LISTEN against /proc/PID/fd); undefined
 * where /proc cannot tell.
 */
export async function listensOn(pid: number, port: number): Promise<boolean | undefined> {
  const inodes = await listeningInodes(port);
  if (!inodes) return undefined;
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1])) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

// /proc/net/tcp rows: "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …",
// addresses as HEXIP:HEXPORT, st 0A = LISTEN.
async function listeningInodes(port: number): Promise<Set<string> | null> {
  const out = new Set<string>();
  let readable = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A') continue;
      const local = cols[1];
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) out.add(cols[9]);
    }
  }
  return readable ? out : null;
}
