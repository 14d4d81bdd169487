// ipFamilyPolicy and ipFamilies defaulting, decided at allocation time because it depends on the
// cluster's configured families: initIPFamilyFields of pkg/registry/core/service/storage/alloc.go.
import type { Service } from 'kubernetes-types/core/v1.js';
import { clusterIPFamilies, familyOf, validateServiceClusterIPsRelatedFields, type ClusterConfig, type FieldError } from '../validation/index.ts';
import { fieldErrors } from '../index.ts';

type Family = 'IPv4' | 'IPv6';

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** isMatchingPreferDualStackClusterIPFields: an unchanged PreferDualStack service is left alone. */
function isMatchingPreferDualStack(svc: Service, old: Service | undefined): boolean {
  if (!old) return false;
  const s = svc.spec ?? {};
  const o = old.spec ?? {};
  if (s.ipFamilyPolicy === undefined || s.ipFamilyPolicy === null) return false;
  if (o.type !== s.type) return false;
  if (s.type !== 'ClusterIP' && s.type !== 'NodePort' && s.type !== 'LoadBalancer') return false;
  if (s.ipFamilyPolicy !== 'PreferDualStack') return false;
  if (o.ipFamilyPolicy !== undefined && o.ipFamilyPolicy !== null && o.ipFamilyPolicy !== 'PreferDualStack') return false;
  return sameList(o.clusterIPs, s.clusterIPs) && sameList(o.ipFamilies, s.ipFamilies);
}

/**
 * Defaults spec.ipFamilyPolicy and spec.ipFamilies of a Service about to be allocated, from the
 * cluster's families (`cfg.serviceCIDRs`, primary first), exactly as kube-apiserver's allocator
 * does on create (`old` undefined) and update. Mutates `svc`; returns the field errors that make
 * the request a 422 (e.g. "this cluster is not configured for dual-stack services"). Call it
 * after defaulting and normalizeClusterIPs, before allocating cluster IPs.
 */
export function initServiceIPFamilies(svc: Service, old: Service | undefined, cfg: ClusterConfig): FieldError[] {
  svc.spec ??= {};
  const s = svc.spec;
  if (s.type === 'ExternalName') return [];
  if (isMatchingPreferDualStack(svc, old)) return [];
  const configured = clusterIPFamilies(cfg);
  const defaultFamily: Family = configured[0] ?? 'IPv4';

  if (s.ipFamilyPolicy === undefined || s.ipFamilyPolicy === null) {
    if (old?.spec?.ipFamilyPolicy) s.ipFamilyPolicy = old.spec.ipFamilyPolicy;
    else if (s.clusterIP === 'None' && Object.keys(s.selector ?? {}).length === 0) s.ipFamilyPolicy = 'RequireDualStack';
    else s.ipFamilyPolicy = 'SingleStack';
  }

  const pre = validateServiceClusterIPsRelatedFields(svc);
  if (pre.length) return pre;

  const errs: FieldError[] = [];
  if (old) {
    if (s.ipFamilyPolicy === 'SingleStack') {
      // Setting SingleStack with unchanged IPs and families is clear intent to drop the secondary.
      if (sameList(old.spec?.clusterIPs, s.clusterIPs) && (s.clusterIPs ?? []).length > 1) s.clusterIPs = s.clusterIPs?.slice(0, 1);
      if (sameList(old.spec?.ipFamilies, s.ipFamilies) && (s.ipFamilies ?? []).length > 1) s.ipFamilies = s.ipFamilies?.slice(0, 1);
    } else {
      const newIPs = s.clusterIPs ?? [];
      if (newIPs.length > 0 && newIPs.length < (old.spec?.clusterIPs ?? []).length) {
        errs.push(fieldErrors.invalid('spec.ipFamilyPolicy', s.ipFamilyPolicy, "must be 'SingleStack' to release the secondary cluster IP"));
      }
      const newFams = s.ipFamilies ?? [];
      if (newFams.length > 0 && newFams.length < (old.spec?.ipFamilies ?? []).length) {
        errs.push(fieldErrors.invalid('spec.ipFamilyPolicy', s.ipFamilyPolicy, "must be 'SingleStack' to release the secondary IP family"));
      }
    }
  }

  if (s.ipFamilyPolicy === 'SingleStack') {
    if ((s.clusterIPs ?? []).length === 2) {
      errs.push(fieldErrors.invalid('spec.ipFamilyPolicy', s.ipFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"));
    }
    if ((s.ipFamilies ?? []).length === 2) {
      errs.push(fieldErrors.invalid('spec.ipFamilyPolicy', s.ipFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"));
    }
  }

  // Infer ipFamilies from clusterIPs.
  const ips = s.clusterIPs ?? [];
  for (let i = 0; i < ips.length; i++) {
    const ip = ips[i] ?? '';
    if (ip === 'None') break;
    const fam = familyOf(ip) ?? 'unknown';
    if (i >= (s.ipFamilies ?? []).length) {
      if (fam === 'unknown' || !configured.includes(fam)) {
        errs.push(fieldErrors.invalid(`spec.clusterIPs[${i}]`, ips, `${fam} is not configured on this cluster`));
      } else {
        s.ipFamilies = [...(s.ipFamilies ?? []), fam];
      }
    }
  }
  if (errs.length) return errs;

  // Headless and selectorless: may hold families the cluster does not have.
  if (s.clusterIP === 'None' && Object.keys(s.selector ?? {}).length === 0) {
    if ((s.ipFamilies ?? []).length === 0) s.ipFamilies = [defaultFamily];
    const fams = s.ipFamilies ?? [];
    if (fams.length < 2 && s.ipFamilyPolicy !== 'SingleStack') s.ipFamilies = [...fams, fams[0] === 'IPv4' ? 'IPv6' : 'IPv4'];
    return [];
  }

  if (s.ipFamilyPolicy === 'RequireDualStack' && configured.length < 2) {
    errs.push(fieldErrors.invalid('spec.ipFamilyPolicy', s.ipFamilyPolicy, 'this cluster is not configured for dual-stack services'));
  }
  (s.ipFamilies ?? []).forEach((f, i) => {
    if (!configured.includes(f as Family)) errs.push(fieldErrors.invalid(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster'));
  });
  if (errs.length) return errs;

  if ((s.ipFamilies ?? []).length === 0) s.ipFamilies = [defaultFamily];
  const fams = s.ipFamilies ?? [];
  if (s.ipFamilyPolicy !== 'SingleStack' && fams.length === 1 && configured.length === 2) {
    s.ipFamilies = [...fams, fams[0] === 'IPv4' ? 'IPv6' : 'IPv4'];
  }
  return [];
}
