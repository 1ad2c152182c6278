// File-based discovery of Alertmanager addresses (file_sd_configs): files in Prometheus's
// file_sd format, a JSON or YAML list of target groups
//
//   - targets: ["am-0:9093", "am-1:9093"]
//     labels: {ignored: "here"}
//
// read at start, when their directory changes and every refresh interval, as Prometheus's
// discovery/file does. A `*` in the last path element matches several files. A file that
// fails to parse keeps the addresses it had (and the failure is logged); a file that is
// gone has none.

import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Logger } from '@thanos-ts/runtime';
import { parse as parseYaml } from 'yaml';
import type { FileSDConfig } from './config.js';

/** The addresses listed in one file_sd file; the format follows the extension. */
export function parseTargetGroups(content: string, file: string): string[] {
  const ext = extname(file).toLowerCase();
  const doc: unknown = ext === '.json' ? JSON.parse(content) : parseYaml(content);
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new Error(`${file}: expected a list of target groups`);
  const out: string[] = [];
  doc.forEach((group: unknown, i) => {
    if (group === null || typeof group !== 'object' || Array.isArray(group)) throw new Error(`${file}: target group ${i}: expected a mapping`);
    const targets = (group as { targets?: unknown }).targets;
    if (targets === undefined || targets === null) return;
    if (!Array.isArray(targets)) throw new Error(`${file}: target group ${i}: targets must be a list`);
    for (const t of targets) {
      if (typeof t !== 'string' || t === '') throw new Error(`${file}: target group ${i}: invalid target ${JSON.stringify(t)}`);
      out.push(t);
    }
  });
  return out;
}

export class FileDiscovery {
  private byFile = new Map<string, string[]>();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly cfg: FileSDConfig,
    private readonly logger: Logger,
  ) {}

  /** The addresses of all files, in file order, without duplicates. */
  addresses(): string[] {
    return [...new Set([...this.byFile.values()].flat())];
  }

  /** Reads the files, then keeps watching them. */
  async start(): Promise<void> {
    await this.refresh();
    for (const dir of new Set(this.cfg.files.map((f) => dirname(f)))) {
      try {
        const w = watch(dir, () => this.scheduleRefresh());
        w.on('error', (err) => this.logger.warn({ err, dir }, 'file SD: watching failed; relying on the refresh interval'));
        this.watchers.push(w);
      } catch (err) {
        this.logger.warn({ err, dir }, 'file SD: cannot watch directory; relying on the refresh interval');
      }
    }
    this.timer = setInterval(() => void this.refresh(), this.cfg.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.timer = this.debounce = null;
  }

  /** Re-reads every file; refreshes run one at a time. */
  refresh(): Promise<void> {
    this.chain = this.chain.then(() => this.readAll());
    return this.chain;
  }

  private scheduleRefresh(): void {
    if (this.stopped || this.debounce) return;
    // Editors and atomic renames fire bursts of events: read once they settle.
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.refresh();
    }, 50);
  }

  private async readAll(): Promise<void> {
    if (this.stopped) return;
    const next = new Map<string, string[]>();
    for (const file of await this.matchingFiles()) {
      try {
        next.set(file, parseTargetGroups(await readFile(file, 'utf8'), file));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.logger.error({ err, file }, 'file SD: error reading file, keeping its previous targets');
        const prev = this.byFile.get(file);
        if (prev) next.set(file, prev);
      }
    }
    this.byFile = next;
  }

  private async matchingFiles(): Promise<string[]> {
    const out = new Set<string>();
    for (const pattern of this.cfg.files) {
      const base = basename(pattern);
      if (!base.includes('*')) {
        out.add(pattern);
        continue;
      }
      const re = new RegExp('^' + base.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '$');
      try {
        for (const name of await readdir(dirname(pattern))) if (re.test(name)) out.add(join(dirname(pattern), name));
      } catch (err) {
        this.logger.warn({ err, pattern }, 'file SD: cannot list directory');
      }
    }
    return [...out].sort();
  }
}
