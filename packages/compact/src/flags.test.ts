import { describe, expect, it } from 'vitest';
import type { Bucket } from '@thanos-ts/objstore';
import { createLogger } from '@thanos-ts/runtime';
import { compactConfigFromFlags } from './flags.js';

const bkt = {} as Bucket;
const logger = createLogger({ level: 'error' });

describe('compactConfigFromFlags', () => {
  it('reads the retention flags under the keys commander gives them (resolution-5m → resolution5m)', () => {
    const cfg = compactConfigFromFlags({ 'retention.resolutionRaw': '3d', 'retention.resolution5m': '11d', 'retention.resolution1h': '400d' }, bkt, logger);
    expect(cfg.retention).toEqual({ raw: 3 * 86_400_000, fiveMinutes: 11 * 86_400_000, oneHour: 400 * 86_400_000 });
  });

  it('marks blocks with out-of-order chunks no-compact by default; =false halts as Thanos does', () => {
    expect(compactConfigFromFlags({}, bkt, logger).skipOutOfOrderChunks).toBe(true);
    expect(compactConfigFromFlags({ 'compact.skipBlockWithOutOfOrderChunks': false }, bkt, logger).skipOutOfOrderChunks).toBe(false);
  });
});
