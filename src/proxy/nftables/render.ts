// Pure rendering of svcnet's nftables ruleset (docs/proxy.md has the design and a packet walk).
//
// No per-Service chains: every Service address ("key": address . protocol . port, for ClusterIPs,
// externalIPs, LoadBalancer IPs and NodePorts on the node's addresses) is an element of a few
// shared maps. The chains are shared too and named by what they do:
//   dispatch chains  internal-O-N, external-O-N, extlocal-Oc-Nc-Ol-Nl   (+ -aT with affinity)
//   pick chains      pick-O-N[-aT]: choose slot O..O+N-1 (numgen, or the client's affinity set)
//   slot chains      slot-K[-aT]: DNAT to map slot-K's endpoint for the packet's key
// so their number depends on the endpoint counts in use, never on the number of Services.
import ipaddr from 'ipaddr.js';
import type { NftFamily } from './nftables.ts';
import type { Endpoint, IPFamily, ProxyConfig, ServicePortName, ServicePortState } from '../types.ts';

export const TableName = 'svcnet';
/** The packet-mark bit that asks the masquerading chain to SNAT (kube-proxy's 0x4000). */
export const MasqueradeMark = 0x4000;
/** Elements per `add element` command: keeps single lines of the script reasonably short. */
const ElementBatch = 2000;

export const nftFamily = (f: IPFamily): NftFamily => (f === 'IPv4' ? 'ip' : 'ip6');

/** Per-family settings derived from the ProxyConfig. */
export interface FamilyConfig {
  family: NftFamily;
  localTrafficCIDRs: string[];
  masqueradeAll: boolean;
  serviceCIDRs: string[];
  nodePortIPs: string[];
  nodeIPs: string[];
}

function isFamily(addr: string, f: NftFamily): boolean {
  return (f === 'ip6') === addr.includes(':');
}

export function familyConfig(cfg: ProxyConfig, f: NftFamily): FamilyConfig {
  const nodeIPs = cfg.nodeIPs.filter((ip) => isFamily(ip, f));
  const npCIDRs = cfg.nodePortAddresses.filter((c) => isFamily(c, f)).map((c) => ipaddr.parseCIDR(c));
  const nodePortIPs = cfg.nodePortAddresses.length === 0 ? nodeIPs : nodeIPs.filter((ip) => npCIDRs.some((c) => ipaddr.parse(ip).kind() === c[0].kind() && ipaddr.parse(ip).match(c)));
  return {
    family: f,
    localTrafficCIDRs: cfg.localTrafficCIDRs.filter((c) => isFamily(c, f)).map(normalizeCIDR),
    masqueradeAll: cfg.masqueradeAll,
    serviceCIDRs: cfg.serviceCIDRs.filter((c) => isFamily(c, f)).map(normalizeCIDR),
    nodePortIPs,
    nodeIPs,
  };
}

/** "10.1.2.3/8" → "10.0.0.0/8"; a bare address stays as it is. */
export function normalizeCIDR(c: string): string {
  if (!c.includes('/')) return ipaddr.parse(c).toString();
  const [addr, len] = ipaddr.parseCIDR(c);
  const net = addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(c) : ipaddr.IPv6.networkAddressFromCIDR(c);
  const full = addr.kind() === 'ipv4' ? 32 : 128;
  return len === full ? net.toString() : `${net.toString()}/${len}`;
}

/** CIDRs without duplicates or ranges inside others (an nft interval set refuses overlaps). */
export function mergeCIDRs(cidrs: readonly string[]): string[] {
  const parsed = [...new Set(cidrs.map(normalizeCIDR))].map((c) => ({ c, p: c.includes('/') ? ipaddr.parseCIDR(c) : ipaddr.parseCIDR(`${c}/${c.includes(':') ? 128 : 32}`) }));
  parsed.sort((a, b) => a.p[1] - b.p[1]);
  const out: typeof parsed = [];
  for (const x of parsed) {
    if (out.some((o) => o.p[0].kind() === x.p[0].kind() && x.p[0].match(o.p))) continue;
    out.push(x);
  }
  return out.map((x) => x.c).sort();
}

// ---- the per-key record ----

export type KeyKind = 'cluster-ip' | 'external-ip' | 'load-balancer' | 'node-port';

