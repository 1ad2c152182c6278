// The quickstart's stack as data: every process with its binary, arguments, ports,
// external labels and config files, in start order. quickstart spawns exactly this, and
// the compose stack (docker/compose.yaml) is tested against it, so the two cannot drift.
//
// Port layout, relative to the base port (19090 by default):
//   +0 …      per cluster: the replicas' Prometheus ports, then sidecar gRPC and HTTP per replica
//   +100/101  query HTTP / gRPC        +102/103  store gateway HTTP / gRPC
//   +104      compactor HTTP           +105…113  receivers: remote write, gRPC, HTTP each
//   +114      remote-writing Prometheus  +115/116  ruler HTTP / gRPC
//   +117      Alertmanager             +118      query-frontend HTTP

import { join } from 'node:path';
import { UserError } from '@thanos-ts/runtime';

/** Receivers in the quickstart's ring, and its replication factor. */
export const QUICKSTART_RECEIVERS = 3;
/** The highest port of a layout, relative to the base port. */
export const QUICKSTART_LAST_PORT_OFFSET = 118;
/** The ruler's evaluation interval. */
export const QUICKSTART_EVAL_INTERVAL = '15s';

/**
 * The ruler's demo rules: a recording rule over every cluster, an alert per target that
 * is down, and one that fires on its own within a minute of start, so the path ruler →
 * Alertmanager can be seen working.
 */
export const QUICKSTART_DEMO_RULES = `groups:
  - name: quickstart
    rules:
      - record: cluster:up:sum
        expr: sum by (cluster) (up)
      - alert: TargetDown
        expr: up == 0
        for: 1m
        labels:
          severity: warning
        annotations:
          summary: "{{ $labels.instance }} of {{ $labels.cluster }} is down"
          description: "{{ $labels.job }} target {{ $labels.instance }} has been down for more than a minute."
      - alert: QuickstartRunning
        expr: count(up) > 0
        for: 15s
        labels:
          severity: none
        annotations:
          summary: "the quickstart stack is running ({{ $value }} targets): this demo alert fires on purpose"
`;

export type QuickstartComponent = 'prometheus' | 'sidecar' | 'receive' | 'store' | 'query' | 'query-frontend' | 'compact' | 'rule' | 'alertmanager';

export interface QuickstartOptions {
  /** Absolute. */
  dataDir: string;
  clusters: number;
  replicas: number;
  /** Prometheus's (and the receivers' and ruler's) block duration, e.g. "10m". */
  blockDuration: string;
  basePort: number;
  /** An objstore.yml of the user's (absolute path); absent: a FILESYSTEM bucket under dataDir. */
  objstoreConfigFile?: string;
  /** Whether to run Alertmanager (it is installed). */
  alertmanager: boolean;
}

export interface QuickstartProcess {
  /** Unique; also the log file's name. */
  name: string;
  component: QuickstartComponent;
  /** `thanos-ts`: this binary, with the subcommand as args[0]; otherwise the external program. */
  bin: 'thanos-ts' | 'prometheus' | 'alertmanager';
  args: string[];
  /** Loopback ports it listens on: it counts as started only once it holds them all. */
  ports: { port: number; what: string }[];
  /** Its HTTP base URL: readiness is `${url}/-/ready`. */
  url: string;
  /** What a user points at, for the table. */
  address: string;
  /** External labels (Prometheus's, or --label of receive and rule). */
  externalLabels: Record<string, string>;
  /** Files written before it starts. */
  files: { path: string; content: string }[];
  /**
   * Processes of one stage start together; the next stage starts once all are ready.
   * 0: Prometheus servers and Alertmanager; 1: what reads or feeds them (sidecars, the
   * receive ring, store, compactor); 2: what reads those (query, ruler, the
   * remote-writing Prometheus); 3: the query-frontend.
   */
  stage: number;
  /** For Prometheus: its scrape jobs and whether it remote-writes, to compare with compose. */
  scrape?: { jobs: string[]; remoteWrite: boolean };
}

export interface QuickstartTopology {
  /** In start order: by stage. */
  processes: QuickstartProcess[];
  objstoreFile: string;
  /** The FILESYSTEM bucket's directory; absent with the user's objstore config. */
  bucketDir?: string;
  logDir: string;
  hashringsFile: string;
  rulesDir: string;
}

const local = (port: number): string => `127.0.0.1:${port}`;
const http = (port: number): string => `http://127.0.0.1:${port}`;

