import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { DEFAULT_PART_SIZE, maxAttempts, parseS3Config, resolveRegion, usePathStyle } from './s3-config.js';
import { S3Bucket } from './s3.js';

const base = { bucket: 'thanos', endpoint: 's3.eu-west-1.amazonaws.com', access_key: 'AK', secret_key: 'SK' };

/** conf parses YAML lines into the S3 config map, on top of a minimal valid config. */
function conf(yaml = ''): unknown {
  return { ...base, ...(parse(yaml) ?? {}) };
}

describe('parseS3Config', () => {
  it('applies Thanos defaults', () => {
    const c = parseS3Config(conf());
    expect(c).toMatchObject({
      bucket: 'thanos',
      endpoint: 's3.eu-west-1.amazonaws.com',
      region: '',
      insecure: false,
      bucketLookupType: 'auto',
      partSize: DEFAULT_PART_SIZE,
      disableMultipart: false,
      maxRetries: 0,
      listObjectsVersion: 'v2',
      sendContentMd5: true,
      checksumCalculation: 'when_required',
      checksumValidation: 'when_required',
      sse: { type: '' },
      http: {
        idleConnTimeoutMs: 90_000,
        responseHeaderTimeoutMs: 120_000,
        tlsHandshakeTimeoutMs: 10_000,
        expectContinueTimeoutMs: 1_000,
        maxIdleConns: 100,
        maxIdleConnsPerHost: 100,
        maxConnsPerHost: 0,
        insecureSkipVerify: false,
      },
    });
    expect(DEFAULT_PART_SIZE).toBe(67108864);
  });

  it('reads every Thanos key', () => {
    const c = parseS3Config(
      conf(`
region: eu-west-1
session_token: ST
insecure: yes
disable_dualstack: true
put_user_metadata: {X-Amz-Storage-Class: STANDARD_IA, team: obs}
list_objects_version: v1
bucket_lookup_type: path
send_content_md5: false
disable_multipart: true
part_size: 0
sse_config: {type: SSE-KMS, kms_key_id: key, kms_encryption_context: {a: b}}
max_retries: 3
trace: {enable: true}
checksum_calculation: when_supported
checksum_validation: when_supported
http_config:
  idle_conn_timeout: 1m30s
  response_header_timeout: 2m
  insecure_skip_verify: true
  tls_handshake_timeout: 10s
  expect_continue_timeout: 1s
  max_idle_conns: 10
  max_idle_conns_per_host: 5
  max_conns_per_host: 20
  disable_compression: true
  tls_config: {ca_file: /ca.pem, server_name: s3.local}
`),
    );
    expect(c).toMatchObject({
      region: 'eu-west-1',
      sessionToken: 'ST',
      insecure: true,
      putUserMetadata: { 'X-Amz-Storage-Class': 'STANDARD_IA', team: 'obs' },
      listObjectsVersion: 'v1',
      bucketLookupType: 'path',
      partSize: DEFAULT_PART_SIZE,
      disableMultipart: true,
      maxRetries: 3,
      traceEnable: true,
      checksumCalculation: 'when_supported',
      sse: { type: 'SSE-KMS', kmsKeyId: 'key', kmsEncryptionContext: { a: 'b' } },
      http: { idleConnTimeoutMs: 90_000, responseHeaderTimeoutMs: 120_000, maxConnsPerHost: 20, tls: { caFile: '/ca.pem', serverName: 's3.local' } },
    });
  });

  it.each([
    ['endpoint: ""', 'objstore config: S3: endpoint is required'],
    ['endpoint: https://s3.amazonaws.com', 'objstore config: S3: endpoint "https://s3.amazonaws.com" must be host[:port] without a scheme (use insecure: true for plain HTTP)'],
    ['endpoint: minio:9000/path', 'objstore config: S3: endpoint "minio:9000/path" must be host[:port]'],
    ['bucket: ""', 'objstore config: S3: bucket is required'],
    ['secret_key: ""', 'objstore config: S3: access_key and secret_key must be set together, or neither to use the AWS SDK default credential chain'],
    ['access_key: ""', 'objstore config: S3: access_key and secret_key must be set together'],
    ['{access_key: "", secret_key: "", session_token: x}', 'objstore config: S3: session_token requires access_key and secret_key'],
    ['aws_sdk_auth: true', 'objstore config: S3: aws_sdk_auth and access_key are mutually exclusive'],
    ['signature_version2: true', 'objstore config: S3: signature_version2 is not supported'],
    ['sts_endpoint: https://sts', 'objstore config: S3: sts_endpoint is not supported yet'],
    ['bucket_lookup_type: dns', 'objstore config: S3: unsupported bucket_lookup_type "dns" (supported: auto, virtual-hosted, path)'],
    ['list_objects_version: v3', 'objstore config: S3: unsupported list_objects_version "v3" (supported: v1, v2)'],
    ['part_size: 1024', 'objstore config: S3: part_size 1024 out of range [5242880, 5368709120]'],
    ['part_size: 64MiB', 'objstore config: S3: config.part_size: expected an integer, got "64MiB"'],
    ['max_retries: -1', 'objstore config: S3: max_retries must not be negative, got -1'],
    ['insecure: maybe', 'objstore config: S3: config.insecure: expected true or false, got "maybe"'],
    ['checksum_calculation: always', 'objstore config: S3: unsupported checksum_calculation "always" (supported: when_required, when_supported)'],
    ['sse_config: {type: SSE-X}', 'objstore config: S3: unsupported sse_config.type "SSE-X" (supported: SSE-S3, SSE-KMS, SSE-C)'],
    ['sse_config: {type: SSE-KMS}', 'objstore config: S3: sse_config.kms_key_id is required for SSE-KMS'],
    ['sse_config: {type: SSE-C}', 'objstore config: S3: sse_config.encryption_key is required for SSE-C'],
    ['sse_config: {type: SSE-S3, typo: 1}', 'objstore config: S3: unknown key "typo" in config.sse_config'],
    ['http_config: {idle_conn_timeout: 90}', 'objstore config: S3: config.http_config.idle_conn_timeout: expected a duration such as "1m30s", got 90'],
    ['http_config: {idle_conn_timeout: 1x}', 'objstore config: S3: config.http_config.idle_conn_timeout: expected a duration such as "1m30s", got "1x"'],
    ['http_config: {idle_timeout: 1s}', 'objstore config: S3: unknown key "idle_timeout" in config.http_config'],
    ['http_config: {tls_config: {ca: x}}', 'objstore config: S3: unknown key "ca" in config.http_config.tls_config'],
    ['http_config: {tls_config: {cert_file: x}}', 'objstore config: S3: config.http_config.tls_config: cert_file and key_file must be set together'],
    ['http_config: {max_conns_per_host: -1}', 'objstore config: S3: config.http_config.max_conns_per_host must not be negative, got -1'],
    ['trace: {enabled: true}', 'objstore config: S3: unknown key "enabled" in config.trace'],
    ['put_user_metadata: [a]', 'objstore config: S3: config.put_user_metadata: expected a mapping, got a list'],
  ])('rejects %s', (yaml, want) => {
    expect(() => parseS3Config(conf(yaml))).toThrow(want);
  });

  it('allows neither key (default credential chain) and aws_sdk_auth', () => {
    expect(parseS3Config(conf('{access_key: "", secret_key: ""}')).accessKey).toBe('');
    expect(parseS3Config(conf('{access_key: "", secret_key: "", aws_sdk_auth: true}')).awsSdkAuth).toBe(true);
  });
});

