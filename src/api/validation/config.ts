// The cluster settings that some rules depend on: kube-apiserver's --service-cluster-ip-range
// and --service-node-port-range. Validation proper needs none of them (as in Kubernetes); the
// IP-family defaulting and the allocation range checks do.
import { fe, goStringSlice, goValueError, path, type FieldError } from './field.ts';
import { cidrContains, parseCIDRSloppy, parseIPSloppy, type IPFamily } from './net.ts';
import type { Service } from 'kubernetes-types/core/v1.js';

export interface ClusterConfig {
  /**
   * Service CIDRs, primary first, at most one per family (e.g. ["10.96.0.0/12"] or
   * ["10.96.0.0/12", "fd00:10:96::/108"]). Their families are the cluster's Service IP families;
   * the first one's family is the default for single-stack Services.
   */
  serviceCIDRs: readonly string[];
  /** The NodePort range, as --service-node-port-range (default 30000-32767). */
  nodePortRange: { base: number; size: number };
}

export const defaultClusterConfig: ClusterConfig = {
  serviceCIDRs: ['10.96.0.0/12'],
  nodePortRange: { base: 30000, size: 2768 },
};

/** Families by the CIDRs' text: every Service write asks, the CIDRs seldom change. */
const familiesByCIDRs = new Map<string, readonly IPFamily[]>();

/** The configured IP families, primary first. */
export function clusterIPFamilies(cfg: ClusterConfig): IPFamily[] {
  const key = cfg.serviceCIDRs.join(',');
  let families = familiesByCIDRs.get(key);
  if (!families) {
    const out: IPFamily[] = [];
    for (const c of cfg.serviceCIDRs) {
      const f = parseCIDRSloppy(c)?.ip.family;
      if (f && !out.includes(f)) out.push(f);
    }
    if (familiesByCIDRs.size >= 64) familiesByCIDRs.clear();
    familiesByCIDRs.set(key, out);
    families = out;
  }
  return [...families];
}

/**
 * What the allocators would refuse without looking at what is allocated: a requested cluster
 * IP outside the family's CIDR, a requested NodePort outside the range. (A health-check node port out of range is
 * an internal error in Kubernetes, not a field error, so it is left to the allocator.) Same words as
 * Kubernetes' ipallocator and portallocator (as wrapped by the Service registry). An allocator
 * may call this before allocating; it is not part of validateCreate/validateUpdate.
 */
export function checkAllocationRanges(svc: Service, cfg: ClusterConfig): FieldError[] {
  const errs: FieldError[] = [];
  const s = svc.spec ?? {};
  if (s.type !== 'ExternalName') {
    for (const ip of s.clusterIPs ?? []) {
      if (ip === 'None' || ip === '') continue;
      const parsed = parseIPSloppy(ip);
      if (!parsed) continue;
      const cidrText = cfg.serviceCIDRs.find((c) => parseCIDRSloppy(c)?.ip.family === parsed.family);
      const cidr = cidrText ? parseCIDRSloppy(cidrText) : undefined;
      if (!cidr || !cidrText) continue; // "not configured on this cluster" is the family check's job.
      if (!cidrContains(cidr, parsed)) {
        errs.push(
          goValueError(
            'FieldValueInvalid',
            'spec.clusterIPs',
            goStringSlice(s.clusterIPs),
            `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${cidrText}`,
          ),
        );
      }
    }
  }
  const { base, size } = cfg.nodePortRange;
  const rangeText = `${base}-${base + size - 1}`;
  (s.ports ?? []).forEach((p, i) => {
    const np = p.nodePort ?? 0;
    if (np !== 0 && (np < base || np >= base + size)) {
      errs.push(
        fe.invalid(path.child(path.index('spec.ports', i), 'nodePort'), np, `provided port is not in the valid range. The range of valid ports is ${rangeText}`),
      );
    }
  });
  return errs;
}
