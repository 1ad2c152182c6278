// A client of one Alertmanager cluster (Thanos alert.Alertmanager over a
// clientconfig.HTTPClient): its endpoints from static addresses and file SD, and the
// POST of one encoded batch to one endpoint with the configured auth, TLS and timeout.

import * as http from 'node:http';
import * as https from 'node:https';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Logger } from '@thanos-ts/runtime';
import { FileSD, VERSION } from '@thanos-ts/runtime';
import type { AlertmanagerAPIVersion, AlertmanagerConfig } from './config.js';

const USER_AGENT = `Thanos/${VERSION}`;

/** An endpoint answered outside 2xx, or could not be reached in time. */
export class AlertmanagerSendError extends Error {
  override readonly name = 'AlertmanagerSendError';
}

export class AlertmanagerClient {
  private readonly discoveries: FileSD[];
  private agent: http.Agent | null = null;
  private warnedDNS = new Set<string>();

  constructor(
    readonly config: AlertmanagerConfig,
    private readonly logger: Logger,
  ) {
    this.discoveries = config.fileSDConfigs.filter((c) => c.files.length > 0).map((c) => new FileSD({ files: c.files, refreshIntervalMs: c.refreshIntervalMs, logger }));
  }

  get apiVersion(): AlertmanagerAPIVersion {
    return this.config.apiVersion;
  }

  /** Loads the TLS files and reads the file SD files once (then watches them). */
  async start(): Promise<void> {
    this.agent = this.config.scheme === 'https' ? new https.Agent({ keepAlive: true, ...(await this.tlsOptions()) }) : new http.Agent({ keepAlive: true });
    await Promise.all(this.discoveries.map((d) => d.start()));
  }

  stop(): void {
    for (const d of this.discoveries) d.stop();
    this.agent?.destroy();
    this.agent = null;
  }

  /** The base URLs of the endpoints known now: file SD first, then static ones. */
  endpoints(): URL[] {
    const addrs = [...new Set([...this.discoveries.flatMap((d) => d.targets()), ...this.config.staticAddresses])];
    const out: URL[] = [];
    for (const addr of addrs) {
      if (/^dns(srv|srvnoa)?\+/.test(addr)) {
        if (!this.warnedDNS.has(addr)) {
          this.warnedDNS.add(addr);
          this.logger.warn({ address: addr }, 'DNS discovery of Alertmanagers is not supported by thanos-ts; ignoring address');
        }
        continue;
      }
      try {
        const u = new URL(`${this.config.scheme}://${addr}`);
        u.pathname = posix.join('/', this.config.pathPrefix);
        out.push(u);
      } catch {
        this.logger.warn({ address: addr }, 'invalid Alertmanager address; ignoring it');
      }
    }
    return out;
  }

  /** The URL alerts are posted to at `base`: the path prefix joined with /api/<version>/alerts. */
  alertsURL(base: URL): URL {
    const u = new URL(base.href);
    u.pathname = posix.join(u.pathname, `/api/${this.config.apiVersion}/alerts`);
    return u;
  }

  /**
   * POSTs `body` to `url`, failing after the configured timeout or when `signal` aborts.
   *
   * @throws AlertmanagerSendError naming the URL
   */
  async postAlerts(url: URL, body: string, signal?: AbortSignal): Promise<void> {
    const target = JSON.stringify(url.href);
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'User-Agent': USER_AGENT,
    };
    try {
      const auth = await this.authorization();
      if (auth) headers.Authorization = auth;
    } catch (err) {
      throw new AlertmanagerSendError(`send request to ${target}: ${(err as Error).message}`, { cause: err });
    }
    const status = await new Promise<{ code: number; text: string }>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, { method: 'POST', headers, agent: this.agent ?? undefined }, (res) => {
        res.resume(); // read the body so the connection can be reused
        res.on('end', () => resolve({ code: res.statusCode ?? 0, text: res.statusMessage ?? '' }));
        res.on('error', reject);
      });
      const timer = setTimeout(() => req.destroy(new Error(`context deadline exceeded (timeout ${this.config.timeoutMs}ms)`)), this.config.timeoutMs);
      const onAbort = (): void => {
        req.destroy(new Error('context canceled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      });
      req.on('error', reject);
      if (signal?.aborted) onAbort();
      req.end(body);
    }).catch((err: Error) => {
      throw new AlertmanagerSendError(`send request to ${target}: ${err.message}`, { cause: err });
    });
    if (Math.floor(status.code / 100) !== 2) {
      throw new AlertmanagerSendError(`bad response status ${status.code} ${status.text} from ${target}`);
    }
  }

  /** The Authorization header value; secrets in files are read at each request, as Prometheus does. */
  private async authorization(): Promise<string | null> {
    const h = this.config.httpConfig;
    if (h.bearerToken !== '') return `Bearer ${h.bearerToken}`;
    if (h.bearerTokenFile !== '') return `Bearer ${(await readFile(h.bearerTokenFile, 'utf8')).trim()}`;
    if (h.basicAuth) {
      const password = h.basicAuth.passwordFile !== '' ? (await readFile(h.basicAuth.passwordFile, 'utf8')).trim() : h.basicAuth.password;
      return `Basic ${Buffer.from(`${h.basicAuth.username}:${password}`).toString('base64')}`;
    }
    return null;
  }

  private async tlsOptions(): Promise<https.AgentOptions> {
    const t = this.config.httpConfig.tlsConfig;
    const read = async (what: string, file: string): Promise<Buffer | undefined> => {
      if (file === '') return undefined;
      try {
        return await readFile(file);
      } catch (err) {
        throw new Error(`alertmanager tls_config: read ${what} ${file}: ${(err as Error).message}`, { cause: err });
      }
    };
    return {
      ca: await read('CA file', t.caFile),
      cert: await read('cert file', t.certFile),
      key: await read('key file', t.keyFile),
      servername: t.serverName !== '' ? t.serverName : undefined,
      rejectUnauthorized: !t.insecureSkipVerify,
    };
  }
}
