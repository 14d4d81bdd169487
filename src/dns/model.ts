// The lean model DNS answers from (CoreDNS's plugin/kubernetes/object): only the fields DNS
// needs, converted once at the informer boundary, indexed by service, by IP (for PTR) and
// endpoints by service. Objects are compared on conversion, so updates that change nothing DNS
// shows (status churn, resourceVersion bumps) leave the model, its generation and serial alone.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Namespace, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

export interface DnsPort {
  /** Lower-cased; "" for an unnamed port. */
  name: string;
  /** Lower-cased ("tcp", "udp", "sctp"). */
  protocol: string;
  /** -1 is CoreDNS's sentinel for a slice without ports: it answers A records but no SRV. */
  port: number;
}

export type DnsServiceKind = 'ClusterIP' | 'Headless' | 'ExternalName';

export interface DnsService {
  name: string;
  namespace: string;
  kind: DnsServiceKind;
  /** Canonical IP strings; empty while none is allocated. */
  clusterIPs: string[];
  ports: DnsPort[];
  /** For ExternalName: the target as given, without a trailing dot. */
  externalName: string;
}

export interface DnsEndpoint {
  ip: string;
  /** The endpoint's DNS label: its hostname, else (endpointPodNames) its pod's name, else its dashed IP. */
  hostname: string;
}

export interface DnsSlice {
  key: string;
  namespace: string;
  /** The kubernetes.io/service-name label. */
  service: string;
  ports: DnsPort[];
  /** Ready endpoints only (conditions.ready nil counts as ready, as CoreDNS). */
  endpoints: DnsEndpoint[];
}

export interface DnsPod {
  key: string;
  namespace: string;
  ips: string[];
}

export interface ConvertOptions {
  /** CoreDNS `endpoint_pod_names`: name endpoints without a hostname after their pod. */
  endpointPodNames?: boolean;
}

/** The canonical text of an IP (RFC 5952 for IPv6), or undefined when it is not one. */
export function canonicalIP(s: string): string | undefined {
  const fam = isIP(s);
  if (fam === 4) return s;
  if (fam === 6) return ipaddr.IPv6.parse(s).toString();
  return undefined;
}

function lower(s: string | undefined): string {
  return (s ?? '').toLowerCase();
}

export function toDnsService(svc: Service): DnsService | undefined {
  const name = svc.metadata?.name;
  const namespace = svc.metadata?.namespace;
  if (!name || !namespace) return undefined;
  const spec = svc.spec ?? {};
  const ports: DnsPort[] = (spec.ports ?? []).map((p) => ({ name: lower(p.name), protocol: lower(p.protocol ?? 'TCP'), port: p.port }));
  if (spec.type === 'ExternalName') {
    return { name, namespace, kind: 'ExternalName', clusterIPs: [], ports, externalName: (spec.externalName ?? '').replace(/\.$/, '') };
  }
  const raw = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  if (raw[0] === 'None') return { name, namespace, kind: 'Headless', clusterIPs: [], ports, externalName: '' };
  const clusterIPs: string[] = [];
  for (const ip of raw) {
    const c = canonicalIP(ip);
    if (c) clusterIPs.push(c);
  }
  return { name, namespace, kind: 'ClusterIP', clusterIPs, ports, externalName: '' };
}

/** CoreDNS's endpointHostname: hostname, else pod name (endpoint_pod_names), else the IP with dashes. */
export function endpointHostname(ip: string, hostname: string | undefined, podName: string | undefined, opts: ConvertOptions): string {
  if (hostname) return hostname.toLowerCase();
  if (opts.endpointPodNames && podName && podName.length < 64) return podName.toLowerCase();
  if (ip.includes('.')) return ip.replaceAll('.', '-');
  // "5678:abcd::1" -> "5678-abcd--1"; a trailing "-" is no valid label end, so "::" ends as "--0".
  const dashed = ip.replaceAll(':', '-');
  return dashed.endsWith('-') ? dashed + '0' : dashed;
}

export function toDnsSlice(slice: EndpointSlice, opts: ConvertOptions = {}): DnsSlice | undefined {
  const m = slice.metadata;
  const service = m?.labels?.['kubernetes.io/service-name'];
  if (!m?.name || !m.namespace || !service) return undefined;
  const ports: DnsPort[] = slice.ports?.length
    ? slice.ports.map((p) => ({ name: lower(p.name), protocol: lower(p.protocol ?? 'TCP'), port: p.port ?? -1 }))
    : [{ name: '', protocol: '', port: -1 }];
  const endpoints: DnsEndpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    if (ep.conditions?.ready === false) continue;
    const podName = ep.targetRef?.kind === undefined || ep.targetRef.kind === 'Pod' ? ep.targetRef?.name : undefined;
    for (const a of ep.addresses ?? []) {
      const ip = canonicalIP(a);
      if (!ip) continue; // FQDN slices carry names, not addresses
      endpoints.push({ ip, hostname: endpointHostname(ip, ep.hostname, podName, opts) });
    }
  }
  return { key: `${m.namespace}/${m.name}`, namespace: m.namespace, service, ports, endpoints };
}

export function toDnsPod(pod: Pod): DnsPod | undefined {
  const m = pod.metadata;
  if (!m?.name || !m.namespace) return undefined;
  // A terminating pod is no longer answered for (CoreDNS's object.ToPod skips it).
  const terminating = !!m.deletionTimestamp;
  const raw = terminating ? [] : pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : pod.status?.podIP ? [pod.status.podIP] : [];
  const ips: string[] = [];
  for (const ip of raw) {
    const c = ip ? canonicalIP(ip) : undefined;
    if (c) ips.push(c);
  }
  return { key: `${m.namespace}/${m.name}`, namespace: m.namespace, ips };
}

