// `pnpm bench`: runs every bench/*.bench.mjs (after `pnpm build`) and prints its figures.
// Benchmarks run beside the real Prometheus tools on the same data where a counterpart
// exists and print ratios; nothing here asserts a timing.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
for (const f of files) {
  console.log(`\n## ${f.replace('.bench.mjs', '')}\n`);
  const mod = await import(pathToFileURL(join(here, f)).href);
  await mod.run();
}
