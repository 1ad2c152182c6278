// Store gateway over a bucket of 220k series × 24h, beside a real Prometheus (2.42)
// serving the same blocks, in one run: Series latency for a selective, a regex and a broad
// selector (store gRPC Series vs Prometheus streamed remote read, STREAMED_XOR_CHUNKS),
// the bytes the store fetched from the bucket per query, the gateway's resident memory
// after its initial sync and after the queries, and the index-header bytes it loaded.
//
// Data: 2000 instances (8 jobs, 25 namespaces, one pod each) × 20 metric names × 5 values
// of a per-metric label = 200k series, plus 10% of the pods restarting at 12:00 (a new pod
// label, so 20k more series in the second half of the day): 220k series. Samples every
// 5 m (a coarse interval keeps 24h at 58M samples, quick to generate), at a fixed offset
// per target; counters, float counters and gauges. Chunks are cut at 2h as a Prometheus
// head cuts them, and the day is written as three aligned 8h blocks, what a Thanos compactor
// makes of twelve 2h blocks. Our SeriesBuilder/BlockWriter write the blocks once into a
// cache (node_modules/.cache/thanos-ts-bench/store-v1; delete it to regenerate); each run
// hardlinks them into the data directory of a Prometheus started with 2h min/max block
// durations (so it never compacts them) and 100y retention, and into two FILESYSTEM
// buckets whose meta.json gains a thanos section with {cluster="bench"}: the main one
// with the index_stats a Thanos compactor writes (largest series entry and chunk, which
// size the store's range reads), and one without (as a sidecar ships blocks; the store
// then guesses 64 KiB per series and 16000 B per chunk), queried by a second gateway.
//
// The store gateway runs as a child process (`thanos-ts store`, default flags: lazy
// index-headers, 250MB in-memory index cache) with a fresh --data-dir, so its start
// includes building the three index-headers from the bucket. Each selector asks for the
// whole day. "cold" is each side's first answer to that selector (for the store the first
// selector also loads the index-headers; for both the OS page cache already holds the
// files), "warm" the median of RUNS further runs, alternating sides. Both are timed from
// this process until the last frame is decoded, so each includes our client's decoding.
// Series, chunks and chunk bytes of both answers are compared. Fetched bytes come from the
// hints frame of each Series response (QueryStats.data_downloaded_size_sum, split by data
// type) and are cross-checked against the growth of thanos_bucket_store_fetched_bytes_total.
//
// Memory: VmRSS/VmHWM from /proc, and the V8 heap and external (Buffer) figures from the
// gateway's /metrics, right after the queries and again after a full GC forced through the
// inspector (the gateway runs with --inspect on a loopback port), which is what is live.
// Then DISTINCT more selective queries, each for another instance (cold for its series),
// and the live figures again beside the bytes the index cache says it holds.
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBlockMeta, IndexReader, parseBlockMeta, SeriesBuilder } from '@thanos-ts/tsdb';
import { freePort, startPrometheus } from '@thanos-ts/testutil';
import { hintspb, StoreClient, typeUrl } from '@thanos-ts/storeapi';
import { PromClient } from '@thanos-ts/sidecar';
import { cacheDir, cleanup, fmt, fmtBytes, median, procMemory, scrapeMetrics, startThanosTs, table, tmp } from './util.mjs';

// The store gateway answers with query statistics only when asked, as Thanos does.
const STATS_HINTS = { type_url: typeUrl('hintspb.SeriesRequestHints'), value: hintspb.SeriesRequestHints.encode({ enableQueryStats: true }).finish() };

