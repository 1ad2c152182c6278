// Rules and alerts, as GET /api/v1/rules and /api/v1/alerts answer (Prometheus's shape;
// the ruler serves them, the query fans them out through the Rules API).

import { apiGet } from './api.js';
import { alertBox, formatLabels, h } from './dom.js';

interface Alert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  state: string;
  activeAt?: string;
  value?: string;
}

interface Rule {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health?: string;
  lastError?: string;
  state?: string;
  duration?: number;
  labels?: Record<string, string>;
  alerts?: Alert[];
  lastEvaluation?: string;
  evaluationTime?: number;
}

interface RuleGroup {
  name: string;
  file: string;
  interval?: number;
  rules: Rule[];
  lastEvaluation?: string;
  evaluationTime?: number;
}

export async function rulesPage(main: HTMLElement): Promise<void> {
  const { data, warnings } = await apiGet<{ groups: RuleGroup[] | null }>('rules');
  for (const w of warnings) main.append(alertBox('warning', w));
  const groups = data.groups ?? [];
  if (groups.length === 0) main.append(alertBox('info', 'No rules loaded.'));
  for (const g of groups) {
    main.append(
      h('h2', {}, `${g.file} > ${g.name}`, h('span', { class: 'muted' }, g.interval ? ` · every ${g.interval}s` : '')),
      h(
        'table',
        { class: 'table rules' },
        h('thead', {}, h('tr', {}, ...['Rule', 'State', 'Health', 'Last evaluation', 'Evaluation time', 'Error'].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          g.rules.map((r) =>
            h(
              'tr',
              { class: 'rule' },
              h('td', {}, h('pre', { class: 'rule-text' }, ruleText(r))),
              h('td', {}, r.type === 'alerting' ? h('span', { class: `badge ${r.state === 'firing' ? 'bad' : r.state === 'pending' ? 'warn' : 'ok'}` }, r.state ?? '') : ''),
              h('td', {}, h('span', { class: `badge ${r.health === 'ok' ? 'ok' : r.health === 'err' ? 'bad' : ''}` }, r.health ?? 'unknown')),
              h('td', {}, r.lastEvaluation ?? ''),
              h('td', {}, r.evaluationTime !== undefined ? `${(r.evaluationTime * 1000).toFixed(1)}ms` : ''),
              h('td', { class: 'error' }, r.lastError ?? ''),
            ),
          ),
        ),
      ),
    );
  }
}

function ruleText(r: Rule): string {
  const lines = [r.type === 'alerting' ? `alert: ${r.name}` : `record: ${r.name}`, `expr: ${r.query}`];
  if (r.duration) lines.push(`for: ${r.duration}s`);
  if (r.labels && Object.keys(r.labels).length) lines.push(`labels: ${formatLabels(r.labels)}`);
  return lines.join('\n');
}

export async function alertsPage(main: HTMLElement): Promise<void> {
  const { data, warnings } = await apiGet<{ groups: RuleGroup[] | null }>('rules', { type: 'alert' });
  for (const w of warnings) main.append(alertBox('warning', w));
  const rules = (data.groups ?? []).flatMap((g) => g.rules.filter((r) => r.type === 'alerting').map((r) => ({ g, r })));
  const count = (state: string): number => rules.filter(({ r }) => (r.state ?? 'inactive') === state).length;
  main.append(h('p', {}, `Firing (${count('firing')}) · Pending (${count('pending')}) · Inactive (${count('inactive')})`));
  if (rules.length === 0) main.append(alertBox('info', 'No alerting rules.'));
  for (const { g, r } of rules) {
    const alerts = r.alerts ?? [];
    main.append(
      h(
        'details',
        { class: `alert-rule state-${r.state ?? 'inactive'}`, open: r.state === 'firing' || r.state === 'pending' },
        h('summary', {}, `${r.name} (${alerts.length} active)`, h('span', { class: 'muted' }, ` · ${g.file} > ${g.name}`)),
        h('pre', { class: 'rule-text' }, ruleText(r)),
        alerts.length
          ? h(
              'table',
              { class: 'table' },
              h('thead', {}, h('tr', {}, ...['Labels', 'State', 'Active since', 'Value'].map((c) => h('th', {}, c)))),
              h('tbody', {}, alerts.map((a) => h('tr', {}, h('td', {}, formatLabels(a.labels)), h('td', {}, a.state), h('td', {}, a.activeAt ?? ''), h('td', {}, a.value ?? '')))),
            )
          : null,
      ),
    );
  }
}
