// thanos.WriteableStore/RemoteWrite served with the request still in bytes, so that the
// receiver can read a peer's thanos.WriteRequest in place (scanForwardRequest) instead of
// decoding it. Status codes and texts are those of storeapi's addWriteableStoreService:
// WriteStatusError chooses the code, an InvalidArgumentError (a malformed request) is
// InvalidArgument, anything else Internal.

import type { sendUnaryData, Server, ServerUnaryCall } from '@grpc/grpc-js';
import { logStatus, Status, WRITEABLE_STORE_SERVICE, WriteStatusError } from '@thanos-ts/storeapi';
import type { Logger } from '@thanos-ts/runtime';

/** The RemoteWrite handler, given the request's bytes. */
export interface RawWriteableStoreAPI {
  /** Writes (or forwards) the encoded thanos.WriteRequest; throws WriteStatusError to choose the status. */
  remoteWriteBytes(req: Buffer): Promise<void>;
}

const EMPTY_RESPONSE = Buffer.alloc(0);

/** Mounts thanos.WriteableStore on a grpc-js server, handing the handler raw requests. */
export function addRawWriteableStoreService(server: Server, api: RawWriteableStoreAPI, logger: Logger): void {
  server.addService(WRITEABLE_STORE_SERVICE, {
    // The receiver does not stop a write half way when the caller goes away (the
    // appender commits or rolls back as a whole), so no per-call abort signal is made.
    RemoteWrite: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      api.remoteWriteBytes(call.request).then(
        () => cb(null, EMPTY_RESPONSE),
        (err: unknown) => {
          const e = err as Error;
          const code = err instanceof WriteStatusError ? err.code : e.name === 'InvalidArgumentError' ? Status.INVALID_ARGUMENT : Status.INTERNAL;
          logStatus(logger, 'RemoteWrite', code, e.message, err);
          cb({ code, details: e.message });
        },
      );
    },
  });
}
