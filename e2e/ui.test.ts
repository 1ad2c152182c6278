// The web UI in a real browser over real data: two Prometheus replicas (external label
// replica=a/b, both scraping both, so every series exists twice) with our sidecars, a
// store gateway over a filesystem bucket holding one backfilled block marked for deletion
// (served under --web.route-prefix), and a query deduplicating by `replica`. Debian's chromium, driven
// by playwright-core, types a query with autocompletion, runs it, sees uPlot draw the
// series, toggles deduplication, reopens the view from its URL, and opens the stores,
// blocks, rules (a ruler evaluating through the query) and status pages. A screenshot of
// each page goes to e2e/screenshots/. Everything starts at once, on addresses picked
// beforehand, and every wait polls.
//
// Needs the built components and the UI bundle: pnpm exec tsc -b packages/cli/tsconfig.json
// (or the root build) and node packages/ui/scripts/bundle.mjs.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { listBlockIds, markForDeletion } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { freePort, removeTempDirs, startPrometheus, tempDir, waitFor } from '@thanos-ts/testutil';
import type { PrometheusInstance } from '@thanos-ts/testutil';
import { runCli } from './cli.js';
import { loopbackAddress, startComponent } from './components.js';
import type { Component } from './components.js';
import { api } from './api.js';

const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const BUNDLE = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'ui', 'dist-web', 'index.html');
const STORE_PREFIX = '/bucket';
/** 2024-03-04T00:00:00Z: the backfilled block's start, on the 2h grid. */
const BLOCK_START_S = Date.UTC(2024, 2, 4) / 1000;
/** When the block is marked for deletion: now, so --ignore-deletion-marks-delay keeps it served. */
const MARKED_AT_S = Math.floor(Date.now() / 1000);

const RULES = `groups:
  - name: ui
    interval: 1s
    rules:
      - record: job:up:count
        expr: count by (job) (up)
      - alert: AlwaysFiring
        expr: vector(1)
        labels:
          severity: page
        annotations:
          summary: fires from the first evaluation on
`;

