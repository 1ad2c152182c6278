import { labelsFromRecord } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { encodeAlerts, formatAlertTime } from './payload.js';

const alert = {
  labels: labelsFromRecord({ alertname: 'HighLoad', severity: 'page' }),
  annotations: labelsFromRecord({ summary: 'load is high' }),
  startsAt: Date.UTC(2024, 0, 2, 3, 4, 5, 60),
  endsAt: Date.UTC(2024, 0, 2, 3, 8, 5, 0),
  generatorURL: 'http://query/graph?g0.expr=up',
};

describe('encodeAlerts', () => {
  it('writes v2 PostableAlerts with RFC3339 millisecond times', () => {
    expect(encodeAlerts([alert], 'v2')).toBe(
      '[{"annotations":{"summary":"load is high"},"endsAt":"2024-01-02T03:08:05.000Z","startsAt":"2024-01-02T03:04:05.060Z",' +
        '"generatorURL":"http://query/graph?g0.expr=up","labels":{"alertname":"HighLoad","severity":"page"}}]',
    );
  });

  it('leaves out empty annotations and generatorURL in v2, as go-swagger does', () => {
    const body = JSON.parse(encodeAlerts([{ ...alert, annotations: [], generatorURL: '' }], 'v2')) as object[];
    expect(body[0]).toEqual({ endsAt: '2024-01-02T03:08:05.000Z', startsAt: '2024-01-02T03:04:05.060Z', labels: { alertname: 'HighLoad', severity: 'page' } });
  });

  it("writes v1 as Prometheus's notifier.Alert", () => {
    const body = JSON.parse(encodeAlerts([{ ...alert, annotations: [] }], 'v1')) as object[];
    expect(body[0]).toEqual({
      labels: { alertname: 'HighLoad', severity: 'page' },
      annotations: {},
      startsAt: '2024-01-02T03:04:05.060Z',
      endsAt: '2024-01-02T03:08:05.000Z',
      generatorURL: 'http://query/graph?g0.expr=up',
    });
  });

  it("writes an unset time as Go's zero time", () => {
    expect(formatAlertTime(0)).toBe('0001-01-01T00:00:00.000Z');
  });
});
