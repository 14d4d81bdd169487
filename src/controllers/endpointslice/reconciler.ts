// The EndpointSlice reconciler (k8s.io/endpointslice's Reconciler), pure: from a Service, the
// pods its selector matches, the Nodes and the slices that exist, the slices to create, update
// and delete. Packing and churn follow Kubernetes: endpoints are grouped by address type and by
// their resolved ports; an endpoint stays in the slice it is in (updated in place when its
// conditions change); slices that changed anyway are filled first, then the unchanged slice
// that the rest fits best, then new slices; a slice left empty is deleted, and deletions are
// recycled into updates where a create is due. A Service without endpoints keeps one empty
// "placeholder" slice per address type.
import ipaddr from 'ipaddr.js';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import {
  annotationTriggerTime,
  findPort,
  isPodReady,
  isServiceIPSet,
  labelHeadless,
  labelManagedBy,
  labelServiceName,
  labelTopologyZone,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './pods.ts';

/** The managed-by value of the slices this controller owns. */
export const controllerName = 'endpointslice-controller.k8s.io';
/** kube-controller-manager's --max-endpoints-per-slice default. */
export const defaultMaxEndpointsPerSlice = 100;

export type AddressType = 'IPv4' | 'IPv6';

export interface ReconcileInput {
  service: Service;
  /** The pods the Service's selector matches (any order). */
  pods: readonly Pod[];
  /** The slices labelled for this Service and managed by this controller. */
  existingSlices: readonly EndpointSlice[];
  /** The Node of a pod (its zone label); a pod on an unknown Node is left out unless publishNotReadyAddresses. */
  nodeByName(name: string): Node | undefined;
  maxEndpointsPerSlice?: number;
  /** The trigger-time annotation for written slices; "" or absent removes it. */
  triggerTime?: string;
  controllerName?: string;
}

export interface SliceChanges {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
  /** Pods left out for now (Kubernetes' "Node Not Found"): the Service is synced again later. */
  errors: string[];
}

// ---- addresses, endpoints and ports ----

/** An IP as Go's net.IP.String() prints it, and its family; undefined when it is not an IP. */
const plainIPv4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function canonicalIP(s: string): { ip: string; family: AddressType } | undefined {
  // The common case, already canonical (no leading zeros), without parsing.
  if (plainIPv4.test(s)) return { ip: s, family: 'IPv4' };
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return { ip: ipaddr.IPv4.parse(s).toString(), family: 'IPv4' };
  if (!ipaddr.IPv6.isValid(s)) return undefined;
  const v6 = ipaddr.IPv6.parse(s);
  // A v4-mapped address is an IPv4 address to Go.
  if (v6.isIPv4MappedAddress()) return { ip: v6.toIPv4Address().toString(), family: 'IPv4' };
  return { ip: v6.toRFC5952String(), family: 'IPv6' };
}

/** The address types a Service's slices have: one per IP family (getAddressTypesForService). */
export function addressTypesForService(svc: Service): AddressType[] {
  const out: AddressType[] = [];
  for (const f of svc.spec?.ipFamilies ?? []) {
    if ((f === 'IPv4' || f === 'IPv6') && !out.includes(f)) out.push(f);
  }
  if (out.length) return out;
  // Services written before families were defaulted: the ClusterIP's family, or both when headless.
  const ip = svc.spec?.clusterIP;
  if (ip && ip !== 'None') return [canonicalIP(ip)?.family ?? 'IPv4'];
  return ['IPv4', 'IPv6'];
}

/** The pod's IPs of one family (getEndpointAddresses). */
export function podAddresses(pod: Pod, addressType: AddressType): string[] {
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : pod.status?.podIP ? [pod.status.podIP] : [];
  const out: string[] = [];
  for (const raw of ips) {
    const c = raw ? canonicalIP(raw) : undefined;
    if (c && c.family === addressType) out.push(c.ip);
  }
  return out;
}

/** The Service's ports with targetPorts resolved for one pod (getEndpointPorts). */
export function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const ports = svc.spec?.ports ?? [];
  const out: EndpointPort[] = [];
  for (const sp of ports) {
    const n = findPort(pod, sp);
    if (n === undefined) continue;
    const p: EndpointPort = { name: sp.name ?? '', port: n, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol !== undefined) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  return out;
}

function portKey(p: EndpointPort): string {
  return JSON.stringify([p.name ?? '', p.port ?? 0, p.protocol ?? 'TCP', p.appProtocol ?? null]);
}

/** Ports in a canonical order (Kubernetes orders them by hash; any fixed order serves). */
export function sortPorts(ports: readonly EndpointPort[]): EndpointPort[] {
  return [...ports].sort((a, b) => (portKey(a) < portKey(b) ? -1 : portKey(a) > portKey(b) ? 1 : 0));
}

/** Identifies a set of ports regardless of order (NewPortMapKey). */
export function portMapKey(ports: readonly EndpointPort[] | undefined): string {
  return (ports ?? []).map(portKey).sort().join('|');
}

/** An endpoint's identity: addresses, hostname and pod (hashEndpoint); other fields may change in place. */
export function endpointKey(ep: Endpoint): string {
  return JSON.stringify([[...ep.addresses].sort(), ep.hostname ?? '', ep.targetRef?.namespace ?? '', ep.targetRef?.name ?? '']);
}

/** Equal beyond what endpointKey covers, ignoring the pod reference's resourceVersion (EndpointsEqualBeyondHash). */
export function endpointsEqualBeyondHash(a: Endpoint, b: Endpoint): boolean {
  if (a.nodeName !== b.nodeName || a.zone !== b.zone) return false;
  const ca = a.conditions ?? {};
  const cb = b.conditions ?? {};
  if (ca.ready !== cb.ready || ca.serving !== cb.serving || ca.terminating !== cb.terminating) return false;
  const ra = a.targetRef;
  const rb = b.targetRef;
  if (!ra || !rb) return !ra && !rb;
  return ra.kind === rb.kind && ra.namespace === rb.namespace && ra.name === rb.name && ra.uid === rb.uid && ra.apiVersion === rb.apiVersion && ra.fieldPath === rb.fieldPath;
}

/** The endpoint of a pod for one address type (podToEndpoint). */
export function podToEndpoint(pod: Pod, node: Node | undefined, svc: Service, addressType: AddressType): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  // "ready" is never true for a terminating pod, unless the Service publishes not-ready addresses.
  const ready = !!svc.spec?.publishNotReadyAddresses || (serving && !terminating);
  const ep: Endpoint = {
    addresses: podAddresses(pod, addressType),
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata?.labels?.[labelTopologyZone];
  if (zone) ep.zone = zone;
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
  return ep;
}

// ---- slices ----

function isReservedLabel(k: string): boolean {
  return k === labelServiceName || k === labelManagedBy || k === labelHeadless;
}

/**
 * A slice's labels: the Service's (reserved keys aside), the headless label when the Service
 * has no ClusterIP, the service-name and managed-by labels. `changed` when the slice's own
 * non-reserved labels differ from the Service's (setEndpointSliceLabels).
 */
export function sliceLabels(slice: EndpointSlice | undefined, svc: Service, managedBy: string): { labels: Record<string, string>; changed: boolean } {
  const own: Record<string, string> = {};
  for (const [k, v] of Object.entries(slice?.metadata?.labels ?? {})) if (!isReservedLabel(k)) own[k] = v;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) if (!isReservedLabel(k)) labels[k] = v;
  const changed = !sameMap(own, labels);
  if (!isServiceIPSet(svc)) labels[labelHeadless] = '';
  labels[labelServiceName] = svc.metadata?.name ?? '';
  labels[labelManagedBy] = managedBy;
  return { labels, changed };
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** The controller reference a slice carries to its Service (metav1.NewControllerRef). */
export function serviceOwnerReference(svc: Service): OwnerReference {
  return { apiVersion: 'v1', kind: 'Service', name: svc.metadata?.name ?? '', uid: svc.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** True when the slice's owner references include the Service (by uid). */
export function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  return (slice.metadata?.ownerReferences ?? []).some((o) => o.uid === svc.metadata?.uid && o.kind === 'Service' && o.apiVersion === 'v1');
}

/** A new, empty slice for the Service (newEndpointSlice); named by the API server from "<service>-". */
export function newEndpointSlice(svc: Service, ports: EndpointPort[], addressType: AddressType, managedBy: string): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata?.name ?? ''}-`,
      namespace: svc.metadata?.namespace,
      labels: sliceLabels(undefined, svc, managedBy).labels,
      ownerReferences: [serviceOwnerReference(svc)],
    },
    addressType,
    endpoints: [],
    ports,
  };
}

/** The placeholder compares by namespace, labels, address type, ports and endpoints only. */
function placeholderEqual(a: EndpointSlice, b: EndpointSlice): boolean {
  return (
    a.metadata?.namespace === b.metadata?.namespace &&
    sameMap(a.metadata?.labels ?? {}, b.metadata?.labels ?? {}) &&
    a.addressType === b.addressType &&
    !(a.ports ?? []).length &&
    !(b.ports ?? []).length &&
    !(a.endpoints ?? []).length &&
    !(b.endpoints ?? []).length
  );
}

/** The slice closest to full once `n` endpoints are added, if any fits them (getSliceToFill). */
function sliceToFill(slices: readonly EndpointSlice[], n: number, max: number): EndpointSlice | undefined {
  let closestDiff = max;
  let closest: EndpointSlice | undefined;
  for (const s of slices) {
    const diff = max - (n + (s.endpoints ?? []).length);
    if (diff >= 0 && diff < closestDiff) {
      closestDiff = diff;
      closest = s;
      if (diff === 0) break;
    }
  }
  return closest;
}

function copySlice(s: EndpointSlice): EndpointSlice {
  const c = structuredClone(s);
  c.endpoints ??= [];
  return c;
}

/** Takes the first desired endpoint out of the set (Kubernetes pops any; the first keeps tests repeatable). */
function popFirst(set: Map<string, Endpoint>): Endpoint {
  const [k, ep] = set.entries().next().value as [string, Endpoint];
  set.delete(k);
  return ep;
}

interface PortMappingResult {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

/** reconcileByPortMapping: one group of slices with the same ports and address type. */
function reconcileByPortMapping(
  svc: Service,
  existing: readonly EndpointSlice[],
  desired: Map<string, Endpoint>,
  ports: EndpointPort[],
  addressType: AddressType,
  max: number,
  managedBy: string,
): PortMappingResult {
  const byName = new Map<string, EndpointSlice>();
  const unchanged = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();

  // 1. Keep the endpoints still desired where they are (updated in place), drop the rest.
  for (const s of existing) {
    const name = s.metadata?.name ?? '';
    byName.set(name, s);
    const kept: Endpoint[] = [];
    let endpointUpdated = false;
    for (const ep of s.endpoints ?? []) {
      const k = endpointKey(ep);
      const want = desired.get(k);
      if (!want) continue;
      kept.push(want);
      if (!endpointsEqualBeyondHash(want, ep)) endpointUpdated = true;
      desired.delete(k);
    }
    const { labels, changed } = sliceLabels(s, svc, managedBy);
    if (endpointUpdated || (s.endpoints ?? []).length !== kept.length) {
      if (kept.length === 0) toDelete.add(name);
      else {
        const c = copySlice(s);
        c.endpoints = kept;
        (c.metadata ??= {}).labels = labels;
        byName.set(name, c);
        toUpdate.add(name);
      }
    } else if (changed) {
      const c = copySlice(s);
      (c.metadata ??= {}).labels = labels;
      byName.set(name, c);
      toUpdate.add(name);
    } else {
      unchanged.add(name);
    }
  }

  // 2. Fill the slices that are written anyway, fullest first.
  if (desired.size > 0 && toUpdate.size > 0) {
    const slices = [...toUpdate].map((n) => byName.get(n)!);
    slices.sort((a, b) => b.endpoints.length - a.endpoints.length || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    for (const s of slices) while (desired.size > 0 && s.endpoints.length < max) s.endpoints.push(popFirst(desired));
  }

  // 3. The rest goes into the unchanged slice it fits best, else into new slices.
  const create: EndpointSlice[] = [];
  while (desired.size > 0) {
    let fill: EndpointSlice | undefined;
    if (desired.size < max && unchanged.size > 0) {
      const candidates = [...unchanged].sort().map((n) => byName.get(n)!);
      const found = sliceToFill(candidates, desired.size, max);
      if (found) {
        fill = copySlice(found);
        byName.set(fill.metadata?.name ?? '', fill);
      }
    }
    fill ??= newEndpointSlice(svc, ports, addressType, managedBy);
    while (desired.size > 0 && fill.endpoints.length < max) fill.endpoints.push(popFirst(desired));
    const name = fill.metadata?.name;
    if (name) {
      toUpdate.add(name);
      unchanged.delete(name);
    } else {
      create.push(fill);
    }
  }

  return {
    create,
    update: [...toUpdate].map((n) => byName.get(n)!),
    delete: [...toDelete].map((n) => byName.get(n)!),
  };
}

function setTriggerTime(s: EndpointSlice, triggerTime: string | undefined): void {
  const meta = (s.metadata ??= {});
  const annotations = { ...(meta.annotations ?? {}) };
  if (triggerTime) annotations[annotationTriggerTime] = triggerTime;
  else delete annotations[annotationTriggerTime];
  meta.annotations = annotations;
}

/**
 * finalize: a create and a delete of the same address type become one update of the slice
 * that would be deleted (when the Service owns it); no creates for a Service being deleted.
 */
function finalize(svc: Service, create: EndpointSlice[], update: EndpointSlice[], del: EndpointSlice[], triggerTime: string | undefined): Omit<SliceChanges, 'errors'> {
  create = [...create];
  update = [...update];
  del = [...del];
  for (let i = 0; i < del.length && create.length > 0; ) {
    const old = del[i];
    const slice = create[create.length - 1];
    if (old.addressType === slice.addressType && ownedBy(old, svc)) {
      const om = old.metadata ?? {};
      const meta: ObjectMeta = { ...slice.metadata, name: om.name, resourceVersion: om.resourceVersion, uid: om.uid };
      if (om.generateName) meta.generateName = om.generateName;
      else delete meta.generateName;
      slice.metadata = meta;
      create.pop();
      update.push(slice);
      del.splice(i, 1);
    } else {
      i++;
    }
  }
  if (svc.metadata?.deletionTimestamp) create = [];
  for (const s of create) setTriggerTime(s, triggerTime);
  for (const s of update) setTriggerTime(s, triggerTime);
  return { create, update, delete: del };
}

function reconcileByAddressType(inp: ReconcileInput, addressType: AddressType, existing: readonly EndpointSlice[], errors: string[]): Omit<SliceChanges, 'errors'> {
  const svc = inp.service;
  const max = inp.maxEndpointsPerSlice ?? defaultMaxEndpointsPerSlice;
  const managedBy = inp.controllerName ?? controllerName;
  const create: EndpointSlice[] = [];
  const update: EndpointSlice[] = [];
  let del: EndpointSlice[] = [];

  const existingByPorts = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    if (!ownedBy(s, svc)) {
      del.push(s);
      continue;
    }
    const k = portMapKey(s.ports);
    let list = existingByPorts.get(k);
    if (!list) existingByPorts.set(k, (list = []));
    list.push(s);
  }

  const desiredPorts = new Map<string, EndpointPort[]>();
  const desired = new Map<string, Map<string, Endpoint>>();
  for (const pod of inp.pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports = sortPorts(endpointPorts(svc, pod));
    const k = portMapKey(ports);
    let set = desired.get(k);
    if (!set) {
      desired.set(k, (set = new Map<string, Endpoint>()));
      desiredPorts.set(k, ports);
    }
    const nodeName = pod.spec?.nodeName ?? '';
    const node = nodeName ? inp.nodeByName(nodeName) : undefined;
    if (!node && !svc.spec?.publishNotReadyAddresses) {
      const msg = `skipping Pod ${pod.metadata?.name ?? ''} for Service ${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}: Node ${nodeName} Not Found`;
      if (!errors.includes(msg)) errors.push(msg);
      continue;
    }
    const ep = podToEndpoint(pod, node, svc, addressType);
    if (ep.addresses.length > 0) set.set(endpointKey(ep), ep);
  }

  for (const [k, set] of desired) {
    const r = reconcileByPortMapping(svc, existingByPorts.get(k) ?? [], set, desiredPorts.get(k)!, addressType, max, managedBy);
    create.push(...r.create);
    update.push(...r.update);
    del.push(...r.delete);
  }
  for (const [k, slices] of existingByPorts) if (!desired.has(k)) del.push(...slices);

  // A Service without endpoints keeps one empty slice per address type.
  if (existing.length === del.length && create.length < 1) {
    const placeholder = newEndpointSlice(svc, [], addressType, managedBy);
    if (del.length === 1 && placeholderEqual(del[0], placeholder)) del = [];
    else create.push(placeholder);
  }
  return finalize(svc, create, update, del, inp.triggerTime);
}

/** The changes that make the Service's slices match its pods (Reconciler.Reconcile). */
export function reconcile(inp: ReconcileInput): SliceChanges {
  const types = addressTypesForService(inp.service);
  const out: SliceChanges = { create: [], update: [], delete: [], errors: [] };
  const byType = new Map<string, EndpointSlice[]>();
  const unsupported: EndpointSlice[] = [];
  for (const s of inp.existingSlices) {
    if (!types.includes(s.addressType as AddressType)) {
      unsupported.push(s);
      continue;
    }
    let list = byType.get(s.addressType);
    if (!list) byType.set(s.addressType, (list = []));
    list.push(s);
  }
  for (const t of types) {
    const r = reconcileByAddressType(inp, t, byType.get(t) ?? [], out.errors);
    out.create.push(...r.create);
    out.update.push(...r.update);
    out.delete.push(...r.delete);
  }
  out.delete.push(...unsupported);
  return out;
}