const HOUR = 3600_000;
/** 2024-01-01T00:00:00Z: a fixed day, so cached blocks stay valid; 8h-aligned. */
const T0 = Date.UTC(2024, 0, 1);
const DAY = 24 * HOUR;
const BLOCK = 8 * HOUR;
const STEP = 5 * 60_000;
const INSTANCES = 2000;
const VALUES = 5;
/** Pods of instances i % CHURN_EVERY === 0 are replaced at CHURN_AT. */
const CHURN_EVERY = 10;
const CHURN_AT = T0 + 12 * HOUR;
const JOBS = ['api', 'web', 'db', 'cache', 'worker', 'ingest', 'auth', 'search'];
const NAMESPACES = 25;
/** Metric name, its per-series label and values, and its kind: c (integer counter), f (float counter), g (gauge). */
const METRICS = [
  ['http_requests_total', 'code', ['200', '201', '404', '500', '503'], 'c'],
  ['http_request_duration_seconds_count', 'method', ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], 'c'],
  ['http_request_duration_seconds_sum', 'method', ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], 'f'],
  ['http_response_size_bytes_sum', 'handler', ['/api/v1/query', '/api/v1/series', '/metrics', '/healthz', '/'], 'c'],
  ['grpc_server_handled_total', 'grpc_code', ['OK', 'Canceled', 'NotFound', 'Unavailable', 'Internal'], 'c'],
  ['node_cpu_seconds_total', 'mode', ['idle', 'user', 'system', 'iowait', 'irq'], 'f'],
  ['node_network_receive_bytes_total', 'device', ['eth0', 'eth1', 'eth2', 'lo', 'docker0'], 'c'],
  ['node_network_transmit_bytes_total', 'device', ['eth0', 'eth1', 'eth2', 'lo', 'docker0'], 'c'],
  ['node_disk_read_bytes_total', 'device', ['sda', 'sdb', 'sdc', 'nvme0n1', 'nvme1n1'], 'c'],
  ['node_disk_written_bytes_total', 'device', ['sda', 'sdb', 'sdc', 'nvme0n1', 'nvme1n1'], 'c'],
  ['node_memory_bytes', 'type', ['free', 'cached', 'buffers', 'active', 'inactive'], 'g'],
  ['node_filesystem_avail_bytes', 'mountpoint', ['/', '/var', '/home', '/data', '/tmp'], 'g'],
  ['process_cpu_seconds_total', 'container', ['app', 'sidecar', 'proxy', 'init', 'exporter'], 'f'],
  ['container_memory_working_set_bytes', 'container', ['app', 'sidecar', 'proxy', 'init', 'exporter'], 'g'],
  ['container_cpu_usage_seconds_total', 'container', ['app', 'sidecar', 'proxy', 'init', 'exporter'], 'f'],
  ['kube_pod_container_status_restarts_total', 'container', ['app', 'sidecar', 'proxy', 'init', 'exporter'], 'c'],
  ['go_goroutines', 'container', ['app', 'sidecar', 'proxy', 'init', 'exporter'], 'g'],
  ['go_memstats_heap_inuse_bytes', 'container', ['app', 'sidecar', 'proxy', 'init', 'exporter'], 'g'],
  ['rpc_client_requests_total', 'service', ['users', 'orders', 'billing', 'search', 'auth'], 'c'],
  ['queue_depth', 'queue', ['ingest', 'retry', 'dead', 'email', 'index'], 'g'],
];
const BASE_SERIES = INSTANCES * METRICS.length * VALUES;
const CHURNED = Math.ceil(INSTANCES / CHURN_EVERY) * METRICS.length * VALUES;
const CACHE_VERSION = 'store-v1';
const RUNS = 5;
const EXTERNAL = { cluster: 'bench' };
/** Every query asks for the whole day. */
const MINT = T0;
const MAXT = T0 + DAY - 1;
const IDLE_MS = 2000;
/** Further selective queries, each for another instance. */
const DISTINCT = 10;