/** Everything rendered for one key of one Service port. */
export interface KeyRecord {
  /** "10.96.0.10 . tcp . 53": the element key in every per-key map. */
  key: string;
  svc: ServicePortName;
  addr: string;
  proto: 'tcp' | 'udp' | 'sctp';
  port: number;
  kind: KeyKind;
  /** The dispatch chain service-ips sends the key to; undefined: no endpoint to send to. */
  dispatch: string | undefined;
  /** Endpoint "ip . port" per slot (shared by every key of the Service port). */
  slots: readonly string[];
  /** The no-endpoint-services verdict: reject (no endpoint at all) or drop (none for this traffic). */
  noEndpoint: 'goto reject-chain' | 'drop' | undefined;
  /** Allowed source CIDRs (loadBalancerSourceRanges); empty: no firewall. */
  firewall: readonly string[];
  /** 32-bit digest of all the above, kept in the service-state map. */
  hash: number;
}

/** What the service-state map says of a key that this process did not render itself. */
export interface AdoptedRecord {
  key: string;
  adopted: true;
  hash: number;
  slotCount: number;
  hasDispatch: boolean;
  hasNoEndpoint: boolean;
  clusterIP: boolean;
  hasFirewall: boolean;
}

export type AppliedRecord = KeyRecord | AdoptedRecord;
export const isAdopted = (r: AppliedRecord): r is AdoptedRecord => 'adopted' in r;

const FlagDispatch = 1 << 16;
const FlagNoEndpoint = 1 << 17;
const FlagClusterIP = 1 << 18;
const FlagFirewall = 1 << 19;

/** The service-state value of a record: "0xHASH . 0xFLAGS" (flags: slot count and which elements exist). */
export function stateValue(r: KeyRecord): string {
  const flags =
    (r.slots.length & 0xffff) | (r.dispatch ? FlagDispatch : 0) | (r.noEndpoint ? FlagNoEndpoint : 0) | (r.kind === 'cluster-ip' ? FlagClusterIP : 0) | (r.firewall.length ? FlagFirewall : 0);
  return `${hex(r.hash)} . ${hex(flags >>> 0)}`;
}

