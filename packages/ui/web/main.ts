// The app's entry: which component serves it (written into index.html by the server),
// the navigation bar of that component's pages, and the page of the current path.
// Moving between pages happens in place (history.pushState); every page path also
// serves index.html, so a reload or a shared link lands on the same page.

import { COMPONENT_PAGES, PAGES, isUIComponent } from '../src/pages.js';
import { alertBox, h, render } from './dom.js';
import { blocksPage } from './blocks-page.js';
import { graphPage } from './graph-page.js';
import { alertsPage, rulesPage } from './rules-page.js';
import { flagsPage, statusPage } from './status-page.js';
import { storesPage } from './stores-page.js';
import './style.css';

const RENDERERS: Record<string, (main: HTMLElement) => Promise<void>> = {
  graph: graphPage,
  stores: storesPage,
  blocks: blocksPage,
  rules: rulesPage,
  alerts: alertsPage,
  status: statusPage,
  flags: flagsPage,
};

const c = document.documentElement.dataset.component ?? '';
const component = isUIComponent(c) ? c : 'query';
const pages = COMPONENT_PAGES[component];
const nav = document.getElementById('nav')!;
const main = document.getElementById('main')!;

/** The page the location names (its last path segment), or the component's first. */
function currentPage(): string {
  const last = window.location.pathname.split('/').pop() ?? '';
  return pages.includes(last) ? last : pages[0];
}

async function show(page: string): Promise<void> {
  document.title = `${PAGES[page].title} · thanos-ts ${component}`;
  for (const a of nav.querySelectorAll<HTMLAnchorElement>('a[data-page]')) a.classList.toggle('active', a.dataset.page === page);
  // A fresh container per visit: answers still arriving for the page left go nowhere.
  const content = h('div', { class: 'page', 'data-page': page }, h('h1', {}, PAGES[page].title));
  main.dataset.page = page;
  delete main.dataset.ready;
  render(main, content);
  try {
    await RENDERERS[page](content);
  } catch (err) {
    content.append(alertBox('error', (err as Error).message));
  }
  if (content.isConnected) main.dataset.ready = 'true';
}

function navigate(e: MouseEvent, page: string): void {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  window.history.pushState(null, '', page);
  void show(page);
}

render(
  nav,
  h('a', { class: 'brand', href: pages[0] }, 'thanos-ts', h('span', { class: 'component' }, component)),
  ...pages.map((p) => h('a', { href: p, 'data-page': p, onclick: ((e: MouseEvent) => navigate(e, p)) as EventListener }, PAGES[p].title)),
);
window.addEventListener('popstate', () => void show(currentPage()));
void show(currentPage());
