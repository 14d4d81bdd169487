// The Service registry's write-time adjustments (pkg/registry/core/service/strategy.go and
// storage.go, Kubernetes 1.33): keep values the server allocated when a client resubmits a
// manifest without them, keep clusterIP and clusterIPs in step, and, when the type changes,
// clear the fields the new type does not use if the client left them unchanged.
import type { Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import { externallyAccessible } from '../validation/index.ts';

function spec(svc: Service): ServiceSpec {
  svc.spec ??= {};
  return svc.spec;
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function needsClusterIP(svc: Service): boolean {
  return svc.spec?.type !== 'ExternalName';
}

function needsNodePort(svc: Service): boolean {
  return svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
}

function needsHCNodePort(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && svc.spec.externalTrafficPolicy === 'Local';
}

/**
 * patchAllocatedValues: a client that resubmits its manifest (kubectl replace, a PUT without
 * clusterIP or nodePort) keeps what the server allocated rather than asking to change it.
 */
export function patchAllocatedValues(svc: Service, old: Service): void {
  const s = spec(svc);
  const o = old.spec ?? {};
  if (needsClusterIP(old) && needsClusterIP(svc)) {
    if (!s.clusterIP && o.clusterIP) s.clusterIP = o.clusterIP;
    if ((s.clusterIPs ?? []).length === 0 && o.clusterIPs) s.clusterIPs = [...o.clusterIPs];
  }
  if (needsNodePort(old) && needsNodePort(svc)) {
    // Matched by port name: the client may have changed other properties of the port.
    const byName = new Map<string, number>();
    for (const p of o.ports ?? []) byName.set(p.name ?? '', p.nodePort ?? 0);
    for (const p of s.ports ?? []) {
      if (!p.nodePort) {
        const np = byName.get(p.name ?? '') ?? 0;
        if (np) p.nodePort = np;
      }
    }
  }
  if (needsHCNodePort(old) && needsHCNodePort(svc) && !s.healthCheckNodePort && o.healthCheckNodePort) {
    s.healthCheckNodePort = o.healthCheckNodePort;
  }
}

/**
 * NormalizeClusterIPs: infer clusterIPs from clusterIP for clients that only know the
 * singular field. Considers nothing else; validation judges the result.
 */
export function normalizeClusterIPs(svc: Service, old?: Service): void {
  const s = spec(svc);
  if (!old) {
    if (s.clusterIP && (s.clusterIPs ?? []).length === 0) s.clusterIPs = [s.clusterIP];
    return;
  }
  const o = old.spec ?? {};
  // An old client patching another field and dropping clusterIPs.
  if ((o.clusterIPs ?? []).length > 0 && (s.clusterIPs ?? []).length === 0 && (o.clusterIP ?? '') === (s.clusterIP ?? '')) {
    s.clusterIPs = [...(o.clusterIPs ?? [])];
  }
  if ((o.clusterIP ?? '') !== (s.clusterIP ?? '')) {
    if (o.clusterIP && !s.clusterIP) {
      // Clearing clusterIP with clusterIPs untouched clears both.
      if (sameStrings(o.clusterIPs, s.clusterIPs)) delete s.clusterIPs;
    } else if (sameStrings(o.clusterIPs, s.clusterIPs)) {
      s.clusterIPs = s.clusterIP ? [s.clusterIP] : [];
    }
  }
}

/** Users may change nodePorts as long as they add no net-new value. */
function sameNodePorts(old: Service, svc: Service): boolean {
  const oldPorts = new Set((old.spec?.ports ?? []).map((p) => p.nodePort ?? 0).filter((n) => n !== 0));
  return (svc.spec?.ports ?? []).every((p) => !p.nodePort || oldPorts.has(p.nodePort));
}

/**
 * dropTypeDependentFields: when the type changes, clear what the new type does not use, if the
 * client did not also change it (then validation reports it). The load-balancer status goes
 * whenever the new type is not LoadBalancer. Only for updates.
 */
export function dropTypeDependentFields(svc: Service, old: Service): void {
  const s = spec(svc);
  const o = old.spec ?? {};
  if (needsClusterIP(old) && !needsClusterIP(svc)) {
    if ((o.clusterIP ?? '') === (s.clusterIP ?? '') && sameStrings(o.clusterIPs, s.clusterIPs)) {
      delete s.clusterIP;
      delete s.clusterIPs;
    }
    if (sameStrings(o.ipFamilies, s.ipFamilies)) delete s.ipFamilies;
    if ((o.ipFamilyPolicy ?? '') === (s.ipFamilyPolicy ?? '')) delete s.ipFamilyPolicy;
  }
  if (needsNodePort(old) && !needsNodePort(svc) && sameNodePorts(old, svc)) {
    for (const p of s.ports ?? []) delete p.nodePort;
  }
  if (needsHCNodePort(old) && !needsHCNodePort(svc) && (o.healthCheckNodePort ?? 0) === (s.healthCheckNodePort ?? 0)) {
    delete s.healthCheckNodePort;
  }
  if (o.type === 'LoadBalancer' && s.type !== 'LoadBalancer') {
    if (s.allocateLoadBalancerNodePorts !== undefined && o.allocateLoadBalancerNodePorts !== undefined && s.allocateLoadBalancerNodePorts === o.allocateLoadBalancerNodePorts) {
      delete s.allocateLoadBalancerNodePorts;
    }
    if ((o.loadBalancerClass ?? null) === (s.loadBalancerClass ?? null)) delete s.loadBalancerClass;
  }
  if (externallyAccessible(old) && !externallyAccessible(svc) && (o.externalTrafficPolicy ?? '') === (s.externalTrafficPolicy ?? '')) {
    delete s.externalTrafficPolicy;
  }
  if (s.type !== 'LoadBalancer') {
    const status = ((svc as { status?: Service['status'] }).status ??= {});
    status.loadBalancer = {};
  }
}
