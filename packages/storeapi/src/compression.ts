// gRPC message compression as Thanos has it: "snappy" (pkg/extgrpc/snappy: the framed
// snappy stream around each message) or none. grpc-js knows only identity, deflate and
// gzip; our patch of it (patches/README.md) takes further codecs from a registry, which
// this module fills when it is first imported. With it every grpc-js server in the
// process accepts snappy requests and answers them in snappy, and clients may send it.

import { experimental, status as Status } from '@grpc/grpc-js';
import { SnappyLimitError, snappyStreamDecode, snappyStreamEncode } from './snappy-stream.js';

/** Thanos's name of the snappy compressor (grpc-encoding: snappy). */
export const SNAPPY_COMPRESSION = 'snappy';
/** Thanos's --grpc-compression value for no compression. */
export const NO_COMPRESSION = 'none';
export type GrpcCompression = typeof SNAPPY_COMPRESSION | typeof NO_COMPRESSION;

experimental.registerCompressionCodec(SNAPPY_COMPRESSION, {
  compress: (message: Buffer): Buffer => snappyStreamEncode(message),
  decompress: (message: Buffer, maxLength: number): Buffer => {
    try {
      return snappyStreamDecode(message, maxLength < 0 ? Number.MAX_SAFE_INTEGER : maxLength);
    } catch (err) {
      if (err instanceof SnappyLimitError) {
        throw { code: Status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${maxLength}` };
      }
      throw { code: Status.INTERNAL, details: `Failed to decompress snappy-encoded message: ${(err as Error).message}` };
    }
  },
});