export function parseStateValue(key: string, value: readonly string[]): AdoptedRecord {
  const hash = Number(value[0] ?? 0) >>> 0;
  const flags = Number(value[1] ?? 0) >>> 0;
  return {
    key,
    adopted: true,
    hash,
    slotCount: flags & 0xffff,
    hasDispatch: (flags & FlagDispatch) !== 0,
    hasNoEndpoint: (flags & FlagNoEndpoint) !== 0,
    clusterIP: (flags & FlagClusterIP) !== 0,
    hasFirewall: (flags & FlagFirewall) !== 0,
  };
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** FNV-1a, 32 bits. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// ---- slot layout ----

const epId = (e: Endpoint): string => `${e.ip} . ${e.port}`;

/**
 * Orders a Service port's endpoints into slots: [local only][local and cluster][cluster only],
 * so that the local endpoints are one contiguous range and the cluster endpoints another. An
 * endpoint keeps its previous slot when that slot is still in its segment, so a change moves few
 * elements and session affinity (which remembers slots) survives unrelated changes.
 */
export function layoutSlots(prev: readonly string[] | undefined, cluster: readonly Endpoint[], local: readonly Endpoint[]): { slots: string[]; cluster: [number, number]; local: [number, number] } {
  // Endpoints come sorted from the model, so each segment is in a deterministic order as it is.
  let seg: string[][];
  if (local.length === 0) seg = [[], [], cluster.map(epId)];
  else {
    const c = new Set(cluster.map(epId));
    const l = local.map(epId);
    const ls = new Set(l);
    seg = [l.filter((x) => !c.has(x)), l.filter((x) => c.has(x)), [...c].filter((x) => !ls.has(x))];
  }
  const a = seg[0].length;
  const b = seg[1].length;
  const n = a + b + seg[2].length;
  const ranges = { cluster: [a, n - a] as [number, number], local: [0, a + b] as [number, number] };
  if (!prev) return { slots: seg.flat(), ...ranges };
  const slots: (string | undefined)[] = new Array<string | undefined>(n).fill(undefined);
  const prevIndex = new Map<string, number>();
  prev.forEach((x, i) => prevIndex.set(x, i));
  let start = 0;
  for (const members of seg) {
    const end = start + members.length;
    const rest: string[] = [];
    for (const m of members) {
      const i = prevIndex.get(m);
      if (i !== undefined && i >= start && i < end && slots[i] === undefined) slots[i] = m;
      else rest.push(m);
    }
    let j = start;
    for (const m of rest) {
      while (slots[j] !== undefined) j++;
      slots[j] = m;
    }
    start = end;
  }
  return { slots: slots as string[], ...ranges };
}

// ---- chain names ----

const aff = (t: number): string => (t ? `-a${t}` : '');
export const pickChain = (o: number, n: number, t: number): string => `pick-${o}-${n}${aff(t)}`;
export const slotChain = (k: number, t: number): string => `slot-${k}${aff(t)}`;
export const slotMap = (k: number): string => `slot-${k}`;
export const affinitySet = (t: number, k: number): string => `affinity-${t}-${k}`;

/** The records of one Service port in one family, and the layout they share. */
export function renderServicePort(sp: ServicePortState, fc: FamilyConfig, prevSlots: readonly string[] | undefined): { records: KeyRecord[]; slots: string[] } {
  const f = fc.family;
  const info = sp.info;
  const proto = info.protocol.toLowerCase() as KeyRecord['proto'];
  const usesLocal = info.internalPolicyLocal || info.externalPolicyLocal;
  const layout = layoutSlots(prevSlots, sp.clusterEndpoints, usesLocal ? sp.localEndpoints : []);
  const [oc, nc] = layout.cluster;
  const [ol, nl] = layout.local;
  const t = info.affinityTimeoutSeconds;
  const records: KeyRecord[] = [];
  const slotsStr = layout.slots.join(',');

  const add = (addr: string, port: number, kind: KeyKind): void => {
    let dispatch: string | undefined;
    let noEndpoint: KeyRecord['noEndpoint'];
    if (!sp.hasAnyEndpoints) noEndpoint = 'goto reject-chain';
    else if (kind === 'cluster-ip') {
      const [o, n] = info.internalPolicyLocal ? [ol, nl] : [oc, nc];
      if (n > 0) dispatch = `internal-${o}-${n}${aff(t)}`;
      else noEndpoint = 'drop';
    } else if (!info.externalPolicyLocal) {
      if (nc > 0) dispatch = `external-${oc}-${nc}${aff(t)}`;
      else noEndpoint = 'drop';
    } else {
      if (nc > 0 || nl > 0) dispatch = `extlocal-${oc}-${nc}-${ol}-${nl}${aff(t)}`;
      if (nl === 0) noEndpoint = 'drop';
    }
    let firewall: string[] = [];
    if (kind === 'load-balancer' && info.loadBalancerSourceRanges.length > 0) {
      const ranges = info.loadBalancerSourceRanges.filter((r) => isFamily(r, f));
      // As kube-proxy: when the node itself is inside the ranges, the LB IPs may be sources too
      // (traffic that hairpins through the load balancer).
      const nodeInRange = fc.nodeIPs.some((ip) => ranges.some((r) => ipaddr.parse(ip).match(ipaddr.parseCIDR(r.includes('/') ? r : `${r}/${f === 'ip' ? 32 : 128}`))));
      firewall = mergeCIDRs(nodeInRange ? [...ranges, ...info.loadBalancerIPs.filter((ip) => isFamily(ip, f))] : ranges);
      // A firewall with no range of this family lets nothing in, as an empty source list would.
      if (firewall.length === 0) firewall = [f === 'ip' ? '0.0.0.0/32' : '::/128'];
    }
    const key = `${addr} . ${proto} . ${port}`;
    const hash = fnv1a(`${kind}|${dispatch ?? ''}|${noEndpoint ?? ''}|${firewall.join(',')}|${slotsStr}`);
    records.push({ key, svc: info.name, addr, proto, port, kind, dispatch, slots: layout.slots, noEndpoint, firewall, hash });
  };

  for (const ip of info.clusterIPs) if (isFamily(ip, f)) add(ip, info.port, 'cluster-ip');
  for (const ip of info.externalIPs) if (isFamily(ip, f)) add(ip, info.port, 'external-ip');
  for (const ip of info.loadBalancerIPs) if (isFamily(ip, f)) add(ip, info.port, 'load-balancer');
  if (info.nodePort > 0) for (const ip of fc.nodePortIPs) add(ip, info.nodePort, 'node-port');
  return { records, slots: layout.slots };
}

// ---- chains and their rules ----

export interface ObjectSpec {
  kind: 'chain' | 'map' | 'set';
  name: string;
  /** For base chains: "{ type ... hook ... priority ...; policy accept; }"; for maps and sets: their declaration. */
  decl?: string;
  rules?: string[];
}

const addrType = (f: NftFamily): string => (f === 'ip' ? 'ipv4_addr' : 'ipv6_addr');
const keyType = (f: NftFamily): string => `${addrType(f)} . inet_proto . inet_service`;
const keyExpr = (f: NftFamily): string => `${f} daddr . meta l4proto . th dport`;
const setLiteral = (items: readonly string[]): string => (items.length === 1 ? items[0] : `{ ${items.join(', ')} }`);

/** Objects every svcnet table has, whatever the Services. */
export function baseObjects(fc: FamilyConfig): ObjectSpec[] {
  const f = fc.family;
  const k = keyExpr(f);
  const mark = hex(MasqueradeMark);
  // Numeric priorities (dstnat = -100, srcnat = 100): nft 1.0.6 knows "dstnat" only at prerouting.
  const base = (hook: string, type: string, prio: string): string => `{ type ${type} hook ${hook} priority ${prio} ; policy accept ; }`;
  const serviceEndpointsCheck = [`${k} vmap @no-endpoint-services`, `${f} daddr @cluster-ips goto reject-chain`];
  if (fc.serviceCIDRs.length) serviceEndpointsCheck.push(`${f} daddr ${setLiteral(fc.serviceCIDRs)} drop`);
  return [
    { kind: 'map', name: 'service-ips', decl: `{ type ${keyType(f)} : verdict ; }` },
    { kind: 'map', name: 'no-endpoint-services', decl: `{ type ${keyType(f)} : verdict ; }` },
    { kind: 'map', name: 'service-state', decl: `{ type ${keyType(f)} : mark . mark ; }` },
    { kind: 'set', name: 'cluster-ips', decl: `{ type ${addrType(f)} ; }` },
    { kind: 'set', name: 'firewall-ips', decl: `{ type ${keyType(f)} ; }` },
    { kind: 'set', name: 'firewall-allow', decl: `{ type ${keyType(f)} . ${addrType(f)} ; flags interval ; }` },
    { kind: 'set', name: 'hairpin', decl: `{ type ${addrType(f)} . ${addrType(f)} ; }` },
    { kind: 'chain', name: 'filter-prerouting', decl: base('prerouting', 'filter', '-110'), rules: ['ct state new jump firewall-check'] },
    { kind: 'chain', name: 'filter-output', decl: base('output', 'filter', '-110'), rules: ['ct state new jump firewall-check'] },
    { kind: 'chain', name: 'filter-prerouting-post-dnat', decl: base('prerouting', 'filter', '-90'), rules: ['ct state new jump service-endpoints-check'] },
    { kind: 'chain', name: 'filter-output-post-dnat', decl: base('output', 'filter', '-90'), rules: ['ct state new jump service-endpoints-check'] },
    { kind: 'chain', name: 'nat-prerouting', decl: base('prerouting', 'nat', '-100'), rules: ['jump services'] },
    { kind: 'chain', name: 'nat-output', decl: base('output', 'nat', '-100'), rules: ['jump services'] },
    {
      kind: 'chain',
      name: 'nat-postrouting',
      decl: base('postrouting', 'nat', '100'),
      rules: [`ct status dnat ${f} saddr . ${f} daddr @hairpin jump mark-for-masquerade`, 'jump masquerading'],
    },
    { kind: 'chain', name: 'firewall-check', rules: [`${k} @firewall-ips ${k} . ${f} saddr != @firewall-allow drop`] },
    { kind: 'chain', name: 'service-endpoints-check', rules: serviceEndpointsCheck },
    { kind: 'chain', name: 'services', rules: [`${k} vmap @service-ips`] },
    { kind: 'chain', name: 'mark-for-masquerade', rules: [`meta mark set meta mark or ${mark}`] },
    { kind: 'chain', name: 'masquerading', rules: [`meta mark & ${mark} == 0 return`, `meta mark set meta mark xor ${mark}`, 'masquerade fully-random'] },
    // TCP gets a reset rather than ICMP port-unreachable: the kernel rate-limits ICMP per peer
    // (a burst of 6, then one a second), which would turn "refused at once" into retries.
    { kind: 'chain', name: 'reject-chain', rules: ['meta l4proto tcp reject with tcp reset', 'reject'] },
  ];
}

function parseDispatch(name: string): { kind: string; nums: number[]; t: number } {
  const m = /^(internal|external|extlocal)-([0-9-]+?)(?:-a(\d+))?$/.exec(name);
  if (!m) throw new Error(`not a dispatch chain: ${name}`);
  return { kind: m[1], nums: m[2].split('-').map(Number), t: m[3] ? Number(m[3]) : 0 };
}

/** The chains, maps and sets a dispatch chain needs, itself included (pure in its name and fc). */
export function dispatchObjects(name: string, fc: FamilyConfig): ObjectSpec[] {
  const f = fc.family;
  const { kind, nums, t } = parseDispatch(name);
  const out: ObjectSpec[] = [];
  const picks: [number, number][] = [];
  const rules: string[] = [];
  const detector = fc.localTrafficCIDRs.length ? setLiteral(fc.localTrafficCIDRs) : undefined;
  if (kind === 'internal') {
    const [o, n] = nums as [number, number];
    if (fc.masqueradeAll) rules.push('jump mark-for-masquerade');
    else if (detector) rules.push(`${f} saddr != ${detector} jump mark-for-masquerade`);
    rules.push(`goto ${pickChain(o, n, t)}`);
    picks.push([o, n]);
  } else if (kind === 'external') {
    const [o, n] = nums as [number, number];
    rules.push('jump mark-for-masquerade', `goto ${pickChain(o, n, t)}`);
    picks.push([o, n]);
  } else {
    const [oc, nc, ol, nl] = nums as [number, number, number, number];
    if (nc > 0) {
      // Pods and the node itself reach the Service through all its endpoints (kube-proxy's
      // external chain for Local policy); the node's own traffic is masqueraded.
      if (detector) rules.push(`${f} saddr ${detector} goto ${pickChain(oc, nc, t)}`);
      rules.push('fib saddr type local jump mark-for-masquerade', `fib saddr type local goto ${pickChain(oc, nc, t)}`);
      picks.push([oc, nc]);
    }
    if (nl > 0) {
      rules.push(`goto ${pickChain(ol, nl, t)}`);
      picks.push([ol, nl]);
    }
  }
  out.push({ kind: 'chain', name, rules });
  for (const [o, n] of picks) out.push(...pickObjects(o, n, t, f));
  return out;
}

/** Map slot-K: key → endpoint address . port. */
export const slotMapSpec = (k: number, f: NftFamily): ObjectSpec => ({ kind: 'map', name: slotMap(k), decl: `{ type ${keyType(f)} : ${addrType(f)} . inet_service ; }` });

function pickObjects(o: number, n: number, t: number, f: NftFamily): ObjectSpec[] {
  const out: ObjectSpec[] = [];
  const rules: string[] = [];
  const k = keyExpr(f);
  const vmap: string[] = [];
  for (let i = o; i < o + n; i++) {
    if (t) rules.push(`${f} saddr . ${k} @${affinitySet(t, i)} goto ${slotChain(i, t)}`);
    vmap.push(`${i} : goto ${slotChain(i, t)}`);
    out.push(slotMapSpec(i, f));
    out.push({ kind: 'chain', name: slotChain(i, 0), rules: [`dnat ${f} to ${k} map @${slotMap(i)}`] });
    if (t) {
      out.push({ kind: 'set', name: affinitySet(t, i), decl: `{ type ${addrType(f)} . ${keyType(f)} ; flags dynamic,timeout ; timeout ${t}s ; size 65535 ; }` });
      out.push({ kind: 'chain', name: slotChain(i, t), rules: [`update @${affinitySet(t, i)} { ${f} saddr . ${k} }`, `goto ${slotChain(i, 0)}`] });
    }
  }
  rules.push(`numgen random mod ${n}${o ? ` offset ${o}` : ''} vmap { ${vmap.join(', ')} }`);
  out.unshift({ kind: 'chain', name: pickChain(o, n, t), rules });
  return out;
}

// ---- the transaction text ----

/** Builds one `nft -f` script for one table: declarations, rules, then element changes. */
export class Transaction {
  readonly #f: NftFamily;
  readonly #head: string[] = [];
  readonly #rules: string[] = [];
  readonly #tail: string[] = [];
  readonly #dels = new Map<string, string[]>();
  readonly #adds = new Map<string, string[]>();
  readonly #flushes: string[] = [];
  #elementCount = 0;

  constructor(family: NftFamily) {
    this.#f = family;
  }

  get elementCount(): number {
    return this.#elementCount;
  }

  get empty(): boolean {
    return this.#head.length === 0 && this.#rules.length === 0 && this.#tail.length === 0 && this.#elementCount === 0 && this.#flushes.length === 0;
  }

  addTable(): void {
    this.#head.push(`add table ${this.#f} ${TableName}`);
  }

  deleteTable(): void {
    this.#head.push(`delete table ${this.#f} ${TableName}`);
  }

  /**
   * Declares an object (idempotent) and, for a chain, replaces its rules. Every declaration goes
   * before every rule, so that rules may reference objects declared later.
   */
  define(o: ObjectSpec): void {
    const t = `${this.#f} ${TableName}`;
    this.#head.push(`add ${o.kind} ${t} ${o.name}${o.decl ? ` ${o.decl}` : ''}`);
    if (o.kind === 'chain') {
      this.#rules.push(`flush chain ${t} ${o.name}`);
      for (const r of o.rules ?? []) this.#rules.push(`add rule ${t} ${o.name} ${r}`);
    }
  }

  /** Empties a set or map (before its elements are added again). */
  flush(kind: 'map' | 'set', name: string): void {
    this.#flushes.push(`flush ${kind} ${this.#f} ${TableName} ${name}`);
  }

  /** Deletes an object after every element change (a chain must no longer be referenced). */
  remove(kind: ObjectSpec['kind'], name: string): void {
    this.#tail.push(`delete ${kind} ${this.#f} ${TableName} ${name}`);
  }

  addElement(obj: string, elem: string): void {
    let l = this.#adds.get(obj);
    if (!l) this.#adds.set(obj, (l = []));
    l.push(elem);
    this.#elementCount++;
  }

  deleteElement(obj: string, key: string): void {
    let l = this.#dels.get(obj);
    if (!l) this.#dels.set(obj, (l = []));
    l.push(key);
    this.#elementCount++;
  }

  /**
   * Moves the element additions to the objects `filter` accepts into a new transaction of their
   * own, when there are at least `min` of them (a preload, see NftablesBackend); else undefined.
   */
  takeElements(filter: (obj: string) => boolean, min: number): Transaction | undefined {
    let n = 0;
    for (const [obj, l] of this.#adds) if (filter(obj)) n += l.length;
    if (n === 0 || n < min) return undefined;
    const out = new Transaction(this.#f);
    for (const [obj, l] of this.#adds) {
      if (!filter(obj)) continue;
      out.#adds.set(obj, l);
      this.#adds.delete(obj);
    }
    out.#elementCount = n;
    this.#elementCount -= n;
    return out;
  }

  /** The objects this transaction adds elements to. */
  elementTargets(): string[] {
    return [...this.#adds.keys()];
  }

  toString(): string {
    const t = `${this.#f} ${TableName}`;
    const out: string[] = [...this.#head, ...this.#rules, ...this.#flushes];
    const batch = (verb: string, m: Map<string, string[]>): void => {
      for (const [obj, elems] of m) {
        for (let i = 0; i < elems.length; i += ElementBatch) out.push(`${verb} element ${t} ${obj} { ${elems.slice(i, i + ElementBatch).join(', ')} }`);
      }
    };
    batch('delete', this.#dels);
    batch('add', this.#adds);
    out.push(...this.#tail);
    return out.length ? `${out.join('\n')}\n` : '';
  }
}
