// Which LoadBalancer addresses this node answers ARP for (MetalLB's layer 2 speaker,
// speaker/layer2_controller.go ShouldAnnounce). Pure: the API objects, the set of nodes whose
// announcer is alive, and this node's name in; the announcements out.
//
// Every node computes the same answer from the same inputs, with no shared state: for each
// Service's first LoadBalancer address, the eligible nodes are ordered by sha256(node#address)
// (l2Leader) and the first one announces every IPv4 address of the Service.
import { BlockList, isIP, isIPv4 } from 'node:net';
import type { ConfigMap, Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointConditions, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { parse as parseYaml } from 'yaml';
import { labelSelectorAsSelector, matches } from '../../api/selectors/index.ts';
import type { IPAddressPool, L2Advertisement } from '../../api/validation/index.ts';
import { l2AdvertisementsForPool, l2Leader } from '../../controllers/loadbalancer/index.ts';

export const metallbNamespace = 'metallb-system';
export const legacyConfigMapName = 'config';
/** Nodes with this label never announce (MetalLB's IsNodeExcludedFromBalancers). */
export const excludeFromLoadBalancersLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';
export const serviceNameLabel = 'kubernetes.io/service-name';
export const layer2Protocol = 'layer2';

/** A pool whose addresses are announced in layer 2. */
export interface L2Pool {
  name: string;
  /** Its addresses (CIDRs and ranges). */
  addresses: BlockList;
  /** The L2Advertisements covering it; undefined for a legacy layer2 pool (every node, every interface). */
  advertisements?: L2Advertisement[];
}

export interface L2Config {
  source: 'IPAddressPool' | 'ConfigMap' | 'none';
  pools: L2Pool[];
  /** Pools that could not be read (the others still work). */
  errors: string[];
}

function blockListOf(entries: readonly string[]): BlockList {
  const bl = new BlockList();
  for (const raw of entries) {
    const e = raw.trim();
    const dash = e.indexOf('-');
    if (dash >= 0) {
      const a = e.slice(0, dash).trim();
      const b = e.slice(dash + 1).trim();
      const fam = isIP(a);
      if (fam === 0 || isIP(b) !== fam) throw new Error(`invalid IP range ${JSON.stringify(e)}`);
      bl.addRange(a, b, fam === 4 ? 'ipv4' : 'ipv6');
      continue;
    }
    const slash = e.indexOf('/');
    const addr = slash >= 0 ? e.slice(0, slash) : e;
    const fam = isIP(addr);
    const bits = slash >= 0 ? Number(e.slice(slash + 1)) : fam === 4 ? 32 : 128;
    if (fam === 0 || !Number.isInteger(bits) || bits < 0 || bits > (fam === 4 ? 32 : 128)) throw new Error(`invalid CIDR ${JSON.stringify(e)}`);
    bl.addSubnet(addr, bits, fam === 4 ? 'ipv4' : 'ipv6');
  }
  return bl;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The layer 2 pools, chosen as the LoadBalancer controller chooses its configuration:
 * IPAddressPools when any exists (with the L2Advertisements that cover each), else the layer2
 * pools of the legacy ConfigMap metallb-system/config, else none.
 */
export function l2Config(ipAddressPools: readonly IPAddressPool[], advertisements: readonly L2Advertisement[], configMap: ConfigMap | undefined): L2Config {
  const errors: string[] = [];
  if (ipAddressPools.length > 0) {
    const pools: L2Pool[] = [];
    for (const p of [...ipAddressPools].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))) {
      const name = p.metadata?.name ?? '';
      try {
        pools.push({ name, addresses: blockListOf(p.spec?.addresses ?? []), advertisements: l2AdvertisementsForPool(p, advertisements) });
      } catch (e) {
        errors.push(`pool ${name}: ${(e as Error).message}`);
      }
    }
    return { source: 'IPAddressPool', pools, errors };
  }
  if (!configMap) return { source: 'none', pools: [], errors };
  let raw: unknown;
  try {
    raw = parseYaml(configMap.data?.config ?? '', { maxAliasCount: 100 });
  } catch (e) {
    return { source: 'ConfigMap', pools: [], errors: [`could not parse config: ${(e as Error).message}`] };
  }
  const list = isRecord(raw) && Array.isArray(raw['address-pools']) ? (raw['address-pools'] as unknown[]) : [];
  const pools: L2Pool[] = [];
  for (const p of list) {
    if (!isRecord(p) || p.protocol !== layer2Protocol) continue;
    const name = typeof p.name === 'string' ? p.name : '';
    const addrs = Array.isArray(p.addresses) ? p.addresses.filter((a): a is string => typeof a === 'string') : [];
    try {
      pools.push({ name, addresses: blockListOf(addrs) });
    } catch (e) {
      errors.push(`pool ${name}: ${(e as Error).message}`);
    }
  }
  return { source: 'ConfigMap', pools, errors };
}

