import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STALE_NAN, labelsFromRecord, type DB } from '@thanos-ts/tsdb';
import { forStateFromQuery, forStateFromQueryable } from './restore.js';
import { engineQuery, load, openDB } from './manager-fixture.js';

const M = 60_000;
const T0 = 1_700_000_000_000;

describe('ForStateSource', () => {
  let db: DB;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ db, close } = await openDB());
    // Written every minute from T0 to T0+10m with activeAt T0 (seconds); b went stale at T0+5m.
    await load(db, { __name__: 'ALERTS_FOR_STATE', alertname: 'X', job: 'a' }, T0, M, new Array(11).fill(T0 / 1000));
    await load(db, { __name__: 'ALERTS_FOR_STATE', alertname: 'X', job: 'b' }, T0, M, new Array(5).fill(T0 / 1000));
    const app = db.appender();
    app.append(0, labelsFromRecord({ __name__: 'ALERTS_FOR_STATE', alertname: 'X', job: 'b' }), T0 + 5 * M, STALE_NAN);
    await app.commit();
  });
  afterEach(async () => close());

  const matchers = [
    { name: '__name__', value: 'ALERTS_FOR_STATE' },
    { name: 'alertname', value: 'X' },
  ];

  it('reads the last sample from a Queryable and skips stale series', async () => {
    const got = await forStateFromQueryable(db)(matchers, T0 - 60 * M + 20 * M, T0 + 20 * M);
    expect(got).toEqual([{ labels: labelsFromRecord({ alertname: 'X', job: 'a' }), t: T0 + 10 * M, v: T0 / 1000 }]);
  });

  it('reads value and last write time through instant queries', async () => {
    const got = await forStateFromQuery(engineQuery(db))(matchers, T0 - 40 * M, T0 + 20 * M);
    const byJob = new Map(got.map((s) => [s.labels.find((l) => l.name === 'job')!.value, s]));
    expect(byJob.get('a')).toEqual({ labels: labelsFromRecord({ alertname: 'X', job: 'a' }), t: T0 + 10 * M, v: T0 / 1000 });
    // PromQL cannot see the stale marker: the last real sample is reported.
    expect(byJob.get('b')?.t).toBe(T0 + 4 * M);
  });
});
