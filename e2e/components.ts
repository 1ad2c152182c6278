// Starts thanos-ts components as real processes for e2e tests and stops them for sure.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { freePort, waitFor } from '@thanos-ts/testutil';
import { BIN } from './cli.js';

export interface Component {
  httpAddress: string;
  grpcAddress: string;
  logs(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** Starts it again with the same arguments and ports. */
  restart(): Promise<void>;
  /** Resolves with the exit code once the process exits by itself. */
  exited(): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export interface ComponentOptions {
  /** Wait for /-/ready (default true). */
  waitReady?: boolean;
  /** Pass --grpc-address (default true). */
  grpc?: boolean;
  readyTimeoutMs?: number;
  /**
   * Addresses picked beforehand (see `loopbackAddress`), so that peers naming each other
   * can start side by side; free ports otherwise.
   */
  httpAddress?: string;
  grpcAddress?: string;
}

/** A free HOST:PORT on loopback, for a component started later. */
export async function loopbackAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/**
 * Runs `thanos-ts <args> --http-address … --grpc-address …` on free loopback ports and
 * waits for /-/ready (unless `waitReady` is false).
 */
export async function startComponent(args: string[], opts: ComponentOptions = {}): Promise<Component> {
  const httpAddress = opts.httpAddress ?? (await loopbackAddress());
  const grpcAddress = opts.grpc === false ? '' : (opts.grpcAddress ?? (await loopbackAddress()));
  const fullArgs = [...args, '--http-address', httpAddress, ...(grpcAddress ? ['--grpc-address', grpcAddress] : [])];
  let log = '';
  let child!: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn(process.execPath, [BIN, ...fullArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const append = (b: Buffer): void => {
      log += b.toString();
      if (log.length > 1_000_000) log = log.slice(-500_000);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    child.on('exit', () => running.delete(child));
    if (opts.waitReady === false) return;
    // A process that exits while starting fails at once, not after the ready timeout.
    const c = child;
    const exited = new Promise<never>((_, reject) => c.once('exit', (code) => reject(new Error(`thanos-ts ${args[0]} exited with ${code} while starting:\n${log}`))));
    exited.catch(() => undefined);
    await Promise.race([
      exited,
      waitFor(
        async () => {
          if (c.exitCode !== null) return false;
          const r = await fetch(`http://${httpAddress}/-/ready`);
          return r.status === 200;
        },
        { timeoutMs: opts.readyTimeoutMs ?? 30_000, what: `thanos-ts ${args[0]} ready` },
      ),
    ]);
  };
  await launch();
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(t);
    return code;
  };
  return {
    httpAddress,
    grpcAddress,
    logs: () => log,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    exited: () =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve(child.exitCode)
        : new Promise((r) => child.once('exit', (code) => r(code))),
  };
}
