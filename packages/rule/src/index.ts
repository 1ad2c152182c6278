export * from './query-client.js';
export * from './flags.js';
export * from './rule.js';
export * from './remote-write.js';
