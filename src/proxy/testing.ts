// Builders of Services and EndpointSlices for the proxy's tests and benchmark.
//
// Address plan used by the tests (as kube-proxy's proxier_test.go):
//   Service ClusterIPs:        10.96.0.0/16, fd00:96::/112
//   Pod IPs (this node):       10.244.1.0/24, fd00:244:1::/64   node "node-a", node IP 192.168.0.10
//   Pod IPs (other node):      10.244.2.0/24, fd00:244:2::/64   node "node-b"
//   LoadBalancer / external:   203.0.113.0/24
//   Clients outside:           198.51.100.0/24
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

export interface ServiceOptions {
  namespace?: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: ServicePort[];
  externalIPs?: string[];
  loadBalancerIngress?: { ip: string; ipMode?: 'VIP' | 'Proxy' }[];
  loadBalancerSourceRanges?: string[];
  affinityTimeout?: number;
  externalTrafficPolicy?: 'Local' | 'Cluster';
  internalTrafficPolicy?: 'Local' | 'Cluster';
  healthCheckNodePort?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  trafficDistribution?: string;
}

export function makeService(name: string, o: ServiceOptions = {}): Service {
  const clusterIPs = o.clusterIPs ?? [o.clusterIP ?? '10.96.0.10'];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: o.namespace ?? 'default', ...(o.labels ? { labels: o.labels } : {}), ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      type: o.type ?? 'ClusterIP',
      clusterIP: clusterIPs[0],
      clusterIPs,
      ports: o.ports ?? [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      ...(o.externalIPs ? { externalIPs: o.externalIPs } : {}),
      ...(o.loadBalancerSourceRanges ? { loadBalancerSourceRanges: o.loadBalancerSourceRanges } : {}),
      ...(o.affinityTimeout !== undefined ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: o.affinityTimeout } } } : {}),
      ...(o.externalTrafficPolicy ? { externalTrafficPolicy: o.externalTrafficPolicy } : {}),
      ...(o.internalTrafficPolicy ? { internalTrafficPolicy: o.internalTrafficPolicy } : {}),
      ...(o.healthCheckNodePort ? { healthCheckNodePort: o.healthCheckNodePort } : {}),
      ...(o.trafficDistribution ? { trafficDistribution: o.trafficDistribution } : {}),
    },
    ...(o.loadBalancerIngress ? { status: { loadBalancer: { ingress: o.loadBalancerIngress } } } : {}),
  };
}

export interface EndpointOptions {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zone?: string;
  hints?: string[];
}

export function makeSlice(
  service: string,
  endpoints: EndpointOptions[],
  o: { namespace?: string; name?: string; ports?: { name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[]; addressType?: 'IPv4' | 'IPv6' } = {},
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: o.name ?? `${service}-abc`, namespace: o.namespace ?? 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: o.addressType ?? (endpoints[0]?.ip.includes(':') ? 'IPv6' : 'IPv4'),
    ports: (o.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }]).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ...(e.ready !== undefined ? { ready: e.ready } : {}),
        ...(e.serving !== undefined ? { serving: e.serving } : {}),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
      ...(e.node ? { nodeName: e.node } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.hints ? { hints: { forZones: e.hints.map((name) => ({ name })) } } : {}),
    })),
  };
}
