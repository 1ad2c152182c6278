// Checkpoint directories beside the segments: `checkpoint.NNNNNNNN` (%08d), where N is
// the last segment the checkpoint covers. `checkpoint.N.tmp` is one being written and is
// never read.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

const CHECKPOINT_PREFIX = 'checkpoint.';

export interface CheckpointRef {
  /** Path of the checkpoint directory. */
  dir: string;
  /** The last WAL segment it covers. */
  index: number;
}

export function checkpointDir(dir: string, index: number): string {
  return join(dir, CHECKPOINT_PREFIX + String(index).padStart(8, '0'));
}

/**
 * The checkpoints in dir, ascending by index.
 * @throws Error when a `checkpoint.N` entry is not a directory
 */
export async function listCheckpoints(dir: string): Promise<CheckpointRef[]> {
  const refs: CheckpointRef[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(CHECKPOINT_PREFIX)) continue;
    const digits = name.slice(CHECKPOINT_PREFIX.length);
    if (!/^\d+$/.test(digits)) continue;
    const path = join(dir, name);
    if (!(await stat(path)).isDirectory()) throw new Error(`list checkpoints: ${path} is not a directory`);
    refs.push({ dir: path, index: Number(digits) });
  }
  return refs.sort((a, b) => a.index - b.index);
}

/** The most recent checkpoint in dir, or null when there is none (wlog.LastCheckpoint). */
export async function lastCheckpoint(dir: string): Promise<CheckpointRef | null> {
  const refs = await listCheckpoints(dir);
  return refs.length === 0 ? null : refs[refs.length - 1];
}

/** Removes every checkpoint in dir whose index is below maxIndex (wlog.DeleteCheckpoints). */
export async function deleteCheckpoints(dir: string, maxIndex: number): Promise<void> {
  for (const cp of await listCheckpoints(dir)) {
    if (cp.index >= maxIndex) break;
    await rm(cp.dir, { recursive: true, force: true });
  }
}
