import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promtool, removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { afterAll, describe, expect, it } from 'vitest';
import { checkAlertTemplate } from './index.js';

// Templates as people break them; promtool 2.42 checks them with rulefmt (preamble + text
// parsed under __alert_<name>) and we must say the same.
const templates = [
  '{{ $labels.instance',
  '{{ $foo }}',
  '{{ foo }}',
  '{{ $labels.instance }',
  '{{ end }}',
  '{{ if $value }}x',
  '{{ else }}',
  '{{ $x = 1 }}',
  '{{ }}',
  '{{ .Labels.a | 3 }}',
  '{{ "abc }}',
  '{{ (1 }}',
  '{{ 1) }}',
  '{{ break }}',
  '{{ range $i, $v := . }}{{ break }}{{ continue }}{{ end }}',
  '{{ define "x" }}a{{ end }}{{ template "y" }}',
  '{{ template x }}',
  'a {{/* c */}} b {{/* d',
  '{{ 1.2.3 }}',
  '{{ $labels.a.b }}{{ 3.foo }}',
  '{{ humanize }}',
  '{{ with $x := 1 }}{{ end }}{{ $x }}',
  '{{ if }}{{ end }}',
  '{{ printf "%s" $labels.x \n }}',
  '{{ nil }}',
  '{{ $labels.instance | toUpper | }}',
  '{{ range $a, $b, $c := . }}{{ end }}',
  '{{ if 1 }}{{ else if 2 }}{{ else }}{{ end }}{{ end }}',
  '{{ "a" "b" }}',
  '{{ .a-b }}',
  '{{- 3 -}}{{-3}}',
  'line one\n{{ if $value }}\nline three {{ $labels.job',
  '{{ .x\n | foo }}',
  '{{ $x := 1 }}{{ $x.y.z }} {{ "a".b }}',
  "{{ 'ab' }}",
  '{{ 99999999999999999999 }}',
  '{{ with $labels }}{{ else }}{{ else }}{{ end }}',
  '{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}',
  '{{ template "x" 1 2 }}',
  '{{ humanize $value | printf "%s" | title }} {{ $value | humanizePercentage }}',
  '{{ $labels.job\n\n',
  'a\n{{ "abc\n" }}',
  '{{ (\n1 }}',
  '{{ index $labels "a" | len | printf "%d" }}{{ /* x */ }}',
  '{{ 0x1F }} {{ 1_000 }} {{ 1e3 }} {{ .5 }} {{ -3 }} {{ +2 }}',
  '{{ $labels := 1 }}{{ $labels }}',
  '{{ range . }}{{ end }}{{ break }}',
  '{{ block "b" . }}x{{ end }}{{ template "b" }}',
];

afterAll(removeTempDirs);

describe('checkAlertTemplate matches promtool check rules 2.42', () => {
  it('on every template', async () => {
    const dir = await tempDir('template-check');
    const file = join(dir, 'rules.yml');
    const rules = templates.map((t, i) => `  - alert: A${i}\n    expr: up == 0\n    annotations:\n      summary: ${JSON.stringify(t)}\n`).join('');
    await writeFile(file, `groups:\n- name: g\n  rules:\n${rules}`);
    const res = await promtool(['check', 'rules', file]);
    const promErrors = new Map<number, string>();
    for (const line of (res.stdout + res.stderr).split('\n')) {
      const m = /rule (\d+), "A\d+": annotation "summary": (.*)$/.exec(line);
      if (m) promErrors.set(Number(m[1]) - 1, m[2]);
    }
    expect(promErrors.size).toBeGreaterThan(20); // promtool did run and report
    const ours = new Map<number, string>();
    templates.forEach((t, i) => {
      const e = checkAlertTemplate(`A${i}`, t);
      if (e) ours.set(i, e.message);
    });
    for (let i = 0; i < templates.length; i++) expect([templates[i], ours.get(i)]).toEqual([templates[i], promErrors.get(i)]);
  });
});
