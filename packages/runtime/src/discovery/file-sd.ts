// File-based discovery of endpoints (--endpoint.sd-files / --store.sd-files): files in
// Prometheus's file_sd format, a YAML or JSON list of target groups,
//
//   [{"targets": ["10.0.0.1:10901", "10.0.0.2:10901"], "labels": {"any": "ignored"}}]
//
// re-read when they change and every refresh interval (Prometheus discovery/file). Paths
// may use * and ? in their last element (tg_*.json); each match is read. A file that
// cannot be parsed keeps the targets it had, and the problem is logged; a file that is
// gone has none. Targets may be DNS addresses (dns+HOST:PORT, dnssrv+NAME); the endpoint
// set looks them up every --store.sd-dns-interval (discovery/dns.ts), as Thanos does.

import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { nopLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { parse as parseYaml } from 'yaml';

export interface FileSDOptions {
  /** File paths or patterns (* and ? in the last path element). */
  files: readonly string[];
  /** Re-read everything this often (ms) even without change events; default 5m (--store.sd-interval). */
  refreshIntervalMs?: number;
  /** Called after a refresh that changed the set of targets. */
  onChange?: (targets: string[]) => void;
  logger?: Logger;
}

/** Parses file_sd content; the format follows the file extension (.json, .yml, .yaml). */
export function parseFileSD(content: string, path: string): string[] {
  const ext = extname(path).toLowerCase();
  let doc: unknown;
  if (ext === '.json') doc = JSON.parse(content);
  else if (ext === '.yml' || ext === '.yaml') doc = parseYaml(content);
  else throw new Error(`retrieval target groups from ${path}: unsupported file extension "${ext}" (want .json, .yml or .yaml)`);
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new Error(`${path}: expected a list of target groups`);
  const out: string[] = [];
  doc.forEach((g: unknown, i: number) => {
    if (g === null || typeof g !== 'object') throw new Error(`${path}: target group ${i}: not an object`);
    const targets = (g as { targets?: unknown }).targets;
    if (targets === undefined || targets === null) return;
    if (!Array.isArray(targets)) throw new Error(`${path}: target group ${i}: targets must be a list`);
    for (const t of targets) {
      if (typeof t !== 'string' || t === '') throw new Error(`${path}: target group ${i}: invalid target ${JSON.stringify(t)}`);
      out.push(t);
    }
  });
  return out;
}

function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (const c of pattern) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

export class FileSD {
  private readonly logger: Logger;
  private readonly byFile = new Map<string, string[]>();
  private current: string[] = [];
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: FileSDOptions) {
    this.logger = opts.logger ?? nopLogger();
  }

  /** The targets of all files, deduplicated, in file then listing order. */
  targets(): string[] {
    return this.current;
  }

  /** Reads the files once, then watches them. */
  async start(): Promise<void> {
    await this.refresh();
    for (const dir of new Set(this.opts.files.map((f) => dirname(f)))) {
      try {
        const w = watch(dir, () => this.scheduleRefresh());
        w.on('error', (err) => this.logger.warn({ err, dir }, 'file SD: watching failed; relying on the refresh interval'));
        this.watchers.push(w);
      } catch (err) {
        this.logger.warn({ err, dir }, 'file SD: cannot watch directory; relying on the refresh interval');
      }
    }
    const every = this.opts.refreshIntervalMs ?? 5 * 60_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.refresh(), every);
      this.timer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.timer = this.debounce = null;
  }

  private scheduleRefresh(): void {
    if (this.stopped || this.debounce) return;
    // Editors and atomic renames fire several events; read once they settle.
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.refresh();
    }, 50);
  }

  /** Re-reads every file (serialised with other refreshes). */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.doRefresh());
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    if (this.stopped) return;
    const files = await this.expand();
    const next = new Map<string, string[]>();
    for (const f of files) {
      try {
        next.set(f, parseFileSD(await readFile(f, 'utf8'), f));
      } catch (err) {
        // A file that is gone contributes nothing any more (as with Prometheus's glob).
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.logger.error({ err: err as Error, file: f }, 'file SD: error reading file, keeping its previous targets');
        const prev = this.byFile.get(f);
        if (prev) next.set(f, prev);
      }
    }
    this.byFile.clear();
    for (const [f, t] of next) this.byFile.set(f, t);
    const all = [...new Set([...next.values()].flat())];
    const changed = all.length !== this.current.length || all.some((t, i) => t !== this.current[i]);
    this.current = all;
    if (changed) {
      this.logger.info({ targets: all.length }, 'file SD: targets changed');
      this.opts.onChange?.(all);
    }
  }

  /** The files the patterns name now, sorted. */
  private async expand(): Promise<string[]> {
    const out = new Set<string>();
    for (const p of this.opts.files) {
      const base = basename(p);
      if (!/[*?]/.test(base)) {
        out.add(p);
        continue;
      }
      const dir = dirname(p);
      const re = globToRegExp(base);
      try {
        for (const name of await readdir(dir)) if (re.test(name)) out.add(join(dir, name));
      } catch (err) {
        this.logger.warn({ err: err as Error, pattern: p }, 'file SD: cannot list directory');
      }
    }
    return [...out].sort();
  }
}
