// objstore.yml, the bucket configuration shared by all Thanos components
// (github.com/thanos-io/objstore client/factory.go):
//
//   type: S3 | AZURE | FILESYSTEM | …   provider, case-insensitive
//   config: {…}                 provider-specific; S3 and AZURE strict, FILESYSTEM lenient
//   prefix: ""                  optional sub-path; objects live under "prefix/"
import { readFile } from 'node:fs/promises';

import { parseDocument } from 'yaml';

import type { Bucket, Logger } from './bucket.js';
import { ConfigMap } from './config-map.js';
import { parseAzureConfig } from './azure-config.js';
import { errorMessage } from './errors.js';
import { FilesystemBucket } from './filesystem.js';
import { PrefixedBucket, trimSlashes } from './prefixed-bucket.js';
import { parseS3Config } from './s3-config.js';

/** BucketConfig is the top level of objstore.yml. */
export interface BucketConfig {
  /** Provider name as written; matched case-insensitively. */
  type: string;
  /** Provider-specific map, validated by the provider. */
  config: unknown;
  /** Sub-path inside the bucket, without leading or trailing "/"; "" for none. */
  prefix: string;
}

export interface BucketFactoryOptions {
  /** Receives retry, trace and configuration warnings. */
  logger?: Logger;
}

/** Providers Thanos knows but this implementation does not have yet. */
const UNSUPPORTED_TYPES = new Set(['GCS', 'SWIFT', 'COS', 'ALIYUNOSS', 'BOS', 'OCI', 'OBS']);
/** SUPPORTED_PROVIDERS lists the objstore.yml types this implementation has, for help texts and errors. */
export const SUPPORTED_PROVIDERS: readonly string[] = ['FILESYSTEM', 'S3', 'AZURE'];
const SUPPORTED = `supported: ${SUPPORTED_PROVIDERS.join(', ')}`;
const ERR_PREFIX = 'objstore config: ';

/**
 * parseBucketConfig parses objstore.yml text. The top level is strict, as in
 * Thanos (yaml.UnmarshalStrict): only type, config and prefix are allowed.
 */
export function parseBucketConfig(yamlText: string): BucketConfig {
  const doc = parseDocument(yamlText, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The parser's message carries a multi-line code frame; keep its first line.
    throw new Error(`${ERR_PREFIX}parse yaml: ${doc.errors[0].message.split('\n')[0]}`);
  }
  return bucketConfigFromObject(doc.toJS());
}

function bucketConfigFromObject(raw: unknown): BucketConfig {
  const m = ConfigMap.from(raw, '', ERR_PREFIX);
  const type = m.string('type');
  m.map('config'); // validates that config is a mapping; the provider reads it
  const prefix = trimSlashes(m.string('prefix'));
  m.strict();
  if (type === '') throw m.error(`type is required (${SUPPORTED})`);
  const config = (raw as Record<string, unknown> | null | undefined)?.config ?? null;
  return { type, config, prefix };
}

/**
 * bucketFromConfig creates the bucket described by objstore.yml text (or by the
 * same structure already parsed), wrapped in a PrefixedBucket when prefix is set.
 */
export async function bucketFromConfig(config: string | BucketConfig, opts: BucketFactoryOptions = {}): Promise<Bucket> {
  const conf = typeof config === 'string' ? parseBucketConfig(config) : bucketConfigFromObject(config);
  const type = conf.type.toUpperCase();
  let bkt: Bucket;
  switch (type) {
    case 'FILESYSTEM':
      bkt = filesystemFromConfig(conf.config, opts.logger);
      break;
    case 'S3': {
      const cfg = parseS3Config(conf.config);
      // The SDKs load only when a bucket of theirs is configured: they are most of a
      // process's start-up time otherwise.
      const { S3Bucket } = await import('./s3.js');
      bkt = new S3Bucket(cfg, { logger: opts.logger });
      break;
    }
    case 'AZURE':
      bkt = await azureFromConfig(conf.config, opts.logger);
      break;
    default:
      if (UNSUPPORTED_TYPES.has(type)) throw new Error(`${ERR_PREFIX}type "${conf.type}" is not supported yet (${SUPPORTED})`);
      throw new Error(`${ERR_PREFIX}unknown type "${conf.type}" (${SUPPORTED})`);
  }
  return conf.prefix === '' ? bkt : new PrefixedBucket(bkt, conf.prefix);
}

/**
 * The FILESYSTEM config is parsed leniently, as Thanos does (yaml.Unmarshal):
 * unknown keys are only logged.
 */
function filesystemFromConfig(raw: unknown, logger: Logger | undefined): Bucket {
  const m = ConfigMap.from(raw, 'config', `${ERR_PREFIX}FILESYSTEM: `);
  const directory = m.string('directory');
  for (const key of m.keys()) {
    if (key !== 'directory') logger?.warn({ key }, 'objstore config: FILESYSTEM: ignoring unknown key');
  }
  if (directory === '') throw m.error('directory is required');
  return new FilesystemBucket(directory);
}

async function azureFromConfig(raw: unknown, logger: Logger | undefined): Promise<Bucket> {
  const cfg = parseAzureConfig(raw);
  // Thanos logs the same: msi_resource is deprecated, the SDK derives it.
  if (cfg.msiResource !== '') logger?.warn({ key: 'msi_resource' }, 'objstore config: AZURE: msi_resource is deprecated and should no longer be set');
  const { AzureBucket } = await import('./azure.js');
  return AzureBucket.open(cfg, { logger });
}

/** ObjstoreFlags mirrors Thanos's --objstore.config-file and --objstore.config (inline YAML). */
export interface ObjstoreFlags {
  configFile?: string;
  config?: string;
}

/** bucketFromFlags creates the bucket from exactly one of the two objstore flags. */
export async function bucketFromFlags(flags: ObjstoreFlags, opts: BucketFactoryOptions = {}): Promise<Bucket> {
  const file = flags.configFile ?? '';
  const inline = flags.config ?? '';
  if (file !== '' && inline !== '') {
    throw new Error(`${ERR_PREFIX}both --objstore.config-file and --objstore.config are set; use only one`);
  }
  if (file === '' && inline.trim() === '') {
    throw new Error(`${ERR_PREFIX}one of --objstore.config-file or --objstore.config is required`);
  }
  if (file === '') return bucketFromConfig(inline, opts);

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${ERR_PREFIX}read --objstore.config-file ${file}: ${errorMessage(err)}`, { cause: err });
  }
  if (text.trim() === '') throw new Error(`${ERR_PREFIX}--objstore.config-file ${file} is empty`);
  return bucketFromConfig(text, opts);
}
