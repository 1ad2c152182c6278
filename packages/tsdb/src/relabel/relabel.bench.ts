// npx vitest bench --run packages/tsdb/src/relabel
// The label sets and rules of Prometheus's BenchmarkRelabel ("kubernetes", "static label
// pair"), plus a Thanos block-selector shard rule on __block_id and external labels.
import { bench, describe } from 'vitest';
import { labelsFromStrings } from '../labels/index.js';
import { parseRelabelConfigs } from './relabel-config.js';
import { relabel } from './relabel.js';

const k8sLabels = labelsFromStrings(
  '__address__', '10.132.183.40:80',
  '__meta_kubernetes_namespace', 'loki-boltdb-shipper',
  '__meta_kubernetes_pod_annotation_promtail_loki_boltdb_shipper_hash', '50523b9759094a144adcec2eae0aa4ad',
  '__meta_kubernetes_pod_annotationpresent_promtail_loki_boltdb_shipper_hash', 'true',
  '__meta_kubernetes_pod_container_init', 'false',
  '__meta_kubernetes_pod_container_name', 'promtail',
  '__meta_kubernetes_pod_container_port_name', 'http-metrics',
  '__meta_kubernetes_pod_container_port_number', '80',
  '__meta_kubernetes_pod_container_port_protocol', 'TCP',
  '__meta_kubernetes_pod_controller_kind', 'DaemonSet',
  '__meta_kubernetes_pod_controller_name', 'promtail-loki-boltdb-shipper',
  '__meta_kubernetes_pod_host_ip', '10.128.0.178',
  '__meta_kubernetes_pod_ip', '10.132.183.40',
  '__meta_kubernetes_pod_label_controller_revision_hash', '555b77cd7d',
  '__meta_kubernetes_pod_label_name', 'promtail-loki-boltdb-shipper',
  '__meta_kubernetes_pod_label_pod_template_generation', '45',
  '__meta_kubernetes_pod_labelpresent_controller_revision_hash', 'true',
  '__meta_kubernetes_pod_labelpresent_name', 'true',
  '__meta_kubernetes_pod_labelpresent_pod_template_generation', 'true',
  '__meta_kubernetes_pod_name', 'promtail-loki-boltdb-shipper-jgtr7',
  '__meta_kubernetes_pod_node_name', 'gke-dev-us-central-0-main-n2s8-2-14d53341-9hkr',
  '__meta_kubernetes_pod_phase', 'Running',
  '__meta_kubernetes_pod_ready', 'true',
  '__meta_kubernetes_pod_uid', '4c586419-7f6c-448d-aeec-ca4fa5b05e60',
  '__metrics_path__', '/metrics',
  '__scheme__', 'http',
  '__scrape_interval__', '15s',
  '__scrape_timeout__', '10s',
  'job', 'kubernetes-pods',
);

const k8sRules = parseRelabelConfigs([
  { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: '.*-metrics', action: 'keep' },
  { source_labels: ['__meta_kubernetes_pod_label_name'], action: 'drop', regex: '' },
  { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Succeeded|Failed', action: 'drop' },
  { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'false', action: 'drop' },
  { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scheme'], target_label: '__scheme__', regex: '(https?)', replacement: '$1' },
  { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], target_label: '__metrics_path__', regex: '(.+)', replacement: '$1' },
  {
    source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
    target_label: '__address__',
    regex: '(.+?)(\\:\\d+)?;(\\d+)',
    replacement: '$1:$3',
  },
  { regex: '__meta_kubernetes_pod_annotation_prometheus_io_param_(.+)', replacement: '__param_$1', action: 'labelmap' },
  { regex: '__meta_kubernetes_pod_label_prometheus_io_label_(.+)', action: 'labelmap' },
  { regex: '__meta_kubernetes_pod_annotation_prometheus_io_label_(.+)', action: 'labelmap' },
  { source_labels: ['__meta_kubernetes_namespace', '__meta_kubernetes_pod_label_name'], separator: '/', target_label: 'job', replacement: '$1' },
  { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
  { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
  {
    source_labels: ['__meta_kubernetes_pod_name', '__meta_kubernetes_pod_container_name', '__meta_kubernetes_pod_container_port_name'],
    separator: ':',
    target_label: 'instance',
  },
  { target_label: 'cluster', replacement: 'dev-us-central-0' },
  { source_labels: ['__meta_kubernetes_namespace'], regex: 'hosted-grafana', action: 'drop' },
  { source_labels: ['__address__'], target_label: '__tmp_hash', modulus: 3, action: 'hashmod' },
  { source_labels: ['__tmp_hash'], regex: '^0$', action: 'keep' },
  { regex: '__tmp_hash', action: 'labeldrop' },
]);

const staticLabels = labelsFromStrings(
  'abcdefg01', 'hijklmn1', 'abcdefg02', 'hijklmn2', 'abcdefg03', 'hijklmn3', 'abcdefg04', 'hijklmn4',
  'abcdefg05', 'hijklmn5', 'abcdefg06', 'hijklmn6', 'abcdefg07', 'hijklmn7', 'abcdefg08', 'hijklmn8',
  'job', 'foo',
);
const staticRules = parseRelabelConfigs([
  { replacement: 'wwwwww', target_label: 'wwwwww' },
  { replacement: 'yyyyyyyyyyyy', target_label: 'xxxxxxxxx' },
  { replacement: 'xxxxxxxxx', target_label: 'yyyyyyyyyyyy' },
  { source_labels: ['something'], target_label: 'with_source_labels', replacement: 'value' },
  { replacement: 'dropped', target_label: '${0}' },
  { replacement: '${0}', target_label: 'dropped' },
]);

const blockLabels = labelsFromStrings('__block_id', '01HQ6V3T4ZKJ8X0M2N5P7R9S1W', 'cluster', 'eu-1', 'replica', 'a', 'tenant', 'team-42');
const shardRules = parseRelabelConfigs([
  { source_labels: ['__block_id'], target_label: 'shard', modulus: 4, action: 'hashmod' },
  { source_labels: ['shard'], regex: '2', action: 'keep' },
]);

describe('relabel', () => {
  bench('kubernetes (20 rules, 29 labels)', () => {
    relabel(k8sLabels, k8sRules);
  });
  bench('static label pairs (6 rules)', () => {
    relabel(staticLabels, staticRules);
  });
  bench('block selector: hashmod __block_id + keep', () => {
    relabel(blockLabels, shardRules);
  });
});
