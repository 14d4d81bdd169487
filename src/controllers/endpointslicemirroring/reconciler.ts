// The EndpointSlice mirroring reconciler (pkg/controller/endpointslicemirroring), pure: the
// slices that mirror a user-written Endpoints object of a selector-less Service. Each subset
// maps to one slice per address type (at most maxEndpointsPerSubset addresses of it are
// mirrored); a slice that differs is rewritten whole; deletions are recycled into updates
// where a create of the same address type is due.
import type { EndpointAddress, EndpointPort as CoreEndpointPort, Endpoints } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import {
  annotationLastApplied,
  annotationTriggerTime,
  canonicalIP,
  endpointKey,
  endpointsEqualBeyondHash,
  labelManagedBy,
  labelServiceName,
  portMapKey,
  type AddressType,
} from '../endpointslice/index.ts';

/** The managed-by value of mirrored slices. */
export const mirroringControllerName = 'endpointslicemirroring-controller.k8s.io';
/** kube-controller-manager's --mirroring-max-endpoints-per-subset default. */
export const defaultMaxEndpointsPerSubset = 1000;

export interface MirrorInput {
  endpoints: Endpoints;
  /** The slices labelled for these Endpoints and managed by the mirroring controller. */
  existingSlices: readonly EndpointSlice[];
  maxEndpointsPerSubset?: number;
}

export interface MirrorChanges {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
  /** Addresses that are not IPs (an InvalidIPAddress Event). */
  invalidAddresses: number;
  /** Addresses left out, the invalid ones included (TooManyAddressesToMirror when more than those). */
  skippedAddresses: number;
}

/** A subset's ports as slice ports (epPortsToEpsPorts). */
function slicePorts(ports: readonly CoreEndpointPort[] | undefined): EndpointPort[] {
  return (ports ?? []).map((p) => {
    const out: EndpointPort = { name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' };
    if (p.appProtocol !== undefined) out.appProtocol = p.appProtocol;
    return out;
  });
}

/** An Endpoints address as a slice endpoint (addressToEndpoint); undefined when it is not an IP. */
export function addressToEndpoint(address: EndpointAddress, ready: boolean): { endpoint: Endpoint; addressType: AddressType } | undefined {
  const ip = canonicalIP(address.ip);
  if (!ip) return undefined;
  const endpoint: Endpoint = { addresses: [ip.ip], conditions: { ready } };
  if (address.targetRef) endpoint.targetRef = address.targetRef;
  if (address.nodeName) endpoint.nodeName = address.nodeName;
  if (address.hostname) endpoint.hostname = address.hostname;
  return { endpoint, addressType: ip.family };
}

function groupKey(addressType: string, ports: readonly EndpointPort[] | undefined): string {
  return `${addressType}/${portMapKey(ports)}`;
}

/** The labels and annotations a mirrored slice carries (newEndpointSlice). */
function mirroredMeta(endpoints: Endpoints): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = { ...(endpoints.metadata?.labels ?? {}) };
  labels[labelServiceName] = endpoints.metadata?.name ?? '';
  labels[labelManagedBy] = mirroringControllerName;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(endpoints.metadata?.annotations ?? {})) {
    if (k !== annotationTriggerTime && k !== annotationLastApplied) annotations[k] = v;
  }
  return { labels, annotations };
}

function newMirroredSlice(endpoints: Endpoints, ports: EndpointPort[], addressType: AddressType, existing: EndpointSlice | undefined): EndpointSlice {
  const { labels, annotations } = mirroredMeta(endpoints);
  const meta: ObjectMeta = {
    namespace: endpoints.metadata?.namespace,
    labels,
    annotations,
    ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: endpoints.metadata?.name ?? '', uid: endpoints.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    ...(existing ? { name: existing.metadata?.name, resourceVersion: existing.metadata?.resourceVersion } : { generateName: `${endpoints.metadata?.name ?? ''}-` }),
  };
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta, addressType, endpoints: [], ports };
}

function sameMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b ?? {}, k) && a![k] === b![k]);
}

