import { ConfigMap } from './config-map.js';
import { parseHttpConfig } from './http-config.js';
import type { HttpConfig, TlsConfig } from './http-config.js';

const MiB = 1024 * 1024;

/** DEFAULT_PART_SIZE is Thanos's default S3 part_size; part_size 0 also means this. */
export const DEFAULT_PART_SIZE = 64 * MiB;
/** MIN_PART_SIZE is the smallest part S3 accepts (except the last one). */
export const MIN_PART_SIZE = 5 * MiB;
/** MAX_PART_SIZE is the largest part S3 accepts. */
export const MAX_PART_SIZE = 5 * 1024 * MiB;

export type BucketLookupType = 'auto' | 'virtual-hosted' | 'path';
export type ChecksumMode = 'when_required' | 'when_supported';
export type SseType = '' | 'SSE-S3' | 'SSE-KMS' | 'SSE-C';

/** S3TlsConfig and S3HttpConfig are the shared http_config types, under the names S3 code used first. */
export type S3TlsConfig = TlsConfig;
export type S3HttpConfig = HttpConfig;

export interface S3SseConfig {
  type: SseType;
  kmsKeyId: string;
  kmsEncryptionContext: Record<string, string>;
  /** Path of a file holding the 32-byte SSE-C key. */
  encryptionKey: string;
}

/** S3Config is the validated S3 section of objstore.yml (Thanos key names in camelCase). */
export interface S3Config {
  bucket: string;
  /** host[:port], no scheme. */
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  sessionToken: string;
  awsSdkAuth: boolean;
  /** Plain HTTP instead of HTTPS. */
  insecure: boolean;
  bucketLookupType: BucketLookupType;
  partSize: number;
  disableMultipart: boolean;
  maxRetries: number;
  listObjectsVersion: 'v1' | 'v2';
  putUserMetadata: Record<string, string>;
  sendContentMd5: boolean;
  disableDualstack: boolean;
  traceEnable: boolean;
  sse: S3SseConfig;
  http: S3HttpConfig;
  checksumCalculation: ChecksumMode;
  checksumValidation: ChecksumMode;
}

const ERR_PREFIX = 'objstore config: S3: ';

/**
 * parseS3Config validates the `config` map of an S3 objstore.yml. Like Thanos
 * (yaml.UnmarshalStrict) every unknown key is an error, at every level.
 */
export function parseS3Config(raw: unknown): S3Config {
  const m = ConfigMap.from(raw, 'config', ERR_PREFIX);

  const endpoint = m.string('endpoint');
  const bucket = m.string('bucket');
  const region = m.string('region');
  const accessKey = m.string('access_key');
  const secretKey = m.string('secret_key');
  const sessionToken = m.string('session_token');
  const awsSdkAuth = m.bool('aws_sdk_auth');
  const insecure = m.bool('insecure');
  const signatureV2 = m.bool('signature_version2');
  const disableDualstack = m.bool('disable_dualstack');
  const putUserMetadata = m.stringMap('put_user_metadata');
  const listObjectsVersion = m.string('list_objects_version');
  const bucketLookupType = m.string('bucket_lookup_type', 'auto');
  const sendContentMd5 = m.bool('send_content_md5', true);
  const disableMultipart = m.bool('disable_multipart');
  let partSize = m.int('part_size', DEFAULT_PART_SIZE);
  const stsEndpoint = m.string('sts_endpoint');
  const maxRetries = m.int('max_retries');
  const checksumCalculation = m.string('checksum_calculation', 'when_required');
  const checksumValidation = m.string('checksum_validation', 'when_required');

  const trace = m.map('trace');
  const traceEnable = trace.bool('enable');
  trace.strict();

  const sseMap = m.map('sse_config');
  const sse: S3SseConfig = {
    type: sseMap.string('type') as SseType,
    kmsKeyId: sseMap.string('kms_key_id'),
    kmsEncryptionContext: sseMap.stringMap('kms_encryption_context'),
    encryptionKey: sseMap.string('encryption_key'),
  };
  sseMap.strict();

  const http = parseHttpConfig(m.map('http_config'));
  m.strict();

  // Thanos hands the endpoint to minio-go, which wants host[:port]. A URL is
  // rejected rather than stripped: "https://…" next to insecure: true would
  // otherwise be silently contradictory.
  if (endpoint === '') throw m.error('endpoint is required');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    throw m.error(`endpoint "${endpoint}" must be host[:port] without a scheme (use insecure: true for plain HTTP)`);
  }
  if (!isHostPort(endpoint)) throw m.error(`endpoint "${endpoint}" must be host[:port]`);
  if (bucket === '') throw m.error('bucket is required');

  if (awsSdkAuth && accessKey !== '') throw m.error('aws_sdk_auth and access_key are mutually exclusive');
  if ((accessKey === '') !== (secretKey === '')) {
    throw m.error('access_key and secret_key must be set together, or neither to use the AWS SDK default credential chain');
  }
  if (sessionToken !== '' && accessKey === '') throw m.error('session_token requires access_key and secret_key');
  if (signatureV2) throw m.error('signature_version2 is not supported (the AWS SDK signs with V4 only)');
  if (stsEndpoint !== '') throw m.error('sts_endpoint is not supported yet');

  if (bucketLookupType !== 'auto' && bucketLookupType !== 'virtual-hosted' && bucketLookupType !== 'path') {
    throw m.error(`unsupported bucket_lookup_type "${bucketLookupType}" (supported: auto, virtual-hosted, path)`);
  }
  if (listObjectsVersion !== '' && listObjectsVersion !== 'v1' && listObjectsVersion !== 'v2') {
    throw m.error(`unsupported list_objects_version "${listObjectsVersion}" (supported: v1, v2)`);
  }
  if (partSize === 0) partSize = DEFAULT_PART_SIZE;
  if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw m.error(`part_size ${partSize} out of range [${MIN_PART_SIZE}, ${MAX_PART_SIZE}] (S3 part size limits)`);
  }
  if (maxRetries < 0) throw m.error(`max_retries must not be negative, got ${maxRetries}`);
  for (const [key, v] of [['checksum_calculation', checksumCalculation], ['checksum_validation', checksumValidation]]) {
    if (v !== 'when_required' && v !== 'when_supported') {
      throw m.error(`unsupported ${key} "${v}" (supported: when_required, when_supported)`);
    }
  }

  switch (sse.type) {
    case '':
    case 'SSE-S3':
      break;
    case 'SSE-KMS':
      if (sse.kmsKeyId === '') throw m.error('sse_config.kms_key_id is required for SSE-KMS');
      break;
    case 'SSE-C':
      if (sse.encryptionKey === '') throw m.error('sse_config.encryption_key is required for SSE-C');
      break;
    default:
      throw m.error(`unsupported sse_config.type "${sse.type as string}" (supported: SSE-S3, SSE-KMS, SSE-C)`);
  }

  return {
    bucket,
    endpoint,
    region,
    accessKey,
    secretKey,
    sessionToken,
    awsSdkAuth,
    insecure,
    bucketLookupType,
    partSize,
    disableMultipart,
    maxRetries,
    listObjectsVersion: listObjectsVersion === 'v1' ? 'v1' : 'v2',
    putUserMetadata,
    sendContentMd5,
    disableDualstack,
    traceEnable,
    sse,
    http,
    checksumCalculation: checksumCalculation as ChecksumMode,
    checksumValidation: checksumValidation as ChecksumMode,
  };
}

