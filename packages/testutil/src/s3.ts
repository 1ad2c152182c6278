import S3rver from 's3rver';
import { removeTempDir, tempDir } from './temp-dir.js';

export interface S3ServerOptions {
  /** Buckets to create; the first is `bucket` (default ["thanos"]). */
  buckets?: string[];
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
  /** A Thanos objstore.yml for `bucket` (type S3, plain HTTP, path-style), optionally under `prefix`. */
  objstoreYaml(prefix?: string): string;
  stop(): Promise<void>;
}

/** s3rver accepts only these credentials when a request is signed. */
const S3RVER_KEY = 'S3RVER';

/**
 * Starts s3rver in this process on a free port of 127.0.0.1 with its own temp directory.
 * ListObjectsV2 continuation tokens need `node --openssl-legacy-provider` (s3rver
 * encrypts them with DES); the root vitest config passes it to the test workers.
 */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const buckets = opts.buckets ?? ['thanos'];
  if (buckets.length === 0) throw new Error('startS3Server: need at least one bucket');
  const directory = await tempDir('s3rver');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const addr = await server.run();
  const endpoint = `127.0.0.1:${addr.port}`;
  const bucket = buckets[0];
  let stopped = false;
  return {
    endpoint,
    url: `http://${endpoint}`,
    bucket,
    accessKey: S3RVER_KEY,
    secretKey: S3RVER_KEY,
    region: 'us-east-1',
    objstoreYaml: (prefix?: string) =>
      [
        'type: S3',
        'config:',
        `  bucket: ${JSON.stringify(bucket)}`,
        `  endpoint: ${JSON.stringify(endpoint)}`,
        '  region: us-east-1',
        `  access_key: ${S3RVER_KEY}`,
        `  secret_key: ${S3RVER_KEY}`,
        '  insecure: true',
        '  bucket_lookup_type: path',
        ...(prefix ? [`prefix: ${JSON.stringify(prefix)}`] : []),
        '',
      ].join('\n'),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // Keep-alive sockets of SDK clients would otherwise hold close() open.
      server.httpServer?.closeAllConnections();
      await server.close();
      await removeTempDir(directory);
    },
  };
}
