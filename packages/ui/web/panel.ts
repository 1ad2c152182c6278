// One query panel: expression, time controls, Thanos's query toggles, and a graph or a
// table of the answer with its warnings.

import { ApiError, apiGet } from './api.js';
import { drawGraph, formatValue } from './chart.js';
import type { Graph, MatrixSeries } from './chart.js';
import { alertBox, formatDuration, formatLabels, h, parseDuration, render } from './dom.js';
import { createExpressionEditor } from './editor.js';
import type { ExpressionEditor } from './editor.js';
import type { MaxSourceResolution, PanelState } from './panel-state.js';

interface QueryData {
  resultType: 'matrix' | 'vector' | 'scalar' | 'string';
  result: unknown;
}

/** Range steps the -/+ buttons walk through. */
const RANGE_STEPS = ['1m', '5m', '15m', '30m', '1h', '2h', '6h', '12h', '1d', '2d', '1w', '2w', '4w', '8w', '1y'];

export interface Panel {
  root: HTMLElement;
  state(): PanelState;
  execute(): void;
  destroy(): void;
}

export interface PanelHooks {
  /** Called when the state worth keeping in the URL changed. */
  changed(): void;
  remove(): void;
}

export function createPanel(initial: PanelState, hooks: PanelHooks): Panel {
  const st: PanelState = { ...initial };
  let graph: Graph | null = null;
  let inflight: AbortController | null = null;

  const editorHost = h('div', { class: 'expr-editor' });
  const output = h('div', { class: 'panel-output' });
  const messages = h('div', { class: 'panel-messages' });
  const stats = h('span', { class: 'panel-stats' });

  const checkbox = (label: string, name: string, get: () => boolean, set: (v: boolean) => void): HTMLElement => {
    const input = h('input', { type: 'checkbox', name, checked: get() });
    input.addEventListener('change', () => {
      set(input.checked);
      hooks.changed();
      run();
    });
    return h('label', { class: 'toggle' }, input, ` ${label}`);
  };

  const resolution = h(
    'select',
    { name: 'max_source_resolution', title: 'Max source resolution' },
    ...([['0s', 'Only raw data'], ['5m', 'Max 5m downsampling'], ['1h', 'Max 1h downsampling'], ['auto', 'Auto downsampling']] as const).map(([v, l]) =>
      h('option', { value: v, selected: st.maxSourceResolution === v }, l),
    ),
  );
  resolution.addEventListener('change', () => {
    st.maxSourceResolution = resolution.value as MaxSourceResolution;
    hooks.changed();
    run();
  });

  const rangeInput = h('input', { class: 'range-input', name: 'range', value: st.range, size: 6, title: 'Range' });
  rangeInput.addEventListener('change', () => {
    if (Number.isNaN(parseDuration(rangeInput.value))) {
      rangeInput.value = st.range;
      return;
    }
    st.range = rangeInput.value.trim();
    hooks.changed();
    run();
  });
  const stepRange = (dir: 1 | -1): void => {
    const cur = parseDuration(st.range);
    const ms = RANGE_STEPS.map(parseDuration);
    const next = dir > 0 ? ms.find((m) => m > cur) : [...ms].reverse().find((m) => m < cur);
    if (next === undefined) return;
    st.range = formatDuration(next);
    rangeInput.value = st.range;
    hooks.changed();
    run();
  };
  const endInput = h('input', { class: 'end-input', name: 'end', type: 'datetime-local', step: 1, title: 'End time (UTC); empty = now' });
  if (st.end !== null) endInput.value = new Date(st.end).toISOString().slice(0, 19);
  endInput.addEventListener('change', () => {
    const t = endInput.value ? Date.parse(endInput.value + 'Z') : NaN;
    st.end = Number.isFinite(t) ? t : null;
    hooks.changed();
    run();
  });
  const stepInput = h('input', { class: 'step-input', name: 'step', value: st.step, size: 6, placeholder: 'step: auto', title: 'Resolution step' });
  stepInput.addEventListener('change', () => {
    const v = stepInput.value.trim();
    if (v && Number.isNaN(parseDuration(v)) && !/^\d+(\.\d+)?$/.test(v)) {
      stepInput.value = st.step;
      return;
    }
    st.step = v;
    hooks.changed();
    run();
  });

  const tabButton = (tab: 'graph' | 'table', label: string): HTMLButtonElement =>
    h('button', { class: `tab${st.tab === tab ? ' active' : ''}`, 'data-tab': tab, onclick: () => selectTab(tab) }, label);
  const tabs = h('div', { class: 'tabs' }, tabButton('graph', 'Graph'), tabButton('table', 'Table'));
  const selectTab = (tab: 'graph' | 'table'): void => {
    st.tab = tab;
    for (const b of tabs.querySelectorAll('button')) b.classList.toggle('active', b.dataset.tab === tab);
    graphControls.hidden = tab !== 'graph';
    hooks.changed();
    run();
  };

  const graphControls = h(
    'div',
    { class: 'graph-controls' },
    h('button', { class: 'btn', title: 'Shrink range', onclick: () => stepRange(-1) }, '−'),
    rangeInput,
    h('button', { class: 'btn', title: 'Grow range', onclick: () => stepRange(1) }, '+'),
    endInput,
    stepInput,
    checkbox('Stacked', 'stacked', () => st.stacked, (v) => (st.stacked = v)),
  );
  graphControls.hidden = st.tab !== 'graph';

  const root = h(
    'section',
    { class: 'panel' },
    h('div', { class: 'expr-row' }, editorHost, h('button', { class: 'btn btn-primary execute', onclick: () => run() }, 'Execute'), h('button', { class: 'btn remove', title: 'Remove panel', onclick: () => hooks.remove() }, '×')),
    h(
      'div',
      { class: 'query-options' },
      checkbox('Use deduplication', 'dedup', () => st.deduplicate, (v) => (st.deduplicate = v)),
      checkbox('Use partial response', 'partial_response', () => st.partialResponse, (v) => (st.partialResponse = v)),
      resolution,
      stats,
    ),
    tabs,
    graphControls,
    messages,
    output,
  );

  const editor: ExpressionEditor = createExpressionEditor(editorHost, st.expr, () => run());

  /** Dragging over the graph: that window becomes the range and end, as in Prometheus. */
  function zoomTo(from: number, to: number): void {
    st.range = formatDuration(Math.max(1000, Math.round((to - from) * 1000)));
    st.end = Math.round(to * 1000);
    rangeInput.value = st.range;
    endInput.value = new Date(st.end).toISOString().slice(0, 19);
    run();
  }

  function run(): void {
    st.expr = editor.value().trim();
    hooks.changed();
    inflight?.abort();
    if (!st.expr) {
      render(messages);
      render(output);
      return;
    }
    const ac = new AbortController();
    inflight = ac;
    void query(ac.signal).finally(() => {
      if (inflight === ac) inflight = null;
    });
  }

  async function query(signal: AbortSignal): Promise<void> {
    const endMs = st.end ?? Date.now();
    const end = endMs / 1000;
    const params: Record<string, string> = {
      query: st.expr,
      dedup: String(st.deduplicate),
      partial_response: String(st.partialResponse),
      max_source_resolution: st.maxSourceResolution,
    };
    let start = end;
    let step = 0;
    if (st.tab === 'graph') {
      const range = parseDuration(st.range) / 1000;
      start = end - range;
      step = st.step ? (/^\d+(\.\d+)?$/.test(st.step) ? Number(st.step) : parseDuration(st.step) / 1000) : Math.max(Math.floor(range / 250), 1);
      // Aligned to the step, as Prometheus's graph does, so points keep their places.
      const alignedEnd = Math.floor(end / step) * step;
      start = Math.floor(start / step) * step;
      Object.assign(params, { start: String(start), end: String(alignedEnd), step: String(step) });
    } else {
      params.time = String(end);
    }
    root.classList.add('loading');
    const began = performance.now();
    try {
      const { data, warnings } = await apiGet<QueryData>(st.tab === 'graph' ? 'query_range' : 'query', params, signal);
      if (signal.aborted) return;
      render(messages, ...warnings.map((w) => alertBox('warning', w)));
      graph?.destroy();
      graph = null;
      render(output);
      const took = Math.round(performance.now() - began);
      if (st.tab === 'graph') {
        if (data.resultType !== 'matrix') throw new ApiError(`expected a range vector answer, got ${data.resultType}`, 200);
        const series = data.result as MatrixSeries[];
        const host = h('div', { class: 'graph' });
        output.append(host);
        if (series.length === 0) output.append(alertBox('info', 'Empty query result'));
        graph = drawGraph(host, series, { start, end: Number(params.end), step, stacked: st.stacked, onZoom: zoomTo });
        host.dataset.series = String(graph.seriesCount);
        host.dataset.points = String(graph.pointCount);
        stats.textContent = `Load time: ${took}ms · Resolution: ${step}s · Result series: ${series.length}`;
      } else {
        output.append(resultTable(data));
        stats.textContent = `Load time: ${took}ms · Result series: ${Array.isArray(data.result) && data.resultType !== 'scalar' && data.resultType !== 'string' ? (data.result as unknown[]).length : 1}`;
      }
      root.dataset.resultSeries = String(Array.isArray(data.result) && (data.resultType === 'matrix' || data.resultType === 'vector') ? (data.result as unknown[]).length : 1);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      graph?.destroy();
      graph = null;
      render(output);
      render(messages, alertBox('error', (err as Error).message));
      delete root.dataset.resultSeries;
    } finally {
      if (!signal.aborted) root.classList.remove('loading');
    }
  }

  return {
    root,
    state: () => ({ ...st, expr: editor.value().trim() }),
    execute: run,
    destroy: () => {
      inflight?.abort();
      graph?.destroy();
      editor.view.destroy();
      root.remove();
    },
  };
}

