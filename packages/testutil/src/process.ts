import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, join } from 'node:path';

const children = new Set<ChildProcess>();
let hooked = false;

/** Keeps the last `limit` characters of a process's output for failure messages. */
export class LogBuffer {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly limit = 256 * 1024) {}

  append(chunk: string): void {
    this.parts.push(chunk);
    this.size += chunk.length;
    // Drop whole chunks while the rest still covers the limit; toString trims the excess.
    while (this.size - this.parts[0].length >= this.limit) this.size -= this.parts.shift()!.length;
  }

  toString(): string {
    const s = this.parts.join('');
    return s.length > this.limit ? s.slice(s.length - this.limit) : s;
  }
}

/**
 * Spawns a process that must not outlive the test process: it is SIGKILLed when this
 * process exits or receives SIGINT/SIGTERM/SIGHUP. stdout and stderr go to `log`; stdin
 * is closed unless `opts.stdin` is "pipe".
 */
export function spawnTracked(
  cmd: string,
  args: string[],
  log: LogBuffer,
  opts: SpawnOptions & { stdin?: 'ignore' | 'pipe' } = {},
): ChildProcess {
  hookExit();
  const { stdin = 'ignore', ...spawnOpts } = opts;
  const child = spawn(cmd, args, { ...spawnOpts, stdio: [stdin, 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => log.append(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => log.append(d));
  return child;
}

/** Resolves when the child has exited (at once if it already has). */
export function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if the child is still alive after `graceMs`. */
export async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = waitExit(child);
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
  if ((await Promise.race([exited, timeout])) === 'timeout') child.kill('SIGKILL');
  clearTimeout(timer);
  await exited;
}

/** SIGKILL and wait. */
export async function killNow(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = waitExit(child);
  child.kill('SIGKILL');
  await exited;
}

function killAll(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      // Nobody else handles the signal: exit as its default action would, but through
      // process.exit so 'exit' hooks (temp dir cleanup) still run.
      if (process.listenerCount(sig) === 0) process.exit(128 + constants.signals[sig]);
    };
    process.once(sig, onSignal);
  }
}

/**
 * Finds an executable on PATH, or throws an error saying how to install it: the tests
 * that use Prometheus's binaries must fail loudly where they are missing, never skip.
 */
export function findBinary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  throw new Error(
    `${name} not found on PATH; install it with \`apt-get install prometheus\` ` +
      '(Debian ships both prometheus and promtool in that package; the tests expect version 2.42)',
  );
}
