// The legacy Endpoints object of a Service, pure: its subsets as the Endpoints controller builds
// them (pkg/controller/endpoint, pkg/api/v1/endpoints): one address per pod of the Service's
// primary IP family, ready or not, per resolved port; repacked so that addresses offering the
// same ports share a subset; sorted; truncated to 1000 addresses with the over-capacity
// annotation.
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import {
  annotationOverCapacity,
  annotationTriggerTime,
  canonicalIP,
  findPort,
  isPodReady,
  isServiceIPSet,
  labelHeadless,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from '../endpointslice/index.ts';

/** The most addresses an Endpoints object holds (maxCapacity). */
export const maxCapacity = 1000;

/** The pod's address for the Service: its IP of the Service's primary family (podToEndpointAddressForService). */
export function podToEndpointAddress(svc: Service, pod: Pod): EndpointAddress | undefined {
  let family = svc.spec?.ipFamilies?.[0];
  if (!family) {
    const ip = svc.spec?.clusterIP;
    if (ip && ip !== 'None') family = canonicalIP(ip)?.family ?? 'IPv4';
    else family = pod.status?.podIP && canonicalIP(pod.status.podIP)?.family === 'IPv6' ? 'IPv6' : 'IPv4';
  }
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : [pod.status?.podIP];
  const ip = ips.find((x) => !!x && canonicalIP(x)?.family === family);
  if (!ip) return undefined;
  const addr: EndpointAddress = {
    ip,
    nodeName: pod.spec?.nodeName,
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
  };
  if (addr.nodeName === undefined) delete addr.nodeName;
  if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec!.hostname;
  return addr;
}

export interface DesiredSubsets {
  subsets: EndpointSubset[];
  ready: number;
  notReady: number;
}

/** The Service's subsets from its pods (syncService's loop, then RepackSubsets). */
export function computeSubsets(svc: Service, pods: readonly Pod[]): DesiredSubsets {
  const raw: EndpointSubset[] = [];
  let ready = 0;
  let notReady = 0;
  const tolerateUnready = !!svc.spec?.publishNotReadyAddresses;
  const add = (pod: Pod, addr: EndpointAddress, port: EndpointPort | undefined) => {
    const ports = port ? [port] : [];
    if (tolerateUnready || isPodReady(pod)) {
      raw.push({ addresses: [addr], ports });
      ready++;
    } else {
      raw.push({ notReadyAddresses: [addr], ports });
      notReady++;
    }
  };
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerateUnready)) continue;
    const addr = podToEndpointAddress(svc, pod);
    if (!addr) continue;
    const svcPorts = svc.spec?.ports ?? [];
    // A headless Service may have no ports.
    if (svcPorts.length === 0) {
      if (svc.spec?.clusterIP === 'None') add(pod, addr, undefined);
      continue;
    }
    for (const sp of svcPorts) {
      const n = findPort(pod, sp);
      if (n === undefined) continue;
      const p: EndpointPort = { name: sp.name ?? '', port: n, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol !== undefined) p.appProtocol = sp.appProtocol;
      add(pod, addr, p);
    }
  }
  return { subsets: repackSubsets(raw), ready, notReady };
}

