// One Service's LoadBalancer addresses, decided as MetalLB's controller decides them
// (controller/service.go convergeBalancer and allocateIPs): keep what the status says when the
// config still allows it, honour requested addresses and pools, otherwise allocate. Pure apart
// from the allocator it updates; what to write and which Events to record come back as data.
import type { Service } from 'kubernetes-types/core/v1.js';
import { labelsToString } from '../../api/selectors/index.ts';
import { AllocationError, type AllocRequest, type Allocator, type FamilyPolicy, type ServiceFamily } from './allocator.ts';
import { formatAddr, parseAddr, quoteList, type Addr } from './ip.ts';

export const annotationPrefix = 'metallb.io';
export const deprecatedAnnotationPrefix = 'metallb.universe.tf';
export const annotationAddressPool = `${annotationPrefix}/address-pool`;
export const annotationLoadBalancerIPs = `${annotationPrefix}/loadBalancerIPs`;
export const annotationAllocatedFromPool = `${annotationPrefix}/ip-allocated-from-pool`;
export const annotationAllowSharedIP = `${annotationPrefix}/allow-shared-ip`;
const deprecated = (a: string) => a.replace(`${annotationPrefix}/`, `${deprecatedAnnotationPrefix}/`);

export interface LBEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ConvergeResult {
  /** The addresses status.loadBalancer.ingress should hold (empty: none, `<pending>`). */
  ips: string[];
  /** The pool for metallb.io/ip-allocated-from-pool, or undefined to remove it. */
  pool: string | undefined;
  events: LBEvent[];
  /** False when the Service could not converge (it waits for a change: MetalLB's ErrConverge). */
  ok: boolean;
}

/** MetalLB's valueForAnnotation: the stable key if present (even empty), else the deprecated one. */
export function annotationValue(svc: Service, stable: string): string {
  const a = svc.metadata?.annotations ?? {};
  if (Object.prototype.hasOwnProperty.call(a, stable)) return a[stable] ?? '';
  return a[deprecated(stable)] ?? '';
}

export function serviceKey(svc: Service): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

/** ipfamily.ForAddresses: one address → its family; two of different families → dual. */
function familyForAddresses(ips: readonly string[]): ServiceFamily {
  if (ips.length === 1) return parseAddr(ips[0])?.family ?? 'ipv6'; // Go: a non-IPv4 To4() is IPv6
  if (ips.length === 2) {
    const a = parseAddr(ips[0]);
    const b = parseAddr(ips[1]);
    if (!a || !b) throw new AllocationError(`IPFamilyForAddresses: Invalid address ${quoteList(ips)}`);
    if (a.family === b.family) throw new AllocationError(`IPFamilyForAddresses: same address family ${quoteList(ips)}`);
    return 'dual';
  }
  throw new AllocationError(`IPFamilyForAddresses: invalid ips length ${ips.length} ${quoteList(ips)}`);
}

/** ipfamily.ForService: from clusterIPs (or clusterIP). */
export function serviceFamily(svc: Service): ServiceFamily {
  const ips = svc.spec?.clusterIPs?.length ? svc.spec.clusterIPs : [svc.spec?.clusterIP ?? ''];
  return familyForAddresses(ips);
}

export function familyPolicy(svc: Service): FamilyPolicy {
  const p = svc.spec?.ipFamilyPolicy;
  return p === 'PreferDualStack' || p === 'RequireDualStack' ? p : 'SingleStack';
}

