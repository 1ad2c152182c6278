export { crc32c, crc32cUpdate } from './crc32c.js';
export { CorruptionError, isCorruption } from './errors.js';
export { EncodingBuffer, writeUvarint, uvarintSize, zigzag } from './encbuf.js';
export { DecodingBuffer, readUvarint } from './decbuf.js';
export { U32List } from './u32-list.js';