/** True when the slice already mirrors the desired endpoints exactly (totalChanges all zero) and the Endpoints' labels and annotations. */
function sliceMatches(slice: EndpointSlice, desired: ReadonlyMap<string, Endpoint>, endpoints: Endpoints): boolean {
  let matches = 0;
  for (const ep of slice.endpoints ?? []) {
    const want = desired.get(endpointKey(ep));
    if (!want || !endpointsEqualBeyondHash(want, ep)) return false;
    matches++;
  }
  if (matches !== desired.size) return false;
  // Beyond Kubernetes' check: label and annotation changes of the Endpoints are mirrored too.
  const { labels, annotations } = mirroredMeta(endpoints);
  const ownAnnotations = { ...(slice.metadata?.annotations ?? {}) };
  return sameMap(slice.metadata?.labels, labels) && sameMap(ownAnnotations, annotations);
}

/** The changes that make the mirrored slices match the Endpoints (reconciler.reconcile). */
export function reconcileMirror(inp: MirrorInput): MirrorChanges {
  const max = inp.maxEndpointsPerSubset ?? defaultMaxEndpointsPerSubset;
  const eps = inp.endpoints;
  const desired = new Map<string, { ports: EndpointPort[]; addressType: AddressType; set: Map<string, Endpoint> }>();
  let invalidAddresses = 0;
  let skippedAddresses = 0;
  for (const subset of eps.subsets ?? []) {
    const ports = slicePorts(subset.ports);
    for (const t of ['IPv4', 'IPv6'] as const) {
      const k = groupKey(t, ports);
      if (!desired.has(k)) desired.set(k, { ports, addressType: t, set: new Map() });
    }
    const total = (subset.addresses?.length ?? 0) + (subset.notReadyAddresses?.length ?? 0);
    let added = 0;
    const addAll = (addrs: readonly EndpointAddress[] | undefined, ready: boolean) => {
      for (const a of addrs ?? []) {
        if (added >= max) break;
        const r = addressToEndpoint(a, ready);
        if (!r) {
          invalidAddresses++;
          continue;
        }
        desired.get(groupKey(r.addressType, ports))!.set.set(endpointKey(r.endpoint), r.endpoint);
        added++;
      }
    };
    addAll(subset.addresses, true);
    addAll(subset.notReadyAddresses, false);
    skippedAddresses += total - added;
  }

  const existingByKey = new Map<string, EndpointSlice[]>();
  for (const s of inp.existingSlices) {
    const k = groupKey(s.addressType, s.ports);
    let list = existingByKey.get(k);
    if (!list) existingByKey.set(k, (list = []));
    list.push(s);
  }
  // Oldest name first, so the slice kept is a stable one.
  for (const list of existingByKey.values()) list.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));

  const create: EndpointSlice[] = [];
  const update: EndpointSlice[] = [];
  const del: EndpointSlice[] = [];
  for (const [k, d] of desired) {
    const existing = existingByKey.get(k) ?? [];
    if (d.set.size === 0) {
      del.push(...existing);
      continue;
    }
    if (existing.length > 0) {
      del.push(...existing.slice(1));
      if (sliceMatches(existing[0], d.set, eps)) continue;
    }
    const slice = newMirroredSlice(eps, d.ports, d.addressType, existing[0]);
    for (const ep of d.set.values()) {
      if (slice.endpoints.length >= max) break;
      slice.endpoints.push(ep);
    }
    (slice.metadata?.name ? update : create).push(slice);
  }
  for (const [k, list] of existingByKey) if (!desired.has(k)) del.push(...list);

  // recycleSlices: a create and a delete of the same address type become an update.
  for (const t of ['IPv4', 'IPv6']) {
    const creates = create.filter((s) => s.addressType === t);
    const deletes = del.filter((s) => s.addressType === t);
    for (let i = 0; i < creates.length && i < deletes.length; i++) {
      const c = creates[i];
      const d = deletes[i];
      create.splice(create.indexOf(c), 1);
      del.splice(del.indexOf(d), 1);
      const meta: ObjectMeta = { ...c.metadata, name: d.metadata?.name, resourceVersion: d.metadata?.resourceVersion };
      delete meta.generateName;
      c.metadata = meta;
      update.push(c);
    }
  }
  return { create, update, delete: del, invalidAddresses, skippedAddresses };
}