function resultTable(data: QueryData): HTMLElement {
  const rows: HTMLElement[] = [];
  if (data.resultType === 'vector') {
    for (const s of data.result as { metric: Record<string, string>; value?: [number, string]; histogram?: unknown }[]) {
      rows.push(h('tr', {}, h('td', { class: 'labels' }, formatLabels(s.metric, s.metric.__name__)), h('td', { class: 'value' }, s.value ? s.value[1] : JSON.stringify(s.histogram))));
    }
  } else if (data.resultType === 'matrix') {
    for (const s of data.result as MatrixSeries[]) {
      const vals = (s.values ?? []).map(([t, v]) => `${v} @${t}`);
      rows.push(h('tr', {}, h('td', { class: 'labels' }, formatLabels(s.metric, s.metric.__name__)), h('td', { class: 'value' }, vals.join('\n'))));
    }
  } else {
    const [t, v] = data.result as [number, string];
    rows.push(h('tr', {}, h('td', { class: 'labels' }, `${data.resultType} @${t}`), h('td', { class: 'value' }, data.resultType === 'scalar' ? formatValue(Number(v)) + ` (${v})` : v)));
  }
  if (rows.length === 0) return alertBox('info', 'Empty query result');
  return h('table', { class: 'result-table' }, h('tbody', {}, rows));
}