function isHostPort(endpoint: string): boolean {
  if (/[/?#@\s]/.test(endpoint)) return false;
  try {
    return new URL(`http://${endpoint}`).hostname !== '';
  } catch {
    return false;
  }
}

/**
 * usePathStyle decides the bucket addressing for bucket_lookup_type.
 *
 * "auto" follows minio-go, which Thanos uses, rather than the AWS SDK:
 * virtual-hosted style only for AWS, Google Cloud Storage and Aliyun OSS
 * endpoints, path style for every other endpoint (MinIO, Ceph, IP addresses,
 * localhost). That is what existing Thanos configs for self-hosted stores rely
 * on: "bucket.minio.internal" would not resolve. Over HTTPS a bucket name with
 * dots also needs path style, since it would not match the wildcard certificate.
 */
export function usePathStyle(cfg: Pick<S3Config, 'bucketLookupType' | 'endpoint' | 'bucket' | 'insecure'>): boolean {
  if (cfg.bucketLookupType === 'path') return true;
  if (cfg.bucketLookupType === 'virtual-hosted') return false;
  const host = new URL(`http://${cfg.endpoint}`).hostname.toLowerCase();
  const virtualHostCapable =
    host.endsWith('.amazonaws.com') ||
    host.endsWith('.amazonaws.com.cn') ||
    host === 'storage.googleapis.com' ||
    host.endsWith('.aliyuncs.com');
  if (!virtualHostCapable) return true;
  return !cfg.insecure && cfg.bucket.includes('.');
}

/**
 * resolveRegion picks the signing region: the configured one, else the one
 * named by an AWS endpoint ("s3.eu-west-1.amazonaws.com"), else us-east-1,
 * which S3-compatible stores accept and the SDK needs to sign at all.
 */
export function resolveRegion(cfg: Pick<S3Config, 'region' | 'endpoint'>): string {
  if (cfg.region !== '') return cfg.region;
  const host = new URL(`http://${cfg.endpoint}`).hostname.toLowerCase();
  const m = /(?:^|\.)s3[.-](?:dualstack\.)?(?:fips\.)?([a-z]{2}(?:-gov)?-[a-z]+-\d+)\.amazonaws\.com(?:\.cn)?$/.exec(host);
  return m ? m[1] : 'us-east-1';
}

/**
 * maxAttempts maps max_retries onto the SDK's attempt count. max_retries 0 is
 * Thanos's default and means minio-go's default of 10 attempts, so we keep 10;
 * any other value n means n retries after the first attempt.
 */
export function maxAttempts(maxRetries: number): number {
  return maxRetries === 0 ? 10 : maxRetries + 1;
}
