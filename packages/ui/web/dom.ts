// A few DOM helpers: the app is small enough not to need a framework.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

/** Creates an element: attributes starting with "on" become listeners, false/null ones are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
  return el;
}

/** Replaces an element's children. */
export function render(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(typeof c === 'number' ? String(c) : c);
  }
}

/** A message box; kind is error, warning or info. */
export function alertBox(kind: 'error' | 'warning' | 'info', text: string): HTMLElement {
  return h('div', { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** `{a="1", b="2"}` as Prometheus prints label sets. */
export function formatLabels(labels: Record<string, string> | null | undefined, name?: string): string {
  const parts = Object.entries(labels ?? {})
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name ?? ''}{${parts.join(', ')}}`;
}

/** A unix-ms time as ISO text, with the int64 extremes Thanos uses for "unbounded" shown as ±Inf. */
export function formatTime(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined || ms === '') return '-';
  if (typeof ms === 'string') return ms;
  if (ms >= 2 ** 62) return '+Inf';
  if (ms <= -(2 ** 62)) return '-Inf';
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** A duration in ms as Prometheus writes it (1h30m, 5m, 15s). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const units: [string, number][] = [['y', 31_536_000_000], ['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let rest = Math.round(ms);
  let out = '';
  for (const [u, n] of units) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  return out;
}

/** Parses a Prometheus duration ("1h30m", "90s", "2d"); NaN if it is not one. */
export function parseDuration(s: string): number {
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  const units: Record<string, number> = { y: 31_536_000_000, w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const t = s.trim();
  if (!t) return NaN;
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(re)) {
    if (m.index !== consumed) return NaN;
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  return consumed === t.length ? total : NaN;
}
