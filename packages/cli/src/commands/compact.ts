// `thanos-ts compact`: the compactor with Thanos's flags (COMPACT_FLAGS plus the objstore
// flags). Without --wait one iteration and exit (non-zero when a stream is halted or a
// step failed); with --wait it runs until SIGTERM/SIGINT, stopping between steps.

import { Option } from 'commander';
import type { Command } from 'commander';
import { COMPACT_FLAGS, Compactor, compactConfigFromFlags } from '@thanos-ts/compact';
import { UserError } from '@thanos-ts/runtime';
import { addFlags, addObjstoreFlags, bucketFromOptions, loggerFor, markObjstoreRequired, statusFlags } from './common.js';

/** Bool flags that also take `=true|false`, as kingpin lets Thanos users write `--wait=false`. */
const VALUED_BOOLS = new Set(['wait', 'downsampling.disable', 'compact.enable-vertical-compaction', 'debug.halt-on-error', 'web.disable', 'compact.skip-block-with-out-of-order-chunks']);

function parseBool(flag: string): (v: string | boolean) => boolean {
  return (v) => {
    // The preset (a bare --wait) arrives as true.
    if (v === true || v === 'true' || v === '1') return true;
    if (v === false || v === 'false' || v === '0') return false;
    throw new UserError(`--${flag}: expected true or false, got "${v}"`);
  };
}

export function registerCompact(program: Command): void {
  const cmd = program
    .command('compact')
    .description('Continuously compacts blocks in an object store bucket: leveled and vertical compaction, offline deduplication, downsampling, retention.');
  markObjstoreRequired(addObjstoreFlags(cmd));
  addFlags(
    cmd,
    COMPACT_FLAGS.filter((f) => !VALUED_BOOLS.has(f.name)),
  );
  for (const f of COMPACT_FLAGS.filter((x) => VALUED_BOOLS.has(x.name))) {
    const o = new Option(`${f.name === 'wait' ? '-w, ' : ''}--${f.name} [bool]`, f.help).argParser(parseBool(f.name)).default(f.default === true).preset(true);
    if (f.hidden) o.hideHelp();
    cmd.addOption(o);
    cmd.addOption(new Option(`--no-${f.name}`).hideHelp());
  }
  cmd.action(async (opts: Record<string, unknown>, c: Command) => {
    const logger = loggerFor(c).child({ component: 'compact' });
    const bkt = (await bucketFromOptions(opts, logger))!;
    let cfg;
    try {
      cfg = compactConfigFromFlags(opts, bkt, logger);
    } catch (err) {
      await bkt.close();
      throw err;
    }
    cfg.flags = statusFlags(c, opts, COMPACT_FLAGS);
    const compactor = new Compactor(cfg);
    const ac = new AbortController();
    const onSignal = (sig: NodeJS.Signals): void => {
      if (ac.signal.aborted) {
        logger.warn({ signal: sig }, 'second signal, exiting now');
        process.exit(1);
      }
      logger.info({ signal: sig }, 'caught signal, stopping after the current step');
      ac.abort();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      await compactor.run(ac.signal);
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  });
}
