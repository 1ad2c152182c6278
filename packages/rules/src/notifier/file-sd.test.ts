import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nopLogger } from '@thanos-ts/runtime';
import { tempDir } from '@thanos-ts/testutil';
import { describe, expect, it } from 'vitest';
import { FileDiscovery, parseTargetGroups } from './file-sd.js';

describe('parseTargetGroups', () => {
  it('reads the targets of JSON and YAML target groups', () => {
    expect(parseTargetGroups('[{"targets": ["a:9093"], "labels": {"x": "y"}}, {"targets": ["b:9093", "c:9093"]}]', 'f.json')).toEqual(['a:9093', 'b:9093', 'c:9093']);
    expect(parseTargetGroups('- targets: [a:9093]\n- labels: {x: y}\n', 'f.yaml')).toEqual(['a:9093']);
    expect(parseTargetGroups('', 'f.yml')).toEqual([]);
  });

  it('rejects what is not a list of target groups', () => {
    expect(() => parseTargetGroups('targets: [a]', 'f.yml')).toThrow('expected a list of target groups');
    expect(() => parseTargetGroups('[{"targets": "a:9093"}]', 'f.json')).toThrow('targets must be a list');
    expect(() => parseTargetGroups('[{"targets": [1]}]', 'f.json')).toThrow('invalid target 1');
  });
});

describe('FileDiscovery', () => {
  it('follows the files of a pattern, keeping the last good content of a broken file', async () => {
    const dir = await tempDir('notifier-sd');
    await writeFile(join(dir, 'a.json'), '[{"targets": ["a:9093"]}]');
    await writeFile(join(dir, 'b.yml'), '- targets: [b:9093]');
    await writeFile(join(dir, 'ignored.txt'), 'x');
    const sd = new FileDiscovery({ files: [join(dir, '*.json'), join(dir, 'b.yml')], refreshIntervalMs: 3_600_000 }, nopLogger());
    await sd.refresh();
    expect(sd.addresses()).toEqual(['a:9093', 'b:9093']);

    await writeFile(join(dir, 'a.json'), '[{"targets": ');
    await writeFile(join(dir, 'c.json'), '[{"targets": ["c:9093", "b:9093"]}]');
    await sd.refresh();
    expect(sd.addresses()).toEqual(['a:9093', 'b:9093', 'c:9093']);

    await rm(join(dir, 'b.yml'));
    await rm(join(dir, 'a.json'));
    await sd.refresh();
    expect(sd.addresses()).toEqual(['c:9093', 'b:9093']);
    sd.stop();
  });
});
