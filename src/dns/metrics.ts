// Prometheus metrics named as CoreDNS's (plugin/metrics, cache, forward). The per-query ones are
// counted in typed arrays on the hot path (a prom-client inc/observe with labels costs about a
// microsecond, a tenth of a query's budget) and handed to prom-client when scraped.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { rcodeName, TYPE } from './wire.ts';

/** CoreDNS's plugin.TimeBuckets: 0.25 ms doubling to 8.192 s. */
export const TIME_BUCKETS: readonly number[] = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

// The qtypes CoreDNS reports by name; the rest are "other".
const MONITORED: readonly number[] = [TYPE.A, TYPE.AAAA, TYPE.NS, TYPE.CNAME, TYPE.SOA, TYPE.PTR, TYPE.MX, TYPE.TXT, TYPE.SRV, 43, 48, 64, 65, TYPE.IXFR, TYPE.AXFR, TYPE.ANY];
const MONITORED_NAMES: readonly string[] = ['A', 'AAAA', 'NS', 'CNAME', 'SOA', 'PTR', 'MX', 'TXT', 'SRV', 'DS', 'DNSKEY', 'SVCB', 'HTTPS', 'IXFR', 'AXFR', 'ANY', 'other'];
const TYPE_INDEX = new Int8Array(65536).fill(MONITORED.length);
MONITORED.forEach((t, i) => (TYPE_INDEX[t] = i));
const NTYPES = MONITORED_NAMES.length;

/** The label index of a qtype. */
export function typeIndex(qtype: number): number {
  return TYPE_INDEX[qtype & 0xffff];
}

export const PLUGINS = ['', 'kubernetes', 'cache', 'forward'] as const;
export type PluginIndex = 0 | 1 | 2 | 3;
const NRCODES = 24;
const NBUCKETS = TIME_BUCKETS.length + 1;

type DurationLabels = 'server' | 'zone' | 'view' | 'type';
type HistogramData = Awaited<ReturnType<Histogram<DurationLabels>['get']>>;
// prom-client declares MetricType as an enum it does not export at run time; its values are the strings.
const HISTOGRAM_TYPE = 'histogram' as unknown as HistogramData['type'];

/** A histogram whose counts live elsewhere (typed arrays); prom-client only formats them. */
class ArrayHistogram extends Histogram<DurationLabels> {
  read: () => HistogramData['values'] = () => [];

  override async get(): Promise<HistogramData> {
    return { name: 'coredns_dns_request_duration_seconds', help: 'Histogram of the time (in seconds) each request took.', type: HISTOGRAM_TYPE, aggregator: 'sum', values: this.read(), collect: () => undefined };
  }

  // The registry prefers this when present (prom-client's own histogram defines it).
  async getForPromString(): Promise<HistogramData> {
    return this.get();
  }
}

export interface ListenerLabel {
  /** CoreDNS's server label, e.g. "dns://127.0.0.1:53". */
  server: string;
}

/** Per-query counters of every listener: requests, responses by rcode and plugin, latency. */
export class DnsStats {
  readonly servers: string[];
  // [listener][proto 0 udp,1 tcp][family 0 v4,1 v6][type]
  readonly requests: Float64Array;
  // [listener][rcode][plugin]
  readonly responses: Float64Array;
  // [listener][type][bucket], and [listener][type] sums
  readonly buckets: Float64Array;
  readonly sums: Float64Array;
  readonly panics: Counter;

  constructor(registry: Registry, servers: string[]) {
    this.servers = servers;
    const n = servers.length;
    this.requests = new Float64Array(n * 2 * 2 * NTYPES);
    this.responses = new Float64Array(n * NRCODES * PLUGINS.length);
    this.buckets = new Float64Array(n * NTYPES * NBUCKETS);
    this.sums = new Float64Array(n * NTYPES);
    const { requests, responses, buckets, sums } = this;
    new Counter({
      name: 'coredns_dns_requests_total',
      help: 'Counter of DNS requests made per zone, protocol and family.',
      labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'],
      registers: [registry],
      collect() {
        this.reset();
        for (let l = 0; l < n; l++)
          for (let p = 0; p < 2; p++)
            for (let f = 0; f < 2; f++)
              for (let t = 0; t < NTYPES; t++) {
                const v = requests[((l * 2 + p) * 2 + f) * NTYPES + t];
                if (v > 0) this.inc({ server: servers[l], zone: '.', view: '', proto: p ? 'tcp' : 'udp', family: f ? '2' : '1', type: MONITORED_NAMES[t] }, v);
              }
      },
    });
    new Counter({
      name: 'coredns_dns_responses_total',
      help: 'Counter of response status codes.',
      labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'],
      registers: [registry],
      collect() {
        this.reset();
        for (let l = 0; l < n; l++)
          for (let r = 0; r < NRCODES; r++)
            for (let p = 0; p < PLUGINS.length; p++) {
              const v = responses[(l * NRCODES + r) * PLUGINS.length + p];
              if (v > 0) this.inc({ server: servers[l], zone: '.', view: '', rcode: rcodeName(r), plugin: PLUGINS[p] }, v);
            }
      },
    });
    const h = new ArrayHistogram({ name: 'coredns_dns_request_duration_seconds', help: 'Histogram of the time (in seconds) each request took.', labelNames: ['server', 'zone', 'view', 'type'], buckets: [...TIME_BUCKETS], registers: [] });
    h.read = () => {
      const values: HistogramData['values'] = [];
      for (let l = 0; l < n; l++)
        for (let t = 0; t < NTYPES; t++) {
          const base = (l * NTYPES + t) * NBUCKETS;
          let count = 0;
          for (let b = 0; b < NBUCKETS; b++) count += buckets[base + b];
          if (count === 0) continue;
          const labels = { server: servers[l], zone: '.', view: '', type: MONITORED_NAMES[t] };
          let acc = 0;
          for (let b = 0; b < TIME_BUCKETS.length; b++) {
            acc += buckets[base + b];
            values.push({ labels: { ...labels, le: TIME_BUCKETS[b] } as HistogramData['values'][number]['labels'], value: acc, metricName: 'coredns_dns_request_duration_seconds_bucket' });
          }
          values.push({ labels: { ...labels, le: '+Inf' } as HistogramData['values'][number]['labels'], value: count, metricName: 'coredns_dns_request_duration_seconds_bucket' });
          values.push({ labels, value: sums[l * NTYPES + t], metricName: 'coredns_dns_request_duration_seconds_sum' });
          values.push({ labels, value: count, metricName: 'coredns_dns_request_duration_seconds_count' });
        }
      return values;
    };
    registry.registerMetric(h);
    this.panics = new Counter({ name: 'coredns_panics_total', help: 'A metrics that counts the number of panics.', registers: [registry] });
  }

