// `thanos-ts rule`: the ruler with Thanos's flags (RULE_FLAGS, the notifier's
// NOTIFIER_FLAGS and the optional objstore flags). Runs until SIGTERM/SIGINT; SIGHUP
// reloads the rule files.

import type { Command } from 'commander';
import { Rule, RULE_FLAGS, ruleFlagsConfig } from '@thanos-ts/rule';
import { NOTIFIER_FLAGS, notifierConfigFromFlags } from '@thanos-ts/rules';
import { runUntilSignal } from '@thanos-ts/runtime';
import { addFlags, addObjstoreFlags, bucketFromOptions, loggerFor, statusFlags } from './common.js';

export function registerRule(program: Command): void {
  const cmd = addObjstoreFlags(
    program.command('rule').description('Ruler evaluating Prometheus rules against given Query nodes, exposing Store API and storing old blocks in bucket.'),
    false,
  );
  addFlags(cmd, [...RULE_FLAGS, ...NOTIFIER_FLAGS]);
  cmd.action(async (opts: Record<string, unknown>, c: Command) => {
    const logger = loggerFor(c).child({ component: 'rule' });
    const flags = ruleFlagsConfig(opts);
    const notifier = notifierConfigFromFlags(opts);
    const bucket = await bucketFromOptions(opts, logger, false);
    const rule = new Rule({ ...flags, notifier, bucket, logger, flags: statusFlags(c, opts, [...RULE_FLAGS, ...NOTIFIER_FLAGS]) });
    await runUntilSignal(rule, logger, flags.grpcGracePeriodMs + 30_000);
  });
}