describe('usePathStyle', () => {
  const cfg = (endpoint: string, bucketLookupType: 'auto' | 'path' | 'virtual-hosted' = 'auto', bucket = 'thanos', insecure = false) => ({
    endpoint,
    bucketLookupType,
    bucket,
    insecure,
  });

  it('uses virtual-hosted style for AWS, GCS and Aliyun endpoints under auto', () => {
    expect(usePathStyle(cfg('s3.amazonaws.com'))).toBe(false);
    expect(usePathStyle(cfg('s3.eu-west-1.amazonaws.com'))).toBe(false);
    expect(usePathStyle(cfg('s3.cn-north-1.amazonaws.com.cn'))).toBe(false);
    expect(usePathStyle(cfg('storage.googleapis.com'))).toBe(false);
    expect(usePathStyle(cfg('oss-cn-hangzhou.aliyuncs.com'))).toBe(false);
  });

  it('uses path style for every other endpoint under auto', () => {
    expect(usePathStyle(cfg('127.0.0.1:9000'))).toBe(true);
    expect(usePathStyle(cfg('[::1]:9000'))).toBe(true);
    expect(usePathStyle(cfg('localhost:9000'))).toBe(true);
    expect(usePathStyle(cfg('minio.monitoring.svc:9000'))).toBe(true);
    expect(usePathStyle(cfg('ceph.example.com'))).toBe(true);
  });

  it('uses path style for dotted bucket names over HTTPS', () => {
    expect(usePathStyle(cfg('s3.amazonaws.com', 'auto', 'my.bucket'))).toBe(true);
    expect(usePathStyle(cfg('s3.amazonaws.com', 'auto', 'my.bucket', true))).toBe(false);
  });

  it('obeys an explicit lookup type', () => {
    expect(usePathStyle(cfg('s3.amazonaws.com', 'path'))).toBe(true);
    expect(usePathStyle(cfg('127.0.0.1:9000', 'virtual-hosted'))).toBe(false);
  });
});

describe('resolveRegion', () => {
  it.each([
    ['eu-central-1', 's3.amazonaws.com', 'eu-central-1'],
    ['', 's3.eu-west-1.amazonaws.com', 'eu-west-1'],
    ['', 's3-us-west-2.amazonaws.com', 'us-west-2'],
    ['', 's3.dualstack.ap-south-1.amazonaws.com', 'ap-south-1'],
    ['', 's3.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
    ['', 's3.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['', 's3.amazonaws.com', 'us-east-1'],
    ['', '127.0.0.1:9000', 'us-east-1'],
  ])('region %j with endpoint %s signs for %s', (region, endpoint, want) => {
    expect(resolveRegion({ region, endpoint })).toBe(want);
  });
});

describe('maxAttempts', () => {
  it('keeps minio-go default of 10 attempts for max_retries 0, else retries + 1', () => {
    expect(maxAttempts(0)).toBe(10);
    expect(maxAttempts(1)).toBe(2);
    expect(maxAttempts(3)).toBe(4);
  });
});

describe('S3Bucket construction', () => {
  it('reads the SSE-C key and TLS files, naming the key on failure', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'objstore-s3conf-'));
    try {
      const key = join(dir, 'key');
      await writeFile(key, Buffer.alloc(32, 7));
      new S3Bucket(parseS3Config(conf(`sse_config: {type: SSE-C, encryption_key: ${key}}`))).close();
      await writeFile(key, 'short');
      expect(() => new S3Bucket(parseS3Config(conf(`sse_config: {type: SSE-C, encryption_key: ${key}}`)))).toThrow(
        'objstore config: S3: sse_config.encryption_key: SSE-C key must be 32 bytes, file has 5',
      );
      expect(() => new S3Bucket(parseS3Config(conf(`http_config: {tls_config: {ca_file: ${dir}/missing.pem}}`)))).toThrow(
        /^objstore config: S3: http_config.tls_config.ca_file: ENOENT/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
