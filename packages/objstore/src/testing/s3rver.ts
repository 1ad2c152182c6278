import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/** s3rver's fixed credentials. */
export const S3RVER_KEY = 'S3RVER';

export interface S3rverHandle {
  /** host:port, as objstore.yml wants it. */
  endpoint: string;
  /** createBucket makes a fresh, empty bucket, so each test can have its own. */
  createBucket(name: string): Promise<void>;
  /** s3Yaml renders an objstore.yml for bucket; extra lines go under config. */
  s3Yaml(bucket: string, extra?: string[], prefix?: string): string;
  close(): Promise<void>;
}

// Runs in the child: starts s3rver on a random port of 127.0.0.1, reports the
// port, and exits when stdin closes, so it cannot outlive a crashed test worker.
const SERVER_SCRIPT = `
import S3rver from 's3rver';
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[1] });
const { port } = await server.run();
console.log(port);
process.stdin.on('end', () => process.exit(0)).resume();
`;

/**
 * startS3rver runs s3rver in a child process on 127.0.0.1 with a random free
 * port and a temporary directory. A separate process lets server and client
 * use two cores: with both in one thread, the >1000-object listing test
 * takes twice as long. (Other packages get S3 from @thanos-ts/testutil; that
 * package depends on objstore, so objstore's own tests cannot use it.)
 */
export async function startS3rver(): Promise<S3rverHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'objstore-s3rver-'));
  // s3rver's continuation tokens use a cipher that OpenSSL 3 only has in its legacy provider.
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--input-type=module', '-e', SERVER_SCRIPT, dir], {
    // s3rver resolves from this package's node_modules.
    cwd: join(dirname(fileURLToPath(import.meta.url)), '..', '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code} before listening`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
  });

  const endpoint = `127.0.0.1:${port}`;
  const admin = new S3Client({
    endpoint: `http://${endpoint}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    async createBucket(name) {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    s3Yaml(bucket, extra = [], prefix = '') {
      return [
        'type: S3',
        'config:',
        `  bucket: ${bucket}`,
        `  endpoint: ${endpoint}`,
        `  access_key: ${S3RVER_KEY}`,
        `  secret_key: ${S3RVER_KEY}`,
        '  insecure: true',
        '  max_retries: 1',
        ...extra.map((l) => `  ${l}`),
        `prefix: "${prefix}"`,
      ].join('\n');
    },
    async close() {
      admin.destroy();
      child.stdin!.end();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
