import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { buildInfo } from './build-info.js';

/**
 * A registry with process metrics and `thanos_build_info`, so dashboards built for
 * Thanos find the series they expect.
 */
export function createRegistry(component: string): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  const info = new Gauge({
    name: 'thanos_build_info',
    help: 'A metric with a constant 1 value labeled by version, revision, branch, goversion and component.',
    labelNames: ['version', 'revision', 'branch', 'goversion', 'component'],
    registers: [reg],
  });
  const b = buildInfo();
  info.set({ version: b.version, revision: b.revision, branch: b.branch, goversion: b.goVersion, component }, 1);
  const status = new Gauge({
    name: 'thanos_status',
    help: 'Represents status (0 indicates failure, 1 indicates success) of the component.',
    labelNames: ['component', 'check'],
    registers: [reg],
  });
  status.set({ component, check: 'healthy' }, 1);
  return reg;
}
