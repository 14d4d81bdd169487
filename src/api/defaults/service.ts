// SetDefaults_Service (pkg/apis/core/v1/defaults.go, Kubernetes 1.33) and the declarative
// port protocol default. IP families and policy are not defaulted here: they depend on the
// cluster and are decided at allocation (see ipfamilies.ts).
import type { Service } from 'kubernetes-types/core/v1.js';

/** v1.DefaultClientIPServiceAffinitySeconds: three hours. */
export const defaultClientIPServiceAffinitySeconds = 10800;

function externallyAccessible(svc: Service): boolean {
  const s = svc.spec ?? {};
  return s.type === 'LoadBalancer' || s.type === 'NodePort' || (s.type === 'ClusterIP' && (s.externalIPs ?? []).length > 0);
}

export function setDefaultsService(svc: Service): void {
  svc.spec ??= {};
  const s = svc.spec;
  if (!s.sessionAffinity) s.sessionAffinity = 'None';
  if (s.sessionAffinity === 'None') delete s.sessionAffinityConfig;
  if (s.sessionAffinity === 'ClientIP') {
    const t = s.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (t === undefined || t === null) s.sessionAffinityConfig = { clientIP: { timeoutSeconds: defaultClientIPServiceAffinitySeconds } };
  }
  if (!s.type) s.type = 'ClusterIP';
  for (const p of s.ports ?? []) {
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(svc) && !s.externalTrafficPolicy) s.externalTrafficPolicy = 'Cluster';
  if ((s.internalTrafficPolicy === undefined || s.internalTrafficPolicy === null) && (s.type === 'NodePort' || s.type === 'LoadBalancer' || s.type === 'ClusterIP')) {
    s.internalTrafficPolicy = 'Cluster';
  }
  if (s.type === 'LoadBalancer') {
    if (s.allocateLoadBalancerNodePorts === undefined || s.allocateLoadBalancerNodePorts === null) s.allocateLoadBalancerNodePorts = true;
    // Load-balancer controllers (MetalLB among them) write only "ip"; the API server adds VIP.
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) if (ing.ip && !ing.ipMode) ing.ipMode = 'VIP';
  }
  // ServiceStatus and LoadBalancerStatus are structs: kubectl shows "status: {loadBalancer: {}}".
  const status = ((svc as { status?: Service['status'] }).status ??= {});
  status.loadBalancer ??= {};
}