  request(listener: number, tcp: boolean, v6: boolean, typeIdx: number): void {
    this.requests[((listener * 2 + (tcp ? 1 : 0)) * 2 + (v6 ? 1 : 0)) * NTYPES + typeIdx]++;
  }

  response(listener: number, rcode: number, plugin: PluginIndex, typeIdx: number, seconds: number): void {
    this.responses[(listener * NRCODES + (rcode < NRCODES ? rcode : 0)) * PLUGINS.length + plugin]++;
    let b = 0;
    while (b < TIME_BUCKETS.length && seconds > TIME_BUCKETS[b]) b++;
    this.buckets[(listener * NTYPES + typeIdx) * NBUCKETS + b]++;
    this.sums[listener * NTYPES + typeIdx] += seconds;
  }
}

/** CoreDNS's cache plugin metrics. */
export class CacheMetrics {
  readonly hits: Counter<'server' | 'type' | 'zones' | 'view'>;
  readonly misses: Counter<'server' | 'zones' | 'view'>;
  readonly requests: Counter<'server' | 'zones' | 'view'>;
  readonly evictions: Counter<'server' | 'type' | 'zones' | 'view'>;
  readonly entries: Gauge<'server' | 'type' | 'zones' | 'view'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.hits = new Counter({ name: 'coredns_cache_hits_total', help: 'The count of cache hits.', labelNames: ['server', 'type', 'zones', 'view'], registers });
    this.misses = new Counter({ name: 'coredns_cache_misses_total', help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', labelNames: ['server', 'zones', 'view'], registers });
    this.requests = new Counter({ name: 'coredns_cache_requests_total', help: 'The count of cache requests.', labelNames: ['server', 'zones', 'view'], registers });
    this.evictions = new Counter({ name: 'coredns_cache_evictions_total', help: 'The count of cache evictions.', labelNames: ['server', 'type', 'zones', 'view'], registers });
    this.entries = new Gauge({ name: 'coredns_cache_entries', help: 'The number of elements in the cache.', labelNames: ['server', 'type', 'zones', 'view'], registers });
  }
}

/** CoreDNS's forward plugin metrics. */
export class ForwardMetrics {
  readonly requests: Counter<'to'>;
  readonly responses: Counter<'to' | 'rcode'>;
  readonly duration: Histogram<'to' | 'rcode'>;
  readonly healthcheckFailures: Counter<'to'>;
  readonly healthcheckBroken: Counter;
  readonly maxConcurrentRejects: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'coredns_forward_requests_total', help: 'Counter of requests made per upstream.', labelNames: ['to'], registers });
    this.responses = new Counter({ name: 'coredns_forward_responses_total', help: 'Counter of responses received per upstream.', labelNames: ['to', 'rcode'], registers });
    this.duration = new Histogram({ name: 'coredns_forward_request_duration_seconds', help: 'Histogram of the time each request took.', labelNames: ['to', 'rcode'], buckets: [...TIME_BUCKETS], registers });
    this.healthcheckFailures = new Counter({ name: 'coredns_forward_healthcheck_failures_total', help: 'Counter of the number of failed healthchecks.', labelNames: ['to'], registers });
    this.healthcheckBroken = new Counter({ name: 'coredns_forward_healthcheck_broken_total', help: 'Counter of the number of complete failures of the healthchecks.', registers });
    this.maxConcurrentRejects = new Counter({ name: 'coredns_forward_max_concurrent_rejects_total', help: 'Counter of the number of queries rejected because the concurrent queries were at maximum.', registers });
  }
}
