// External labels on StoreAPI requests and responses, as Thanos' sidecar applies them.

import { UserError } from '@thanos-ts/runtime';
import { compareLabels, compareStrings, mergeLabels } from '@thanos-ts/tsdb';
import type { Label, Labels, Matcher } from '@thanos-ts/tsdb';

/**
 * Checks matchers on external label names against the external values
 * (matchesExternalLabels): returns null when some matcher rules this store out,
 * else the matchers left for Prometheus.
 */
export function matchExternalLabels(matchers: readonly Matcher[], ext: Labels): Matcher[] | null {
  const rest: Matcher[] = [];
  for (const m of matchers) {
    const e = ext.find((l) => l.name === m.name);
    if (e === undefined) {
      rest.push(m);
      continue;
    }
    if (!m.matches(e.value)) return null;
  }
  return rest;
}

/**
 * Adds the external labels to a series' labels, external winning on a clash (Thanos'
 * ExtendSortedLabels).
 */
export function withExternalLabels(ls: Labels, ext: Labels): Labels {
  return mergeLabels(ls, ext, true);
}

/**
 * Restores label order after external labels are added to a stream sorted without them.
 *
 * Adding the same labels E to every series keeps two series in order unless one's label
 * set is a proper prefix of the other's and some label of E sorts after the longer one's
 * extra label: {a="1"} < {a="1",b="2"}, yet {a="1",c="x"} > {a="1",b="2",c="x"}. Series
 * that extend a label set follow it directly in sorted order, so only such runs need
 * sorting: a run is held while the next series extends its first one, then sorted and
 * released. Thanos instead buffers and re-sorts a whole response; this keeps streaming.
 */
export class PrefixRunSorter<T> {
  private run: { key: Labels; final: Labels; item: T }[] = [];

  constructor(private readonly emit: (final: Labels, item: T) => Promise<void> | void) {}

  /**
   * `key`: labels in the order the input is sorted by; `final`: labels the output is
   * sorted by. Returns a promise only when an emit did (a synchronous emit costs no tick).
   */
  push(key: Labels, final: Labels, item: T): Promise<void> | void {
    if (this.run.length > 0 && !isProperPrefix(this.run[0].key, key)) {
      const p = this.flush();
      if (p) return p.then(() => void this.run.push({ key, final, item }));
    }
    this.run.push({ key, final, item });
  }

  flush(): Promise<void> | void {
    const run = this.run;
    this.run = [];
    if (run.length > 1) run.sort((a, b) => compareLabels(a.final, b.final));
    for (let i = 0; i < run.length; i++) {
      const p = this.emit(run[i].final, run[i].item);
      if (p) return p.then(() => this.emitFrom(run, i + 1));
    }
  }

  private async emitFrom(run: { final: Labels; item: T }[], from: number): Promise<void> {
    for (let i = from; i < run.length; i++) await this.emit(run[i].final, run[i].item);
  }
}

function isProperPrefix(p: Labels, ls: Labels): boolean {
  if (p.length >= ls.length) return false;
  for (let i = 0; i < p.length; i++) if (p[i].name !== ls[i].name || p[i].value !== ls[i].value) return false;
  return true;
}

/**
 * Parses `<name>="<value>"` flag labels (Thanos parseFlagLabels): the value is a
 * double-quoted string with Go escapes.
 */
export function parseFlagLabels(flags: readonly string[], flag: string): Labels {
  const out: Label[] = [];
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new UserError(`--${flag}: unrecognized label "${f}"`);
    const name = f.slice(0, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new UserError(`--${flag}: unsupported format for label ${f}`);
    const raw = f.slice(eq + 1);
    let value: string;
    try {
      if (!raw.startsWith('"')) throw new Error('invalid syntax');
      value = JSON.parse(raw) as string;
      if (typeof value !== 'string') throw new Error('invalid syntax');
    } catch {
      throw new UserError(`--${flag}: unquote label value: invalid syntax in ${f}`);
    }
    out.push({ name, value });
  }
  out.sort((a, b) => compareStrings(a.name, b.name));
  for (let i = 1; i < out.length; i++) {
    if (out[i].name === out[i - 1].name) throw new UserError(`--${flag}: duplicate label name ${out[i].name}`);
  }
  return out;
}