const proms: PrometheusInstance[] = [];
const sidecars: Component[] = [];
let store: Component;
let query: Component;
let queryUrl: string;
let rule: Component;
let ruleUrl: string;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run node packages/ui/scripts/bundle.mjs before this test`);
  const t0 = Date.now();
  const bucketDir = await tempDir('ui-bucket');
  const om = await tempDir('ui-om');
  const lines = ['# TYPE demo_backfill_temperature gauge'];
  for (let i = 0; i < 120; i++) for (const room of ['kitchen', 'office']) lines.push(`demo_backfill_temperature{room="${room}"} ${20 + (i % 7)} ${BLOCK_START_S + i * 60}`);
  await Promise.all([
    writeFile(join(om, 'data.om'), lines.join('\n') + '\n# EOF\n'),
    writeFile(join(om, 'objstore.yml'), `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`),
    writeFile(join(om, 'rules.yml'), RULES),
  ]);
  // Every address picked beforehand, so that everything starts at once: the sidecars
  // beside their Prometheus (they retry until it answers), the store beside the backfill
  // of its block, the query and the ruler beside the peers they name.
  const ports = [await freePort(), await freePort()];
  const targets = ports.map((p) => `127.0.0.1:${p}`);
  const promDirs = await Promise.all(['a', 'b'].map((r) => tempDir(`ui-prometheus-${r}`)));
  const [sidecarA, sidecarB, storeGrpc, ruleGrpc, queryHttp] = await Promise.all([1, 2, 3, 4, 5].map(() => loopbackAddress()));
  const sidecarGrpc = [sidecarA, sidecarB];
  const [started, scs, blockId, st, q, r, launched] = await Promise.all([
    Promise.all(
      ['a', 'b'].map((replica, i) =>
        startPrometheus({
          port: ports[i],
          dataDir: promDirs[i],
          scrapeSelf: false,
          scrapeInterval: '1s',
          externalLabels: { replica },
          config: { scrape_configs: [{ job_name: 'prometheus', static_configs: [{ targets }] }] },
        }),
      ),
    ),
    Promise.all(promDirs.map((dir, i) => startComponent(['sidecar', '--prometheus.url', `http://${targets[i]}`, '--tsdb.path', dir], { grpcAddress: sidecarGrpc[i] }))),
    (async () => {
      const backfill = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', join(om, 'objstore.yml'), '--label', 'cluster=eu', '--label', 'replica=a', join(om, 'data.om')]);
      expect(backfill.code, backfill.stderr).toBe(0);
      // Marked for deletion, as a compactor replacing it would: the store serves it until
      // --ignore-deletion-marks-delay passes, and its blocks API says it is marked.
      const bkt = new FilesystemBucket(bucketDir);
      const [id] = await listBlockIds(bkt);
      expect(await markForDeletion(bkt, id, 'replaced in the ui e2e', MARKED_AT_S * 1000)).toBe(true);
      return id;
    })(),
    // Started beside the backfill, syncing every second until it has the block. Under a
    // route prefix: its /-/ready moves there too, so the wait is ours (below).
    startComponent(
      ['store', '--objstore.config-file', join(om, 'objstore.yml'), '--data-dir', join(bucketDir, '..', 'ui-store-cache'), '--web.route-prefix', STORE_PREFIX, '--sync-block-duration', '1s'],
      { waitReady: false, grpcAddress: storeGrpc },
    ),
    startComponent(['query', ...[...sidecarGrpc, storeGrpc, ruleGrpc].flatMap((a) => ['--endpoint', a]), '--endpoint.info-timeout', '1s', '--query.replica-label', 'replica'], {
      httpAddress: queryHttp,
      // Ready after its first pass over the endpoints, which start beside it.
      readyTimeoutMs: 60_000,
    }),
    startComponent(
      ['rule', '--rule-file', join(om, 'rules.yml'), '--eval-interval', '1s', '--query', queryHttp, '--label', 'ruler="ui"', '--data-dir', join(om, 'rule-data'), '--grpc-address', ruleGrpc],
      { grpc: false },
    ),
    chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] }),
  ]);
  proms.push(...started);
  sidecars.push(...scs);
  [store, query, rule, browser] = [st, q, r, launched];
  // One context for every page: the bundle is fetched once and cached (it is immutable).
  context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  ruleUrl = `http://${rule.httpAddress}`;
  queryUrl = `http://${queryHttp}`;
  // The store lists the block with its mark, both replicas' samples of both targets are
  // in, every endpoint is up, and the ruler's alert fires.
  await waitFor(
    async () => {
      const r = await fetch(`http://${store.httpAddress}${STORE_PREFIX}/api/v1/blocks`);
      const blocks = ((await r.json()) as { data: { blocks: { ulid: string; deletionMark?: unknown }[] } }).data.blocks;
      return blocks.length === 1 && blocks[0].ulid === blockId && blocks[0].deletionMark !== undefined;
    },
    { timeoutMs: 30_000, what: 'the store serving the marked block' },
  );
  await waitFor(
    async () => {
      const r = await api(queryUrl, '/api/v1/query', { query: 'prometheus_build_info', dedup: 'false' });
      const stores = await api(queryUrl, '/api/v1/stores');
      const eps = Object.values((stores.body.data ?? {}) as Record<string, { lastError: string | null }[]>).flat();
      const alerts = await api(ruleUrl, '/api/v1/alerts');
      return (
        (r.body.data as { result: unknown[] } | undefined)?.result.length === 4 &&
        eps.length === 4 &&
        eps.every((e) => e.lastError === null) &&
        (alerts.body.data as { alerts: { state: string }[] } | undefined)?.alerts.some((a) => a.state === 'firing')
      );
    },
    { timeoutMs: 30_000, what: 'both replicas of both targets through the query, and a firing alert' },
  );
  await mkdir(SCREENSHOTS, { recursive: true });
  console.log(`ui e2e: stack up in ${Date.now() - t0} ms`);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([rule, query].map((c) => c?.stop()));
  await Promise.all([store, ...sidecars].map((c) => c?.stop()));
  await Promise.all(proms.map((p) => p.stop()));
  await removeTempDirs();
});

