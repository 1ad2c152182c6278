import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { emptyBlockMeta, encodeBlockMeta, ulid } from '@thanos-ts/tsdb';
import { createLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { bucketInspect } from './bucket-inspect.js';
import { bucketLs } from './bucket-ls.js';

afterAll(removeTempDirs);

/** A logger whose logfmt lines are collected in `lines`. */
function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: createLogger({ destination }), lines };
}

/** Uploads a meta.json only (enough for the fetcher) for a block covering [minTime, maxTime). */
async function putMeta(bkt: Bucket, id: string, minTime: number, maxTime: number): Promise<void> {
  const m = emptyBlockMeta();
  Object.assign(m, { ulid: id, minTime, maxTime, version: 1, compaction: { level: 1, sources: [id] } });
  m.thanos.labels = { cluster: 'eu1' };
  m.thanos.source = 'test';
  await bkt.upload(`${id}/meta.json`, Buffer.from(encodeBlockMeta(m)));
}

async function bucketWithCorruptMetas(): Promise<{ bkt: Bucket; good: string[]; bad: string[] }> {
  const bkt = new FilesystemBucket(await tempDir('ls-corrupt'));
  const good = [ulid(1000), ulid(2000)];
  await putMeta(bkt, good[0], 0, 7_200_000);
  await putMeta(bkt, good[1], 7_200_000, 14_400_000);
  const bad = [ulid(3000), ulid(4000)];
  await bkt.upload(`${bad[0]}/meta.json`, Buffer.from('{"ulid": "'));
  await bkt.upload(`${bad[1]}/meta.json`, Buffer.from('[]'));
  // No meta.json at all: an upload in progress, not corrupted, listed silently as Thanos does.
  await bkt.upload(`${ulid(5000)}/index`, Buffer.from('x'));
  return { bkt, good, bad };
}

describe('corrupted meta.json', () => {
  it('ls lists the good blocks and warns once per corrupted block with its ULID and the parse problem', async () => {
    const { bkt, good, bad } = await bucketWithCorruptMetas();
    const { logger, lines } = capture();
    const res = await bucketLs(bkt, { output: '', logger });
    expect(res.text).toBe(good.map((id) => `${id}\n`).join(''));
    expect(res.blocks).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`level=warn block=${bad[0]} msg="corrupted meta.json, block left out" err=".*${bad[0]}/meta.json: invalid JSON`));
    expect(lines[1]).toMatch(new RegExp(`level=warn block=${bad[1]} .*err=".*${bad[1]}/meta.json: .*object`));
  });

  it('inspect shows the good blocks and warns about the corrupted ones', async () => {
    const { bkt, good, bad } = await bucketWithCorruptMetas();
    const { logger, lines } = capture();
    const out = await bucketInspect(bkt, { selector: {}, sortBy: ['FROM'], output: 'csv', logger });
    expect(out.trim().split('\n').slice(1).map((l) => l.split(',')[0])).toEqual(good);
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => /block=(\S+)/.exec(l)?.[1])).toEqual(bad);
  });

  it('ls warns nothing on a healthy bucket', async () => {
    const bkt = new FilesystemBucket(await tempDir('ls-healthy'));
    await putMeta(bkt, ulid(1000), 0, 1000);
    const { logger, lines } = capture();
    expect((await bucketLs(bkt, { output: '', logger })).blocks).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual([]);
  });
});
