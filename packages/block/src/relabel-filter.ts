// Block selection by relabelling (Thanos block.LabelShardedMetaFilter): the store
// gateway and the compactor shard a bucket with --selector.relabel-config.

import { UserError } from '@thanos-ts/runtime';
import { labelsFromRecord, parseRelabelConfigs, relabel } from '@thanos-ts/tsdb';
import { parse as parseYaml } from 'yaml';
import { labelFilter } from './fetcher.js';
import type { MetaFilter } from './fetcher.js';

/**
 * Block filter from --selector.relabel-config: relabels each block's external labels
 * plus `__block_id` and keeps the block unless the result is dropped (Thanos
 * LabelShardedMetaFilter), which is how store gateways shard a bucket.
 */
export function relabelBlockFilter(yamlText: string, source = '--selector.relabel-config'): MetaFilter | null {
  if (yamlText.trim() === '') return null;
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    throw new UserError(`${source}: parse relabel configuration: ${(err as Error).message}`);
  }
  let cfgs;
  try {
    cfgs = parseRelabelConfigs(raw ?? [], source);
  } catch (err) {
    throw new UserError(`${source}: ${(err as Error).message}`);
  }
  if (cfgs.length === 0) return null;
  return labelFilter('label-excluded', (labels, meta) => relabel(labelsFromRecord({ ...labels, __block_id: meta.ulid }), cfgs) !== null);
}