const instanceOf = (i) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}:9100`;
const EQ = 0;
const RE = 2;
/** Instance 17 has no restart: one pod, 20 × 5 series. */
const SELECTORS = [
  { name: 'selective', text: `{instance="${instanceOf(17)}"}`, matchers: [{ type: EQ, name: 'instance', value: instanceOf(17) }] },
  {
    name: 'regex',
    text: '{__name__=~"http_.+",instance=~"10\\\\.1\\\\.2\\\\..+"}',
    matchers: [
      { type: RE, name: '__name__', value: 'http_.+' },
      { type: RE, name: 'instance', value: '10\\.1\\.2\\..+' },
    ],
  },
  { name: 'broad', text: '{__name__="http_requests_total"}', matchers: [{ type: EQ, name: '__name__', value: 'http_requests_total' }] },
];

export async function run() {
  const cache = cacheDir(CACHE_VERSION);
  const gen = await ensureBlocks(cache);
  const dir = tmp('store');
  const promDir = join(dir, 'prom');
  let prom;
  let gw;
  try {
    // Hardlink the cached blocks into the Prometheus data dir and into two buckets: one
    // whose meta.json carries the index_stats a Thanos compactor writes (the main one),
    // one without (as a sidecar uploads blocks; the store then guesses 64 KiB per series
    // and 16000 B per chunk when it sizes its range reads).
    const buckets = { stats: join(dir, 'bucket'), nostats: join(dir, 'bucket-nostats') };
    for (const id of gen.blocks) {
      const src = join(cache, 'blocks', id);
      for (const [root, kind] of [
        [promDir, 'prom'],
        [buckets.stats, 'stats'],
        [buckets.nostats, 'nostats'],
      ]) {
        const dst = join(root, id);
        mkdirSync(join(dst, 'chunks'), { recursive: true });
        linkSync(join(src, 'index'), join(dst, 'index'));
        linkSync(join(src, 'tombstones'), join(dst, 'tombstones'));
        for (const f of readdirSync(join(src, 'chunks'))) linkSync(join(src, 'chunks', f), join(dst, 'chunks', f));
        const meta = readFileSync(join(src, 'meta.json'), 'utf8');
        if (kind === 'prom') {
          writeFileSync(join(dst, 'meta.json'), meta);
          continue;
        }
        const m = parseBlockMeta(meta);
        m.thanos = { ...m.thanos, labels: EXTERNAL, downsample: { resolution: 0 }, source: 'compactor', index_stats: kind === 'stats' ? gen.indexStats[id] : {} };
        writeFileSync(join(dst, 'meta.json'), encodeBlockMeta(m));
      }
    }
    const indexBytes = gen.blocks.reduce((n, id) => n + statSync(join(cache, 'blocks', id, 'index')).size, 0);
    const chunkBytes = gen.blocks.reduce((n, id) => n + readdirSync(join(cache, 'blocks', id, 'chunks')).reduce((m, f) => m + statSync(join(cache, 'blocks', id, 'chunks', f)).size, 0), 0);
    const st = Object.values(gen.indexStats);
    console.log(
      `${fmt(gen.series, 0)} series (${fmt(BASE_SERIES, 0)} + ${fmt(CHURNED, 0)} after pod restarts) × 24h at ${STEP / 60_000}m, ${fmt(gen.samples)} samples, ` +
        `${gen.blocks.length} blocks of 8h: index ${fmtBytes(indexBytes)}, chunks ${fmtBytes(chunkBytes)} (${(chunkBytes / gen.samples).toFixed(2)} B/sample); ` +
        `index_stats: series_max_size ${Math.max(...st.map((x) => x.series_max_size))} B, chunk_max_size ${Math.max(...st.map((x) => x.chunk_max_size))} B` +
        (gen.ms !== null ? `; generated in ${(gen.ms / 1000).toFixed(1)} s` : '; blocks from the cache') +
        `\n`,
    );

    // Prometheus on the same blocks.
    let t = performance.now();
    prom = await startPrometheus({ dataDir: promDir, scrapeSelf: false, blockDuration: '2h', extraArgs: ['--storage.tsdb.retention.time=100y'], readyTimeoutMs: 120_000 });
    const promStartMs = performance.now() - t;
    const promRss = async () => (await scrapeMetrics(`${prom.url}/metrics`)).get('process_resident_memory_bytes');
    const promRssStart = await promRss();
    const promClient = new PromClient(prom.url, 120_000);
    const viaProm = async (matchers) => {
      const r = { series: 0, chunks: 0, bytes: 0 };
      const t0 = performance.now();
      for await (const f of promClient.remoteRead({ startTimestampMs: MINT, endTimestampMs: MAXT, matchers })) {
        for (const s of f.chunkedSeries) {
          r.series++;
          r.chunks += s.chunks.length;
          for (const c of s.chunks) r.bytes += c.data.length;
        }
      }
      r.ms = performance.now() - t0;
      return r;
    };

    // The main gateway (compactor meta), beside Prometheus.
    gw = await startGateway(buckets.stats, join(dir, 'store-data'), dir);
    const readyMs = gw.readyMs;
    const memSync = procMemory(gw.pid);
    const mSync = await gw.metrics();
    const results = [];
    for (const sel of SELECTORS) {
      const sCold = await gw.series(sel.matchers);
      const pCold = await viaProm(sel.matchers);
      const sWarm = [];
      const pWarm = [];
      for (let i = 0; i < RUNS; i++) {
        sWarm.push(await gw.series(sel.matchers));
        pWarm.push(await viaProm(sel.matchers));
      }
      const same = sCold.series === pCold.series && sCold.chunks === pCold.chunks && sCold.bytes === pCold.bytes;
      const consistent = [...sWarm, ...pWarm].every((r) => r.series === sCold.series && r.chunks === sCold.chunks && r.bytes === sCold.bytes);
      results.push({ sel, sCold, pCold, sWarm, pWarm, same: same && consistent });
    }
    const memQueries = procMemory(gw.pid);
    const mQueries = await gw.metrics();
    const promRssEnd = await promRss();
    // What is live: a full GC, then a little idle time for the allocator to give pages back.
    await gw.collectGarbage();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const memIdle = procMemory(gw.pid);
    const mIdle = await gw.metrics();
    let hintBytes = 0;
    for (const r of results) for (const q of [r.sCold, ...r.sWarm]) hintBytes += q.stats?.dataDownloadedSizeSum ?? 0;
    const metricBytes = fetchedTotal(mQueries) - fetchedTotal(mSync);

    // A dashboard's worth of other selective queries, one instance each (every one cold
    // for its series entries): their latency, and what stays live afterwards.
    const distinct = [];
    for (let k = 0; k < DISTINCT; k++) {
      const i = 101 + k * Math.floor(INSTANCES / DISTINCT);
      distinct.push(await gw.series([{ type: EQ, name: 'instance', value: instanceOf(i) }]));
    }
    await gw.collectGarbage();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const memDistinct = procMemory(gw.pid);
    const mDistinct = await gw.metrics();
    const headerFiles = readdirSync(join(dir, 'store-data'))
      .filter((d) => existsSync(join(dir, 'store-data', d, 'index-header')))
      .reduce((n, d) => n + statSync(join(dir, 'store-data', d, 'index-header')).size, 0);
    await gw.stop();
    gw = null;

    // The same queries from a gateway over the bucket without index_stats.
    gw = await startGateway(buckets.nostats, join(dir, 'store-data-nostats'), dir);
    const noStats = [];
    for (const sel of SELECTORS) {
      const cold = await gw.series(sel.matchers);
      const warm = [];
      for (let i = 0; i < RUNS; i++) warm.push(await gw.series(sel.matchers));
      noStats.push({ cold, warm });
    }
    const memNoStats = procMemory(gw.pid);
    await gw.stop();
    gw = null;

    const rows = [
      [
        'selector',
        'series',
        'chunks (bytes)',
        'store cold ms',
        'Prometheus cold ms',
        'ratio cold',
        `store warm ms (median of ${RUNS})`,
        `Prometheus warm ms (median of ${RUNS})`,
        'ratio warm (store/Prometheus)',
        'bucket bytes cold (postings/series/chunks)',
        'bucket bytes warm (postings/series/chunks)',
      ],
    ];
    const json = { bench: 'store', series: gen.series, samples: gen.samples, blocks: gen.blocks.length, stepMs: STEP, indexBytes, chunkBytes, queries: [] };
    for (const [i, { sel, sCold, pCold, sWarm, pWarm, same }] of results.entries()) {
      const sMs = median(sWarm.map((r) => r.ms));
      const pMs = median(pWarm.map((r) => r.ms));
      const w = sWarm[sWarm.length - 1].stats;
      const ns = noStats[i];
      const nsw = ns.warm[ns.warm.length - 1].stats;
      rows.push([
        `${sel.name} ${sel.text}${same ? '' : ' (answers differ!)'}`,
        String(sCold.series),
        `${sCold.chunks} (${fmtBytes(sCold.bytes)})`,
        sCold.ms.toFixed(1),
        pCold.ms.toFixed(1),
        (sCold.ms / pCold.ms).toFixed(2),
        sMs.toFixed(1),
        pMs.toFixed(1),
        (sMs / pMs).toFixed(2),
        fetchedSplit(sCold.stats),
        fetchedSplit(w),
      ]);
      json.queries.push({
        name: sel.name,
        selector: sel.text,
        series: sCold.series,
        chunks: sCold.chunks,
        chunkBytes: sCold.bytes,
        identical: same,
        storeColdMs: round(sCold.ms),
        promColdMs: round(pCold.ms),
        storeWarmMs: round(sMs),
        promWarmMs: round(pMs),
        ratioWarm: round(sMs / pMs, 3),
        fetchedCold: fetchedJson(sCold.stats),
        fetchedWarm: fetchedJson(w),
        noIndexStats: { storeColdMs: round(ns.cold.ms), storeWarmMs: round(median(ns.warm.map((r) => r.ms))), fetchedCold: fetchedJson(ns.cold.stats), fetchedWarm: fetchedJson(nsw) },
      });
    }
    table(rows);
    console.log(`\nWithout index_stats in meta.json (range reads sized by the 64 KiB/series and 16000 B/chunk guesses):\n`);
    table([
      ['selector', 'store cold ms', `store warm ms (median of ${RUNS})`, 'bucket bytes cold (postings/series/chunks)', 'bucket bytes warm (postings/series/chunks)', 'warm bytes vs with index_stats'],
      ...results.map(({ sel, sWarm }, i) => {
        const ns = noStats[i];
        const nsw = ns.warm[ns.warm.length - 1].stats;
        const withStats = sWarm[sWarm.length - 1].stats?.dataDownloadedSizeSum ?? NaN;
        return [sel.name, ns.cold.ms.toFixed(1), median(ns.warm.map((r) => r.ms)).toFixed(1), fetchedSplit(ns.cold.stats), fetchedSplit(nsw), `${((nsw?.dataDownloadedSizeSum ?? NaN) / withStats).toFixed(1)}×`];
      }),
    ]);
    console.log();
    const g = (m, k) => m.get(k) ?? NaN;
    table([
      ['memory and startup', 'store gateway', 'Prometheus'],
      [
        'ready after (s)',
        `${(readyMs / 1000).toFixed(1)} (initial sync: index-headers built, ${fmtBytes(headerFiles)} on disk, ${fmtBytes(g(mSync, 'thanos_bucket_store_indexheader_build_fetched_bytes_total'))} read)`,
        (promStartMs / 1000).toFixed(1),
      ],
      ['RSS after start/sync', fmtBytes(memSync.rss), fmtBytes(promRssStart)],
      ['RSS right after the queries', fmtBytes(memQueries.rss), fmtBytes(promRssEnd)],
      [`RSS after a full GC and ${IDLE_MS / 1000} s idle`, fmtBytes(memIdle.rss), ''],
      ['peak RSS (VmHWM) so far', fmtBytes(memIdle.peak), ''],
      ['V8 heap used / total, external (after the queries)', `${fmtBytes(g(mQueries, 'nodejs_heap_size_used_bytes'))} / ${fmtBytes(g(mQueries, 'nodejs_heap_size_total_bytes'))}, ${fmtBytes(g(mQueries, 'nodejs_external_memory_bytes'))}`, ''],
      ['V8 heap used / total, external (after a full GC: live)', `${fmtBytes(g(mIdle, 'nodejs_heap_size_used_bytes'))} / ${fmtBytes(g(mIdle, 'nodejs_heap_size_total_bytes'))}, ${fmtBytes(g(mIdle, 'nodejs_external_memory_bytes'))}`, ''],
      ['index-header bytes loaded (after sync / after the queries)', `${fmtBytes(g(mSync, 'thanos_bucket_store_indexheader_loaded_bytes'))} / ${fmtBytes(g(mQueries, 'thanos_bucket_store_indexheader_loaded_bytes'))}`, ''],
      ['index cache held after the queries', fmtBytes(g(mQueries, 'thanos_store_index_cache_total_size_bytes')), ''],
      ['bucket bytes of all queries: sum of hints / growth of fetched_bytes_total', `${fmtBytes(hintBytes)} / ${fmtBytes(metricBytes)}${hintBytes === metricBytes ? '' : ' (differ!)'}`, ''],
      [
        `then ${DISTINCT} selective queries for other instances (cold ms median; bucket bytes each)`,
        `${median(distinct.map((r) => r.ms)).toFixed(1)} ms; ${fmtBytes(median(distinct.map((r) => r.stats?.dataDownloadedSizeSum ?? NaN)))}`,
        '',
      ],
      [
        '  after them and a full GC: RSS; V8 heap used, external; index cache held',
        `${fmtBytes(memDistinct.rss)}; ${fmtBytes(g(mDistinct, 'nodejs_heap_size_used_bytes'))}, ${fmtBytes(g(mDistinct, 'nodejs_external_memory_bytes'))}; ${fmtBytes(g(mDistinct, 'thanos_store_index_cache_total_size_bytes'))}`,
        '',
      ],
      ['peak RSS (VmHWM) of the gateway over it all / of the one without index_stats', `${fmtBytes(memDistinct.peak)} / ${fmtBytes(memNoStats.peak)}`, ''],
    ]);
    Object.assign(json, {
      storeReadyMs: round(readyMs),
      promReadyMs: round(promStartMs),
      storeRssAfterSync: memSync.rss,
      storeRssAfterQueries: memQueries.rss,
      storeRssIdle: memIdle.rss,
      storePeakRss: memIdle.peak,
      storeHeapUsedAfterQueries: g(mQueries, 'nodejs_heap_size_used_bytes'),
      storeHeapTotalAfterQueries: g(mQueries, 'nodejs_heap_size_total_bytes'),
      storeExternalAfterQueries: g(mQueries, 'nodejs_external_memory_bytes'),
      storeHeapUsedLive: g(mIdle, 'nodejs_heap_size_used_bytes'),
      storeExternalLive: g(mIdle, 'nodejs_external_memory_bytes'),
      storePeakRssNoIndexStats: memNoStats.peak,
      distinctSelective: {
        queries: DISTINCT,
        coldMsMedian: round(median(distinct.map((r) => r.ms))),
        fetchedBytesMedian: median(distinct.map((r) => r.stats?.dataDownloadedSizeSum ?? NaN)),
        rssAfterGc: memDistinct.rss,
        heapUsedLive: g(mDistinct, 'nodejs_heap_size_used_bytes'),
        externalLive: g(mDistinct, 'nodejs_external_memory_bytes'),
        indexCacheBytes: g(mDistinct, 'thanos_store_index_cache_total_size_bytes'),
        peakRss: memDistinct.peak,
      },
      promRssAfterStart: promRssStart,
      promRssAfterQueries: promRssEnd,
      indexHeaderLoadedBytesAfterSync: g(mSync, 'thanos_bucket_store_indexheader_loaded_bytes'),
      indexHeaderLoadedBytes: g(mQueries, 'thanos_bucket_store_indexheader_loaded_bytes'),
      indexHeaderFileBytes: headerFiles,
      indexHeaderBuildFetchedBytes: g(mSync, 'thanos_bucket_store_indexheader_build_fetched_bytes_total'),
      indexCacheBytes: g(mQueries, 'thanos_store_index_cache_total_size_bytes'),
      fetchedBytesHintsTotal: hintBytes,
      fetchedBytesMetricTotal: metricBytes,
    });
    console.log(`\n${JSON.stringify(json)}`);
  } finally {
    await gw?.stop();
    await prom?.stop();
    cleanup(dir);
  }
}

function round(x, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function fetchedSplit(q) {
  if (!q) return 'no hints';
  return `${fmtBytes(q.dataDownloadedSizeSum)} (${fmtBytes(q.postingsFetchedSizeSum)}/${fmtBytes(q.seriesFetchedSizeSum)}/${fmtBytes(q.chunksFetchedSizeSum)})`;
}

function fetchedJson(q) {
  if (!q) return null;
  return { total: q.dataDownloadedSizeSum, postings: q.postingsFetchedSizeSum, series: q.seriesFetchedSizeSum, chunks: q.chunksFetchedSizeSum };
}

function fetchedTotal(m) {
  return ['postings', 'series', 'chunks'].reduce((n, ty) => n + (m.get(`thanos_bucket_store_fetched_bytes_total{data_type="${ty}"}`) ?? 0), 0);
}

/**
 * `thanos-ts store` over a FILESYSTEM bucket as a child process, ready (initial sync
 * done); series() drains one Series call and returns what came back with the query stats
 * of its hints frame.
 */
async function startGateway(bucketDir, dataDir, dir) {
  const objstore = join(dir, `objstore-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  const inspectPort = await freePort();
  const t0 = performance.now();
  // The inspector (idle unless collectGarbage() attaches) lets us force a full GC.
  const gw = await startThanosTs('store gateway', ['store', `--objstore.config-file=${objstore}`, `--data-dir=${dataDir}`], {
    nodeArgs: [`--inspect=127.0.0.1:${inspectPort}`],
    readyTimeoutMs: 180_000,
  });
  const client = new StoreClient(gw.grpc);
  const stop = async () => {
    client.close();
    await gw.stop();
  };
  const readyMs = performance.now() - t0;
  // Let start-up garbage settle before the first memory reading.
  await new Promise((r) => setTimeout(r, 500));
  const series = async (matchers) => {
    const r = { series: 0, chunks: 0, bytes: 0, stats: null, ms: 0 };
    const t = performance.now();
    for await (const f of client.series({ minTime: MINT, maxTime: MAXT, matchers, responseBatchSize: 64, hints: STATS_HINTS }, { timeoutMs: 120_000 })) {
      if (f.warning) throw new Error(`store warning: ${f.warning}`);
      if (f.hints) {
        r.stats = hintspb.SeriesResponseHints.decode(f.hints.value).queryStats ?? null;
        continue;
      }
      for (const s of f.series ? [f.series] : f.batch?.series ?? []) {
        r.series++;
        r.chunks += s.chunks.length;
        for (const c of s.chunks) r.bytes += c.raw.data.length;
      }
    }
    r.ms = performance.now() - t;
    return r;
  };
  return { pid: gw.pid, readyMs, series, stop, metrics: () => scrapeMetrics(`${gw.url}/metrics`), collectGarbage: () => collectGarbage(inspectPort) };
}

