import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetaFetcher } from '@thanos-ts/block';
import { FilesystemBucket, getBytes } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { nopLogger, UserError } from '@thanos-ts/runtime';
import { DELETION_MARK_FILENAME, MatchType, newMatcher, parseDeletionMark } from '@thanos-ts/tsdb';
import type { BlockMeta, Matcher } from '@thanos-ts/tsdb';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { bucketRewrite, parseDeleteConfig } from './bucket-rewrite.js';
import type { DeleteRequest, RewriteOptions } from './bucket-rewrite.js';
import { bucketDownsample } from './bucket-downsample.js';
import { bucketObjects, downloadTo, HOUR, putBlock, readBlockAggregates, readBlockSamples } from './tools-fixture.js';

afterAll(removeTempDirs);

const T0 = Date.UTC(2024, 0, 1);
const API0 = '{__name__="up", instance="i0", job="api"}';
const API1 = '{__name__="up", instance="i1", job="api"}';
const DB2 = '{__name__="up", instance="i2", job="db"}';

/** Enough of a selector parser for these tests: `{name="value", name=~"re"}`. */
function parseSelector(s: string): Matcher[] {
  const body = /^\{(.*)\}$/.exec(s.trim());
  if (!body) throw new Error(`bad selector ${s}`);
  return body[1].split(',').map((part) => {
    const m = /^\s*(\w+)\s*(=~|!~|!=|=)\s*"(.*)"\s*$/.exec(part);
    if (!m) throw new Error(`bad matcher ${part}`);
    const type = { '=': MatchType.EQ, '!=': MatchType.NEQ, '=~': MatchType.RE, '!~': MatchType.NRE }[m[2]]!;
    return newMatcher(type, m[1], m[3]);
  });
}

function del(selector: string): DeleteRequest {
  return { selector, matchers: parseSelector(selector) };
}

async function setup(): Promise<{ bkt: Bucket; work: string; tmpDir: string; src: BlockMeta; opts: (o: Partial<RewriteOptions>) => RewriteOptions }> {
  const bkt = new FilesystemBucket(await tempDir('rw-bkt'));
  const work = await tempDir('rw-work');
  const tmpDir = await tempDir('rw-tmp');
  const src = await putBlock(bkt, work, T0, T0 + 2 * HOUR, { ulidTime: Date.now() - HOUR });
  const opts = (o: Partial<RewriteOptions>): RewriteOptions => ({ ids: [src.ulid], deletions: [], dryRun: false, tmpDir, logger: nopLogger(), ...o });
  return { bkt, work, tmpDir, src, opts };
}

async function metaOf(bkt: Bucket, id: string): Promise<BlockMeta> {
  const m = (await new MetaFetcher(bkt).fetch()).metas.get(id);
  if (!m) throw new Error(`no meta for ${id}`);
  return m;
}

