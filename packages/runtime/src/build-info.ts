// Build information as Prometheus's version package carries it (version, revision,
// branch, build user and date, runtime), for `--version`, thanos_build_info and
// /api/v1/status/buildinfo. Go binaries get revision and branch from ldflags at build
// time; we run from a checkout's compiled files, so they are read from the checkout's
// .git once, on first use, by reading files only: no `git` process is spawned.

import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSION = '0.1.0';

export interface BuildInfo {
  version: string;
  /** Full commit hash of HEAD, or "unknown" outside a git checkout. */
  revision: string;
  /** Branch checked out, "HEAD" when detached (as `git rev-parse --abbrev-ref HEAD`), or "unknown". */
  branch: string;
  buildUser: string;
  buildDate: string;
  /** The runtime, in the field Go binaries fill with runtime.Version(). */
  goVersion: string;
}

/** Where HEAD points: a branch name and commit, read from a .git directory or file. */
export interface GitHead {
  revision: string;
  branch: string;
}

// packages/runtime/{src,dist}/build-info.* → the repository root.
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let cached: BuildInfo | undefined;

/** This process's build information; the checkout is read on the first call only. */
export function buildInfo(): BuildInfo {
  if (!cached) {
    const head = readGitHead(REPO_ROOT) ?? { revision: 'unknown', branch: 'unknown' };
    cached = { version: VERSION, ...head, buildUser: '', buildDate: '', goVersion: `node${process.versions.node}` };
  }
  return cached;
}

/**
 * `--version` output in the layout of Prometheus's version.Print, which Thanos uses:
 * `thanos-ts, version 0.1.0 (branch: main, revision: 1f0c…)` and indented build lines.
 */
export function versionText(program = 'thanos-ts'): string {
  const b = buildInfo();
  return [
    `${program}, version ${b.version} (branch: ${b.branch}, revision: ${b.revision})`,
    `  build user:       ${b.buildUser}`,
    `  build date:       ${b.buildDate}`,
    `  go version:       ${b.goVersion}`,
    `  platform:         ${process.platform}/${process.arch}`,
  ].join('\n');
}

/**
 * HEAD of the checkout at `root`, or null when there is none or it cannot be read.
 * Follows a `.git` file (`gitdir: …`, as in worktrees) and its `commondir`, and looks
 * a branch up in loose refs, then in packed-refs.
 */
export function readGitHead(root: string): GitHead | null {
  try {
    let gitDir = join(root, '.git');
    if (statSync(gitDir).isFile()) {
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(gitDir, 'utf8'));
      if (!m) return null;
      gitDir = isAbsolute(m[1]) ? m[1] : resolve(root, m[1]);
    }
    let commonDir = gitDir;
    try {
      const c = readFileSync(join(gitDir, 'commondir'), 'utf8').trim();
      commonDir = isAbsolute(c) ? c : resolve(gitDir, c);
    } catch {
      // not a linked worktree: refs live in gitDir
    }
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    const ref = /^ref:\s*(\S+)$/.exec(head);
    if (!ref) return isHash(head) ? { revision: head, branch: 'HEAD' } : null;
    const name = ref[1];
    const branch = name.startsWith('refs/heads/') ? name.slice('refs/heads/'.length) : name;
    const revision = readRef(gitDir, name) ?? readRef(commonDir, name);
    // A branch without commits yet has no revision.
    return revision ? { revision, branch } : null;
  } catch {
    return null;
  }
}

function readRef(gitDir: string, name: string): string | null {
  try {
    const v = readFileSync(join(gitDir, name), 'utf8').trim();
    if (isHash(v)) return v;
  } catch {
    // not a loose ref
  }
  try {
    for (const line of readFileSync(join(gitDir, 'packed-refs'), 'utf8').split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0 && line.slice(sp + 1).trim() === name && isHash(line.slice(0, sp))) return line.slice(0, sp);
    }
  } catch {
    // no packed-refs
  }
  return null;
}

function isHash(s: string): boolean {
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(s);
}
