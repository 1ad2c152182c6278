import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created = new Set<string>();
let hooked = false;

/**
 * Creates a fresh directory under the OS temp dir. It is removed by removeTempDirs() or,
 * at the latest, when the process exits; set THANOS_TS_KEEP_TEMP=1 to keep it for a
 * post-mortem.
 */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `thanos-ts-${prefix.replace(/[^\w.-]/g, '_')}-`));
  created.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      if (keepTemp()) return;
      for (const d of created) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** Removes one directory made by tempDir (or any directory). */
export async function removeTempDir(dir: string): Promise<void> {
  created.delete(dir);
  if (!keepTemp()) await rm(dir, { recursive: true, force: true });
}

/** Removes every directory tempDir made so far; for afterAll hooks. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all([...created].map((d) => removeTempDir(d)));
}

function keepTemp(): boolean {
  return process.env.THANOS_TS_KEEP_TEMP === '1';
}