describe('bucketRewrite', () => {
  it('writes a new block without the matching series, the others\' samples unchanged, and marks the old one for deletion', async () => {
    const { bkt, work, tmpDir, src, opts } = await setup();
    const before = await readBlockSamples(await downloadTo(bkt, src.ulid, work));
    expect([...before.keys()]).toEqual([API0, API1, DB2]);
    const deleted: [string, string][] = [];
    const res = await bucketRewrite(bkt, opts({ deletions: [del('{job="db"}')], onDelete: (b, l) => deleted.push([b, l]) }));

    expect(deleted).toEqual([[src.ulid, DB2]]);
    expect(res.deletedSeries).toBe(1);
    const to = res.rewritten.get(src.ulid);
    expect(to).toMatch(/^[0-9A-Z]{26}$/);
    expect(to).not.toBe(src.ulid);

    const after = await readBlockSamples(await downloadTo(bkt, to!, work));
    expect([...after.keys()]).toEqual([API0, API1]);
    expect(after.get(API0)).toEqual(before.get(API0));
    expect(after.get(API1)).toEqual(before.get(API1));
    expect(after.get(API0)).toHaveLength(120);

    const mark = parseDeletionMark(await getBytes(bkt, `${src.ulid}/${DELETION_MARK_FILENAME}`));
    expect(mark.details).toBe(`rewritten into block ${to} without 1 series`);
    expect(await bkt.exists(`${to}/${DELETION_MARK_FILENAME}`)).toBe(false);
    // The old block's files are kept until cleanup deletes the marked block.
    expect(await bkt.exists(`${src.ulid}/index`)).toBe(true);
    // The working directory is removed.
    expect(await readdir(tmpDir)).toEqual([]);
  });

  it('records the rewrite in the new block\'s meta.json and keeps the rest of the meta', async () => {
    const { bkt, src, opts } = await setup();
    const res = await bucketRewrite(bkt, opts({ deletions: [del('{job="db"}'), del('{instance=~"i[7-9]", job!="x"}')] }));
    const to = res.rewritten.get(src.ulid)!;
    const m = await metaOf(bkt, to);
    expect([m.minTime, m.maxTime]).toEqual([src.minTime, src.maxTime]);
    // Its own single source (as Thanos), or the compactor would take it for a duplicate.
    expect(m.compaction).toEqual({ ...src.compaction, sources: [to] });
    expect(m.thanos.labels).toEqual(src.thanos.labels);
    expect(m.thanos.downsample).toEqual(src.thanos.downsample);
    expect(m.thanos.source).toBe('bucket.rewrite');
    expect(m.stats?.numSeries).toBe(2);
    expect(m.stats?.numSamples).toBe(240);
    // As Thanos marshals labels.Matcher: its exported fields, Type as the Go enum number.
    const raw = JSON.parse(Buffer.from(await getBytes(bkt, `${to}/meta.json`)).toString('utf8')) as { thanos: { rewrites: unknown } };
    expect(raw.thanos.rewrites).toEqual([
      {
        sources: [src.ulid],
        deletions_applied: [
          { matchers: [{ Type: 0, Name: 'job', Value: 'db' }] },
          {
            matchers: [
              { Type: 2, Name: 'instance', Value: 'i[7-9]' },
              { Type: 1, Name: 'job', Value: 'x' },
            ],
          },
        ],
      },
    ]);
  });

  it('a rewrite of a rewritten block appends to its rewrites', async () => {
    const { bkt, src, opts } = await setup();
    const first = (await bucketRewrite(bkt, opts({ deletions: [del('{job="db"}')] }))).rewritten.get(src.ulid)!;
    const second = (await bucketRewrite(bkt, opts({ ids: [first], deletions: [del('{instance="i1"}')] }))).rewritten.get(first)!;
    const m = await metaOf(bkt, second);
    expect(m.thanos.rewrites?.map((r) => r.deletions_applied?.[0].matchers)).toEqual([
      [{ Type: 0, Name: 'job', Value: 'db' }],
      [{ Type: 0, Name: 'instance', Value: 'i1' }],
    ]);
    expect(m.stats?.numSeries).toBe(1);
  });

  it('--dry-run reports the series that would go and changes nothing', async () => {
    const { bkt, tmpDir, src, opts } = await setup();
    const files = await bucketObjects(bkt);
    const deleted: string[] = [];
    const res = await bucketRewrite(bkt, opts({ dryRun: true, deletions: [del('{job="api"}')], onDelete: (_b, l) => deleted.push(l) }));
    expect(deleted).toEqual([API0, API1]);
    expect(res.deletedSeries).toBe(2);
    expect(res.rewritten).toEqual(new Map([[src.ulid, null]]));
    expect(await bucketObjects(bkt)).toEqual(files);
    expect(await readdir(tmpDir)).toEqual([]);
  });

  it('leaves a block alone when no series matches', async () => {
    const { bkt, src, opts } = await setup();
    const files = await bucketObjects(bkt);
    const res = await bucketRewrite(bkt, opts({ deletions: [del('{job="nope"}')] }));
    expect(res).toEqual({ rewritten: new Map([[src.ulid, null]]), deletedSeries: 0 });
    expect(await bucketObjects(bkt)).toEqual(files);
  });

  it('keeps the source block unmarked with deleteBlocks: false', async () => {
    const { bkt, src, opts } = await setup();
    const res = await bucketRewrite(bkt, opts({ deleteBlocks: false, deletions: [del('{job="db"}')] }));
    expect(res.rewritten.get(src.ulid)).toBeTruthy();
    expect(await bkt.exists(`${src.ulid}/${DELETION_MARK_FILENAME}`)).toBe(false);
  });

  it('copies the aggregate chunks of a downsampled block as they are', async () => {
    const { bkt, work, tmpDir, opts } = await setup();
    await putBlock(bkt, work, T0, T0 + 40 * HOUR, { stepMs: 10 * 60_000, ulidTime: Date.now() - HOUR + 1 });
    const [five] = await bucketDownsample(bkt, { dataDir: join(tmpDir, 'ds'), concurrency: 1, consistencyDelayMs: 0, logger: nopLogger() });
    const before = await readBlockAggregates(await downloadTo(bkt, five, work));
    const to = (await bucketRewrite(bkt, opts({ ids: [five], deletions: [del('{instance="i0"}')] }))).rewritten.get(five)!;
    const after = await readBlockAggregates(await downloadTo(bkt, to, work));
    expect([...after.keys()]).toEqual([API1, DB2]);
    expect(after.get(API1)).toEqual(before.get(API1));
    expect(after.get(DB2)).toEqual(before.get(DB2));
    expect((await metaOf(bkt, to)).thanos.downsample.resolution).toBe(300_000);
  });

  it('refuses no IDs, a bad ULID and an empty deletion list', async () => {
    const { bkt, opts } = await setup();
    const files = await bucketObjects(bkt);
    await expect(bucketRewrite(bkt, opts({ ids: [], deletions: [del('{job="db"}')] }))).rejects.toThrow(UserError);
    await expect(bucketRewrite(bkt, opts({ ids: ['01XYZ'], deletions: [del('{job="db"}')] }))).rejects.toThrow('--id: invalid ULID "01XYZ"');
    await expect(bucketRewrite(bkt, opts({ deletions: [] }))).rejects.toThrow('no deletion requests');
    expect(await bucketObjects(bkt)).toEqual(files);
  });
});

