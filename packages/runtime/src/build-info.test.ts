import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildInfo, readGitHead, versionText } from './build-info.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function checkout(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'build-info-'));
  dirs.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

describe('readGitHead', () => {
  it('reads a branch from a loose ref', () => {
    const root = checkout({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${A}\n` });
    expect(readGitHead(root)).toEqual({ revision: A, branch: 'main' });
  });
  it('falls back to packed-refs', () => {
    const root = checkout({
      '.git/HEAD': 'ref: refs/heads/feature/x\n',
      '.git/packed-refs': `# pack-refs with: peeled fully-peeled sorted\n${B} refs/heads/feature/x\n^${A}\n`,
    });
    expect(readGitHead(root)).toEqual({ revision: B, branch: 'feature/x' });
  });
  it('names a detached HEAD "HEAD", as git rev-parse --abbrev-ref does', () => {
    const root = checkout({ '.git/HEAD': `${A}\n` });
    expect(readGitHead(root)).toEqual({ revision: A, branch: 'HEAD' });
  });
  it('follows a .git file to a linked worktree and its common dir', () => {
    const root = checkout({
      'main/.git/refs/heads/topic': `${B}\n`,
      'main/.git/worktrees/wt/HEAD': 'ref: refs/heads/topic\n',
      'main/.git/worktrees/wt/commondir': '../..\n',
      'wt/.git': 'gitdir: ../main/.git/worktrees/wt\n',
    });
    expect(readGitHead(join(root, 'wt'))).toEqual({ revision: B, branch: 'topic' });
  });
  it('is null without a checkout or before the first commit', () => {
    expect(readGitHead(checkout({ 'README.md': 'x' }))).toBeNull();
    expect(readGitHead(checkout({ '.git/HEAD': 'ref: refs/heads/main\n' }))).toBeNull();
  });
});

describe('buildInfo', () => {
  it('carries the revision of this checkout and prints it as Prometheus version.Print does', () => {
    const b = buildInfo();
    expect(b.revision).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(versionText().split('\n')[0]).toBe(`thanos-ts, version ${b.version} (branch: ${b.branch}, revision: ${b.revision})`);
  });
});
