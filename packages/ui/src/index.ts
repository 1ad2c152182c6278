// The web UI's face: registerUI adds the single-page app to a component's HTTP server.
import type { HttpServer } from '@thanos-ts/runtime';

/** Which component serves the UI: it decides the pages shown. */
export type UIComponent = 'query' | 'store' | 'compact' | 'rule';

export interface UIOptions {
  component: UIComponent;
}

/** Serves the UI at / (registered after the component's own routes, which take precedence). */
export function registerUI(_http: HttpServer, _opts: UIOptions): void {
  // Filled in by the UI package's implementation.
}
