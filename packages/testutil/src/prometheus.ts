import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './net.js';
import { findBinary, killNow, LogBuffer, spawnTracked, terminate, waitExit } from './process.js';
import { tempDir } from './temp-dir.js';
import { errorMessage, waitFor } from './wait-for.js';

export interface PrometheusOptions {
  /** TSDB directory (default: a fresh temp dir). */
  dataDir?: string;
  /**
   * prometheus.yml as YAML text (used verbatim) or as an object (written as JSON, which
   * is YAML). Objects get `externalLabels`, `scrapeInterval` and the self-scrape job
   * merged in; without a config one is generated from those options.
   */
  config?: object | string;
  externalLabels?: Record<string, string>;
  /** Add a job "prometheus" scraping this server itself (default true for generated/object configs). */
  scrapeSelf?: boolean;
  /** global.scrape_interval (and evaluation_interval) when not set in `config`; default "1s". */
  scrapeInterval?: string;
  /** Sets --storage.tsdb.min-block-duration and --storage.tsdb.max-block-duration to this value. */
  blockDuration?: string;
  extraArgs?: string[];
  /** Listen port (default: a free one). */
  port?: number;
  /** How long to wait for /-/ready (default 30 s). */
  readyTimeoutMs?: number;
}

export interface PrometheusInstance {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  dataDir: string;
  configFile: string;
  /** SIGTERM, then SIGKILL if still running after 10 s. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, leaving the WAL as it was. */
  kill(): Promise<void>;
  /** Stops (if running) and starts again on the same port and data dir, then waits for ready. */
  restart(): Promise<void>;
  /** The last 256 KiB of stdout and stderr, over all runs. */
  logs(): string;
}

/**
 * Starts the real `prometheus` binary (Debian 2.42) on 127.0.0.1 with the admin API and
 * lifecycle endpoints enabled, and waits until /-/ready answers 200. The process is
 * killed when the test process exits.
 */
export async function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusInstance> {
  const bin = findBinary('prometheus');
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const dataDir = opts.dataDir ?? (await tempDir('prometheus-data'));
  const configFile = join(await tempDir('prometheus-config'), 'prometheus.yml');
  await writeFile(configFile, renderConfig(opts, port));

  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-admin-api',
    '--web.enable-lifecycle',
  ];
  if (opts.blockDuration !== undefined) {
    args.push(
      `--storage.tsdb.min-block-duration=${opts.blockDuration}`,
      `--storage.tsdb.max-block-duration=${opts.blockDuration}`,
    );
  }
  args.push(...(opts.extraArgs ?? []));

  const log = new LogBuffer();
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const c = spawnTracked(bin, args, log);
    child = c;
    const died = new AbortController();
    void waitExit(c).then(() => died.abort(new Error(`prometheus exited (${c.exitCode ?? c.signalCode})`)));
    try {
      await waitFor(
        async () => {
          const res = await fetch(`${url}/-/ready`);
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`/-/ready answered ${res.status}`);
          return true;
        },
        {
          timeoutMs: opts.readyTimeoutMs ?? 30_000,
          intervalMs: 100,
          what: `prometheus ready at ${url}`,
          signal: died.signal,
        },
      );
    } catch (e) {
      await killNow(c);
      throw new Error(`start prometheus: ${errorMessage(e)}\n--- prometheus logs ---\n${log.toString()}`);
    }
  };

  await start();

  return {
    url,
    port,
    dataDir,
    configFile,
    stop: async () => {
      if (child) await terminate(child, 10_000);
    },
    kill: async () => {
      if (child) await killNow(child);
    },
    restart: async () => {
      if (child) await terminate(child, 10_000);
      await start();
    },
    logs: () => log.toString(),
  };
}

function renderConfig(opts: PrometheusOptions, port: number): string {
  if (typeof opts.config === 'string') {
    if (opts.externalLabels || opts.scrapeSelf !== undefined || opts.scrapeInterval !== undefined) {
      throw new Error(
        'startPrometheus: externalLabels, scrapeSelf and scrapeInterval apply to object configs only; ' +
          'write them into the YAML',
      );
    }
    return opts.config;
  }
  // JSON is valid YAML, so no YAML library is needed to write prometheus.yml.
  const cfg = structuredClone((opts.config ?? {}) as Record<string, unknown>);
  const global = ((cfg.global as Record<string, unknown> | undefined) ??= {});
  const interval = opts.scrapeInterval ?? '1s';
  global.scrape_interval ??= interval;
  global.evaluation_interval ??= interval;
  if (opts.externalLabels) {
    global.external_labels = { ...((global.external_labels as object) ?? {}), ...opts.externalLabels };
  }
  if (opts.scrapeSelf ?? true) {
    const jobs = ((cfg.scrape_configs as Record<string, unknown>[] | undefined) ??= []);
    if (!jobs.some((j) => j.job_name === 'prometheus')) {
      jobs.push({ job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${port}`] }] });
    }
  }
  return JSON.stringify(cfg, null, 2) + '\n';
}
