// Request bodies for POST /api/<version>/alerts. v2 is Alertmanager's PostableAlerts
// (api/v2/models): times as strfmt.DateTime, RFC3339 with milliseconds; annotations and
// generatorURL left out when empty, in the field order go-swagger writes. v1 is
// Prometheus's notifier.Alert as JSON (Alertmanager < 0.27 only).

import type { Labels } from '@thanos-ts/tsdb';
import type { Alert } from '../types.js';
import type { AlertmanagerAPIVersion } from './config.js';

/** Go's zero time.Time, what an unset startsAt/endsAt marshals to. */
const GO_ZERO_TIME = '0001-01-01T00:00:00.000Z';

/** RFC3339 with milliseconds, UTC (strfmt.DateTime's MarshalFormat); 0 is Go's zero time. */
export function formatAlertTime(ms: number): string {
  return ms === 0 ? GO_ZERO_TIME : new Date(ms).toISOString();
}

function labelSet(ls: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of ls) out[l.name] = l.value;
  return out;
}

/** The JSON body sending `alerts` to an Alertmanager speaking `version`. */
export function encodeAlerts(alerts: readonly Alert[], version: AlertmanagerAPIVersion): string {
  if (version === 'v1') {
    return JSON.stringify(
      alerts.map((a) => {
        const o: Record<string, unknown> = {
          labels: labelSet(a.labels),
          annotations: labelSet(a.annotations),
          startsAt: formatAlertTime(a.startsAt),
          endsAt: formatAlertTime(a.endsAt),
        };
        if (a.generatorURL !== '') o.generatorURL = a.generatorURL;
        return o;
      }),
    );
  }
  return JSON.stringify(
    alerts.map((a) => {
      const o: Record<string, unknown> = {};
      if (a.annotations.length > 0) o.annotations = labelSet(a.annotations);
      o.endsAt = formatAlertTime(a.endsAt);
      o.startsAt = formatAlertTime(a.startsAt);
      if (a.generatorURL !== '') o.generatorURL = a.generatorURL;
      o.labels = labelSet(a.labels);
      return o;
    }),
  );
}