async function openPage(url: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('main[data-ready="true"]');
  expect(errors).toEqual([]);
  return page;
}

/** Follows the navigation bar's link to `name` and waits for that page to be drawn. */
async function visit(page: Page, name: string): Promise<void> {
  await page.click(`nav a[data-page="${name}"]`);
  await page.waitForSelector(`main[data-page="${name}"][data-ready="true"]`);
}

/** The series count and points uPlot was given, once a graph with `series` series is drawn. */
async function graphOf(page: Page, series: number): Promise<{ points: number; legend: number }> {
  const g = await page.waitForSelector(`.graph[data-series="${series}"]`);
  return {
    points: Number(await g.getAttribute('data-points')),
    // One legend row per series plus the time row.
    legend: (await g.$$('.u-legend tr.u-series')).length - 1,
  };
}

/**
 * Waits until the graph page's first query has data: the last hour at its automatic
 * step (1h / 250, 14s) with the end aligned down to a step needs samples older than that
 * end, and Prometheus started with everything else, moments ago.
 */
async function untilGraphHasData(): Promise<void> {
  const step = Math.floor(3600 / 250);
  await waitFor(
    async () => {
      const end = Math.floor(Date.now() / 1000 / step) * step;
      const r = await api(queryUrl, '/api/v1/query_range', { query: 'prometheus_build_info', dedup: 'false', start: String(end - 3600), end: String(end), step: String(step) });
      return (r.body.data as { result: unknown[] } | undefined)?.result.length === 4;
    },
    { timeoutMs: 30_000, what: 'samples of both replicas older than the graph\'s aligned end' },
  );
}