export function namespaceName(ns: Namespace): string | undefined {
  return ns.metadata?.name;
}

/** Index key of a service, as CoreDNS's object.ServiceKey: "name.namespace". */
export function serviceKey(name: string, namespace: string): string {
  return `${name}.${namespace}`;
}

function samePorts(a: readonly DnsPort[], b: readonly DnsPort[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.protocol === b[i].protocol && p.port === b[i].port);
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameService(a: DnsService, b: DnsService): boolean {
  return a.kind === b.kind && a.externalName === b.externalName && sameStrings(a.clusterIPs, b.clusterIPs) && samePorts(a.ports, b.ports);
}

function sameSlice(a: DnsSlice, b: DnsSlice): boolean {
  return (
    a.service === b.service &&
    samePorts(a.ports, b.ports) &&
    a.endpoints.length === b.endpoints.length &&
    a.endpoints.every((e, i) => e.ip === b.endpoints[i].ip && e.hostname === b.endpoints[i].hostname)
  );
}

function addTo(index: Map<string, string[]>, ip: string, key: string): void {
  const list = index.get(ip);
  if (!list) index.set(ip, [key]);
  else if (!list.includes(key)) list.push(key);
}

function removeFrom(index: Map<string, string[]>, ip: string, key: string): void {
  const list = index.get(ip);
  if (!list) return;
  const i = list.indexOf(key);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) index.delete(ip);
}

/**
 * What DNS knows. Mutated only through the set* methods, each of which reports whether anything
 * DNS answers changed; a change bumps `generation` (answers cached from an older generation are
 * stale) and sets `serial` (the SOA serial: unix seconds of the last change, as CoreDNS).
 */
export class DnsModel {
  readonly services = new Map<string, DnsService>();
  readonly slices = new Map<string, DnsSlice>();
  readonly slicesByService = new Map<string, Map<string, DnsSlice>>();
  readonly namespaces = new Set<string>();
  readonly servicesByIP = new Map<string, string[]>();
  readonly slicesByIP = new Map<string, string[]>();
  readonly pods = new Map<string, DnsPod>();
  readonly podsByIP = new Map<string, string[]>();
  generation = 0;
  serial: number;
  /** False until every informer has delivered its first list: would-be NXDOMAINs are SERVFAIL. */
  synced = false;
  readonly #now: () => number;

  constructor(now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.#now = now;
    this.serial = now();
  }

  #changed(): true {
    this.generation++;
    this.serial = this.#now();
    return true;
  }

  setService(svc: DnsService): boolean {
    const key = serviceKey(svc.name, svc.namespace);
    const old = this.services.get(key);
    if (old && sameService(old, svc)) return false;
    if (old) for (const ip of old.clusterIPs) removeFrom(this.servicesByIP, ip, key);
    this.services.set(key, svc);
    for (const ip of svc.clusterIPs) addTo(this.servicesByIP, ip, key);
    return this.#changed();
  }

  deleteService(name: string, namespace: string): boolean {
    const key = serviceKey(name, namespace);
    const old = this.services.get(key);
    if (!old) return false;
    for (const ip of old.clusterIPs) removeFrom(this.servicesByIP, ip, key);
    this.services.delete(key);
    return this.#changed();
  }

  setSlice(slice: DnsSlice): boolean {
    const old = this.slices.get(slice.key);
    if (old && sameSlice(old, slice)) return false;
    if (old) this.#unindexSlice(old);
    this.slices.set(slice.key, slice);
    const skey = serviceKey(slice.service, slice.namespace);
    let bySvc = this.slicesByService.get(skey);
    if (!bySvc) this.slicesByService.set(skey, (bySvc = new Map<string, DnsSlice>()));
    bySvc.set(slice.key, slice);
    for (const e of slice.endpoints) addTo(this.slicesByIP, e.ip, slice.key);
    return this.#changed();
  }

  deleteSlice(key: string): boolean {
    const old = this.slices.get(key);
    if (!old) return false;
    this.#unindexSlice(old);
    this.slices.delete(key);
    return this.#changed();
  }

  #unindexSlice(old: DnsSlice): void {
    const skey = serviceKey(old.service, old.namespace);
    const bySvc = this.slicesByService.get(skey);
    bySvc?.delete(old.key);
    if (bySvc?.size === 0) this.slicesByService.delete(skey);
    for (const e of old.endpoints) removeFrom(this.slicesByIP, e.ip, old.key);
  }

  setNamespace(name: string, exists: boolean): boolean {
    if (exists === this.namespaces.has(name)) return false;
    if (exists) this.namespaces.add(name);
    else this.namespaces.delete(name);
    return this.#changed();
  }

  setPod(pod: DnsPod): boolean {
    const old = this.pods.get(pod.key);
    if (old && old.namespace === pod.namespace && sameStrings(old.ips, pod.ips)) return false;
    if (old) for (const ip of old.ips) removeFrom(this.podsByIP, ip, old.key);
    this.pods.set(pod.key, pod);
    for (const ip of pod.ips) addTo(this.podsByIP, ip, pod.key);
    return this.#changed();
  }

  deletePod(key: string): boolean {
    const old = this.pods.get(key);
    if (!old) return false;
    for (const ip of old.ips) removeFrom(this.podsByIP, ip, key);
    this.pods.delete(key);
    return this.#changed();
  }

  setSynced(synced: boolean): void {
    if (this.synced === synced) return;
    this.synced = synced;
    this.generation++;
  }

  /** Slices of a service, in a stable order (by slice name). */
  slicesOf(name: string, namespace: string): DnsSlice[] {
    const m = this.slicesByService.get(serviceKey(name, namespace));
    if (!m) return [];
    return [...m.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}
