// The compactor's metrics, named as Thanos names them (cmd/thanos/compact.go,
// pkg/compact/compact.go), so Thanos dashboards and alerts (ThanosCompactHalted,
// ThanosCompactHasNotRun) work unchanged.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

export class CompactMetrics {
  readonly halted: Gauge;
  readonly iterations: Counter;
  readonly retries: Counter;
  readonly groupCompactions: Counter<'resolution'>;
  readonly groupCompactionRunsStarted: Counter<'resolution'>;
  readonly groupCompactionRunsCompleted: Counter<'resolution'>;
  readonly groupCompactionFailures: Counter<'resolution'>;
  readonly groupVerticalCompactions: Counter<'resolution'>;
  readonly todoCompactions: Gauge;
  readonly todoCompactionBlocks: Gauge;
  readonly todoDownsampleBlocks: Gauge;
  readonly todoDeletionBlocks: Gauge;
  readonly blocksCleaned: Counter;
  readonly blockCleanupFailures: Counter;
  readonly blocksMarked: Counter<'marker' | 'reason'>;
  readonly garbageCollectedBlocks: Counter;
  readonly partialUploadDeleteAttempts: Counter;
  readonly cleanupLoops: Counter;
  readonly downsamples: Counter<'resolution'>;
  readonly downsampleFailures: Counter<'resolution'>;
  readonly haltedGroups: Gauge;

  constructor(reg: Registry) {
    const registers = [reg];
    this.halted = new Gauge({ name: 'thanos_compact_halted', help: 'Set to 1 if the compactor halted due to an unexpected error (in thanos-ts: a stream that cannot be compacted; the others go on).', registers });
    this.haltedGroups = new Gauge({ name: 'thanos_compact_halted_groups', help: 'thanos-ts only: number of streams (compaction groups) left uncompacted because of a critical error such as overlapping blocks.', registers });
    this.iterations = new Counter({ name: 'thanos_compact_iterations_total', help: 'Total number of iterations that were executed successfully.', registers });
    this.retries = new Counter({ name: 'thanos_compact_retries_total', help: 'Total number of retries after retriable compactor error.', registers });
    const byRes = (name: string, help: string): Counter<'resolution'> => new Counter({ name, help, labelNames: ['resolution'] as const, registers });
    this.groupCompactions = byRes('thanos_compact_group_compactions_total', 'Total number of group compaction attempts that resulted in a new block.');
    this.groupCompactionRunsStarted = byRes('thanos_compact_group_compaction_runs_started_total', 'Total number of group compaction attempts.');
    this.groupCompactionRunsCompleted = byRes('thanos_compact_group_compaction_runs_completed_total', 'Total number of group completed compaction runs. This also includes compactor group runs that resulted with no compaction.');
    this.groupCompactionFailures = byRes('thanos_compact_group_compactions_failures_total', 'Total number of failed group compactions.');
    this.groupVerticalCompactions = byRes('thanos_compact_group_vertical_compactions_total', 'Total number of group compaction attempts that resulted in a new block based on overlapping blocks.');
    this.todoCompactions = new Gauge({ name: 'thanos_compact_todo_compactions', help: 'The number of planned compactions.', registers });
    this.todoCompactionBlocks = new Gauge({ name: 'thanos_compact_todo_compaction_blocks', help: 'The number of blocks planned to be compacted.', registers });
    this.todoDownsampleBlocks = new Gauge({ name: 'thanos_compact_todo_downsample_blocks', help: 'The number of blocks to be downsampled.', registers });
    this.todoDeletionBlocks = new Gauge({ name: 'thanos_compact_todo_deletion_blocks', help: 'The number of blocks that have retention policy applied.', registers });
    this.blocksCleaned = new Counter({ name: 'thanos_compact_blocks_cleaned_total', help: 'Total number of blocks deleted in compactor.', registers });
    this.blockCleanupFailures = new Counter({ name: 'thanos_compact_block_cleanup_failures_total', help: 'Failures encountered while deleting blocks in compactor.', registers });
    this.blocksMarked = new Counter({ name: 'thanos_compact_blocks_marked_total', help: 'Total number of blocks marked in compactor.', labelNames: ['marker', 'reason'] as const, registers });
    this.garbageCollectedBlocks = new Counter({ name: 'thanos_compact_garbage_collected_blocks_total', help: 'Total number of blocks marked for deletion by compactor.', registers });
    this.partialUploadDeleteAttempts = new Counter({ name: 'thanos_compact_aborted_partial_uploads_deletion_attempts_total', help: 'Total number of started deletions of blocks that are assumed aborted and only partially uploaded.', registers });
    this.cleanupLoops = new Counter({ name: 'thanos_compact_block_cleanup_loops_total', help: 'Total number of concurrent cleanup loops of partially uploaded blocks and marked blocks run.', registers });
    this.downsamples = byRes('thanos_compact_downsample_total', 'Total number of downsampling attempts.');
    this.downsampleFailures = byRes('thanos_compact_downsample_failures_total', 'Total number of failed downsampling attempts.');
  }
}

/** Thanos' resolution label value (Thanos.ResolutionString): the resolution in ms. */
export function resolutionLabel(resolution: number): string {
  return String(resolution);
}