/**
 * A full garbage collection in the process whose inspector listens on the port
 * (HeapProfiler.collectGarbage), so that its heap figures count live objects only. Node 20
 * has WebSocket only behind a flag, so a short-lived helper process speaks to the inspector.
 */
async function collectGarbage(inspectPort) {
  const [target] = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json();
  const script = `
    const ws = new WebSocket(process.argv[1]);
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    ws.onmessage = (e) => { if (JSON.parse(e.data).id === 1) { ws.close(); process.exit(0); } };
    ws.onerror = () => process.exit(1);
    setTimeout(() => process.exit(2), 30000);`;
  await new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--no-warnings', '--experimental-websocket', '-e', script, target.webSocketDebuggerUrl], { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`collectGarbage via the inspector: helper exited ${code}`))));
  });
}

/**
 * Thanos' index_stats of a block as its compactor computes them (block.GatherIndexHealthStats):
 * the largest distance between consecutive series refs (×16) and between consecutive
 * chunk refs of a series in one segment file.
 */
function indexStats(indexFile) {
  const r = IndexReader.fromFile(indexFile);
  const p = r.postings('', '');
  const entry = { labels: [], chunks: [] };
  let prev = -1;
  let seriesMax = 0;
  let chunkMax = 0;
  while (p.next()) {
    const ref = p.at();
    if (prev >= 0) seriesMax = Math.max(seriesMax, (ref - prev) * 16);
    prev = ref;
    const { chunks } = r.series(ref, entry);
    for (let i = 0; i + 1 < chunks.length; i++) {
      const a = chunks[i].ref;
      const b = chunks[i + 1].ref;
      // BlockChunkRef: segment in the upper 32 bits, offset in the lower (refs < 2^53).
      if (Math.floor(a / 2 ** 32) === Math.floor(b / 2 ** 32)) chunkMax = Math.max(chunkMax, b - a);
    }
  }
  return { series_max_size: seriesMax, chunk_max_size: chunkMax };
}