describe('parseDeleteConfig', () => {
  it('reads Thanos\' list of deletion requests', () => {
    const reqs = parseDeleteConfig(`- matchers: '{job="db"}'\n- matchers: '{instance=~"i.*"}'\n  request_id: r1\n`, parseSelector);
    expect(reqs.map((r) => r.selector)).toEqual(['{job="db"}', '{instance=~"i.*"}']);
    expect(reqs[1].matchers.map((m) => [m.type, m.name, m.value])).toEqual([[MatchType.RE, 'instance', 'i.*']]);
    expect(parseDeleteConfig('', parseSelector)).toEqual([]);
  });

  it('refuses intervals, unknown fields, a non-list and a bad selector, naming the entry', () => {
    const bad = (text: string): string => {
      try {
        parseDeleteConfig(text, parseSelector);
      } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        return (err as Error).message;
      }
      throw new Error(`accepted ${text}`);
    };
    expect(bad(`- matchers: '{job="db"}'\n  intervals: [{mint: 0, maxt: 1}]\n`)).toBe('--rewrite.to-delete-config: entry 0: intervals are not supported yet: only whole series can be deleted');
    expect(bad(`- matchers: '{job="db"}'\n- matcher: '{job="x"}'\n`)).toBe('--rewrite.to-delete-config: entry 1: expected "matchers: <series selector>"');
    expect(bad(`- matchers: '{job="db"}'\n  why: because\n`)).toBe('--rewrite.to-delete-config: entry 0: unknown field "why"');
    expect(bad(`matchers: '{job="db"}'\n`)).toMatch(/expected a list/);
    expect(bad(`- matchers: 'job'\n`)).toBe('--rewrite.to-delete-config: entry 0: bad selector job');
  });
});