/** The pool an address was given from (pools never overlap; the first that holds it). */
export function poolOf(config: L2Config, address: string): L2Pool | undefined {
  const fam = isIP(address);
  if (fam === 0) return undefined;
  return config.pools.find((p) => p.addresses.check(address, fam === 4 ? 'ipv4' : 'ipv6'));
}

/** MetalLB's EndpointCanServe: ready (nil counts as ready), or still serving while terminating. */
export function endpointCanServe(c: EndpointConditions | undefined): boolean {
  return c?.ready !== false || c.serving === true;
}

function conditionTrue(n: Node, type: string): boolean {
  return n.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

/**
 * Whether a node may announce at all: Ready, its network available, not excluded from load
 * balancers, not being deleted, and (when liveness is known) its announcer heard from.
 */
export function nodeCanAnnounce(n: Node, live: ReadonlySet<string> | undefined): boolean {
  const name = n.metadata?.name ?? '';
  if (!name || n.metadata?.deletionTimestamp) return false;
  if (!conditionTrue(n, 'Ready') || conditionTrue(n, 'NetworkUnavailable')) return false;
  if (n.metadata?.labels && excludeFromLoadBalancersLabel in n.metadata.labels) return false;
  return live === undefined || live.has(name);
}

/** The advertisements of a pool that include the node (nodeSelectors; none given: every node). */
function advertisementsForNode(pool: L2Pool, node: Node): L2Advertisement[] | undefined {
  if (!pool.advertisements) return undefined;
  return pool.advertisements.filter((ad) => {
    const sels = ad.spec?.nodeSelectors ?? [];
    return sels.length === 0 || sels.some((s) => matches(labelSelectorAsSelector(s), node.metadata?.labels));
  });
}

export interface L2Inputs {
  self: string;
  services: readonly Service[];
  /** EndpointSlices by "namespace/service-name". */
  slicesFor: (serviceKey: string) => readonly EndpointSlice[];
  nodes: readonly Node[];
  config: L2Config;
  /** Nodes whose announcer was heard from lately; undefined: not known yet (every Ready node counts). */
  live?: ReadonlySet<string>;
}

export interface ServiceDecision {
  /** namespace/name */
  service: string;
  /** Its LoadBalancer ingress IPs (the first decides the leader). */
  addresses: string[];
  pool?: string;
  /** Nodes that may announce it, sorted by name. */
  eligible: string[];
  leader?: string;
  /** Why no node announces it. */
  reason?: string;
}

export interface Announcement {
  address: string;
  /** Services (namespace/name) this node announces the address for. */
  services: string[];
  /** Interfaces to answer on, sorted: those the L2Advertisements name, "" for the node's own (the one with its IP). */
  interfaces: string[];
}

export interface L2Plan {
  decisions: ServiceDecision[];
  /** What this node announces, by address. */
  announce: Map<string, Announcement>;
  /** IPv6 addresses this node leads but cannot announce (no NDP responder). */
  ipv6Skipped: string[];
}

function serviceKey(s: Service): string {
  return `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
}

/** The LoadBalancer Services MetalLB handles: type LoadBalancer, no loadBalancerClass, with ingress IPs. */
export function announcedAddresses(s: Service): string[] {
  if (s.spec?.type !== 'LoadBalancer' || s.spec.loadBalancerClass) return [];
  return (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => isIP(ip) !== 0);
}

export function planL2(inp: L2Inputs): L2Plan {
  const decisions: ServiceDecision[] = [];
  const announce = new Map<string, Announcement>();
  const ipv6Skipped: string[] = [];
  const usable = inp.nodes.filter((n) => nodeCanAnnounce(n, inp.live));
  const selfNode = inp.nodes.find((n) => n.metadata?.name === inp.self);
  for (const svc of [...inp.services].sort((a, b) => serviceKey(a).localeCompare(serviceKey(b)))) {
    const addresses = announcedAddresses(svc);
    if (addresses.length === 0) continue;
    const key = serviceKey(svc);
    const d: ServiceDecision = { service: key, addresses, eligible: [] };
    decisions.push(d);
    const pool = poolOf(inp.config, addresses[0]);
    if (!pool) {
      d.reason = inp.config.source === 'none' ? 'no address pool is configured' : `${addresses[0]} is in no layer2 pool`;
      continue;
    }
    d.pool = pool.name;
    if (pool.advertisements && pool.advertisements.length === 0) {
      d.reason = `no L2Advertisement covers pool ${pool.name}`;
      continue;
    }
    const slices = inp.slicesFor(key);
    const serving = slices.flatMap((s) => s.endpoints ?? []).filter((e) => endpointCanServe(e.conditions));
    if (serving.length === 0) {
      d.reason = 'no serving endpoints';
      continue;
    }
    // A legacy pool is announced from every node; a pool of IPAddressPools from the nodes its
    // advertisements select.
    let candidates = usable.filter((n) => advertisementsForNode(pool, n)?.length !== 0);
    if (svc.spec?.externalTrafficPolicy === 'Local') {
      const withEndpoint = new Set(serving.map((e) => e.nodeName ?? ''));
      candidates = candidates.filter((n) => withEndpoint.has(n.metadata?.name ?? ''));
    }
    d.eligible = candidates.map((n) => n.metadata?.name ?? '').sort();
    d.leader = l2Leader(addresses[0], d.eligible.map((name) => ({ name, ready: true })));
    if (!d.leader) {
      d.reason = svc.spec?.externalTrafficPolicy === 'Local' ? 'no eligible node has a serving endpoint' : 'no node is eligible';
      continue;
    }
    if (d.leader !== inp.self || !selfNode) continue;
    const ads = advertisementsForNode(pool, selfNode);
    // An advertisement naming no interface announces on the node's own (""); else on those named.
    const interfaces = ads === undefined || ads.some((a) => (a.spec?.interfaces ?? []).length === 0) ? [''] : ads.flatMap((a) => a.spec?.interfaces ?? []);
    for (const ip of addresses) {
      if (!isIPv4(ip)) {
        ipv6Skipped.push(ip);
        continue;
      }
      const a = announce.get(ip) ?? { address: ip, services: [], interfaces: [] };
      a.services.push(key);
      a.interfaces = [...new Set([...a.interfaces, ...interfaces])].sort();
      announce.set(ip, a);
    }
  }
  return { decisions, announce, ipv6Skipped };
}

/**
 * Per interface, the addresses to answer for ("" stands for the node's own interface). Sorted,
 * so equal plans give equal maps.
 */
export function addressesByInterface(plan: L2Plan): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of plan.announce.values()) {
    for (const i of a.interfaces) {
      const list = out.get(i) ?? [];
      list.push(a.address);
      out.set(i, list);
    }
  }
  for (const list of out.values()) list.sort();
  return out;
}
