import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadPatternError, glob } from './glob.js';

describe('glob (Go filepath.Glob)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'glob-'));
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    for (const f of ['a/x.yaml', 'a/y.yml', 'a/.hidden.yaml', 'b/x.yaml', 'b/z.yaml', 'top.yaml']) await writeFile(join(dir, f), '');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('matches within one element, sorted, hidden files included', async () => {
    expect(await glob(join(dir, 'a/*.yaml'))).toEqual([join(dir, 'a/.hidden.yaml'), join(dir, 'a/x.yaml')]);
    expect(await glob(join(dir, '*/x.yaml'))).toEqual([join(dir, 'a/x.yaml'), join(dir, 'b/x.yaml')]);
    expect(await glob(join(dir, '*.yaml'))).toEqual([join(dir, 'top.yaml')]);
    expect(await glob(join(dir, 'b/[x-y].yaml'))).toEqual([join(dir, 'b/x.yaml')]);
    expect(await glob(join(dir, 'b/[^x].yaml'))).toEqual([join(dir, 'b/z.yaml')]);
    expect(await glob(join(dir, 'a/?.y*'))).toEqual([join(dir, 'a/x.yaml'), join(dir, 'a/y.yml')]);
  });

  it('returns a literal path only if it exists', async () => {
    expect(await glob(join(dir, 'top.yaml'))).toEqual([join(dir, 'top.yaml')]);
    expect(await glob(join(dir, 'nope.yaml'))).toEqual([]);
    expect(await glob(join(dir, 'nope/*.yaml'))).toEqual([]);
  });

  it('rejects malformed patterns as path.Match does', async () => {
    await expect(glob(join(dir, '[a.yaml'))).rejects.toBeInstanceOf(BadPatternError);
    await expect(glob(join(dir, '[]a].yaml'))).rejects.toBeInstanceOf(BadPatternError);
    await expect(glob(join(dir, 'a\\'))).rejects.toBeInstanceOf(BadPatternError);
  });
});
