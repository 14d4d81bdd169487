// Conversion at the informer boundary: a Service or EndpointSlice becomes the few fields the
// proxy uses (kube-proxy's newBaseServiceInfo and endpointslicecache), so that an update that
// only touches other fields is a no-op for the change trackers.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Protocol, ServiceInfo, ServicePortInfo, SliceInfo } from '../types.ts';

/** Services with this label belong to another proxy (kube-proxy ignores them too). */
export const LabelServiceProxyName = 'service.kubernetes.io/service-proxy-name';
/** Headless Services carry it; kube-proxy's informer filters them out. */
export const LabelHeadless = 'service.kubernetes.io/headless';
export const LabelServiceName = 'kubernetes.io/service-name';
export const AnnotationTopologyMode = 'service.kubernetes.io/topology-mode';
export const AnnotationLoadBalancerSourceRanges = 'service.beta.kubernetes.io/load-balancer-source-ranges';
export const DefaultAffinityTimeoutSeconds = 10800;

function protocolOf(p: string | undefined): Protocol | undefined {
  const v = p ?? 'TCP';
  return v === 'TCP' || v === 'UDP' || v === 'SCTP' ? v : undefined;
}

/** A CIDR with a host address becomes the network ("10.0.0.1/8" stays valid for nft as "10.0.0.0/8"). */
function sourceRanges(svc: Service): string[] {
  let ranges = svc.spec?.loadBalancerSourceRanges ?? [];
  if (ranges.length === 0) {
    const a = svc.metadata?.annotations?.[AnnotationLoadBalancerSourceRanges];
    if (a) ranges = a.split(',');
  }
  return ranges.map((r) => r.trim()).filter((r) => r !== '');
}

/**
 * The proxied form of a Service, or undefined when the proxy ignores it: no ClusterIP ("None"
 * or unset: headless), type ExternalName, or labelled for another service proxy.
 */
export function toServiceInfo(svc: Service): ServiceInfo | undefined {
  const labels = svc.metadata?.labels ?? {};
  if (LabelServiceProxyName in labels || LabelHeadless in labels) return undefined;
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return undefined;
  const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter((ip) => ip !== '' && ip !== 'None');
  if (clusterIPs.length === 0) return undefined;

  const ns = svc.metadata?.namespace ?? '';
  const service = `${ns}/${svc.metadata?.name ?? ''}`;
  const isLB = spec.type === 'LoadBalancer';
  const loadBalancerIPs = isLB
    ? (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip && i.ipMode !== 'Proxy').map((i) => i.ip as string)
    : [];
  const externalIPs = spec.externalIPs ?? [];
  const hasNodePorts = (spec.ports ?? []).some((p) => (p.nodePort ?? 0) > 0);
  const externallyAccessible = hasNodePorts || loadBalancerIPs.length > 0 || externalIPs.length > 0;
  const affinity = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DefaultAffinityTimeoutSeconds) : 0;
  const topologyMode = svc.metadata?.annotations?.[AnnotationTopologyMode] ?? svc.metadata?.annotations?.['service.kubernetes.io/topology-aware-hints'];
  const topologyAware =
    topologyMode !== undefined ? topologyMode === 'Auto' || topologyMode === 'auto' : spec.trafficDistribution === 'PreferClose' || spec.trafficDistribution === 'PreferSameZone';

  const ports: ServicePortInfo[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = protocolOf(p.protocol);
    if (!protocol) continue;
    const portName = p.name ?? '';
    ports.push({
      name: `${service}:${portName}`,
      service,
      portName,
      protocol,
      port: p.port,
      clusterIPs,
      nodePort: p.nodePort ?? 0,
      loadBalancerIPs,
      externalIPs,
      loadBalancerSourceRanges: isLB ? sourceRanges(svc) : [],
      affinityTimeoutSeconds: affinity,
      externalPolicyLocal: externallyAccessible && spec.externalTrafficPolicy === 'Local',
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      healthCheckNodePort: isLB && spec.externalTrafficPolicy === 'Local' ? (spec.healthCheckNodePort ?? 0) : 0,
      topologyAware,
    });
  }
  return { name: service, ports };
}

/** The proxied form of an EndpointSlice (FQDN slices are kept but yield no endpoints). */
export function toSliceInfo(slice: EndpointSlice): SliceInfo {
  const ns = slice.metadata?.namespace ?? '';
  const svcName = slice.metadata?.labels?.[LabelServiceName];
  const family = slice.addressType === 'IPv6' ? 'IPv6' : slice.addressType === 'IPv4' ? 'IPv4' : 'FQDN';
  const ports: SliceInfo['ports'] = [];
  for (const p of slice.ports ?? []) {
    const protocol = protocolOf(p.protocol);
    if (!protocol || p.port === undefined) continue;
    ports.push({ name: p.name ?? '', protocol, port: p.port });
  }
  const endpoints: SliceInfo['endpoints'] = [];
  for (const e of slice.endpoints) {
    const ip = e.addresses[0];
    if (!ip) continue;
    const c = e.conditions ?? {};
    const ready = c.ready ?? true;
    // One object shape for every endpoint (no conditional fields): copying and comparing
    // 100,000s of them is then an order of magnitude faster.
    endpoints.push({
      ip,
      ready,
      serving: c.serving ?? ready,
      terminating: c.terminating ?? false,
      nodeName: e.nodeName ?? undefined,
      zone: e.zone ?? undefined,
      zoneHints: e.hints?.forZones ? e.hints.forZones.map((z) => z.name) : undefined,
    });
  }
  return { name: `${ns}/${slice.metadata?.name ?? ''}`, service: svcName ? `${ns}/${svcName}` : '', family, ports, endpoints };
}
