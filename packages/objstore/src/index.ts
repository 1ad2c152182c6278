// Public face of @thanos-ts/objstore: the Bucket interface, its errors and
// helpers, the providers, and the objstore.yml factories.
export { DIR_DELIM } from './bucket.js';
export type { Bucket, IterFn, IterOptions, Logger, ObjectAttributes, UploadBody, UploadOptions } from './bucket.js';
export { ObjectNotFoundError, isObjectNotFound } from './errors.js';
export { getBytes, getRangeBytes } from './helpers.js';
export { FilesystemBucket } from './filesystem.js';
export type { FilesystemBucketOptions } from './filesystem.js';
export type { FileHandleCacheOptions } from './filesystem-handles.js';
export type { S3Bucket } from './s3.js';
export type { S3BucketOptions } from './s3.js';
export { parseS3Config } from './s3-config.js';
export type { BucketLookupType, ChecksumMode, S3Config, S3HttpConfig, S3SseConfig, S3TlsConfig, SseType } from './s3-config.js';
export type { AzureBucket } from './azure.js';
export type { AzureBucketOptions } from './azure.js';
export { DEFAULT_AZURE_ENDPOINT, parseAzureConfig } from './azure-config.js';
export type { AzureConfig, AzurePipelineConfig } from './azure-config.js';
export type { HttpConfig, TlsConfig } from './http-config.js';
export { PrefixedBucket } from './prefixed-bucket.js';
export { SUPPORTED_PROVIDERS, bucketFromConfig, bucketFromFlags, parseBucketConfig } from './config.js';
export type { BucketConfig, BucketFactoryOptions, ObjstoreFlags } from './config.js';
export { instrumentBucket, BucketOperation } from './instrumented.js';
