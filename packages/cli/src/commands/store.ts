// `thanos-ts store`: the store gateway with Thanos's flags (STORE_FLAGS plus the objstore
// flags): StoreAPI over the blocks in object storage. Runs until SIGTERM/SIGINT.

import type { Command } from 'commander';
import { SUPPORTED_PROVIDERS } from '@thanos-ts/objstore';
import { runUntilSignal } from '@thanos-ts/runtime';
import { Store, STORE_FLAGS, storeConfigFromFlags } from '@thanos-ts/store';
import { addFlags, addObjstoreFlags, bucketFromOptions, loggerFor, markObjstoreRequired, statusFlags } from './common.js';

export function registerStore(program: Command): void {
  const cmd = program
    .command('store')
    .description(`Store node giving access to blocks in a bucket provider. Supported here: ${SUPPORTED_PROVIDERS.join(', ')}.`);
  markObjstoreRequired(addObjstoreFlags(cmd));
  addFlags(cmd, STORE_FLAGS);
  cmd.action(async (opts: Record<string, unknown>, c: Command) => {
    const logger = loggerFor(c).child({ component: 'store' });
    const bkt = (await bucketFromOptions(opts, logger))!;
    const cfg = storeConfigFromFlags(opts, bkt, logger);
    cfg.flags = statusFlags(c, opts, STORE_FLAGS);
    await runUntilSignal(new Store(cfg), logger, cfg.grpcGracePeriodMs + 5_000);
  });
}
