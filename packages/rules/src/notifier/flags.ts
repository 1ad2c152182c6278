// The ruler's Alertmanager flags as Thanos spells them (cmd/thanos/config.go
// alertMgrConfig) and their translation into a NotifierConfig. The rule component
// registers NOTIFIER_FLAGS and hands the parsed values to notifierConfigFromFlags.

import { readFileSync } from 'node:fs';
import { FlagValues, parseGoDuration, UserError } from '@thanos-ts/runtime';
import type { FlagSpec } from '@thanos-ts/runtime';
import { parseRelabelConfigs } from '@thanos-ts/tsdb';
import type { RelabelConfig } from '@thanos-ts/tsdb';
import { parse as parseYaml } from 'yaml';
import { alertmanagerConfigFromURL, parseAlertmanagersConfig } from './config.js';
import type { AlertmanagerConfig } from './config.js';
import { DEFAULT_ALERT_QUERY_TEMPLATE, validateQueryTemplate } from './generator-url.js';

const AM_CONFIG_HELP =
  "YAML file that contains alerting configuration. See format details: https://thanos.io/tip/components/rule.md/#configuration. If defined, it takes precedence over the '--alertmanagers.url' and '--alertmanagers.send-timeout' flags.";

export const NOTIFIER_FLAGS: readonly FlagSpec[] = [
  { name: 'alertmanagers.config-file', kind: 'string', placeholder: '<file-path>', help: `Path to ${AM_CONFIG_HELP}` },
  { name: 'alertmanagers.config', kind: 'string', placeholder: '<content>', help: `Alternative to 'alertmanagers.config-file' flag (mutually exclusive). Content of ${AM_CONFIG_HELP}` },
  {
    name: 'alertmanagers.url',
    kind: 'strings',
    placeholder: 'ALERTMANAGERS.URL',
    help: "Alertmanager replica URLs to push firing alerts. Ruler claims success if push to at least one alertmanager from discovered succeeds. The scheme should not be empty e.g `http` might be used. The scheme may be prefixed with 'dns+' or 'dnssrv+' to detect Alertmanager IPs through respective DNS lookups. The port defaults to 9093 or the SRV record's value. The URL path is used as a prefix for the regular Alertmanager API path. thanos-ts: 'dns+' and 'dnssrv+' are not supported yet.",
  },
  { name: 'alertmanagers.send-timeout', kind: 'string', default: '10s', placeholder: '<duration>', help: 'Timeout for sending alerts to Alertmanager' },
  { name: 'alertmanagers.sd-dns-interval', kind: 'string', default: '30s', placeholder: '<duration>', help: 'Interval between DNS resolutions of Alertmanager hosts. thanos-ts: accepted and unused (no DNS discovery of Alertmanagers).' },
  { name: 'alert.query-url', kind: 'string', placeholder: 'ALERT.QUERY-URL', help: "The external Thanos Query URL that would be set in all alerts 'Source' field" },
  {
    name: 'alert.label-drop',
    kind: 'strings',
    placeholder: 'ALERT.LABEL-DROP',
    help: 'Labels by name to drop before sending to alertmanager. This allows alert to be deduplicated on replica label (repeated). Similar Prometheus alert relabelling',
  },
  { name: 'alert.relabel-config-file', kind: 'string', placeholder: '<file-path>', help: 'Path to YAML file that contains alert relabelling configuration.' },
  { name: 'alert.relabel-config', kind: 'string', placeholder: '<content>', help: "Alternative to 'alert.relabel-config-file' flag (mutually exclusive). Content of YAML file that contains alert relabelling configuration." },
  { name: 'alert.query-template', kind: 'string', default: DEFAULT_ALERT_QUERY_TEMPLATE, placeholder: '<template>', help: 'Template to use in alerts source field. Need only include {{.Expr}} parameter' },
];

