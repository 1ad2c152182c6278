// GET /api/v1/status/{buildinfo,runtimeinfo,flags} as Thanos's BaseAPI (pkg/api/api.go)
// serves them on every component with an HTTP API: the build, the process's runtime
// figures and the command's flags, each in the Prometheus API envelope. The query
// component writes the same payloads through its own API; the others register these
// routes on their HttpServer.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { availableParallelism, hostname } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { buildInfo } from './build-info.js';
import type { BuildInfo } from './build-info.js';
import type { HttpServer } from './http-server.js';

/** Thanos's RuntimeInfo, with Prometheus's hostname and serverTime. */
export interface RuntimeInfo {
  /** RFC 3339, as Go writes a time.Time. */
  startTime: string;
  CWD: string;
  hostname: string;
  serverTime: string;
  goroutineCount: number;
  GOMAXPROCS: number;
  GOGC: string;
  GODEBUG: string;
  GOMEMLIMIT: number;
}

export interface StatusAPIOptions {
  /** Every flag's value as a string (Thanos flagsMap); absent: none. */
  flags?: Record<string, string>;
}

/** When this process started (unix ms). */
const PROCESS_START = Math.round(performance.timeOrigin);

/** Node.js's nearest equivalents of the Go runtime figures Thanos reports. */
export function runtimeInfo(now = Date.now()): RuntimeInfo {
  return {
    startTime: goTime(PROCESS_START),
    CWD: process.cwd(),
    hostname: hostname(),
    serverTime: goTime(now),
    // Active libuv handles and requests stand in for goroutines.
    goroutineCount: process.getActiveResourcesInfo().length,
    GOMAXPROCS: availableParallelism(),
    GOGC: '',
    GODEBUG: '',
    // The V8 heap limit stands in for the Go memory limit.
    GOMEMLIMIT: getHeapStatistics().heap_size_limit,
  };
}

/** The flags with their names in order, as Go's encoding/json writes a map. */
export function sortedFlags(flags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(flags).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = flags[k];
  return out;
}

/** The CORS headers Thanos's API sets on every answer (any origin may call it). */
const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Headers': 'Accept, Accept-Encoding, Authorization, Content-Type, Origin',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Date',
};

/**
 * Serves /api/v1/status/buildinfo, /runtimeinfo and /flags on `http`. Register it before
 * the UI, whose routes take whatever is left.
 */
export function registerStatusAPI(http: HttpServer, opts: StatusAPIOptions = {}): void {
  const flags = sortedFlags(opts.flags ?? {});
  const payloads: Record<string, () => BuildInfo | RuntimeInfo | Record<string, string>> = {
    buildinfo: () => buildInfo(),
    runtimeinfo: () => runtimeInfo(),
    flags: () => flags,
  };
  for (const [name, payload] of Object.entries(payloads)) {
    http.route(`/api/v1/status/${name}`, (req, res) => serve(req, res, payload));
  }
}

function serve(req: IncomingMessage, res: ServerResponse, payload: () => unknown): void {
  for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
  if (req.method === 'OPTIONS') {
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, OPTIONS' }).end('Method Not Allowed\n');
    return;
  }
  const body = goJSON({ status: 'success', data: payload() });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body, 'utf8')) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * JSON as Go's encoder writes it with HTML escaping on: <, > and & (which JSON.stringify
 * leaves as they are, and which can only occur inside strings) as \u00XX.
 */
function goJSON(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** Unix ms as Go writes a time.Time in JSON (RFC 3339, fraction without trailing zeros). */
function goTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}
