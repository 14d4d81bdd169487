// The lean model DNS answers from (CoreDNS's plugin/kubernetes/object): only the fields DNS
// needs, converted once at the informer boundary, indexed by service, by IP (for PTR) and
// endpoints by service. Objects are compared on conversion, so updates that change nothing DNS
// shows (status churn, resourceVersion bumps) leave the model, its generation and serial alone.
import { createHash } from 'node:crypto';
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
  /**
   * The endpoint's hostname, or (endpointPodNames) its pod's name, lower-cased; absent when the
   * DNS label is the dashed IP (derived when asked: most endpoints, and not worth keeping).
   */
  hostname?: string;
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

/** The DNS label of an endpoint (CoreDNS's endpointHostname): hostname, else pod name, else the IP with dashes. */
export function endpointLabel(ep: DnsEndpoint): string {
  return ep.hostname ?? dashedIP(ep.ip);
}

/** "10.1.2.3" -> "10-1-2-3"; "5678:abcd::1" -> "5678-abcd--1". */
export function dashedIP(ip: string): string {
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
      const name = ep.hostname ? ep.hostname.toLowerCase() : opts.endpointPodNames && podName && podName.length < 64 ? podName.toLowerCase() : undefined;
      endpoints.push(name === undefined ? { ip } : { ip, hostname: name });
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

// IP indexes hold one key (the common case) or several, without an array for one.
type KeyIndex = Map<string, string | string[]>;

function addTo(index: KeyIndex, ip: string, key: string): void {
  const cur = index.get(ip);
  if (cur === undefined) index.set(ip, key);
  else if (typeof cur === 'string') {
    if (cur !== key) index.set(ip, [cur, key]);
  } else if (!cur.includes(key)) cur.push(key);
}

function removeFrom(index: KeyIndex, ip: string, key: string): void {
  const cur = index.get(ip);
  if (cur === undefined) return;
  if (typeof cur === 'string') {
    if (cur === key) index.delete(ip);
    return;
  }
  const i = cur.indexOf(key);
  if (i >= 0) cur.splice(i, 1);
  if (cur.length === 1) index.set(ip, cur[0]);
}

/** The keys an IP index holds for an address. */
export function keysAt(index: KeyIndex, ip: string): readonly string[] {
  const cur = index.get(ip);
  return cur === undefined ? [] : typeof cur === 'string' ? [cur] : cur;
}

/**
 * What DNS knows. Mutated only through the set* methods, each of which reports whether anything
 * DNS answers changed; a change bumps `generation` (answers cached from an older generation are
 * stale) and sets `serial` (the SOA serial: unix seconds of the last change, as CoreDNS).
 */
export class DnsModel {
  readonly services = new Map<string, DnsService>();
  readonly slices = new Map<string, DnsSlice>();
  /** Service key -> its slice, or its slices when there are several. */
  readonly slicesByService = new Map<string, DnsSlice | DnsSlice[]>();
  readonly namespaces = new Set<string>();
  readonly servicesByIP: KeyIndex = new Map();
  readonly slicesByIP: KeyIndex = new Map();
  readonly pods = new Map<string, DnsPod>();
  readonly podsByIP: KeyIndex = new Map();
  generation = 0;
  serial: number;
  /** False until every informer has delivered its first list: would-be NXDOMAINs are SERVFAIL. */
  synced = false;
  readonly #now: () => number;
  // Shared copies of what repeats across objects (namespaces, port lists): memory per object
  // is what bounds a large cluster's DNS.
  readonly #strings = new Map<string, string>();
  readonly #portLists = new Map<string, DnsPort[]>();

  constructor(now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.#now = now;
    this.serial = now();
  }

  #changed(): true {
    this.generation++;
    this.serial = this.#now();
    return true;
  }

  #intern(s: string): string {
    const have = this.#strings.get(s);
    if (have !== undefined) return have;
    this.#strings.set(s, s);
    return s;
  }

  #ports(ports: DnsPort[]): DnsPort[] {
    const key = ports.map((p) => `${p.name}/${p.protocol}/${p.port}`).join(',');
    const have = this.#portLists.get(key);
    if (have) return have;
    this.#portLists.set(key, ports);
    return ports;
  }

  setService(svc: DnsService): boolean {
    const key = serviceKey(svc.name, svc.namespace);
    const old = this.services.get(key);
    if (old && sameService(old, svc)) return false;
    if (old) for (const ip of old.clusterIPs) removeFrom(this.servicesByIP, ip, key);
    const stored: DnsService = { ...svc, namespace: this.#intern(svc.namespace), ports: this.#ports(svc.ports) };
    this.services.set(key, stored);
    for (const ip of stored.clusterIPs) addTo(this.servicesByIP, ip, key);
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
    const namespace = this.#intern(slice.namespace);
    const skey = serviceKey(slice.service, namespace);
    const service = this.services.get(skey)?.name ?? slice.service;
    const stored: DnsSlice = { key: slice.key, namespace, service, ports: this.#ports(slice.ports), endpoints: slice.endpoints };
    this.slices.set(stored.key, stored);
    const cur = this.slicesByService.get(skey);
    if (cur === undefined) this.slicesByService.set(skey, stored);
    else if (Array.isArray(cur)) cur.push(stored);
    else this.slicesByService.set(skey, [cur, stored]);
    for (const e of stored.endpoints) addTo(this.slicesByIP, e.ip, stored.key);
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
    const cur = this.slicesByService.get(skey);
    if (cur === old) this.slicesByService.delete(skey);
    else if (Array.isArray(cur)) {
      const rest = cur.filter((s) => s.key !== old.key);
      if (rest.length === 0) this.slicesByService.delete(skey);
      else this.slicesByService.set(skey, rest.length === 1 ? rest[0] : rest);
    }
    for (const e of old.endpoints) removeFrom(this.slicesByIP, e.ip, old.key);
  }

  setNamespace(name: string, exists: boolean): boolean {
    if (exists === this.namespaces.has(name)) return false;
    if (exists) this.namespaces.add(this.#intern(name));
    else this.namespaces.delete(name);
    return this.#changed();
  }

  setPod(pod: DnsPod): boolean {
    const old = this.pods.get(pod.key);
    if (old && old.namespace === pod.namespace && sameStrings(old.ips, pod.ips)) return false;
    if (old) for (const ip of old.ips) removeFrom(this.podsByIP, ip, old.key);
    const stored: DnsPod = { ...pod, namespace: this.#intern(pod.namespace) };
    this.pods.set(stored.key, stored);
    for (const ip of stored.ips) addTo(this.podsByIP, ip, stored.key);
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
  slicesOf(name: string, namespace: string): readonly DnsSlice[] {
    const cur = this.slicesByService.get(serviceKey(name, namespace));
    if (cur === undefined) return [];
    if (!Array.isArray(cur)) return [cur];
    return [...cur].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

/** A change to the model, as sent to the processes that serve from replicas of it. */
export type ModelOp =
  | { op: 'service'; svc: DnsService }
  | { op: 'service-'; name: string; namespace: string }
  | { op: 'slice'; slice: DnsSlice }
  | { op: 'slice-'; key: string }
  | { op: 'namespace'; name: string; exists: boolean }
  | { op: 'pod'; pod: DnsPod }
  | { op: 'pod-'; key: string }
  | { op: 'synced' };

/** Applies a change; true when the model changed. */
export function applyOp(model: DnsModel, op: ModelOp): boolean {
  switch (op.op) {
    case 'service':
      return model.setService(op.svc);
    case 'service-':
      return model.deleteService(op.name, op.namespace);
    case 'slice':
      return model.setSlice(op.slice);
    case 'slice-':
      return model.deleteSlice(op.key);
    case 'namespace':
      return model.setNamespace(op.name, op.exists);
    case 'pod':
      return model.setPod(op.pod);
    case 'pod-':
      return model.deletePod(op.key);
    case 'synced':
      if (model.synced) return false;
      model.setSynced(true);
      return true;
  }
}

/** The changes that build a copy of the model from nothing. */
export function snapshotOps(model: DnsModel): ModelOp[] {
  const ops: ModelOp[] = [];
  for (const name of model.namespaces) ops.push({ op: 'namespace', name, exists: true });
  for (const svc of model.services.values()) ops.push({ op: 'service', svc });
  for (const slice of model.slices.values()) ops.push({ op: 'slice', slice });
  for (const pod of model.pods.values()) ops.push({ op: 'pod', pod });
  if (model.synced) ops.push({ op: 'synced' });
  return ops;
}

/** A fingerprint of everything a model answers from (to check that replicas agree). */
export function modelDigest(model: DnsModel): string {
  const h = createHash('sha256');
  const sorted = <T>(m: Map<string, T>): [string, T][] => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  h.update(JSON.stringify([...model.namespaces].sort()));
  for (const [k, v] of sorted(model.services)) h.update(k + JSON.stringify(v));
  for (const [k, v] of sorted(model.slices)) h.update(k + JSON.stringify(v));
  for (const [k, v] of sorted(model.pods)) h.update(k + JSON.stringify(v));
  h.update(String(model.synced));
  return h.digest('hex').slice(0, 16);
}