function addressKey(a: EndpointAddress): string {
  return `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
}

function portKey(p: EndpointPort): string {
  return JSON.stringify([p.name ?? '', p.port, p.protocol ?? 'TCP', p.appProtocol ?? null]);
}

/** LessEndpointAddress: by IP (as bytes), then by the pod's uid. */
function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef?.uid;
  const ub = b.targetRef?.uid;
  if (ub === undefined) return ua === undefined ? 0 : 1;
  if (ua === undefined) return -1;
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * RepackSubsets: every (address, port) pair is mapped out, an address is not ready for a port
 * if any subset says so, and addresses offering the same ports (with the same readiness) are
 * grouped into one subset. Portless subsets of a headless Service keep their addresses.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const allAddrs = new Map<string, EndpointAddress>();
  const byPort = new Map<string, { port: EndpointPort | undefined; addrs: Map<string, boolean> }>();
  const map = (addr: EndpointAddress, port: EndpointPort | undefined, ready: boolean) => {
    const ak = addressKey(addr);
    if (!allAddrs.has(ak)) allAddrs.set(ak, addr);
    const pk = port ? portKey(port) : '-';
    let entry = byPort.get(pk);
    if (!entry) byPort.set(pk, (entry = { port, addrs: new Map() }));
    // Not ready wins over ready.
    const was = entry.addrs.get(ak);
    if (was === undefined || was) entry.addrs.set(ak, ready);
  };
  for (const s of subsets) {
    const ports: (EndpointPort | undefined)[] = s.ports?.length ? s.ports : [undefined];
    for (const port of ports) {
      for (const a of s.addresses ?? []) map(a, port, true);
      for (const a of s.notReadyAddresses ?? []) map(a, port, false);
    }
  }
  // Group ports by the exact set of (address, readiness) offering them.
  const groups = new Map<string, { addrs: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, addrs } of byPort.values()) {
    const gk = [...addrs.entries()]
      .map(([k, r]) => `${k}\u0000${r ? 1 : 0}`)
      .sort()
      .join('\u0001');
    let g = groups.get(gk);
    if (!g) groups.set(gk, (g = { addrs, ports: [] }));
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const readyAddrs: EndpointAddress[] = [];
    const notReadyAddrs: EndpointAddress[] = [];
    for (const [k, r] of g.addrs) (r ? readyAddrs : notReadyAddrs).push(allAddrs.get(k)!);
    const s: EndpointSubset = {};
    if (readyAddrs.length) s.addresses = readyAddrs;
    if (notReadyAddrs.length) s.notReadyAddresses = notReadyAddrs;
    if (g.ports.length) s.ports = g.ports;
    out.push(s);
  }
  return sortSubsets(out);
}

function subsetKey(s: EndpointSubset): string {
  return JSON.stringify([(s.ports ?? []).map(portKey), (s.addresses ?? []).map(addressKey), (s.notReadyAddresses ?? []).map(addressKey)]);
}

/**
 * SortSubsets: addresses by IP and uid, ports and subsets in a fixed order. (Kubernetes orders
 * ports and subsets by an MD5 of their Go representation; the order is as arbitrary there.)
 */
export function sortSubsets(subsets: EndpointSubset[]): EndpointSubset[] {
  for (const s of subsets) {
    s.addresses?.sort(compareAddresses);
    s.notReadyAddresses?.sort(compareAddresses);
    s.ports?.sort((a, b) => compareStrings(portKey(a), portKey(b)));
  }
  return subsets.sort((a, b) => compareStrings(subsetKey(a), subsetKey(b)));
}

/**
 * truncateEndpoints: over maxCapacity addresses, keeps ready addresses first and spreads what
 * fits over the subsets in proportion to their size. True when it truncated.
 */
export function truncateSubsets(subsets: EndpointSubset[], capacity = maxCapacity): boolean {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= capacity) return false;
  const truncateReady = totalReady > capacity;
  const max = truncateReady ? capacity : capacity - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  for (const s of subsets) {
    const inSubset = truncateReady ? (s.addresses?.length ?? 0) : (s.notReadyAddresses?.length ?? 0);
    const toBeAdded = Math.min(Math.ceil((inSubset / numTotal) * max), canBeAdded);
    if (truncateReady) {
      if (s.addresses) s.addresses = s.addresses.slice(0, toBeAdded);
      delete s.notReadyAddresses;
      canBeAdded -= s.addresses?.length ?? 0;
    } else {
      if (s.notReadyAddresses) s.notReadyAddresses = s.notReadyAddresses.slice(0, toBeAdded);
      canBeAdded -= s.notReadyAddresses?.length ?? 0;
    }
    if (s.addresses && !s.addresses.length) delete s.addresses;
    if (s.notReadyAddresses && !s.notReadyAddresses.length) delete s.notReadyAddresses;
  }
  return true;
}

function refEqual(a: EndpointAddress['targetRef'], b: EndpointAddress['targetRef']): boolean {
  if (!a || !b) return !a && !b;
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name && a.uid === b.uid && a.apiVersion === b.apiVersion && a.fieldPath === b.fieldPath;
}

function addressesEqual(a: readonly EndpointAddress[] | undefined, b: readonly EndpointAddress[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  return x.every((p, i) => {
    const q = y[i];
    return p.ip === q.ip && (p.hostname ?? '') === (q.hostname ?? '') && (p.nodeName ?? undefined) === (q.nodeName ?? undefined) && refEqual(p.targetRef, q.targetRef);
  });
}

/** Subsets equal, ignoring the pods' resourceVersions (endpointSubsetsEqualIgnoreResourceVersion). */
export function subsetsEqual(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  return x.every((s, i) => {
    const t = y[i];
    const pa = s.ports ?? [];
    const pb = t.ports ?? [];
    return (
      addressesEqual(s.addresses, t.addresses) &&
      addressesEqual(s.notReadyAddresses, t.notReadyAddresses) &&
      pa.length === pb.length &&
      pa.every((p, j) => portKey(p) === portKey(pb[j]))
    );
  });
}

function sameMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b ?? {}, k) && a![k] === b![k]);
}

/**
 * The Endpoints object to write for the Service, or undefined when `current` is already right
 * (same subsets, labels equal to the Service's, over-capacity annotation where truncated).
 */
export function desiredEndpoints(svc: Service, current: Endpoints | undefined, subsets: EndpointSubset[], triggerTime: string): Endpoints | undefined {
  // Compared after truncation (Kubernetes compares before, so an over-capacity Service is
  // rewritten on every sync; its API server then drops the no-op write).
  const next = structuredClone(subsets);
  const truncated = truncateSubsets(next);
  if (current) {
    const compareLabels = { ...(current.metadata?.labels ?? {}) };
    delete compareLabels[labelHeadless];
    const annotated = current.metadata?.annotations?.[annotationOverCapacity];
    const capacityRight = truncated ? annotated === 'truncated' : annotated === undefined;
    if (subsetsEqual(current.subsets, next) && sameMap(compareLabels, svc.metadata?.labels) && capacityRight) return undefined;
  }
  const out: Endpoints = current
    ? structuredClone(current)
    : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.metadata?.name, namespace: svc.metadata?.namespace } };
  out.apiVersion = 'v1';
  out.kind = 'Endpoints';
  const meta = (out.metadata ??= {});
  out.subsets = next;
  const annotations = { ...(meta.annotations ?? {}) };
  if (triggerTime) annotations[annotationTriggerTime] = triggerTime;
  else delete annotations[annotationTriggerTime];
  if (truncated) annotations[annotationOverCapacity] = 'truncated';
  else delete annotations[annotationOverCapacity];
  meta.annotations = annotations;
  const labels = { ...(svc.metadata?.labels ?? {}) };
  if (!isServiceIPSet(svc)) labels[labelHeadless] = '';
  else delete labels[labelHeadless];
  meta.labels = labels;
  if (!out.subsets.length) delete out.subsets;
  return out;
}
