// `thanos-ts receive`: the receiver with Thanos's flags (RECEIVE_FLAGS plus the optional
// objstore flags): Prometheus remote write into a TSDB per tenant, served over StoreAPI,
// blocks shipped to the bucket when one is configured. Runs until SIGTERM/SIGINT.

import type { Command } from 'commander';
import { Receive, RECEIVE_FLAGS, receiveConfigFromFlags } from '@thanos-ts/receive';
import { runUntilSignal } from '@thanos-ts/runtime';
import { addFlags, addObjstoreFlags, bucketFromOptions, loggerFor } from './common.js';

export function registerReceive(program: Command): void {
  const cmd = addObjstoreFlags(
    program.command('receive').description('Accept Prometheus remote write API requests and write to local tsdb.'),
    false,
  );
  addFlags(cmd, RECEIVE_FLAGS);
  cmd.action(async (opts: Record<string, unknown>, c: Command) => {
    const logger = loggerFor(c).child({ component: 'receive' });
    const bucket = await bucketFromOptions(opts, logger, false);
    const cfg = receiveConfigFromFlags(opts, bucket, logger);
    // Shutdown flushes every tenant's head into a block and ships it: allow for that.
    await runUntilSignal(new Receive(cfg), logger, cfg.grpcGracePeriodMs + 60_000);
  });
}