/**
 * The three 8h blocks under <cache>/blocks, generated unless a previous run left them
 * (a `done.json` beside them says so).
 */
async function ensureBlocks(cache) {
  const doneFile = join(cache, 'done.json');
  if (existsSync(doneFile)) {
    const done = JSON.parse(readFileSync(doneFile, 'utf8'));
    if (done.indexStats === undefined) {
      done.indexStats = {};
      for (const id of done.blocks) done.indexStats[id] = indexStats(join(cache, 'blocks', id, 'index'));
      writeFileSync(doneFile, JSON.stringify(done));
    }
    return { ...done, ms: null };
  }
  rmSync(join(cache, 'blocks'), { recursive: true, force: true });
  mkdirSync(join(cache, 'blocks'), { recursive: true });
  const t0 = performance.now();

  // Every series once: its labels, its target's scrape offset and its live range.
  const series = [];
  const addSeries = (i, m, v, pod, from, to) => {
    const [name, label, values, kind] = METRICS[m];
    const labels = [
      { name: '__name__', value: name },
      { name: label, value: values[v] },
      { name: 'instance', value: instanceOf(i) },
      { name: 'job', value: JOBS[i % JOBS.length] },
      { name: 'namespace', value: `ns-${i % NAMESPACES}` },
      { name: 'pod', value: pod },
    ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    series.push({ labels, kind, offset: ((i * 7919) % 300) * 1000, from, to });
  };
  const podOf = (i, gen) => `${JOBS[i % JOBS.length]}-${((i * 2654435761) >>> 0).toString(16).padStart(8, '0').slice(0, 8)}-${gen === 0 ? 'x7k2q' : 'p9m4z'}`;
  for (let i = 0; i < INSTANCES; i++) {
    const churn = i % CHURN_EVERY === 0;
    for (let m = 0; m < METRICS.length; m++) {
      for (let v = 0; v < VALUES; v++) {
        addSeries(i, m, v, podOf(i, 0), T0, churn ? CHURN_AT : T0 + DAY);
        if (churn) addSeries(i, m, v, podOf(i, 1), CHURN_AT, T0 + DAY);
      }
    }
  }
  // Per-series state carried from one 8h window to the next: value and PRNG state.
  const value = new Float64Array(series.length);
  const state = new Uint32Array(series.length);
  for (let s = 0; s < series.length; s++) {
    state[s] = (s * 2654435761 + 1) >>> 0;
    value[s] = series[s].kind === 'g' ? 1e6 + (s % 977) * 1000 : 0;
  }

  const blocks = [];
  let samples = 0;
  for (let lo = T0; lo < T0 + DAY; lo += BLOCK) {
    const hi = lo + BLOCK;
    const b = new SeriesBuilder(); // chunks cut at 2h, as a head does
    for (let s = 0; s < series.length; s++) {
      const sr = series[s];
      const from = Math.max(lo, sr.from);
      const to = Math.min(hi, sr.to);
      if (from >= to) continue;
      const ref = b.getOrCreate(sr.labels);
      let x = state[s];
      let v = value[s];
      // First scrape at or after `from` on this target's grid.
      let t = from + ((sr.offset - (from % STEP) + STEP) % STEP);
      for (; t < to; t += STEP) {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
        if (sr.kind === 'c') v += x >>> 22; // 0..1023 per scrape
        else if (sr.kind === 'f') v = Math.round((v + (x >>> 8) / 2 ** 24 * 30) * 1000) / 1000; // ms resolution seconds
        else v = Math.max(0, v + ((x >>> 20) - 2048) * 16);
        b.appendRef(ref, t, v);
        samples++;
      }
      state[s] = x;
      value[s] = v;
    }
    const w = await b.writeBlock(join(cache, 'blocks'), { mint: lo, maxt: hi });
    blocks.push(w.ulid);
  }
  const stats = {};
  for (const id of blocks) stats[id] = indexStats(join(cache, 'blocks', id, 'index'));
  const done = { series: series.length, samples, blocks, indexStats: stats };
  writeFileSync(doneFile, JSON.stringify(done));
  return { ...done, ms: performance.now() - t0 };
}
