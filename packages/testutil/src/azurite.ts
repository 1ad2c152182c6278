import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogBuffer, spawnTracked, terminate, waitExit } from './process.js';
import { removeTempDir, tempDir } from './temp-dir.js';

export interface AzuriteOptions {
  /**
   * Where to resolve the `azurite` package from: a file URL or path of a module whose
   * package depends on azurite (pass `import.meta.url`). Default: this package.
   */
  resolveFrom?: string;
  /** Storage account name (default "thanos"); its key is random per server. */
  account?: string;
}

export interface AzuriteObjstoreYamlOptions {
  /** Container (default "thanos"); the bucket creates it when missing. */
  container?: string;
  /** Store objects under this prefix (default none). */
  prefix?: string;
  /** Raw YAML lines added under `config:`, e.g. "max_retries: 1". */
  extraConfig?: string[];
}

export interface AzuriteServer {
  /** http://127.0.0.1:port/account, the blob service endpoint of the account. */
  blobEndpoint: string;
  account: string;
  /** The account's base64 shared key. */
  accountKey: string;
  /** A connection string for the account, as Azure tools and Thanos's storage_connection_string take it. */
  connectionString: string;
  /** A Thanos objstore.yml (type AZURE) for a container of this server, over the connection string. */
  objstoreYaml(opts?: AzuriteObjstoreYamlOptions): string;
  stop(): Promise<void>;
}

// Runs in the child: argv[1] is the azurite-blob entry point, the rest its flags.
// Azurite parses process.argv itself; the child exits when stdin closes, so it cannot
// outlive a crashed test worker.
const CHILD_SCRIPT = `
const [main, ...flags] = process.argv.slice(1);
process.argv = [process.argv[0], main, ...flags];
process.stdin.on('end', () => process.exit(0)).resume();
require(main);
`;

/**
 * Starts Azurite's blob service as a child process on a free port of 127.0.0.1, with a
 * temp directory for its data and one account with a random key (AZURITE_ACCOUNTS).
 * Telemetry is off, so nothing leaves the machine; --loose and --skipApiVersionCheck let
 * newer SDKs talk to it.
 */
export async function startAzurite(opts: AzuriteOptions = {}): Promise<AzuriteServer> {
  const main = resolveAzuriteBlob(opts.resolveFrom);
  const account = opts.account ?? 'thanos';
  const accountKey = randomBytes(64).toString('base64');
  const directory = await tempDir('azurite');
  const log = new LogBuffer(64 * 1024);
  const flags = [
    '--blobHost', '127.0.0.1',
    '--blobPort', '0',
    '--location', directory,
    '--silent',
    '--loose',
    '--skipApiVersionCheck',
    '--disableTelemetry',
  ];
  const child = spawnTracked(process.execPath, ['-e', CHILD_SCRIPT, main, ...flags], log, {
    stdin: 'pipe',
    cwd: directory,
    env: { ...process.env, AZURITE_ACCOUNTS: `${account}:${accountKey}` },
  });
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: string) => {
        out += d;
        const m = /successfully listens on https?:\/\/[^:\s]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('error', reject);
      void waitExit(child).then(() => reject(new Error(`azurite exited (${child.exitCode ?? child.signalCode}) before listening:\n${log.toString()}`)));
    });
  } catch (e) {
    await terminate(child, 2_000);
    await removeTempDir(directory);
    throw e;
  }
  const blobEndpoint = `http://127.0.0.1:${port}/${account}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${accountKey};BlobEndpoint=${blobEndpoint};`;
  let stopped = false;
  return {
    blobEndpoint,
    account,
    accountKey,
    connectionString,
    objstoreYaml: (o: AzuriteObjstoreYamlOptions = {}) =>
      [
        'type: AZURE',
        'config:',
        `  storage_account: ${JSON.stringify(account)}`,
        `  storage_connection_string: ${JSON.stringify(connectionString)}`,
        `  container: ${JSON.stringify(o.container ?? 'thanos')}`,
        ...(o.extraConfig ?? []).map((l) => `  ${l}`),
        ...(o.prefix ? [`prefix: ${JSON.stringify(o.prefix)}`] : []),
        '',
      ].join('\n'),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      child.stdin!.end();
      await terminate(child, 5_000);
      await removeTempDir(directory);
    },
  };
}

function resolveAzuriteBlob(from: string | undefined): string {
  const base = from ?? import.meta.url;
  try {
    const pkg = createRequire(base.startsWith('file:') ? fileURLToPath(base) : base).resolve('azurite/package.json');
    return join(dirname(pkg), 'dist', 'src', 'blob', 'main.js');
  } catch (err) {
    throw new Error(`startAzurite: cannot resolve the azurite package from ${base}; pass resolveFrom: import.meta.url from a package that depends on azurite`, { cause: err });
  }
}