/** A Prometheus configuration: scrape jobs of static targets, optional remote write. */
function prometheusConfig(labels: Record<string, string>, jobs: [string, string[]][], remoteWrite?: string): string {
  const out = ['global:', '  scrape_interval: 5s', '  evaluation_interval: 5s', '  external_labels:'];
  for (const [k, v] of Object.entries(labels)) out.push(`    ${k}: "${v}"`);
  out.push('scrape_configs:');
  for (const [job, targets] of jobs) {
    out.push(`  - job_name: ${job}`, '    static_configs:', `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`);
  }
  if (remoteWrite) out.push('remote_write:', `  - url: ${remoteWrite}`);
  return out.join('\n') + '\n';
}

/** The quickstart's processes for `o`, in start order; throws a UserError when they don't fit the ports. */
export function quickstartTopology(o: QuickstartOptions): QuickstartTopology {
  const b = o.basePort;
  const perCluster = 3 * o.replicas;
  if (o.clusters * perCluster > 100) {
    throw new UserError(`--clusters ${o.clusters} × --replicas ${o.replicas} need ${o.clusters * perCluster} ports, more than the 100 below the query's base-port+100`);
  }
  const d = o.dataDir;
  const logDir = join(d, 'logs');
  const bucketDir = o.objstoreConfigFile ? undefined : join(d, 'bucket');
  const objstoreFile = o.objstoreConfigFile ?? join(d, 'objstore.yml');
  const hashringsFile = join(d, 'receive', 'hashrings.json');
  const rulesDir = join(d, 'rules');
  const objstoreFiles = bucketDir ? [{ path: objstoreFile, content: `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n` }] : [];

  const port = {
    queryHttp: b + 100,
    queryGrpc: b + 101,
    storeHttp: b + 102,
    storeGrpc: b + 103,
    compactHttp: b + 104,
    receiver: (i: number) => ({ rw: b + 105 + 3 * i, grpc: b + 106 + 3 * i, http: b + 107 + 3 * i }),
    remoteProm: b + 105 + 3 * QUICKSTART_RECEIVERS,
    ruleHttp: b + 106 + 3 * QUICKSTART_RECEIVERS,
    ruleGrpc: b + 107 + 3 * QUICKSTART_RECEIVERS,
    alertmanager: b + 108 + 3 * QUICKSTART_RECEIVERS,
    queryFrontend: b + 109 + 3 * QUICKSTART_RECEIVERS,
  };
  const ps: QuickstartProcess[] = [];
  const thanos = (p: Omit<QuickstartProcess, 'bin' | 'files' | 'externalLabels'> & Partial<Pick<QuickstartProcess, 'files' | 'externalLabels'>>): QuickstartProcess => {
    const full: QuickstartProcess = { bin: 'thanos-ts', files: [], externalLabels: {}, ...p };
    ps.push(full);
    return full;
  };

  // Clusters of Prometheus replicas, each with a sidecar; both replicas of a cluster scrape
  // the same targets (every Prometheus of the cluster), as an HA pair does.
  const sidecars: string[] = [];
  for (let c = 0; c < o.clusters; c++) {
    const cluster = `cluster-${c}`;
    const first = b + c * perCluster;
    const promPorts = Array.from({ length: o.replicas }, (_, r) => first + r);
    for (let r = 0; r < o.replicas; r++) {
      const name = `${cluster}-replica-${r}`;
      const dir = join(d, name);
      const promPort = promPorts[r];
      const grpcPort = first + o.replicas + 2 * r;
      const httpPort = grpcPort + 1;
      const labels = { cluster, replica: String(r) };
      const cfg = join(dir, 'prometheus.yml');
      const jobs: [string, string[]][] = [['prometheus', promPorts.map(local)]];
      ps.push({
        name: `${name}-prometheus`,
        stage: 0,
        component: 'prometheus',
        bin: 'prometheus',
        args: [
          `--config.file=${cfg}`,
          `--storage.tsdb.path=${join(dir, 'tsdb')}`,
          `--web.listen-address=${local(promPort)}`,
          `--storage.tsdb.min-block-duration=${o.blockDuration}`,
          `--storage.tsdb.max-block-duration=${o.blockDuration}`,
          '--web.enable-lifecycle',
        ],
        ports: [{ port: promPort, what: `${name} Prometheus` }],
        url: http(promPort),
        address: http(promPort),
        externalLabels: labels,
        files: [{ path: cfg, content: prometheusConfig(labels, jobs) }],
        scrape: { jobs: jobs.map((j) => j[0]), remoteWrite: false },
      });
      thanos({
        name: `${name}-sidecar`,
        stage: 1,
        component: 'sidecar',
        args: ['sidecar', '--prometheus.url', http(promPort), '--tsdb.path', join(dir, 'tsdb'), '--objstore.config-file', objstoreFile, '--grpc-address', local(grpcPort), '--http-address', local(httpPort)],
        ports: [
          { port: grpcPort, what: `${name} sidecar gRPC` },
          { port: httpPort, what: `${name} sidecar HTTP` },
        ],
        url: http(httpPort),
        address: `grpc ${local(grpcPort)}`,
        files: objstoreFiles,
      });
      sidecars.push(local(grpcPort));
    }
  }

  // The receive ring: each series on every receiver (replication factor 3), with the HA
  // tracker keeping one copy per Prometheus HA pair; blocks go to the same bucket.
  const receivers = Array.from({ length: QUICKSTART_RECEIVERS }, (_, i) => port.receiver(i));
  const hashrings = JSON.stringify([{ hashring: 'default', endpoints: receivers.map((r) => local(r.grpc)) }], null, 2) + '\n';
  for (const [i, r] of receivers.entries()) {
    thanos({
      name: `receive-${i}`,
      component: 'receive',
      args: [
        'receive',
        '--tsdb.path',
        join(d, 'receive', `receive-${i}`),
        '--remote-write.address',
        local(r.rw),
        '--grpc-address',
        local(r.grpc),
        '--http-address',
        local(r.http),
        '--receive.hashrings-file',
        hashringsFile,
        '--receive.local-endpoint',
        local(r.grpc),
        '--receive.replication-factor',
        String(QUICKSTART_RECEIVERS),
        '--receive.ha-tracker',
        '--receive.ha-tracker.cluster-label',
        'cluster',
        '--receive.ha-tracker.replica-label',
        'replica',
        '--label',
        `receive_replica="${i}"`,
        '--tsdb.block-duration',
        o.blockDuration,
        '--objstore.config-file',
        objstoreFile,
      ],
      ports: [
        { port: r.rw, what: `receive-${i} remote write` },
        { port: r.grpc, what: `receive-${i} gRPC` },
        { port: r.http, what: `receive-${i} HTTP` },
      ],
      url: http(r.http),
      address: `${http(r.rw)}/api/v1/receive`,
      externalLabels: { receive_replica: String(i) },
      files: [...objstoreFiles, { path: hashringsFile, content: hashrings }],
      stage: 1,
    });
  }

  // One more Prometheus writes into the ring. It also scrapes every thanos-ts process, so
  // the stack's own /metrics can be queried (and graphed in the compose stack's Grafana).
  {
    const dir = join(d, 'remote-prometheus');
    const cfg = join(dir, 'prometheus.yml');
    const labels = { cluster: 'remote-write', replica: '0' };
    const jobs: [string, string[]][] = [
      ['prometheus', [local(port.remoteProm)]],
      ['sidecar', ps.filter((p) => p.component === 'sidecar').map((p) => p.url.slice('http://'.length))],
      ['receive', receivers.map((r) => local(r.http))],
      ['store', [local(port.storeHttp)]],
      ['query', [local(port.queryHttp)]],
      ['query-frontend', [local(port.queryFrontend)]],
      ['compact', [local(port.compactHttp)]],
      ['rule', [local(port.ruleHttp)]],
    ];
    ps.push({
      name: 'remote-write-prometheus',
      stage: 2,
      component: 'prometheus',
      bin: 'prometheus',
      args: [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=${local(port.remoteProm)}`, '--web.enable-lifecycle'],
      ports: [{ port: port.remoteProm, what: 'remote-writing Prometheus' }],
      url: http(port.remoteProm),
      address: http(port.remoteProm),
      externalLabels: labels,
      files: [{ path: cfg, content: prometheusConfig(labels, jobs, `${http(receivers[0].rw)}/api/v1/receive`) }],
      scrape: { jobs: jobs.map((j) => j[0]), remoteWrite: true },
    });
  }

  // The store gateway serves what reaches the bucket; blocks the compactor marks stop
  // being served after 5m, before the compactor deletes them (10m).
  thanos({
    name: 'store',
    stage: 1,
    component: 'store',
    args: ['store', '--objstore.config-file', objstoreFile, '--data-dir', join(d, 'store'), '--sync-block-duration', '30s', '--ignore-deletion-marks-delay', '5m', '--http-address', local(port.storeHttp), '--grpc-address', local(port.storeGrpc)],
    ports: [
      { port: port.storeHttp, what: 'store gateway HTTP' },
      { port: port.storeGrpc, what: 'store gateway gRPC' },
    ],
    url: http(port.storeHttp),
    address: `grpc ${local(port.storeGrpc)}`,
    files: objstoreFiles,
  });
  const endpoints = [...sidecars, ...receivers.map((r) => local(r.grpc)), local(port.storeGrpc), local(port.ruleGrpc)];
  thanos({
    name: 'query',
    stage: 2,
    component: 'query',
    args: ['query', '--http-address', local(port.queryHttp), '--grpc-address', local(port.queryGrpc), '--query.replica-label', 'replica', '--query.replica-label', 'receive_replica', ...endpoints.flatMap((e) => ['--endpoint', e])],
    ports: [
      { port: port.queryHttp, what: 'query HTTP' },
      { port: port.queryGrpc, what: 'query gRPC' },
    ],
    url: http(port.queryHttp),
    address: `${http(port.queryHttp)}/`,
  });
  thanos({
    name: 'query-frontend',
    stage: 3,
    component: 'query-frontend',
    args: ['query-frontend', '--http-address', local(port.queryFrontend), '--query-frontend.downstream-url', http(port.queryHttp), '--query-range.split-interval', '24h'],
    ports: [{ port: port.queryFrontend, what: 'query-frontend HTTP' }],
    url: http(port.queryFrontend),
    address: `${http(port.queryFrontend)}/`,
  });
  // The compactor merges shipped blocks every minute, deduplicating the replicas of a
  // cluster offline (vertical compaction along `replica` and `receive_replica`).
  thanos({
    name: 'compact',
    stage: 1,
    component: 'compact',
    args: [
      'compact',
      '--objstore.config-file',
      objstoreFile,
      '--data-dir',
      join(d, 'compact'),
      '--wait',
      '--wait-interval',
      '1m',
      '--consistency-delay',
      '30s',
      '--delete-delay',
      '10m',
      '--compact.enable-vertical-compaction',
      '--deduplication.replica-label',
      'replica',
      '--deduplication.replica-label',
      'receive_replica',
      '--http-address',
      local(port.compactHttp),
    ],
    ports: [{ port: port.compactHttp, what: 'compactor HTTP' }],
    url: http(port.compactHttp),
    address: http(port.compactHttp),
    files: objstoreFiles,
  });
  if (o.alertmanager) {
    const dir = join(d, 'alertmanager');
    const cfg = join(dir, 'alertmanager.yml');
    ps.push({
      name: 'alertmanager',
    stage: 0,
      component: 'alertmanager',
      bin: 'alertmanager',
      args: [`--config.file=${cfg}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=${local(port.alertmanager)}`, '--cluster.listen-address='],
      ports: [{ port: port.alertmanager, what: 'Alertmanager' }],
      url: http(port.alertmanager),
      address: http(port.alertmanager),
      externalLabels: {},
      files: [{ path: cfg, content: ['route:', '  receiver: quickstart', '  group_by: [alertname, cluster]', 'receivers:', '  - name: quickstart', ''].join('\n') }],
    });
  }
  // The ruler evaluates the demo rules through the query; its results and ALERTS are
  // served back to the query over StoreAPI and shipped to the bucket.
  thanos({
    name: 'rule',
    stage: 2,
    component: 'rule',
    args: [
      'rule',
      '--query',
      local(port.queryHttp),
      '--rule-file',
      join(rulesDir, '*.yml'),
      '--eval-interval',
      QUICKSTART_EVAL_INTERVAL,
      '--label',
      'ruler="quickstart"',
      '--data-dir',
      join(d, 'rule'),
      '--tsdb.block-duration',
      o.blockDuration,
      '--objstore.config-file',
      objstoreFile,
      '--alert.query-url',
      http(port.queryHttp),
      ...(o.alertmanager ? ['--alertmanagers.url', http(port.alertmanager)] : []),
      '--http-address',
      local(port.ruleHttp),
      '--grpc-address',
      local(port.ruleGrpc),
    ],
    ports: [
      { port: port.ruleHttp, what: 'ruler HTTP' },
      { port: port.ruleGrpc, what: 'ruler gRPC' },
    ],
    url: http(port.ruleHttp),
    address: http(port.ruleHttp),
    externalLabels: { ruler: 'quickstart' },
    files: [...objstoreFiles, { path: join(rulesDir, 'demo.yml'), content: QUICKSTART_DEMO_RULES }],
  });
  // A stable sort: within a stage, the order above.
  const processes = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0].stage - b[0].stage || a[1] - b[1]).map(([p]) => p);
  return { processes, objstoreFile, bucketDir, logDir, hashringsFile, rulesDir };
}

/**
 * Every port a layout needs, Alertmanager's included whether it runs or not (so a run
 * without it can later be restarted with it), in start order.
 */
export function quickstartPorts(o: QuickstartOptions): { port: number; what: string }[] {
  return quickstartTopology({ ...o, alertmanager: true }).processes.flatMap((p) => p.ports);
}
