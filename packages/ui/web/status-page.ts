// Build, runtime and command-line flags (GET /api/v1/status/{buildinfo,runtimeinfo,flags}).
// Components that do not serve one of them get a plain message in its place.

import { ApiError, apiGet } from './api.js';
import { alertBox, h } from './dom.js';

async function section(title: string, path: string): Promise<HTMLElement> {
  const box = h('section', { class: 'status-section', 'data-endpoint': path }, h('h2', {}, title));
  try {
    const { data } = await apiGet<Record<string, unknown>>(path);
    box.append(keyValueTable(data));
  } catch (err) {
    box.append(
      err instanceof ApiError && err.status === 404
        ? alertBox('info', `This component does not serve /api/v1/${path}: no ${title.toLowerCase()} to show.`)
        : alertBox('error', (err as Error).message),
    );
  }
  return box;
}

function keyValueTable(data: Record<string, unknown>): HTMLElement {
  return h(
    'table',
    { class: 'table kv' },
    h(
      'tbody',
      {},
      Object.entries(data)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, typeof v === 'string' ? v : JSON.stringify(v)))),
    ),
  );
}

export async function statusPage(main: HTMLElement): Promise<void> {
  main.append(...(await Promise.all([section('Build information', 'status/buildinfo'), section('Runtime information', 'status/runtimeinfo')])));
}

export async function flagsPage(main: HTMLElement): Promise<void> {
  main.append(await section('Command-line flags', 'status/flags'));
}
