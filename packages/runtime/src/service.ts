// Runs a component until SIGTERM/SIGINT, then stops it gracefully, as Thanos' run groups.

import type { Logger } from './logger.js';

export interface Service {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the service and resolves when it has been stopped by a signal. A second
 * signal during shutdown exits at once.
 */
export async function runUntilSignal(svc: Service, logger: Logger, gracePeriodMs = 30_000): Promise<void> {
  try {
    await svc.start();
  } catch (err) {
    // Release whatever start() had already opened (listeners, timers) so the process exits.
    await svc.stop().catch((e: unknown) => logger.warn({ err: e }, 'cleanup after failed start'));
    throw err;
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal: sig }, 'second signal, exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal: sig }, 'caught signal, exiting gracefully');
      const timer = setTimeout(() => {
        logger.error({ gracePeriodMs }, 'graceful shutdown timed out, exiting');
        process.exit(1);
      }, gracePeriodMs);
      timer.unref();
      svc.stop().then(
        () => {
          clearTimeout(timer);
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve();
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
