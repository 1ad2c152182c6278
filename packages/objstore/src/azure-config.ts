// The AZURE section of objstore.yml, with Thanos's keys and defaults
// (github.com/thanos-io/objstore providers/azure: Config, DefaultConfig, validate).
import { ConfigMap } from './config-map.js';
import { parseHttpConfig } from './http-config.js';
import type { HttpConfig } from './http-config.js';

/** DEFAULT_AZURE_ENDPOINT is Thanos's default `endpoint`: the public Azure cloud. */
export const DEFAULT_AZURE_ENDPOINT = 'blob.core.windows.net';

/** AzurePipelineConfig mirrors Thanos `pipeline_config`; durations in milliseconds, 0 = the SDK default. */
export interface AzurePipelineConfig {
  /** Retries after the first try (the Go SDK's MaxRetries); 0 = the default of 3. */
  maxTries: number;
  tryTimeoutMs: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

/** AzureConfig is the validated AZURE section of objstore.yml (Thanos key names in camelCase). */
export interface AzureConfig {
  storageAccount: string;
  storageAccountKey: string;
  storageConnectionString: string;
  storageCreateContainer: boolean;
  container: string;
  /** Host suffix of the account's blob service; the account URL is https://<account>.<endpoint>. */
  endpoint: string;
  userAssignedId: string;
  msiResource: string;
  /** max_retries, already applied to pipeline and reader below as Thanos does. */
  maxRetries: number;
  /** Times a download whose body breaks off is resumed (reader_config.max_retry_requests). */
  readerMaxRetryRequests: number;
  pipeline: AzurePipelineConfig;
  http: HttpConfig;
}

const ERR_PREFIX = 'objstore config: AZURE: ';

/**
 * parseAzureConfig validates the `config` map of an AZURE objstore.yml. Like
 * Thanos (yaml.UnmarshalStrict) every unknown key is an error, at every level.
 *
 * Authentication is by shared key (storage_account_key) or connection string.
 * Azure AD credentials (user_assigned_id, msi_resource, az_tenant_id/client_id/
 * client_secret, or none of the keys: Thanos's default credential chain) need
 * @azure/identity, which we do not ship yet; they are rejected with a clear error.
 */
export function parseAzureConfig(raw: unknown): AzureConfig {
  const m = ConfigMap.from(raw, 'config', ERR_PREFIX);

  const tenantId = m.string('az_tenant_id');
  const clientId = m.string('client_id');
  const clientSecret = m.string('client_secret');
  const storageAccount = m.string('storage_account');
  const storageAccountKey = m.string('storage_account_key');
  const storageConnectionString = m.string('storage_connection_string');
  const storageCreateContainer = m.bool('storage_create_container', true);
  const container = m.string('container');
  let endpoint = m.string('endpoint', DEFAULT_AZURE_ENDPOINT);
  const userAssignedId = m.string('user_assigned_id');
  const msiResource = m.string('msi_resource');
  const maxRetries = m.int('max_retries');
  const accountType = m.string('azure_storage_account_type');

  const reader = m.map('reader_config');
  let readerMaxRetryRequests = reader.int('max_retry_requests');
  reader.strict();

  const p = m.map('pipeline_config');
  const pipeline: AzurePipelineConfig = {
    maxTries: p.int('max_tries'),
    tryTimeoutMs: p.duration('try_timeout', 0),
    retryDelayMs: p.duration('retry_delay', 0),
    maxRetryDelayMs: p.duration('max_retry_delay', 0),
  };
  p.strict();

  const http = parseHttpConfig(m.map('http_config'));
  m.strict();

  // Thanos's validate(), in its order; we report the first problem.
  if (userAssignedId !== '' && storageAccountKey !== '') {
    throw m.error('user_assigned_id cannot be set when using storage_account_key authentication');
  }
  if (userAssignedId !== '' && storageConnectionString !== '') {
    throw m.error('user_assigned_id cannot be set when using storage_connection_string authentication');
  }
  if (userAssignedId !== '' && clientId !== '') throw m.error('user_assigned_id cannot be set when using client_id authentication');
  if ((tenantId !== '' || clientSecret !== '' || clientId !== '') && (tenantId === '' || clientSecret === '' || clientId === '')) {
    throw m.error('az_tenant_id, client_id, and client_secret must be set together');
  }
  if (storageAccountKey !== '' && storageConnectionString !== '') {
    throw m.error('storage_account_key and storage_connection_string cannot both be set');
  }
  if (storageAccount === '') throw m.error('storage_account is required');
  if (container === '') throw m.error('container is required');
  if (pipeline.maxTries < 0) throw m.error(`pipeline_config.max_tries must not be negative, got ${pipeline.maxTries}`);
  if (readerMaxRetryRequests < 0) {
    throw m.error(`reader_config.max_retry_requests must not be negative, got ${readerMaxRetryRequests}`);
  }
  if (maxRetries < 0) throw m.error(`max_retries must not be negative, got ${maxRetries}`);

  // Thanos reaches the account with the Go SDK's gen1 blob API either way; the
  // Data Lake Gen2 client it picks for "datalake" is not implemented here.
  if (accountType !== '' && accountType !== 'blob' && accountType !== 'datalake') {
    throw m.error(`unsupported azure_storage_account_type "${accountType}" (supported: blob, datalake)`);
  }
  if (accountType === 'datalake') throw m.error('azure_storage_account_type "datalake" is not supported yet (use "blob" or leave it empty)');

  if (storageAccountKey === '' && storageConnectionString === '') {
    const which =
      userAssignedId !== ''
        ? 'user_assigned_id (managed or workload identity)'
        : clientId !== ''
          ? 'az_tenant_id/client_id/client_secret (service principal)'
          : msiResource !== ''
            ? 'msi_resource (system-assigned managed identity)'
            : 'the Azure default credential chain (no storage_account_key or storage_connection_string)';
    throw m.error(`authentication by ${which} is not supported yet; set storage_account_key or storage_connection_string`);
  }
  if (storageAccountKey !== '' && !isBase64(storageAccountKey)) throw m.error('storage_account_key is not valid base64');
  if (storageConnectionString !== '') {
    // Checked here so that a broken string fails at startup, not at the first request.
    parseConnectionString(storageConnectionString, m);
  }

  if (endpoint === '') endpoint = DEFAULT_AZURE_ENDPOINT;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    throw m.error(`endpoint "${endpoint}" must be a host name without a scheme, such as ${DEFAULT_AZURE_ENDPOINT}`);
  }
  if (/[/?#@\s]/.test(endpoint)) throw m.error(`endpoint "${endpoint}" must be a host name such as ${DEFAULT_AZURE_ENDPOINT}`);

  // max_retries is the shorthand Thanos keeps for older configs: it fills
  // whichever of the specific settings is left at 0.
  if (maxRetries > 0) {
    if (pipeline.maxTries === 0) pipeline.maxTries = maxRetries;
    if (readerMaxRetryRequests === 0) readerMaxRetryRequests = maxRetries;
  }

  return {
    storageAccount,
    storageAccountKey,
    storageConnectionString,
    storageCreateContainer,
    container,
    endpoint,
    userAssignedId,
    msiResource,
    maxRetries,
    readerMaxRetryRequests,
    pipeline,
    http,
  };
}

/** AzureConnection is where and how to reach an account's blob service. */
export interface AzureConnection {
  /** Blob service URL of the account, without trailing "/" (https://acct.blob.core.windows.net, or Azurite's http://127.0.0.1:10000/acct). */
  blobEndpoint: string;
  accountName: string;
  /** Shared key; "" when the connection uses a SAS token. */
  accountKey: string;
  /** SAS token without leading "?"; "" when the connection uses a shared key. */
  sas: string;
}

/**
 * azureConnection resolves the account URL and credentials: from the connection
 * string if one is set, else https://<storage_account>.<endpoint> with the shared key.
 */
export function azureConnection(cfg: AzureConfig): AzureConnection {
  if (cfg.storageConnectionString !== '') {
    return parseConnectionString(cfg.storageConnectionString, ConfigMap.from({}, 'config', ERR_PREFIX));
  }
  return {
    blobEndpoint: `https://${cfg.storageAccount}.${cfg.endpoint}`,
    accountName: cfg.storageAccount,
    accountKey: cfg.storageAccountKey,
    sas: '',
  };
}

/**
 * parseConnectionString reads an Azure Storage connection string
 * ("DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;EndpointSuffix=…",
 * "BlobEndpoint=…;SharedAccessSignature=…", or "UseDevelopmentStorage=true").
 * Errors name keys, never values: the string holds secrets.
 */
function parseConnectionString(s: string, m: ConfigMap): AzureConnection {
  const fields = new Map<string, string>();
  for (const part of s.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) throw m.error('storage_connection_string: expected Key=Value pairs separated by ";"');
    fields.set(p.slice(0, eq).toLowerCase(), p.slice(eq + 1));
  }
  const get = (k: string): string => fields.get(k.toLowerCase()) ?? '';

  if (get('UseDevelopmentStorage').toLowerCase() === 'true') {
    // The storage emulator's well-known account (Azurite's and Microsoft's documentation).
    const proxy = get('DevelopmentStorageProxyUri');
    return {
      blobEndpoint: `${proxy !== '' ? proxy.replace(/\/+$/, '') : 'http://127.0.0.1'}:10000/devstoreaccount1`,
      accountName: 'devstoreaccount1',
      accountKey: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
      sas: '',
    };
  }

  const accountKey = get('AccountKey');
  const sas = get('SharedAccessSignature').replace(/^\?/, '');
  let accountName = get('AccountName');
  let blobEndpoint = get('BlobEndpoint').replace(/\/+$/, '');
  if (blobEndpoint === '') {
    if (accountName === '') throw m.error('storage_connection_string: needs AccountName or BlobEndpoint');
    const protocol = get('DefaultEndpointsProtocol') || 'https';
    if (protocol !== 'https' && protocol !== 'http') {
      throw m.error(`storage_connection_string: DefaultEndpointsProtocol must be https or http, got "${protocol}"`);
    }
    blobEndpoint = `${protocol}://${accountName}.blob.${get('EndpointSuffix') || 'core.windows.net'}`;
  } else {
    let url: URL;
    try {
      url = new URL(blobEndpoint);
    } catch {
      throw m.error('storage_connection_string: BlobEndpoint is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw m.error('storage_connection_string: BlobEndpoint must be an http(s) URL');
    if (accountName === '') accountName = url.hostname.split('.')[0];
  }
  if (accountKey === '' && sas === '') {
    throw m.error('storage_connection_string: needs AccountKey or SharedAccessSignature');
  }
  if (accountKey !== '' && !isBase64(accountKey)) throw m.error('storage_connection_string: AccountKey is not valid base64');
  return { blobEndpoint, accountName, accountKey, sas };
}

function isBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

/**
 * storageMaxTries maps pipeline_config.max_tries, which Thanos hands to the Go
 * SDK as MaxRetries (retries after the first try; 0 = 3), onto the JS SDK's
 * maxTries, which counts every try.
 */
export function storageMaxTries(maxRetries: number): number {
  return (maxRetries === 0 ? 3 : maxRetries) + 1;
}