describe('web UI', () => {
  // The pages that read no recent samples come first, while Prometheus's samples age for
  // the graph (see untilGraphHasData).
  it('lists the endpoints, healthy, on the stores page', async () => {
    const page = await openPage(`${queryUrl}/stores`);
    const rows = await page.$$eval('tr.endpoint', (trs) => trs.map((tr) => ({ health: tr.getAttribute('data-health'), text: tr.textContent ?? '' })));
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.health === 'up')).toBe(true);
    for (const c of [...sidecars, store]) expect(rows.some((r) => r.text.includes(c.grpcAddress))).toBe(true);
    expect(rows.some((r) => r.text.includes('ruler="ui"'))).toBe(true);
    expect(rows.some((r) => r.text.includes('replica="b"'))).toBe(true);
    expect(await page.$$eval('h2', (hs) => hs.map((x) => x.textContent))).toEqual(['rule (1)', 'sidecar (2)', 'store (1)']);
    await page.screenshot({ path: join(SCREENSHOTS, 'stores.png'), fullPage: true });
    await page.close();
  });

  it("shows the store's blocks under its route prefix, with a block's meta.json", async () => {
    const page = await openPage(`http://${store.httpAddress}${STORE_PREFIX}/`);
    expect(new URL(page.url()).pathname).toBe(`${STORE_PREFIX}/blocks`);
    const blocks = await page.$$('.block');
    expect(blocks).toHaveLength(1);
    expect(await page.textContent('.stream-name')).toContain('{cluster="eu", replica="a"} @ raw');
    await blocks[0].click();
    const meta = JSON.parse((await page.textContent('.meta-json')) ?? '{}') as {
      ulid: string;
      minTime: number;
      stats: { numSeries: number; numSamples: number };
      deletionMark?: { id: string; details: string; deletion_time: number };
    };
    expect(meta.ulid).toBe(await blocks[0].getAttribute('data-ulid'));
    // The deletion mark the store's last sync found, beside meta.json.
    expect(meta.deletionMark).toEqual({ id: meta.ulid, version: 1, details: 'replaced in the ui e2e', deletion_time: MARKED_AT_S });
    expect(await blocks[0].getAttribute('class')).toContain('marked');
    expect(await page.textContent('.block-details .badge')).toBe(`marked for deletion at ${new Date(MARKED_AT_S * 1000).toISOString().replace('.000Z', 'Z')}`);
    expect(meta.minTime).toBe(BLOCK_START_S * 1000);
    expect(meta.stats.numSeries).toBe(2);
    expect(meta.stats.numSamples).toBe(240);
    expect(await page.textContent('.block-details')).toContain('Compaction level1');
    await page.screenshot({ path: join(SCREENSHOTS, 'blocks.png'), fullPage: true });
    await page.close();
  });

  it("shows the ruler's rules and firing alerts", async () => {
    const page = await openPage(`${ruleUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/rules');
    expect(await page.$$eval('nav a[data-page]', (as) => as.map((a) => a.textContent))).toEqual(['Rules', 'Alerts', 'Status', 'Flags']);
    const health = await page.$$eval('tr.rule td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
    expect(health).toEqual(['ok', 'ok']);
    await page.screenshot({ path: join(SCREENSHOTS, 'rules.png'), fullPage: true });
    await visit(page, 'alerts');
    const firing = await page.$('details.alert-rule.state-firing');
    expect(await firing!.textContent()).toContain('severity="page"');
    await page.screenshot({ path: join(SCREENSHOTS, 'alerts.png'), fullPage: true });
    await page.close();
  });

  it("moves between pages in place: status, flags, rules and alerts; the store's status and flags", async () => {
    const page = await openPage(`${queryUrl}/status`);
    expect(await page.textContent('[data-endpoint="status/buildinfo"] table')).toContain('version');
    await page.screenshot({ path: join(SCREENSHOTS, 'status.png'), fullPage: true });
    await visit(page, 'flags');
    expect(await page.textContent('[data-endpoint="status/flags"] table')).toContain('query.replica-label');
    expect(new URL(page.url()).pathname).toBe('/flags');
    // The ruler's rules and alerts, through the query's Rules API.
    await visit(page, 'rules');
    expect(await page.$$eval('tr.rule pre', (ps) => ps.map((p) => p.textContent?.split('\n')[0]))).toEqual(['record: job:up:count', 'alert: AlwaysFiring']);
    await visit(page, 'alerts');
    expect(await page.textContent('details.alert-rule.state-firing summary')).toContain('AlwaysFiring (1 active)');
    await page.goBack();
    await page.waitForSelector('main[data-page="rules"][data-ready="true"]');
    await page.close();

    // The store serves the same status API under its route prefix, its flags with the
    // objstore ones masked.
    const s = await openPage(`http://${store.httpAddress}${STORE_PREFIX}/status`);
    expect(await s.textContent('[data-endpoint="status/buildinfo"] table')).toContain('version');
    expect(await s.textContent('[data-endpoint="status/runtimeinfo"] table')).toContain('GOMAXPROCS');
    await visit(s, 'flags');
    const flags = Object.fromEntries(await s.$$eval('[data-endpoint="status/flags"] tr', (trs) => trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('td')?.textContent])));
    expect(flags['web.route-prefix']).toBe(STORE_PREFIX);
    expect(flags['objstore.config-file']).toBe('<REDACTED>');
    expect(flags['http-address']).toBe(store.httpAddress);
    expect(new URL(s.url()).pathname).toBe(`${STORE_PREFIX}/flags`);
    await s.close();
  });

  // The query page's steps share one page, each step a test of its own.
  let page: Page;
  let dedupPoints = 0;

  it('completes a metric name, runs the query and draws the deduplicated series', async () => {
    await untilGraphHasData();
    page = await openPage(`${queryUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/graph');
    expect(await page.$$eval('nav a', (as) => as.map((a) => a.textContent))).toEqual(['thanos-tsquery', 'Query', 'Stores', 'Rules', 'Alerts', 'Status', 'Flags']);

    await page.click('.cm-content');
    await page.keyboard.type('prometheus_build_in', { delay: 20 });
    // Accepted with a click: the editor ignores keys for a moment after a list opens
    // (CodeMirror's interactionDelay), and a busy machine can make Enter fall in it.
    await (await page.waitForSelector('.cm-tooltip-autocomplete li:has-text("prometheus_build_info")')).click();
    await page.waitForFunction(() => !document.querySelector('.cm-tooltip-autocomplete'));
    expect(await page.textContent('.cm-content')).toBe('prometheus_build_info');
    await page.keyboard.press('Enter');

    // Deduplicated: one series per target.
    const dedup = await graphOf(page, 2);
    expect(dedup.points).toBeGreaterThan(0);
    expect(dedup.legend).toBe(2);
    expect(await page.$$('.graph canvas')).not.toHaveLength(0);
    dedupPoints = dedup.points;
  }, 60_000);

  it('shows both replicas without deduplication, and a link reproduces the view', async () => {
    await page.uncheck('input[name="dedup"]');
    const raw = await graphOf(page, 4);
    expect(raw.points).toBeGreaterThan(dedupPoints);
    expect(raw.legend).toBe(4);

    const url = new URL(page.url());
    expect(url.searchParams.get('g0.expr')).toBe('prometheus_build_info');
    expect(url.searchParams.get('g0.deduplicate')).toBe('0');
    const again = await openPage(url.href);
    await graphOf(again, 4);
    expect(await again.isChecked('input[name="dedup"]')).toBe(false);
    await again.close();
  }, 60_000);

  it('completes label names and values, and shows a table', async () => {
    await page.click('button.add-panel');
    await page.click('.panel:nth-child(2) .cm-content');
    await page.keyboard.type('up{jo', { delay: 20 });
    await (await page.waitForSelector('.cm-tooltip-autocomplete li:has-text("job")')).click();
    expect(await page.textContent('.panel:nth-child(2) .cm-content')).toBe('up{job}');
    await page.keyboard.type('="', { delay: 20 });
    await (await page.waitForSelector('.cm-tooltip-autocomplete li:has-text("prometheus")')).click();
    expect(await page.textContent('.panel:nth-child(2) .cm-content')).toBe('up{job="prometheus"}');
    await page.click('.panel:nth-child(2) button.remove');

    // The table tab: an instant query, one row per series.
    await page.click('button[data-tab="table"]');
    await page.waitForSelector('.result-table');
    expect(await page.$$('.result-table tr')).toHaveLength(4);
    await page.click('button[data-tab="graph"]');
    await graphOf(page, 4);
  }, 60_000);

  it('zooms into the window dragged over the graph', async () => {
    const over = (await page.$('.graph .u-over'))!;
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    // That window becomes the panel's range and end, kept in the URL.
    await page.waitForFunction(() => new URLSearchParams(window.location.search).get('g0.end_input') !== null);
    const zoomed = new URL(page.url()).searchParams;
    expect(zoomed.get('g0.range_input')).toMatch(/^(\d+m)?(\d+s)?(\d+ms)?$/);
    expect(zoomed.get('g0.range_input')).not.toBe('1h');
    expect(await page.inputValue('input[name="range"]')).toBe(zoomed.get('g0.range_input'));
    await page.close();
  }, 60_000);

  it('draws several panels, stacked or not (the README picture)', async () => {
    const shot = await openPage(
      `${queryUrl}/graph?g0.expr=${encodeURIComponent('rate(prometheus_http_requests_total[10s])')}&g0.range_input=1m&g0.deduplicate=1&g1.expr=prometheus_build_info&g1.range_input=1m&g1.deduplicate=0&g1.stacked=1`,
    );
    await shot.waitForSelector('.panel:nth-child(1) .graph[data-series]');
    await shot.waitForSelector('.panel:nth-child(2) .graph[data-series="4"]');
    expect(await shot.isChecked('.panel:nth-child(2) input[name="stacked"]')).toBe(true);
    await shot.screenshot({ path: join(SCREENSHOTS, 'query.png'), fullPage: true });
    await shot.close();
  }, 60_000);
});
