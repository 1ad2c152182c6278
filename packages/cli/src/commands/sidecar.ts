import type { Command } from 'commander';
import { Sidecar } from '@thanos-ts/sidecar';
import { FlagValues, GRPC_SERVER_TLS_FLAGS, grpcServerTLSFromFlags, HTTP_CONFIG_FLAGS, httpConfigFileFromFlags, parseGoDuration, runUntilSignal, UserError } from '@thanos-ts/runtime';
import { addFlags, addObjstoreFlags, bucketFromOptions, loggerFor } from './common.js';

export function registerSidecar(program: Command): void {
  const cmd = addObjstoreFlags(program.command('sidecar').description('Sidecar for Prometheus server.'), false)
    .option('--prometheus.url <url>', 'URL at which to reach Prometheus\'s API. For better performance use local network.', 'http://localhost:9090')
    .option('--prometheus.ready_timeout <duration>', 'Maximum time to wait for the Prometheus instance to start up.', '10m')
    .option('--tsdb.path <path>', 'Data directory of TSDB.', './data')
    .option('--grpc-address <host:port>', 'Listen ip:port address for gRPC endpoints (StoreAPI). Make sure this address is routable from other components.', '0.0.0.0:10901')
    .option('--http-address <host:port>', 'Listen host:port for HTTP endpoints.', '0.0.0.0:10902');
  addFlags(cmd, [...GRPC_SERVER_TLS_FLAGS, ...HTTP_CONFIG_FLAGS]);
  addFlags(cmd, [{ name: 'shipper.upload-compacted', kind: 'bool', default: false, help: 'If true shipper will try to upload compacted blocks as well. Useful for migration purposes.' }]);
  cmd
    .option('--shipper.meta-file-name <name>', 'The shipper metafile name.', 'thanos.shipper.json')
    .option('--shipper.sync-interval <duration>', 'How often the shipper scans the TSDB directory (new block directories are also noticed as they appear).', '30s')
    .action(async (opts: Record<string, unknown>, c: Command) => {
      const logger = loggerFor(c).child({ component: 'sidecar' });
      const duration = (flag: string, v: unknown): number => {
        try {
          return parseGoDuration(String(v));
        } catch (err) {
          throw new UserError(`--${flag}: ${(err as Error).message}`);
        }
      };
      const transport = new FlagValues(opts, [...GRPC_SERVER_TLS_FLAGS, ...HTTP_CONFIG_FLAGS]);
      const grpcServerTLS = grpcServerTLSFromFlags(transport);
      const bucket = await bucketFromOptions(opts, logger, false);
      const sidecar = new Sidecar({
        prometheusUrl: opts['prometheus.url'] as string,
        readyTimeoutMs: duration('prometheus.ready_timeout', opts['prometheus.ready_timeout']),
        tsdbPath: opts['tsdb.path'] as string,
        grpcAddress: opts.grpcAddress as string,
        grpcServerTLS,
        httpAddress: opts.httpAddress as string,
        httpConfigFile: httpConfigFileFromFlags(transport),
        bucket,
        uploadCompacted: opts['shipper.uploadCompacted'] as boolean,
        shipperMetaFileName: opts['shipper.metaFileName'] as string,
        shipperSyncIntervalMs: duration('shipper.sync-interval', opts['shipper.syncInterval']),
        logger,
      });
      await runUntilSignal(sidecar, logger);
    });
}
