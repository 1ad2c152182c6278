// The app's pages and which component shows which: shared by the server (which paths
// serve index.html) and the browser code (the navigation bar).
import type { UIComponent } from './ui-component.js';

export interface Page {
  /** Path segment under the route prefix (single segment, so relative URLs work). */
  path: string;
  title: string;
}

export const PAGES: Record<string, Page> = {
  graph: { path: 'graph', title: 'Query' },
  stores: { path: 'stores', title: 'Stores' },
  blocks: { path: 'blocks', title: 'Blocks' },
  rules: { path: 'rules', title: 'Rules' },
  alerts: { path: 'alerts', title: 'Alerts' },
  status: { path: 'status', title: 'Status' },
  flags: { path: 'flags', title: 'Flags' },
};

/** The pages of each component, in navigation order; the first one is where / leads. */
export const COMPONENT_PAGES: Record<UIComponent, readonly string[]> = {
  query: ['graph', 'stores', 'rules', 'alerts', 'status', 'flags'],
  store: ['blocks', 'status', 'flags'],
  compact: ['blocks', 'status', 'flags'],
  rule: ['rules', 'alerts', 'status', 'flags'],
};

export function isUIComponent(s: string): s is UIComponent {
  return s in COMPONENT_PAGES;
}