/** k8salloc.Ports: "TCP/80" per port. */
export function servicePorts(svc: Service): string[] {
  return (svc.spec?.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`);
}

/** k8salloc.BackendKey: ETP Local Services share only with the same selector. */
export function backendKey(svc: Service): string {
  return svc.spec?.externalTrafficPolicy === 'Local' ? labelsToString(svc.spec.selector) : '';
}

export function allocRequest(svc: Service, family: ServiceFamily): AllocRequest {
  const first = svc.spec?.ipFamilies?.[0];
  return {
    key: serviceKey(svc),
    namespace: svc.metadata?.namespace ?? '',
    labels: svc.metadata?.labels ?? {},
    ports: servicePorts(svc),
    sharingKey: annotationValue(svc, annotationAllowSharedIP),
    backendKey: backendKey(svc),
    family,
    policy: familyPolicy(svc),
    primary: first === 'IPv6' ? 'ipv6' : 'ipv4',
  };
}

/** getDesiredLbIPs: metallb.io/loadBalancerIPs or spec.loadBalancerIP, never both. */
export function desiredIPs(svc: Service): { ips: Addr[]; family?: ServiceFamily } {
  const annotated = annotationValue(svc, annotationLoadBalancerIPs);
  const specIP = svc.spec?.loadBalancerIP ?? '';
  if (annotated === '' && specIP === '') return { ips: [] };
  if (annotated !== '' && specIP !== '') throw new AllocationError(`service can not have both ${annotationLoadBalancerIPs} and svc.Spec.LoadBalancerIP`);
  if (annotated !== '') {
    const ips: Addr[] = [];
    for (const part of annotated.split(',')) {
      const a = parseAddr(part.trim());
      if (!a) throw new AllocationError(`invalid ${annotationLoadBalancerIPs}: "${annotated}"`);
      ips.push(a);
    }
    return { ips, family: familyForAddresses(ips.map(formatAddr)) };
  }
  const a = parseAddr(specIP);
  if (!a) throw new AllocationError(`invalid spec.loadBalancerIP "${specIP}"`);
  return { ips: [a], family: a.family };
}

function sameIPs(a: readonly Addr[], b: readonly Addr[]): boolean {
  const x = a.map(formatAddr).sort();
  const y = b.map(formatAddr).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** serviceFamilyChanged: the status' family no longer fits the Service's. */
function familyChanged(lb: ServiceFamily, cluster: ServiceFamily, policy: FamilyPolicy): boolean {
  if (lb === cluster) return false;
  return !(cluster === 'dual' && policy === 'PreferDualStack');
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** allocateIPs: requested addresses, else the requested pool, else any pool. */
function allocateIPs(alloc: Allocator, svc: Service, key: string): Addr[] {
  const family = serviceFamily(svc);
  const desired = desiredIPs(svc);
  const pool = annotationValue(svc, annotationAddressPool);
  const req = allocRequest(svc, family);
  if (desired.ips.length > 0) {
    const texts = quoteList(desired.ips.map(formatAddr));
    if (family !== desired.family) throw new AllocationError(`requested loadBalancer IP(s) ${texts} does not match the ipFamily of the service`);
    alloc.assign(req, desired.ips);
    if (pool !== '' && alloc.pool(key) !== pool) {
      alloc.unassign(key);
      throw new AllocationError(`requested loadBalancer IP(s) ${texts} is not compatible with requested address pool ${pool}`);
    }
    return desired.ips;
  }
  if (pool !== '') return alloc.allocateFromPool(req, pool);
  return alloc.allocate(req);
}

/**
 * convergeBalancer for a Service MetalLB handles (no loadBalancerClass). Updates the allocator
 * and says what the Service's status and pool annotation should be.
 */
export function convergeService(alloc: Allocator, svc: Service): ConvergeResult {
  const key = serviceKey(svc);
  const events: LBEvent[] = [];
  const clear = (ok: boolean): ConvergeResult => {
    alloc.unassign(key);
    return { ips: [], pool: undefined, events, ok };
  };
  const warn = (reason: string, msg: string) => events.push({ type: 'Warning', reason, message: msg });
  const info = (reason: string, msg: string) => events.push({ type: 'Normal', reason, message: msg });

  // Not (or no longer) a LoadBalancer: release, and never allocate.
  if (svc.spec?.type !== 'LoadBalancer') return clear(true);
  if (alloc.pools.byName.size === 0) {
    // MetalLB clears silently here; svcnet says why the Service stays <pending>.
    alloc.unassign(key);
    warn('AllocationFailed', `Failed to allocate IP for "${key}": no available IPs`);
    return { ips: [], pool: undefined, events, ok: false };
  }
  if (!svc.spec.clusterIPs?.length && !svc.spec.clusterIP) return clear(false);

  let lbIPs: Addr[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    const a = ing.ip ? parseAddr(ing.ip) : undefined;
    if (a) lbIPs.push(a);
  }
  const policy = familyPolicy(svc);
  if (policy === 'RequireDualStack' && (svc.spec.clusterIPs?.length ?? 0) < 2) {
    warn('not enough clusterips', `Service requires dual stack but not enough clusterips [${(svc.spec.clusterIPs ?? []).join(' ')}]`);
    return clear(false);
  }

  let family: ServiceFamily;
  try {
    family = serviceFamily(svc);
  } catch (e) {
    warn('noclusterIPsIPFamily', `Failed to retrieve ClusterIPs IPFamily for ${quoteList(svc.spec.clusterIPs ?? [])} ${svc.spec.clusterIP ?? ''}: ${message(e)}`);
    return { ips: lbIPs.map(formatAddr), pool: alloc.pool(key) || undefined, events, ok: false };
  }

  if (lbIPs.length === 0) alloc.unassign(key);
  else {
    let lbFamily: ServiceFamily | undefined;
    try {
      lbFamily = familyForAddresses(lbIPs.map(formatAddr));
    } catch (e) {
      warn('nolbIPsIPFamily', `Failed to retrieve LBIPs IPFamily for ${quoteList(lbIPs.map(formatAddr))}: ${message(e)}`);
    }
    if (lbFamily === undefined || familyChanged(lbFamily, family, policy)) {
      alloc.unassign(key);
      lbIPs = [];
    }
  }

  const req = allocRequest(svc, family);
  if (lbIPs.length > 0) {
    // The config may have changed under the address: keep it only if it is still allowed.
    try {
      alloc.assign(req, lbIPs);
    } catch (e) {
      info('ClearAssignment', `current IP for "${key}" not allowed by config, will attempt for new IP assignment: ${message(e)}`);
      alloc.unassign(key);
      lbIPs = [];
    }
    const wantPool = annotationValue(svc, annotationAddressPool);
    if (lbIPs.length > 0 && wantPool !== '' && alloc.pool(key) !== wantPool) {
      alloc.unassign(key);
      lbIPs = [];
    }
    let desired: Addr[];
    try {
      desired = desiredIPs(svc).ips;
    } catch (e) {
      warn('LoadBalancerFailed', `invalid requested loadbalancer IPs: ${message(e)}`);
      return { ips: lbIPs.map(formatAddr), pool: alloc.pool(key) || undefined, events, ok: false };
    }
    if (desired.length > 0 && !sameIPs(lbIPs, desired)) {
      alloc.unassign(key);
      lbIPs = [];
    }
  }

  // PreferDualStack with one address: try the other family from the same pool. Only for
  // Services that have both families (MetalLB also tries for single-family ones, whose second
  // address the next pass then drops again).
  if (lbIPs.length === 1 && policy === 'PreferDualStack' && family === 'dual') {
    try {
      const extra = alloc.allocateAdditionalFamily(req, lbIPs[0], alloc.pool(key));
      lbIPs = [lbIPs[0], extra];
      info('IPAllocated', `Assigned additional IP "${formatAddr(extra)}"`);
    } catch (e) {
      if (!(e instanceof AllocationError)) throw e;
      info('AdditionalAssignFailed', `cannot assign additional IP in PreferDualStack: ${e.message}`);
    }
  }

  if (lbIPs.length === 0) {
    try {
      lbIPs = allocateIPs(alloc, svc, key);
    } catch (e) {
      if (!(e instanceof AllocationError)) throw e;
      warn('AllocationFailed', `Failed to allocate IP for "${key}": ${e.message}`);
      return { ips: [], pool: undefined, events, ok: false };
    }
    info('IPAllocated', `Assigned IP ${quoteList(lbIPs.map(formatAddr))}`);
  }

  const pool = alloc.pool(key);
  if (!pool) {
    warn('InternalError', 'allocated an IP that has no pool');
    return clear(false);
  }
  return { ips: lbIPs.map(formatAddr), pool, events, ok: true };
}

