// The generated code in gen/ is committed; this regenerates it from proto/ and fails
// when the committed copy is stale. Fix: `pnpm --filter @thanos-ts/storeapi gen`.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
let out = '';

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe('generated protobuf code', () => {
  it('is up to date with proto/', async () => {
    out = await mkdtemp(join(tmpdir(), 'storeapi-gen-check-'));
    const { generate } = (await import(join(pkgDir, 'scripts/gen.mjs'))) as { generate: (dir: string) => Promise<void> };
    await generate(out);
    for (const f of ['proto.js', 'proto.d.ts']) {
      const fresh = await readFile(join(out, f), 'utf8');
      const committed = await readFile(join(pkgDir, 'gen', f), 'utf8');
      expect(committed === fresh, `gen/${f} is stale: run \`pnpm --filter @thanos-ts/storeapi gen\``).toBe(true);
    }
  }, 60_000);
});
