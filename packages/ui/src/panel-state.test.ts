// The browser code's URL state and duration helpers (web/), run under Node: they touch no DOM.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../web/dom.js';
import { defaultPanel, panelsFromQuery, panelsToQuery } from '../web/panel-state.js';

describe('graph page URL state', () => {
  it('round-trips every panel through the query string', () => {
    const panels = [
      { ...defaultPanel(), expr: 'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))', range: '6h', end: Date.UTC(2024, 2, 4, 12, 30, 15), step: '30s', stacked: true },
      { ...defaultPanel(true), expr: 'up', tab: 'table' as const, deduplicate: false, maxSourceResolution: 'auto' as const },
    ];
    const q = panelsToQuery(panels);
    expect(panelsFromQuery('?' + q, defaultPanel())).toEqual(panels);
  });

  it("reads Prometheus's and Thanos's parameter names", () => {
    const [p] = panelsFromQuery(
      '?g0.expr=up&g0.tab=1&g0.range_input=2h&g0.end_input=2024-03-04%2012%3A00%3A00&g0.step_input=15&g0.stacked=1&g0.max_source_resolution=raw&g0.deduplicate=0&g0.partial_response=1',
      defaultPanel(),
    );
    expect(p).toEqual({ expr: 'up', tab: 'table', range: '2h', end: Date.UTC(2024, 2, 4, 12), step: '15', stacked: true, deduplicate: false, partialResponse: true, maxSourceResolution: '0s' });
    const q = new URLSearchParams(panelsToQuery([p]));
    expect(q.get('g0.end_input')).toBe('2024-03-04 12:00:00');
    expect(q.get('g0.deduplicate')).toBe('0');
    expect(q.get('g0.max_source_resolution')).toBe('0s');
  });

  it('gives one empty panel with the defaults when the URL names none', () => {
    expect(panelsFromQuery('', defaultPanel(true))).toEqual([defaultPanel(true)]);
  });
});

describe('durations', () => {
  it('parses and formats Prometheus durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('250ms')).toBe(250);
    for (const bad of ['', 'h', '1x', '1h 30m', '-1h']) expect(parseDuration(bad), bad).toBeNaN();
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(604_800_000 + 1000)).toBe('1w1s');
    expect(formatDuration(0)).toBe('0s');
  });
});
