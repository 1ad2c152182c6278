// The Alertmanager notifier of the ruler (Thanos pkg/alert): queue, sender, config.
export { AlertNotifier, DEFAULT_DRAIN_TIMEOUT_MS } from './notifier.js';
export type { AlertNotifierOptions } from './notifier.js';
export { AlertQueue, DEFAULT_MAX_BATCH_SIZE, DEFAULT_QUEUE_CAPACITY } from './queue.js';
export type { AlertQueueOptions } from './queue.js';
export { AlertmanagerSender } from './sender.js';
export type { SendResult } from './sender.js';
export { AlertmanagerClient, AlertmanagerSendError } from './client.js';
export {
  AlertmanagerConfigError,
  alertmanagerConfigFromURL,
  DEFAULT_ALERTMANAGER_TIMEOUT_MS,
  DEFAULT_FILE_SD_REFRESH_MS,
  parseAlertmanagersConfig,
  SUPPORTED_API_VERSIONS,
} from './config.js';
export type { AlertmanagerAPIVersion, AlertmanagerConfig, BasicAuthConfig, FileSDConfig, HTTPClientConfig, TLSClientConfig } from './config.js';
export { encodeAlerts, formatAlertTime } from './payload.js';
export { NOTIFIER_FLAGS, notifierConfigFromFlags, parseAlertRelabelConfigs } from './flags.js';
export type { NotifierConfig } from './flags.js';
export { alertGeneratorURL, DEFAULT_ALERT_QUERY_TEMPLATE, queryEscape, tableLinkForExpression, validateQueryTemplate } from './generator-url.js';
