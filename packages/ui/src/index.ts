// The web UI's face: registerUI adds the single-page app to a component's HTTP server.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpServer } from '@thanos-ts/runtime';
import { registerStaticUI } from './static-ui.js';
import type { UIComponent } from './ui-component.js';

export type { UIComponent } from './ui-component.js';

export interface UIOptions {
  component: UIComponent;
}

/** dist-web/ beside dist/ and src/: the same from the built package and from sources under vitest. */
const UI_BUNDLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist-web');

/** Serves the UI at / (registered after the component's own routes, which take precedence). */
export function registerUI(http: HttpServer, opts: UIOptions): void {
  registerStaticUI(http, { component: opts.component, dir: UI_BUNDLE_DIR });
}
