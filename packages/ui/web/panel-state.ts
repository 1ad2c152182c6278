// A query panel's state and its place in the page URL, in the parameter names of
// Prometheus's and Thanos's graph pages (g0.expr=…&g0.range_input=1h&g0.deduplicate=1…),
// so a link reproduces the view.

export type Tab = 'graph' | 'table';
export type MaxSourceResolution = '0s' | '5m' | '1h' | 'auto';

export interface PanelState {
  expr: string;
  tab: Tab;
  /** Range of the graph, a Prometheus duration. */
  range: string;
  /** End of the graph (and time of the table), unix ms; null = now. */
  end: number | null;
  /** Resolution step, a Prometheus duration; '' = from the range. */
  step: string;
  stacked: boolean;
  deduplicate: boolean;
  partialResponse: boolean;
  maxSourceResolution: MaxSourceResolution;
}

export function defaultPanel(partialResponse = false): PanelState {
  return { expr: '', tab: 'graph', range: '1h', end: null, step: '', stacked: false, deduplicate: true, partialResponse, maxSourceResolution: '0s' };
}

const RESOLUTIONS: readonly MaxSourceResolution[] = ['0s', '5m', '1h', 'auto'];

/** Reads g0…gN from a query string; none gives one empty panel. */
export function panelsFromQuery(search: string, defaults: PanelState): PanelState[] {
  const q = new URLSearchParams(search);
  const panels: PanelState[] = [];
  for (let i = 0; q.has(`g${i}.expr`) || q.has(`g${i}.tab`); i++) {
    const g = (k: string): string | null => q.get(`g${i}.${k}`);
    const end = g('end_input') ?? g('moment_input');
    const endMs = end ? Date.parse(end.includes('T') || end.includes(' ') ? end.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(end) ? '' : 'Z') : end) : NaN;
    const msr = g('max_source_resolution') ?? '';
    panels.push({
      expr: g('expr') ?? '',
      tab: g('tab') === '1' ? 'table' : 'graph',
      range: g('range_input') || defaults.range,
      end: Number.isFinite(endMs) ? endMs : null,
      step: g('step_input') ?? '',
      stacked: g('stacked') === '1',
      deduplicate: g('deduplicate') === null ? defaults.deduplicate : g('deduplicate') === '1',
      partialResponse: g('partial_response') === null ? defaults.partialResponse : g('partial_response') === '1',
      maxSourceResolution: (RESOLUTIONS as readonly string[]).includes(msr) ? (msr as MaxSourceResolution) : msr === 'raw' ? '0s' : defaults.maxSourceResolution,
    });
  }
  return panels.length ? panels : [{ ...defaults }];
}

/** The query string for all panels. */
export function panelsToQuery(panels: PanelState[]): string {
  const q = new URLSearchParams();
  panels.forEach((p, i) => {
    const set = (k: string, v: string): void => q.set(`g${i}.${k}`, v);
    set('expr', p.expr);
    set('tab', p.tab === 'table' ? '1' : '0');
    set('stacked', p.stacked ? '1' : '0');
    set('range_input', p.range);
    if (p.end !== null) set('end_input', new Date(p.end).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ''));
    if (p.step) set('step_input', p.step);
    set('max_source_resolution', p.maxSourceResolution);
    set('deduplicate', p.deduplicate ? '1' : '0');
    set('partial_response', p.partialResponse ? '1' : '0');
  });
  return q.toString();
}
