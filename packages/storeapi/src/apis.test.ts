import { afterAll, describe, expect, it } from 'vitest';
import { StoreClient } from './client.js';
import { StoreServer } from './server.js';
import { AlertState, formatRFC3339, parseRFC3339, RulesRequestType, timestampFromMillis } from './apis.js';
import type { ApiFrame, RuleGroup, RulesRequest } from './apis.js';

const servers: StoreServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop(100);
});

describe('RFC 3339 times', () => {
  it('keeps nanoseconds and writes UTC as Go does', () => {
    const t = parseRFC3339('2024-01-02T05:04:05.123456789+02:00');
    expect(t).toEqual({ seconds: Date.UTC(2024, 0, 2, 3, 4, 5) / 1000, nanos: 123456789 });
    expect(formatRFC3339(t)).toBe('2024-01-02T03:04:05.123456789Z');
    expect(formatRFC3339(parseRFC3339('2024-01-02T03:04:05.5Z'))).toBe('2024-01-02T03:04:05.5Z');
    expect(formatRFC3339(timestampFromMillis(1_700_000_000_000))).toBe('2023-11-14T22:13:20Z');
    // Go's zero time for "never", both ways.
    expect(formatRFC3339(null)).toBe('0001-01-01T00:00:00Z');
    expect(formatRFC3339(parseRFC3339('0001-01-01T00:00:00Z'))).toBe('0001-01-01T00:00:00Z');
    expect(() => parseRFC3339('yesterday')).toThrow(/RFC 3339/);
  });
});

describe('thanos.Rules over gRPC', () => {
  it('streams groups and warnings, and maps failures to a status', async () => {
    const group: RuleGroup = {
      name: 'g',
      file: 'f.yml',
      interval: 15,
      evaluationDurationSeconds: 0.001,
      lastEvaluation: { seconds: 1_700_000_000, nanos: 5 },
      limit: 0,
      rules: [
        {
          alert: {
            state: AlertState.FIRING,
            name: 'A',
            query: 'up == 0',
            durationSeconds: 60,
            labels: { labels: [{ name: 'severity', value: 'page' }] },
            annotations: { labels: [] },
            alerts: [{ labels: { labels: [{ name: 'alertname', value: 'A' }] }, state: AlertState.FIRING, value: '1e+00', activeAt: { seconds: 1, nanos: 0 } }],
            health: 'ok',
            lastError: '',
            evaluationDurationSeconds: 0,
            keepFiringForSeconds: 0,
          },
        },
      ],
    };
    let seen: RulesRequest | null = null;
    const s = new StoreServer({
      address: '127.0.0.1:0',
      rules: {
        async rules(req, sink) {
          seen = req;
          if (req.type === RulesRequestType.RECORD) throw new Error('no recording rules here');
          await sink.warning('careful');
          await sink.send(group);
        },
      },
    });
    await s.start();
    servers.push(s);
    const c = new StoreClient(s.address);
    const frames: ApiFrame<RuleGroup>[] = [];
    for await (const f of c.rules({ type: RulesRequestType.ALERT, ruleName: ['A'] })) frames.push(f);
    expect(seen!.ruleName).toEqual(['A']);
    expect(frames[0]).toEqual({ payload: null, warning: 'careful' });
    const g = frames[1].payload!;
    expect(g.name).toBe('g');
    expect(g.lastEvaluation).toMatchObject({ seconds: 1_700_000_000, nanos: 5 });
    const a = g.rules[0].alert!;
    expect(a.state).toBe(AlertState.FIRING);
    expect(a.labels!.labels).toEqual([{ name: 'severity', value: 'page' }]);
    expect(a.alerts[0].value).toBe('1e+00');
    const fail = async () => {
      for await (const _ of c.rules({ type: RulesRequestType.RECORD }));
    };
    await expect(fail()).rejects.toThrow(/Rules: rpc error: code = Internal desc = no recording rules here/);
    c.close();
  });
});
