// `thanos-ts store`: the store gateway with Thanos's flags (STORE_FLAGS plus the objstore
// flags): StoreAPI over the blocks in object storage. Runs until SIGTERM/SIGINT.

import { Option } from 'commander';
import type { Command } from 'commander';
import { runUntilSignal } from '@thanos-ts/runtime';
import type { FlagSpec } from '@thanos-ts/runtime';
import { Store, STORE_FLAGS, storeConfigFromFlags } from '@thanos-ts/store';
import { addObjstoreFlags, bucketFromOptions, collect, loggerFor } from './common.js';

export function registerStore(program: Command): void {
  const cmd = program
    .command('store')
    .description('Store node giving access to blocks in a bucket provider. Now supported GCS, S3, Azure, Swift, Tencent COS and Aliyun OSS.');
  addObjstoreFlags(cmd);
  addFlags(cmd, STORE_FLAGS);
  cmd.action(async (opts: Record<string, unknown>, c: Command) => {
    const logger = loggerFor(c).child({ component: 'store' });
    const bkt = (await bucketFromOptions(opts, logger))!;
    const cfg = storeConfigFromFlags(opts, bkt, logger);
    await runUntilSignal(new Store(cfg), logger, cfg.grpcGracePeriodMs + 5_000);
  });
}

/** Registers flag specs on a command: bool flags get a --no- form, repeatable ones collect. */
export function addFlags(cmd: Command, specs: readonly FlagSpec[]): void {
  for (const f of specs) {
    const ph = (f.placeholder ?? '<value>').replace(/[<>]/g, '');
    if (f.kind === 'bool') {
      cmd.option(`--${f.name}`, f.help, f.default === true);
      cmd.option(`--no-${f.name}`, `Disable --${f.name}.`);
    } else if (f.kind === 'strings') {
      cmd.option(`--${f.name} <${ph}>`, f.help, collect, []);
    } else if (f.hidden) {
      cmd.addOption(new Option(`--${f.name} <${ph}>`, f.help).default(f.default).hideHelp());
    } else {
      cmd.option(`--${f.name} <${ph}>`, f.help, f.default as string | undefined);
    }
  }
}
