// kube-proxy's Prometheus metrics (pkg/proxy/metrics), same names, on a registry passed in.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const exponential = (start: number, factor: number, count: number): number[] => Array.from({ length: count }, (_, i) => start * factor ** i);
const linear = (start: number, width: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + width * i);

export class ProxyMetrics {
  readonly syncProxyRulesLatency: Histogram;
  readonly syncFullProxyRulesLatency: Histogram;
  readonly syncPartialProxyRulesLatency: Histogram;
  readonly networkProgrammingLatency: Histogram;
  readonly lastSyncTimestamp: Gauge;
  readonly lastQueuedTimestamp: Gauge;
  readonly endpointChangesPending: Gauge;
  readonly endpointChangesTotal: Counter;
  readonly serviceChangesPending: Gauge;
  readonly serviceChangesTotal: Counter;
  readonly nftablesSyncFailuresTotal: Counter;
  readonly noLocalEndpointsTotal: Gauge<'traffic_policy'>;
  readonly healthzTotal: Counter<'code'>;
  readonly livezTotal: Counter<'code'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const latency = exponential(0.001, 2, 15);
    this.syncProxyRulesLatency = new Histogram({ name: 'kubeproxy_sync_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds', buckets: latency, registers });
    this.syncFullProxyRulesLatency = new Histogram({ name: 'kubeproxy_sync_full_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds for full resyncs', buckets: latency, registers });
    this.syncPartialProxyRulesLatency = new Histogram({ name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds for partial resyncs', buckets: latency, registers });
    this.networkProgrammingLatency = new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: 'In Cluster Network Programming Latency in seconds',
      buckets: [...linear(0.25, 0.25, 2), ...linear(1, 1, 59), ...linear(60, 5, 12), ...linear(120, 30, 7)],
      registers,
    });
    this.lastSyncTimestamp = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced', registers });
    this.lastQueuedTimestamp = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', help: 'The last time a sync of proxy rules was queued', registers });
    this.endpointChangesPending = new Gauge({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', help: 'Pending proxy rules Endpoint changes', registers });
    this.endpointChangesTotal = new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative proxy rules Endpoint changes', registers });
    this.serviceChangesPending = new Gauge({ name: 'kubeproxy_sync_proxy_rules_service_changes_pending', help: 'Pending proxy rules Service changes', registers });
    this.serviceChangesTotal = new Counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative proxy rules Service changes', registers });
    this.nftablesSyncFailuresTotal = new Counter({ name: 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total', help: 'Cumulative proxy nftables sync failures', registers });
    this.noLocalEndpointsTotal = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Number of services with a Local traffic policy and no endpoints',
      labelNames: ['traffic_policy'],
      registers,
    });
    this.healthzTotal = new Counter({ name: 'kubeproxy_proxy_healthz_total', help: 'Cumulative proxy healthz HTTP status', labelNames: ['code'], registers });
    this.livezTotal = new Counter({ name: 'kubeproxy_proxy_livez_total', help: 'Cumulative proxy livez HTTP status', labelNames: ['code'], registers });
  }
}
