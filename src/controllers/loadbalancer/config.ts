// The address pools the allocator serves from, built as MetalLB builds its config: from the
// metallb.io/v1beta1 IPAddressPools of metallb-system (config.For / poolsFor), or from the
// legacy ConfigMap metallb-system/config (config.Parse of MetalLB <= v0.12), or, in svcnet's
// host mode when neither exists, a loopback pool. Pure: objects in, pools or an error out.
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { parse as parseYaml } from 'yaml';
import { labelSelectorAsSelector, matches, type LabelSelector } from '../../api/selectors/index.ts';
import type { IPAddressPool } from '../../api/validation/index.ts';
import { formatPrefix, parsePoolAddresses, prefixesOverlap, type Prefix } from './ip.ts';

export const metallbNamespace = 'metallb-system';
export const legacyConfigMapName = 'config';
/** svcnet's pool in host mode when none is configured: loopback, so it works on a laptop. */
export const loopbackPoolName = 'svcnet-loopback';
export const loopbackPoolAddresses = '127.240.0.0/24';

export interface ServiceAllocation {
  /** 1 is the highest; 0 (unset) the lowest. */
  priority: number;
  /** Namespaces named in the pool plus those its namespaceSelectors match. */
  namespaces: Set<string>;
  serviceSelectors: LabelSelector[];
}

export interface Pool {
  name: string;
  prefixes: Prefix[];
  avoidBuggyIPs: boolean;
  autoAssign: boolean;
  /** Present when the pool's spec has serviceAllocation (MetalLB's AllocateTo). */
  serviceAllocation?: ServiceAllocation;
}

export type ConfigSource = 'IPAddressPool' | 'ConfigMap' | 'default' | 'none';

export interface Pools {
  source: ConfigSource;
  byName: Map<string, Pool>;
  /** namespace → names of the pools pinned to it. */
  byNamespace: Map<string, string[]>;
  /** Names of the pools with service selectors, sorted. */
  byServiceSelector: string[];
}

export function emptyPools(source: ConfigSource = 'none'): Pools {
  return { source, byName: new Map(), byNamespace: new Map(), byServiceSelector: [] };
}

/** A configuration MetalLB would refuse; `pool` names the object to blame, when one is. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly pool?: string,
  ) {
    super(message);
  }
}

function index(source: ConfigSource, pools: Pool[]): Pools {
  const out = emptyPools(source);
  const all: { prefix: Prefix }[] = [];
  for (const p of pools) {
    if (out.byName.has(p.name)) throw new ConfigError(`duplicate definition of pool "${p.name}"`, p.name);
    for (const prefix of p.prefixes) {
      const clash = all.find((m) => prefixesOverlap(prefix, m.prefix));
      if (clash) throw new ConfigError(`CIDR "${formatPrefix(prefix)}" in pool "${p.name}" overlaps with already defined CIDR "${formatPrefix(clash.prefix)}"`, p.name);
      all.push({ prefix });
    }
    out.byName.set(p.name, p);
  }
  for (const p of out.byName.values()) {
    const sa = p.serviceAllocation;
    if (!sa) continue;
    for (const ns of sa.namespaces) {
      const list = out.byNamespace.get(ns) ?? [];
      list.push(p.name);
      out.byNamespace.set(ns, list);
    }
    if (sa.serviceSelectors.length > 0) out.byServiceSelector.push(p.name);
  }
  out.byServiceSelector.sort();
  return out;
}

function prefixesOf(poolName: string, addresses: readonly string[]): Prefix[] {
  if (addresses.length === 0) throw new Error('pool has no prefixes defined');
  const out: Prefix[] = [];
  for (const a of addresses) {
    try {
      out.push(...parsePoolAddresses(a));
    } catch (e) {
      throw new Error(`invalid CIDR "${a}" in pool "${poolName}": ${(e as Error).message}`);
    }
  }
  return out;
}

function poolFromCR(cr: IPAddressPool, namespaces: readonly Namespace[]): Pool {
  const name = cr.metadata?.name ?? '';
  if (!name) throw new Error('missing pool name');
  const spec = cr.spec ?? {};
  const pool: Pool = { name, prefixes: prefixesOf(name, spec.addresses ?? []), avoidBuggyIPs: spec.avoidBuggyIPs ?? false, autoAssign: spec.autoAssign ?? true };
  const sa = spec.serviceAllocation;
  if (sa) {
    const names = new Set<string>();
    for (const ns of sa.namespaces ?? []) {
      if (names.has(ns)) throw new Error('duplicate definition in namespaces field');
      names.add(ns);
    }
    for (const s of sa.namespaceSelectors ?? []) {
      const sel = labelSelectorAsSelector(s);
      for (const ns of namespaces) if (ns.metadata?.name && matches(sel, ns.metadata.labels)) names.add(ns.metadata.name);
    }
    pool.serviceAllocation = { priority: sa.priority ?? 0, namespaces: names, serviceSelectors: (sa.serviceSelectors ?? []).map((s) => labelSelectorAsSelector(s)) };
  }
  return pool;
}

/** MetalLB's poolsFor over the IPAddressPools of its namespace (sorted by name, as listed). */
export function poolsFromIPAddressPools(crs: readonly IPAddressPool[], namespaces: readonly Namespace[]): Pools {
  const sorted = [...crs].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const pools: Pool[] = [];
  for (const cr of sorted) {
    const name = cr.metadata?.name ?? '';
    try {
      pools.push(poolFromCR(cr, namespaces));
    } catch (e) {
      throw new ConfigError(`parsing address pool ${name}: ${(e as Error).message}`, name);
    }
  }
  return index('IPAddressPool', pools);
}

