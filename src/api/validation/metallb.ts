// metallb.io/v1beta1 IPAddressPool and L2Advertisement: what the CRD schema refuses (a 422,
// like any custom resource) and what MetalLB's validating webhooks refuse (a 403 "admission
// webhook ... denied the request", in MetalLB's own words, internal/config of v0.14+).
import type { KubeObject } from '../index.ts';
import { fe, invalidEach, path, type FieldError } from './field.ts';
import { nameIsDNSSubdomain } from './format.ts';
import { validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate } from './objectmeta.ts';
import { compareIP, parseCIDRSloppy, parseIPSloppy, ipString } from './net.ts';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';

export interface IPAddressPoolSpec {
  addresses?: string[];
  autoAssign?: boolean;
  avoidBuggyIPs?: boolean;
  serviceAllocation?: {
    priority?: number;
    namespaces?: string[];
    namespaceSelectors?: LabelSelector[];
    serviceSelectors?: LabelSelector[];
  };
}

export interface IPAddressPool extends KubeObject {
  spec?: IPAddressPoolSpec;
  status?: { assignedIPv4?: number; assignedIPv6?: number; availableIPv4?: number; availableIPv6?: number };
}

export interface L2AdvertisementSpec {
  ipAddressPools?: string[];
  ipAddressPoolSelectors?: LabelSelector[];
  nodeSelectors?: LabelSelector[];
  interfaces?: string[];
}

export interface L2Advertisement extends KubeObject {
  spec?: L2AdvertisementSpec;
}

export const ipAddressPoolWebhook = 'ipaddresspoolvalidationwebhook.metallb.io';
export const l2AdvertisementWebhook = 'l2advertisementvalidationwebhook.metallb.io';

/**
 * MetalLB's ParseCIDR: a CIDR, or a range "start-end" of two addresses of one family with
 * start <= end. Returns MetalLB's error text, or undefined when the entry is good. (MetalLB
 * itself does not catch mixed families; the wording for that case is ours.)
 */
export function parseMetalLBAddresses(cidr: string): string | undefined {
  if (!cidr.includes('-')) return parseCIDRSloppy(cidr) ? undefined : `invalid CIDR "${cidr}"`;
  const i = cidr.indexOf('-');
  const a = cidr.slice(0, i);
  const b = cidr.slice(i + 1);
  const start = parseIPSloppy(a.trim());
  if (!start) return `invalid IP range "${cidr}": invalid start IP "${a}"`;
  const end = parseIPSloppy(b.trim());
  if (!end) return `invalid IP range "${cidr}": invalid end IP "${b}"`;
  if (start.family !== end.family) return `invalid IP range "${cidr}": start IP "${ipString(start)}" and end IP "${ipString(end)}" are not of the same IP family`;
  if (compareIP(start, end) > 0) return `invalid IP range "${cidr}": start IP "${ipString(start)}" is after the end IP "${ipString(end)}"`;
  return undefined;
}

/** The CRD schema's checks on an IPAddressPool (create and update). */
export function validateIPAddressPool(pool: IPAddressPool): FieldError[] {
  const errs = validateObjectMeta(pool.metadata, true, nameIsDNSSubdomain, 'metadata', { kubeFinalizers: false });
  if (!pool.spec) errs.push(fe.required('spec', ''));
  else if (pool.spec.addresses === undefined || pool.spec.addresses === null) errs.push(fe.required('spec.addresses', ''));
  const sa = pool.spec?.serviceAllocation;
  (sa?.namespaceSelectors ?? []).forEach((s, i) => errs.push(...validateLabelSelector(s, path.index('spec.serviceAllocation.namespaceSelectors', i))));
  (sa?.serviceSelectors ?? []).forEach((s, i) => errs.push(...validateLabelSelector(s, path.index('spec.serviceAllocation.serviceSelectors', i))));
  return errs;
}

export function validateIPAddressPoolUpdate(pool: IPAddressPool, old: IPAddressPool): FieldError[] {
  return [...validateObjectMetaUpdate(pool.metadata, old.metadata, 'metadata', { kubeFinalizers: false }), ...validateIPAddressPool(pool)];
}

/** What MetalLB's IPAddressPool webhook says when it denies the pool, or undefined. */
export function ipAddressPoolDenial(pool: IPAddressPool): string | undefined {
  const name = pool.metadata?.name ?? '';
  const addresses = pool.spec?.addresses ?? [];
  if (addresses.length === 0) return `parsing address pool ${name}: pool has no prefixes defined`;
  for (const a of addresses) {
    const err = parseMetalLBAddresses(a);
    if (err) return `parsing address pool ${name}: invalid CIDR "${a}" in pool "${name}": ${err}`;
  }
  return undefined;
}

export function validateL2Advertisement(adv: L2Advertisement): FieldError[] {
  const errs = validateObjectMeta(adv.metadata, true, nameIsDNSSubdomain, 'metadata', { kubeFinalizers: false });
  const s = adv.spec ?? {};
  const seen = new Set<string>();
  (s.ipAddressPools ?? []).forEach((p, i) => {
    const fp = path.index('spec.ipAddressPools', i);
    errs.push(...invalidEach(fp, p, nameIsDNSSubdomain(p, false)));
    if (seen.has(p)) errs.push(fe.duplicate(fp, p));
    seen.add(p);
  });
  (s.ipAddressPoolSelectors ?? []).forEach((sel, i) => errs.push(...validateLabelSelector(sel, path.index('spec.ipAddressPoolSelectors', i))));
  (s.nodeSelectors ?? []).forEach((sel, i) => errs.push(...validateLabelSelector(sel, path.index('spec.nodeSelectors', i))));
  return errs;
}

export function validateL2AdvertisementUpdate(adv: L2Advertisement, old: L2Advertisement): FieldError[] {
  return [...validateObjectMetaUpdate(adv.metadata, old.metadata, 'metadata', { kubeFinalizers: false }), ...validateL2Advertisement(adv)];
}
