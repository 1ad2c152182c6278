// The query page: several panels whose state lives in the URL.

import { apiGet } from './api.js';
import { h } from './dom.js';
import { createPanel } from './panel.js';
import type { Panel } from './panel.js';
import { defaultPanel, panelsFromQuery, panelsToQuery } from './panel-state.js';

export async function graphPage(main: HTMLElement): Promise<void> {
  // The partial response default is the query's --query.partial-response, as Thanos's UI does.
  let partial = false;
  try {
    const { data } = await apiGet<Record<string, string>>('status/flags');
    partial = data['query.partial-response'] === 'true';
  } catch {
    // Unknown: keep it off.
  }
  const defaults = defaultPanel(partial);
  const list = h('div', { class: 'panels' });
  const panels: Panel[] = [];

  const saveURL = (): void => {
    // Answers may still arrive after the user moved to another page: leave its URL alone.
    if (!list.isConnected) return;
    const q = panelsToQuery(panels.map((p) => p.state()));
    window.history.replaceState(null, '', `graph?${q}`);
  };
  const add = (state = defaults): Panel => {
    const p: Panel = createPanel(state, {
      changed: saveURL,
      remove: () => {
        panels.splice(panels.indexOf(p), 1);
        p.destroy();
        if (panels.length === 0) add();
        saveURL();
      },
    });
    panels.push(p);
    list.append(p.root);
    return p;
  };

  main.append(list, h('button', { class: 'btn add-panel', onclick: () => (add(), saveURL()) }, 'Add Panel'));
  for (const s of panelsFromQuery(window.location.search, defaults)) {
    const p = add(s);
    if (s.expr) p.execute();
  }
}
