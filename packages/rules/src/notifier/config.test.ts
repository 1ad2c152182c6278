import { describe, expect, it } from 'vitest';
import { alertmanagerConfigFromURL, AlertmanagerConfigError, parseAlertmanagersConfig } from './config.js';

describe('parseAlertmanagersConfig', () => {
  it('reads every field of the documented format', () => {
    const [am] = parseAlertmanagersConfig(`
alertmanagers:
- http_config:
    basic_auth:
      username: alice
      password_file: /secret/pw
    tls_config:
      ca_file: /ca.pem
      server_name: am.example
      insecure_skip_verify: true
    transport_config:
      max_idle_conns: 10
  static_configs: ["am-0:9093", "am-1:9093"]
  file_sd_configs:
  - files: ["/etc/am/*.json"]
    refresh_interval: 1m
  scheme: https
  path_prefix: /am
  timeout: 3s
  api_version: v1
`);
    expect(am).toEqual({
      httpConfig: {
        basicAuth: { username: 'alice', password: '', passwordFile: '/secret/pw' },
        bearerToken: '',
        bearerTokenFile: '',
        tlsConfig: { caFile: '/ca.pem', certFile: '', keyFile: '', serverName: 'am.example', insecureSkipVerify: true },
      },
      staticAddresses: ['am-0:9093', 'am-1:9093'],
      fileSDConfigs: [{ files: ['/etc/am/*.json'], refreshIntervalMs: 60_000 }],
      scheme: 'https',
      pathPrefix: '/am',
      timeoutMs: 3000,
      apiVersion: 'v1',
    });
  });

  it("applies Thanos's defaults", () => {
    const [am] = parseAlertmanagersConfig('alertmanagers:\n- static_configs: ["localhost:9093"]\n');
    expect(am.scheme).toBe('http');
    expect(am.timeoutMs).toBe(10_000);
    expect(am.apiVersion).toBe('v2');
    expect(am.pathPrefix).toBe('');
    expect(am.httpConfig.basicAuth).toBeNull();
    expect(parseAlertmanagersConfig('')).toEqual([]);
  });

  it('accepts the example of the Thanos docs, empty file SD and 0s refresh included', () => {
    const [am] = parseAlertmanagersConfig(`
alertmanagers:
- http_config:
    basic_auth: {username: "", password: "", password_file: ""}
    bearer_token: ""
    bearer_token_file: ""
    proxy_url: ""
    tls_config: {ca_file: "", cert_file: "", key_file: "", server_name: "", insecure_skip_verify: false}
  static_configs: []
  file_sd_configs:
  - files: []
    refresh_interval: 0s
  scheme: http
  path_prefix: ""
  timeout: 10s
  api_version: v1
`);
    expect(am.fileSDConfigs).toEqual([{ files: [], refreshIntervalMs: 300_000 }]);
    expect(am.httpConfig.basicAuth).toBeNull();
  });

  it.each([
    ['alertmanagers:\n- staticconfigs: []\n', 'field staticconfigs not found in type alert.AlertmanagerConfig'],
    ['alertmanagers:\n- api_version: v3\n', 'expected Alertmanager API version to be one of [v1 v2] but got "v3"'],
    ['alertmanagers:\n- timeout: 10\n', 'timeout'],
    ['alertmanagers:\n- http_config: {bearer_token: a, bearer_token_file: b}\n', 'at most one of bearer_token & bearer_token_file must be configured'],
    ['alertmanagers:\n- http_config: {bearer_token: a, basic_auth: {username: u}}\n', 'at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured'],
    ['alertmanagers:\n- http_config: {basic_auth: {username: u, password: p, password_file: f}}\n', 'at most one of basic_auth password & password_file must be configured'],
    ['alertmanagers:\n- static_configs: ["dns+am.svc:9093"]\n', 'not supported'],
    ['alertmanagers:\n- file_sd_configs: [{files: ["/etc/am/targets.txt"]}]\n', 'is not valid for file discovery'],
    ['alertmanagers:\n- scheme: ftp\n', 'unsupported scheme'],
    ['alertmanagers: [\n', 'parse alerting config'],
  ])('rejects %j', (yaml, msg) => {
    expect(() => parseAlertmanagersConfig(yaml)).toThrow(AlertmanagerConfigError);
    expect(() => parseAlertmanagersConfig(yaml)).toThrow(msg);
  });
});

describe('alertmanagerConfigFromURL', () => {
  it('takes scheme, host, path prefix and basic auth from the URL', () => {
    const am = alertmanagerConfigFromURL('https://bob:s%40cret@am.example:9443/prefix', 5000);
    expect(am.scheme).toBe('https');
    expect(am.staticAddresses).toEqual(['am.example:9443']);
    expect(am.pathPrefix).toBe('/prefix');
    expect(am.httpConfig.basicAuth).toEqual({ username: 'bob', password: 's@cret', passwordFile: '' });
    expect(am.timeoutMs).toBe(5000);
    expect(am.apiVersion).toBe('v2');
    expect(alertmanagerConfigFromURL('http://localhost:9093', 1000).pathPrefix).toBe('');
    expect(alertmanagerConfigFromURL('http://localhost:9093/', 1000).pathPrefix).toBe('');
  });

  it('rejects what Thanos rejects, and DNS discovery', () => {
    expect(() => alertmanagerConfigFromURL('//localhost:9093', 1)).toThrow('alertmanagers.url contains empty scheme');
    expect(() => alertmanagerConfigFromURL('localhost:9093', 1)).toThrow('alertmanagers.url contains empty host');
    expect(() => alertmanagerConfigFromURL('dns+http://am.svc:9093', 1)).toThrow(/DNS discovery .* is not supported/);
    expect(() => alertmanagerConfigFromURL('dnssrv+http://_am._tcp.svc', 1)).toThrow(/not supported/);
  });
});