export interface NotifierConfig {
  /** One per Alertmanager cluster; empty when none is configured (Thanos then only warns). */
  alertmanagers: AlertmanagerConfig[];
  /** --alert.label-drop. */
  labelDrop: string[];
  /** --alert.relabel-config(-file). */
  relabelConfigs: RelabelConfig[];
  /** --alert.query-url ('' when unset): the start of every alert's generatorURL. */
  alertQueryURL: string;
  /** --alert.query-template (checked). */
  alertQueryTemplate: string;
}

/**
 * The NotifierConfig for parsed flag values. Config contents get $(VAR) replaced from
 * the environment, as Thanos registers these flags WithEnvSubstitution.
 *
 * @throws UserError naming the flag
 */
export function notifierConfigFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): NotifierConfig {
  const f = new FlagValues(values, NOTIFIER_FLAGS);
  const urls = f.strs('alertmanagers.url').filter((u) => u !== '');
  const amYaml = pathOrContentWithEnv(f, 'alertmanagers.config', env);
  if (amYaml !== '' && urls.length > 0) throw new UserError('--alertmanagers.url and --alertmanagers.config* parameters cannot be defined at the same time');
  let alertmanagers: AlertmanagerConfig[];
  if (amYaml !== '') {
    alertmanagers = userErr('--alertmanagers.config', () => parseAlertmanagersConfig(amYaml));
  } else {
    const timeoutMs = userErr('--alertmanagers.send-timeout', () => parseGoDuration(f.str('alertmanagers.send-timeout')));
    if (!(timeoutMs > 0)) throw new UserError('--alertmanagers.send-timeout: must be positive');
    alertmanagers = urls.map((u) => userErr('--alertmanagers.url', () => alertmanagerConfigFromURL(u, timeoutMs)));
  }
  userErr('--alertmanagers.sd-dns-interval', () => parseGoDuration(f.str('alertmanagers.sd-dns-interval')));

  const relabelYaml = pathOrContentWithEnv(f, 'alert.relabel-config', env);
  const relabelConfigs = relabelYaml === '' ? [] : userErr('--alert.relabel-config', () => parseAlertRelabelConfigs(relabelYaml));

  const alertQueryURL = f.str('alert.query-url');
  if (alertQueryURL !== '' && !URL.canParse(alertQueryURL) && !alertQueryURL.startsWith('/')) {
    throw new UserError(`parse alert query url: invalid URL ${JSON.stringify(alertQueryURL)}`);
  }
  const alertQueryTemplate = f.str('alert.query-template');
  userErr('invalid alert source template', () => validateQueryTemplate(alertQueryTemplate));

  return { alertmanagers, labelDrop: f.strs('alert.label-drop').filter((l) => l !== ''), relabelConfigs, alertQueryURL, alertQueryTemplate };
}

/** --alert.relabel-config content (Thanos LoadRelabelConfigs: strict, UTF-8 label names). */
export function parseAlertRelabelConfigs(text: string): RelabelConfig[] {
  return parseRelabelConfigs(parseYaml(text), 'alert relabel config', { nameValidationScheme: 'utf8' });
}

function pathOrContentWithEnv(f: FlagValues, flag: string, env: NodeJS.ProcessEnv): string {
  const file = f.str(`${flag}-file`);
  const content = f.str(flag);
  if (file !== '' && content !== '') throw new UserError(`both --${flag}-file and --${flag} are set; they are mutually exclusive`);
  let text = content;
  if (file !== '') {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UserError(`--${flag}-file: ${(err as Error).message}`);
    }
  }
  return userErr(`--${flag}`, () => expandEnv(text, env));
}

/** Kubernetes-style $(VAR) substitution (Thanos extflag WithEnvSubstitution). */
function expandEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\(([a-zA-Z_0-9]+)\)/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new Error(`found reference to unset environment variable ${JSON.stringify(name)}`);
    return v;
  });
}

function userErr<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw Object.assign(new UserError(`${what}: ${(err as Error).message}`), { cause: err });
  }
}
