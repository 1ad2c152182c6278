// The graph of a range query: uPlot (drag to zoom, double-click to zoom out, a legend
// with the hovered values), lines or stacked areas.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatLabels } from './dom.js';

export interface MatrixSeries {
  metric: Record<string, string>;
  values?: [number, string][];
}

/** Colours as Prometheus's graph uses them, cycled. */
const PALETTE = ['#edc240', '#afd8f8', '#cb4b4b', '#4da74d', '#9440ed', '#bd9b33', '#8cacc6', '#a23c3c', '#3d853d', '#7633bd', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface GraphOptions {
  /** Query window and step, in seconds, as sent: the x axis is this grid. */
  start: number;
  end: number;
  step: number;
  stacked: boolean;
  /**
   * A range picked by dragging over the graph (seconds). Given, the panel queries that
   * range anew (at a finer step, and kept in the URL) instead of uPlot only zooming in.
   */
  onZoom?: (start: number, end: number) => void;
}

export interface Graph {
  destroy(): void;
  /** Series drawn and points (non-null values) in them. */
  seriesCount: number;
  pointCount: number;
}

/**
 * Draws `series` into `parent`. Samples of a range query sit on the start + k·step grid,
 * so one shared x array holds them all, with null where a series has no sample.
 */
export function drawGraph(parent: HTMLElement, series: MatrixSeries[], opts: GraphOptions): Graph {
  const n = Math.floor((opts.end - opts.start) / opts.step) + 1;
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = opts.start + i * opts.step;
  let points = 0;
  const raw: (number | null)[][] = series.map((s) => {
    const ys: (number | null)[] = new Array<number | null>(n).fill(null);
    for (const [t, v] of s.values ?? []) {
      const i = Math.round((t - opts.start) / opts.step);
      if (i < 0 || i >= n) continue;
      const y = Number(v);
      ys[i] = Number.isFinite(y) ? y : null;
      if (ys[i] !== null) points++;
    }
    return ys;
  });
  // Stacked: each series drawn on top of the sum of those before it; the legend still
  // shows each series' own value.
  const drawn = opts.stacked ? stack(raw) : raw;
  const names = series.map((s) => formatLabels(s.metric, s.metric.__name__));
  const width = Math.max(300, parent.clientWidth || 800);
  const plotOpts: uPlot.Options = {
    width,
    height: 320,
    cursor: { drag: { x: true, y: false, setScale: !opts.onZoom }, points: { size: 6 } },
    hooks: opts.onZoom
      ? {
          setSelect: [
            (u: uPlot): void => {
              if (u.select.width < 2) return;
              const from = u.posToVal(u.select.left, 'x');
              const to = u.posToVal(u.select.left + u.select.width, 'x');
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              opts.onZoom!(from, to);
            },
          ],
        }
      : {},
    scales: { x: { time: true } },
    legend: { live: true },
    series: [
      { label: 'time' },
      ...names.map((label, i) => ({
        label,
        stroke: PALETTE[i % PALETTE.length],
        fill: opts.stacked ? PALETTE[i % PALETTE.length] + '80' : undefined,
        width: 1.5,
        spanGaps: false,
        points: { show: false },
        value: (_u: uPlot, _v: number | null, _si: number, idx: number | null): string => {
          const y = idx === null ? null : raw[i][idx];
          return y === null || y === undefined ? '-' : formatValue(y);
        },
      })),
    ],
    axes: [{}, { size: 70, values: (_u, ticks) => ticks.map(formatValue) }],
    // Stacked areas fill down to the series below, not to zero (uPlot's stacking recipe).
    bands: opts.stacked ? series.slice(1).map((_s, i) => ({ series: [i + 2, i + 1] as [number, number] })) : undefined,
  };
  const plot = new uPlot(plotOpts, [xs as unknown as number[], ...drawn] as uPlot.AlignedData, parent);
  const resize = new ResizeObserver(() => {
    const w = Math.max(300, parent.clientWidth);
    if (w !== plot.width) plot.setSize({ width: w, height: 320 });
  });
  resize.observe(parent);
  return {
    seriesCount: series.length,
    pointCount: points,
    destroy: () => {
      resize.disconnect();
      plot.destroy();
    },
  };
}

function stack(raw: (number | null)[][]): (number | null)[][] {
  const out: (number | null)[][] = [];
  const sum = new Array<number>(raw[0]?.length ?? 0).fill(0);
  for (const ys of raw) {
    out.push(
      ys.map((y, i) => {
        if (y === null) return null;
        sum[i] += y;
        return sum[i];
      }),
    );
  }
  return out;
}

/** A sample value in a short form: 1.5k, 2.3M, 0.000012 as 1.2e-5. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e15 || a < 1e-4) return v.toExponential(2);
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [n, u] of units) if (a >= n) return `${+(v / n).toFixed(2)}${u}`;
  return String(+v.toFixed(4));
}
