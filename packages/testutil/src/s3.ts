import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { S3rverOptions } from 's3rver';
import { LogBuffer, spawnTracked, waitExit } from './process.js';
import { removeTempDir, tempDir } from './temp-dir.js';

export interface S3ServerOptions {
  /** Buckets to create; the first is `bucket` (default ["thanos"]). */
  buckets?: string[];
  /**
   * Run s3rver in a child process instead of this one, so that server and client do not
   * share one thread (for tests bound by the server, such as listing thousands of
   * objects). The child exits when its stdin closes, so it cannot outlive a crashed test
   * worker.
   */
  childProcess?: boolean;
}

export interface ObjstoreYamlOptions {
  /** Store objects under this prefix (default none). */
  prefix?: string;
  /** Another bucket of this server (default `bucket`). */
  bucket?: string;
  /** Raw YAML lines added under `config:`, e.g. "max_retries: 1" or "trace: {enable: true}". */
  extraConfig?: string[];
  /**
   * Leave out `region` and `bucket_lookup_type`, so the client's defaults apply (lookup
   * "auto", signing region from the endpoint, following region redirects).
   */
  clientDefaults?: boolean;
}

export interface S3Server {
  /** host:port, without scheme, as objstore.yml wants it. */
  endpoint: string;
  /** http://host:port, for SDK clients. */
  url: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /**
   * A Thanos objstore.yml for `bucket` (type S3, plain HTTP, path-style), optionally
   * under a prefix; given options, for another bucket or with more config keys.
   */
  objstoreYaml(prefixOrOptions?: string | ObjstoreYamlOptions): string;
  /** Creates another, empty bucket, e.g. one per test. */
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** s3rver accepts only these credentials when a request is signed. */
const S3RVER_KEY = 'S3RVER';
const REGION = 'us-east-1';

/**
 * Starts s3rver on a free port of 127.0.0.1 with its own temp directory, in this process
 * or (opts.childProcess) in a child. ListObjectsV2 continuation tokens need `node
 * --openssl-legacy-provider` (s3rver encrypts them with DES); the root vitest config
 * passes it to the test workers, and a child gets it too.
 */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const buckets = opts.buckets ?? ['thanos'];
  if (buckets.length === 0) throw new Error('startS3Server: need at least one bucket');
  const directory = await tempDir('s3rver');
  const options: S3rverOptions = {
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  };
  let server: RunningS3rver;
  try {
    server = opts.childProcess ? await runInChild(options) : await runHere(options);
  } catch (e) {
    await removeTempDir(directory);
    throw e;
  }
  const endpoint = `127.0.0.1:${server.port}`;
  const url = `http://${endpoint}`;
  const bucket = buckets[0];
  let stopped = false;
  return {
    endpoint,
    url,
    bucket,
    accessKey: S3RVER_KEY,
    secretKey: S3RVER_KEY,
    region: REGION,
    objstoreYaml: (prefixOrOptions?: string | ObjstoreYamlOptions) => {
      const o = typeof prefixOrOptions === 'string' ? { prefix: prefixOrOptions } : (prefixOrOptions ?? {});
      return [
        'type: S3',
        'config:',
        `  bucket: ${JSON.stringify(o.bucket ?? bucket)}`,
        `  endpoint: ${JSON.stringify(endpoint)}`,
        ...(o.clientDefaults ? [] : [`  region: ${REGION}`]),
        `  access_key: ${S3RVER_KEY}`,
        `  secret_key: ${S3RVER_KEY}`,
        '  insecure: true',
        ...(o.clientDefaults ? [] : ['  bucket_lookup_type: path']),
        ...(o.extraConfig ?? []).map((l) => `  ${l}`),
        ...(o.prefix ? [`prefix: ${JSON.stringify(o.prefix)}`] : []),
        '',
      ].join('\n');
    },
    createBucket: async (name: string) => {
      // s3rver serves unsigned requests, so no SDK client is needed for this.
      const res = await fetch(`${url}/${encodeURIComponent(name)}`, { method: 'PUT' });
      const body = await res.text();
      if (!res.ok) throw new Error(`create bucket ${name}: ${res.status}: ${body}`);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      await removeTempDir(directory);
    },
  };
}

interface RunningS3rver {
  port: number;
  close(): Promise<void>;
}

async function runHere(options: S3rverOptions): Promise<RunningS3rver> {
  // Loaded on first use: s3rver and its Koa stack cost every test file that imports
  // testutil a few hundred milliseconds, most of which never start an S3 server.
  const { default: S3rver } = await import('s3rver');
  const server = new S3rver(options);
  const { port } = await server.run();
  return {
    port,
    close: async () => {
      // Keep-alive sockets of SDK clients would otherwise hold close() open.
      server.httpServer?.closeAllConnections();
      await server.close();
    },
  };
}

// Runs in the child: argv[1] is {module, options} as JSON. Starts s3rver, prints its
// port, and exits when stdin closes.
const CHILD_SCRIPT = `
const { module, options } = JSON.parse(process.argv[1]);
const { default: S3rver } = await import(module);
const server = new S3rver(options);
const { port } = await server.run();
console.log(port);
process.stdin.on('end', () => process.exit(0)).resume();
`;

async function runInChild(options: S3rverOptions): Promise<RunningS3rver> {
  // Resolved here, so the child finds s3rver wherever it runs.
  const module = pathToFileURL(createRequire(import.meta.url).resolve('s3rver')).href;
  const log = new LogBuffer(64 * 1024);
  const child = spawnTracked(
    process.execPath,
    ['--openssl-legacy-provider', '--input-type=module', '-e', CHILD_SCRIPT, JSON.stringify({ module, options })],
    log,
    { stdin: 'pipe' },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(Number(out.slice(0, nl)));
    });
    child.once('error', reject);
    void waitExit(child).then(() => reject(new Error(`s3rver exited (${child.exitCode ?? child.signalCode}) before listening:\n${log.toString()}`)));
  });
  return {
    port,
    close: async () => {
      child.stdin!.end();
      await waitExit(child);
    },
  };
}
