import { describe, expect, it } from 'vitest';

import { azureConnection, parseAzureConfig, storageMaxTries } from './azure-config.js';

// Not a real key: 64 zero bytes, base64.
const KEY = Buffer.alloc(64).toString('base64');

describe('parseAzureConfig', () => {
  it('applies Thanos defaults', () => {
    const cfg = parseAzureConfig({ storage_account: 'acct', storage_account_key: KEY, container: 'blocks' });
    expect(cfg).toMatchObject({
      storageAccount: 'acct',
      container: 'blocks',
      endpoint: 'blob.core.windows.net',
      storageCreateContainer: true,
      maxRetries: 0,
      readerMaxRetryRequests: 0,
      pipeline: { maxTries: 0, tryTimeoutMs: 0, retryDelayMs: 0, maxRetryDelayMs: 0 },
    });
    expect(cfg.http.idleConnTimeoutMs).toBe(90_000);
    expect(azureConnection(cfg)).toEqual({ blobEndpoint: 'https://acct.blob.core.windows.net', accountName: 'acct', accountKey: KEY, sas: '' });
  });

  it('reads every Thanos key', () => {
    const cfg = parseAzureConfig({
      storage_account: 'acct',
      storage_account_key: KEY,
      container: 'blocks',
      endpoint: 'blob.core.chinacloudapi.cn',
      storage_create_container: false,
      max_retries: 0,
      reader_config: { max_retry_requests: 3 },
      pipeline_config: { max_tries: 5, try_timeout: '30s', retry_delay: '500ms', max_retry_delay: '1m' },
      http_config: { idle_conn_timeout: '1m', insecure_skip_verify: true },
      msi_resource: '',
      azure_storage_account_type: 'blob',
    });
    expect(cfg.storageCreateContainer).toBe(false);
    expect(cfg.readerMaxRetryRequests).toBe(3);
    expect(cfg.pipeline).toEqual({ maxTries: 5, tryTimeoutMs: 30_000, retryDelayMs: 500, maxRetryDelayMs: 60_000 });
    expect(cfg.http.idleConnTimeoutMs).toBe(60_000);
    expect(azureConnection(cfg).blobEndpoint).toBe('https://acct.blob.core.chinacloudapi.cn');
  });

  it('lets max_retries fill the pipeline and reader retries left at 0', () => {
    const base = { storage_account: 'a', storage_account_key: KEY, container: 'c', max_retries: 2 };
    expect(parseAzureConfig(base)).toMatchObject({ readerMaxRetryRequests: 2, pipeline: { maxTries: 2 } });
    const explicit = parseAzureConfig({ ...base, pipeline_config: { max_tries: 7 }, reader_config: { max_retry_requests: 1 } });
    expect(explicit).toMatchObject({ readerMaxRetryRequests: 1, pipeline: { maxTries: 7 } });
  });

  it('reads connection strings', () => {
    const conn = (s: string): ReturnType<typeof azureConnection> =>
      azureConnection(parseAzureConfig({ storage_account: 'acct', storage_connection_string: s, container: 'c' }));
    expect(conn(`DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.usgovcloudapi.net`)).toEqual({
      blobEndpoint: 'https://acct.blob.core.usgovcloudapi.net',
      accountName: 'acct',
      accountKey: KEY,
      sas: '',
    });
    expect(conn(`AccountName=acct;AccountKey=${KEY}`).blobEndpoint).toBe('https://acct.blob.core.windows.net');
    expect(conn('BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=?sv=2024&sig=abc')).toEqual({
      blobEndpoint: 'https://acct.blob.core.windows.net',
      accountName: 'acct',
      accountKey: '',
      sas: 'sv=2024&sig=abc',
    });
    expect(conn('UseDevelopmentStorage=true')).toMatchObject({ blobEndpoint: 'http://127.0.0.1:10000/devstoreaccount1', accountName: 'devstoreaccount1' });
  });

  it.each([
    [{ container: 'c', storage_account_key: KEY }, 'storage_account is required'],
    [{ storage_account: 'a', storage_account_key: KEY }, 'container is required'],
    [{ storage_account: 'a', container: 'c', storage_account_key: KEY, typo: 1 }, 'unknown key "typo" in config'],
    [{ storage_account: 'a', container: 'c', storage_account_key: KEY, pipeline_config: { max_retries: 1 } }, 'unknown key "max_retries" in config.pipeline_config'],
    [{ storage_account: 'a', container: 'c', storage_account_key: KEY, storage_connection_string: 'AccountName=a' }, 'storage_account_key and storage_connection_string cannot both be set'],
    [{ storage_account: 'a', container: 'c', storage_account_key: KEY, user_assigned_id: 'id' }, 'user_assigned_id cannot be set when using storage_account_key authentication'],
    [{ storage_account: 'a', container: 'c', client_id: 'x' }, 'az_tenant_id, client_id, and client_secret must be set together'],
    [{ storage_account: 'a', container: 'c' }, 'authentication by the Azure default credential chain (no storage_account_key or storage_connection_string) is not supported yet; set storage_account_key or storage_connection_string'],
    [{ storage_account: 'a', container: 'c', user_assigned_id: 'id' }, 'authentication by user_assigned_id (managed or workload identity) is not supported yet'],
    [{ storage_account: 'a', container: 'c', msi_resource: 'https://a.blob.core.windows.net' }, 'authentication by msi_resource (system-assigned managed identity) is not supported yet'],
    [{ storage_account: 'a', container: 'c', az_tenant_id: 't', client_id: 'i', client_secret: 's' }, 'authentication by az_tenant_id/client_id/client_secret (service principal) is not supported yet'],
    [{ storage_account: 'a', container: 'c', storage_account_key: 'not base64!' }, 'storage_account_key is not valid base64'],
    [{ storage_account: 'a', container: 'c', storage_connection_string: 'AccountName=a' }, 'storage_connection_string: needs AccountKey or SharedAccessSignature'],
    [{ storage_account: 'a', container: 'c', storage_connection_string: 'garbage' }, 'storage_connection_string: expected Key=Value pairs'],
    [{ storage_account: 'a', container: 'c', storage_account_key: KEY, endpoint: 'https://blob.core.windows.net' }, 'endpoint "https://blob.core.windows.net" must be a host name without a scheme'],
    [{ storage_account: 'a', container: 'c', storage_account_key: KEY, pipeline_config: { max_tries: -1 } }, 'pipeline_config.max_tries must not be negative'],
    [{ storage_account: 'a', container: 'c', storage_account_key: KEY, reader_config: { max_retry_requests: -1 } }, 'reader_config.max_retry_requests must not be negative'],
    [{ storage_account: 'a', container: 'c', storage_account_key: KEY, azure_storage_account_type: 'datalake' }, 'azure_storage_account_type "datalake" is not supported yet'],
  ])('rejects %j', (raw, want) => {
    expect(() => parseAzureConfig(raw)).toThrow(`objstore config: AZURE: ${want}`);
  });

  it('never puts a connection string value into an error', () => {
    const secret = 'SharedAccessSignature=sig-SECRET';
    expect(() => parseAzureConfig({ storage_account: 'a', container: 'c', storage_connection_string: `BlobEndpoint=nope;${secret}` })).toThrow(
      /^objstore config: AZURE: storage_connection_string: BlobEndpoint is not a URL$/,
    );
  });
});

describe('storageMaxTries', () => {
  it('counts the first try on top of Thanos max_tries (Go MaxRetries, 0 = 3)', () => {
    expect(storageMaxTries(0)).toBe(4);
    expect(storageMaxTries(1)).toBe(2);
    expect(storageMaxTries(5)).toBe(6);
  });
});