const legacyTopLevel = new Set(['peers', 'peer-autodiscovery', 'bgp-communities', 'address-pools']);
const legacyPoolFields = new Set(['name', 'protocol', 'addresses', 'avoid-buggy-ips', 'auto-assign', 'bgp-advertisements']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * MetalLB's legacy config.Parse of the ConfigMap's `config` key: address-pools with name,
 * protocol (layer2 or bgp), addresses, auto-assign and avoid-buggy-ips. Unknown fields are
 * refused (yaml.UnmarshalStrict); peers and BGP settings are accepted and not used here.
 */
export function poolsFromLegacyConfig(text: string): Pools {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError(`could not parse config: ${(e as Error).message}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (!isRecord(raw)) throw new ConfigError('could not parse config: the config is not a mapping');
  for (const k of Object.keys(raw)) if (!legacyTopLevel.has(k)) throw new ConfigError(`could not parse config: field ${k} not found in type config.configFile`);
  const list = raw['address-pools'] ?? [];
  if (!Array.isArray(list)) throw new ConfigError('could not parse config: address-pools is not a list');
  const pools: Pool[] = [];
  list.forEach((p: unknown, i: number) => {
    const where = `parsing address pool #${i + 1}`;
    if (!isRecord(p)) throw new ConfigError(`${where}: not a mapping`);
    for (const k of Object.keys(p)) if (!legacyPoolFields.has(k)) throw new ConfigError(`could not parse config: field ${k} not found in type config.addressPool`);
    const name = typeof p.name === 'string' ? p.name : '';
    try {
      if (!name) throw new Error('missing pool name');
      const addresses = p.addresses ?? [];
      if (!Array.isArray(addresses) || !addresses.every((a): a is string => typeof a === 'string')) throw new Error('addresses must be a list of strings');
      const autoAssign = p['auto-assign'] ?? true;
      const avoidBuggy = p['avoid-buggy-ips'] ?? false;
      if (typeof autoAssign !== 'boolean') throw new Error('auto-assign must be true or false');
      if (typeof avoidBuggy !== 'boolean') throw new Error('avoid-buggy-ips must be true or false');
      const pool: Pool = { name, prefixes: prefixesOf(name, addresses), avoidBuggyIPs: avoidBuggy, autoAssign };
      const protocol = p.protocol ?? '';
      if (protocol === '') throw new Error('address pool is missing the protocol field');
      if (protocol !== 'layer2' && protocol !== 'bgp') throw new Error(`unknown protocol ${JSON.stringify(protocol)}`);
      if (protocol === 'layer2' && p['bgp-advertisements'] !== undefined) throw new Error('cannot have bgp-advertisements configuration element in a layer2 address pool');
      pools.push(pool);
    } catch (e) {
      throw new ConfigError(`${where}: ${(e as Error).message}`, name || undefined);
    }
  });
  return index('ConfigMap', pools);
}

export function loopbackPools(addresses: string = loopbackPoolAddresses): Pools {
  // avoidBuggyIPs keeps the network address (127.240.0.0) out: the first Service gets .1.
  return index('default', [{ name: loopbackPoolName, prefixes: parsePoolAddresses(addresses), avoidBuggyIPs: true, autoAssign: true }]);
}

export interface ConfigInputs {
  /** IPAddressPools of metallb-system. */
  ipAddressPools: readonly IPAddressPool[];
  /** metallb-system/config, when it exists. */
  configMap?: ConfigMap;
  namespaces: readonly Namespace[];
  mode: 'host' | 'netns';
  /** Host mode's pool when none is configured (default 127.240.0.0/24; --loadbalancer-pool). */
  loopbackPool?: string;
}

export type ConfigResult =
  | { ok: true; pools: Pools; notes: string[] }
  | { ok: false; source: ConfigSource; error: ConfigError; notes: string[] };

/**
 * Which configuration wins: IPAddressPools when at least one exists (MetalLB >= 0.13 reads
 * only these; the ConfigMap is then ignored), else the legacy ConfigMap, else in host mode the
 * loopback pool, else no pool at all.
 */
export function buildPools(inp: ConfigInputs): ConfigResult {
  const notes: string[] = [];
  try {
    if (inp.ipAddressPools.length > 0) {
      if (inp.configMap) notes.push(`the legacy ConfigMap ${metallbNamespace}/${legacyConfigMapName} is ignored: IPAddressPools exist in ${metallbNamespace} and take precedence`);
      return { ok: true, pools: poolsFromIPAddressPools(inp.ipAddressPools, inp.namespaces), notes };
    }
    if (inp.configMap) return { ok: true, pools: poolsFromLegacyConfig(inp.configMap.data?.config ?? ''), notes };
  } catch (e) {
    const source: ConfigSource = inp.ipAddressPools.length > 0 ? 'IPAddressPool' : 'ConfigMap';
    return { ok: false, source, error: e instanceof ConfigError ? e : new ConfigError((e as Error).message), notes };
  }
  return { ok: true, pools: inp.mode === 'host' ? loopbackPools(inp.loopbackPool) : emptyPools(), notes };
}

/** A stable text of what the allocator cares about, to tell whether a config changed. */
export function poolsFingerprint(p: Pools): string {
  const pools = [...p.byName.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((x) => ({
      n: x.name,
      p: x.prefixes.map(formatPrefix),
      b: x.avoidBuggyIPs,
      a: x.autoAssign,
      s: x.serviceAllocation ? { p: x.serviceAllocation.priority, n: [...x.serviceAllocation.namespaces].sort(), s: x.serviceAllocation.serviceSelectors } : null,
    }));
  return JSON.stringify({ source: p.source, pools });
}
