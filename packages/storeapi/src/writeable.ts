// thanos.WriteableStore/RemoteWrite: the write path between receivers (Thanos
// pkg/store/storepb/rpc.proto). A router forwards the series another receiver owns, or a
// replica of them, in one thanos.WriteRequest per destination; the receiving side says
// how it went with a gRPC status (Thanos: AlreadyExists for conflicts, Unavailable when
// not ready, InvalidArgument for a bad replica number, Internal otherwise).

import { nopLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { Status } from './errors.js';
import type { GrpcServer } from './h2-server.js';
import { thanos } from './proto.js';
import { decodeRequest, logStatus } from './server.js';

export type WriteRequest = thanos.WriteRequest;
export type WriteRequestInit = thanos.WriteRequest.$Properties;

/** An error the RemoteWrite handler answers with this gRPC status code. */
export class WriteStatusError extends Error {
  override readonly name = 'WriteStatusError';
  constructor(
    readonly code: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface WriteableStoreAPI {
  /**
   * Writes (or forwards) the encoded thanos.WriteRequest, given as bytes so a receiver can
   * read it in place (decodeWriteRequest decodes it); throws WriteStatusError to choose
   * the status, InvalidArgumentError for a malformed request.
   */
  remoteWrite(req: Buffer): Promise<void>;
}

/** Decodes a thanos.WriteRequest; a malformed one is an InvalidArgumentError. */
export function decodeWriteRequest(buf: Uint8Array): WriteRequest {
  return decodeRequest('WriteRequest', () => thanos.WriteRequest.decode(buf));
}

/** The method's path. */
export const REMOTE_WRITE_PATH = '/thanos.WriteableStore/RemoteWrite';

const EMPTY_RESPONSE = Buffer.alloc(0);

/** Mounts thanos.WriteableStore on a gRPC server. */
export function addWriteableStoreService(server: GrpcServer, api: WriteableStoreAPI, logger: Logger = nopLogger()): void {
  // A write is not stopped half way when the caller goes away (an appender commits or
  // rolls back as a whole), so the handler does not follow the call's signal.
  server.addMethod(REMOTE_WRITE_PATH, (call) => {
    api.remoteWrite(call.request).then(
      () => call.sendUnary(EMPTY_RESPONSE),
      (err: unknown) => {
        const e = err as Error;
        const code = err instanceof WriteStatusError ? err.code : e.name === 'InvalidArgumentError' ? Status.INVALID_ARGUMENT : Status.INTERNAL;
        logStatus(logger, 'RemoteWrite', code, e.message, err);
        call.sendStatus(code, e.message);
      },
    );
  });
}
