// Bundles the browser app (web/) with esbuild into dist-web/: minified, content-hashed
// assets under dist-web/static/ and an index.html naming them. No CDN at run time:
// everything the app loads comes from here.
//
//   node packages/ui/scripts/bundle.mjs [outdir]   (default: packages/ui/dist-web)

import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Writes the bundle into outDir (replaced whole); returns the asset names. */
export async function bundle(outDir = join(UI_DIR, 'dist-web')) {
  const tmp = `${outDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const result = await build({
    entryPoints: { app: join(UI_DIR, 'web', 'main.ts') },
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'esm',
    target: ['es2020'],
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: join(tmp, 'static'),
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((n) => n.endsWith('.js'));
  const css = outputs.find((n) => n.endsWith('.css'));
  if (!js) throw new Error('bundle ui: esbuild wrote no script');
  const template = await readFile(join(UI_DIR, 'web', 'index.html'), 'utf8');
  const html = template
    .replace('<!--styles-->', css ? `<link rel="stylesheet" href="static/${css}">` : '')
    .replace('<!--scripts-->', `<script type="module" src="static/${js}"></script>`);
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'index.html'), html);
  await rm(outDir, { recursive: true, force: true });
  await rename(tmp, outDir);
  return outputs;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ? resolve(process.argv[2]) : undefined;
  bundle(out).then(
    (names) => console.log(`ui bundle: ${names.join(', ')}`),
    (err) => {
      console.error(`bundle ui: ${err.message}`);
      process.exit(1);
    },
  );
}
