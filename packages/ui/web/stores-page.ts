// Every StoreAPI endpoint the query knows, by component type, as GET /api/v1/stores answers.

import { apiGet } from './api.js';
import { alertBox, formatLabels, formatTime, h } from './dom.js';

interface EndpointStatus {
  name: string;
  lastCheck: string;
  lastError: string | null;
  labelSets: Record<string, string>[] | null;
  minTime: number;
  maxTime: number;
}

export async function storesPage(main: HTMLElement): Promise<void> {
  const { data } = await apiGet<Record<string, EndpointStatus[] | null>>('stores');
  const types = Object.keys(data).sort();
  if (types.length === 0) main.append(alertBox('info', 'No endpoints configured.'));
  for (const type of types) {
    const eps = [...(data[type] ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    main.append(
      h('h2', {}, `${type} (${eps.length})`),
      h(
        'table',
        { class: 'table stores', 'data-type': type },
        h('thead', {}, h('tr', {}, ...['Endpoint', 'Status', 'Announced label sets', 'Min time', 'Max time', 'Last successful health check', 'Last error'].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          eps.map((e) => {
            const up = !e.lastError;
            return h(
              'tr',
              { class: 'endpoint', 'data-health': up ? 'up' : 'down' },
              h('td', {}, e.name),
              h('td', {}, h('span', { class: `badge ${up ? 'ok' : 'bad'}` }, up ? 'UP' : 'DOWN')),
              h('td', {}, (e.labelSets ?? []).map((ls) => h('div', { class: 'labelset' }, formatLabels(ls)))),
              h('td', {}, formatTime(e.minTime)),
              h('td', {}, formatTime(e.maxTime)),
              h('td', {}, e.lastCheck && !e.lastCheck.startsWith('0001-') ? e.lastCheck : 'never'),
              h('td', { class: 'error' }, e.lastError ?? ''),
            );
          }),
        ),
      ),
    );
  }
}
