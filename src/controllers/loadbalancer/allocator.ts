// MetalLB's allocator (internal/allocator of v0.14/v0.15), in svcnet's words: which Service holds
// which addresses, from which pool, on which ports, under which sharing key. In memory and
// pure: the controller rebuilds it from the Services' statuses when it starts.
//
// Sharing (MetalLB's rule): Services may hold the same address when they carry the same
// allow-shared-ip key, use different ports (protocol/port), and have the same backend key
// (empty for externalTrafficPolicy Cluster, the selector for Local).
import { matches } from '../../api/selectors/index.ts';
import type { Pool, Pools } from './config.ts';
import { emptyPools } from './config.ts';
import { familyWidth, formatAddr, isBuggyAddr, parseAddr, prefixContains, prefixLast, prefixSize, quoteList, type Addr, type Family, type Prefix } from './ip.ts';

export type ServiceFamily = Family | 'dual';
export type FamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

/** What the allocator needs to know of a Service. */
export interface AllocRequest {
  /** "namespace/name" */
  key: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** "TCP/80" for each port. */
  ports: string[];
  sharingKey: string;
  backendKey: string;
  family: ServiceFamily;
  policy: FamilyPolicy;
  /** The family preferred when a PreferDualStack Service gets one address: ipFamilies[0], else IPv4. */
  primary: Family;
}

/** An allocator refusal, in MetalLB's words. */
export class AllocationError extends Error {}

interface SharingKey {
  sharing: string;
  backend: string;
}

interface Alloc {
  pool: string;
  ips: Addr[];
  ports: string[];
  key: SharingKey;
}

export interface PoolCounters {
  assignedIPv4: number;
  assignedIPv6: number;
  availableIPv4: number;
  availableIPv6: number;
}

/** Addresses in a prefix that the pool may hand out (MetalLB's poolCount, per prefix). */
function usableCount(p: Prefix, avoidBuggy: boolean): bigint {
  let size = prefixSize(p);
  if (avoidBuggy && p.family === 'ipv4') {
    if (p.bits <= 24) size -= (1n << BigInt(24 - p.bits)) * 2n;
    else {
      if (isBuggyAddr({ family: 'ipv4', n: p.base })) size--;
      if (isBuggyAddr({ family: 'ipv4', n: prefixLast(p) })) size--;
    }
  }
  return size;
}

/** MetalLB's sortPools: priority 1 first, ..., unset (0) last; ties by name (MetalLB: random). */
export function sortPools(pools: Pool[]): Pool[] {
  const prio = (p: Pool) => {
    const v = p.serviceAllocation?.priority ?? 0;
    return v > 0 ? v : Number.POSITIVE_INFINITY;
  };
  return pools.sort((a, b) => prio(a) - prio(b) || a.name.localeCompare(b.name));
}

export function addrKey(a: Addr): string {
  return formatAddr(a);
}

/** First free address per family of one pool (MetalLB's Allocation). */
interface Candidate {
  pool: string;
  ipv4?: Addr;
  ipv6?: Addr;
}

export class Allocator {
  #pools: Pools = emptyPools();
  readonly #allocated = new Map<string, Alloc>();
  readonly #sharingKeyForIP = new Map<string, SharingKey>();
  /** ip → port → service */
  readonly #portsInUse = new Map<string, Map<string, string>>();
  readonly #servicesOnIP = new Map<string, Set<string>>();
  /** pool → ip → number of users */
  readonly #poolIPsInUse = new Map<string, Map<string, number>>();

  get pools(): Pools {
    return this.#pools;
  }

  /**
   * Takes a new set of pools. An allocation whose addresses no pool holds any more is dropped
   * (the Service is then re-evaluated and gets a new address, as MetalLB does since v0.13);
   * one whose addresses moved to another pool follows them. Returns the keys dropped.
   */
  setPools(pools: Pools): string[] {
    this.#pools = pools;
    const dropped: string[] = [];
    for (const [svc, alloc] of [...this.#allocated]) {
      const pool = this.#poolFor(alloc.ips);
      if (!pool) {
        this.unassign(svc);
        dropped.push(svc);
      } else if (pool.name !== alloc.pool) {
        this.unassign(svc);
        this.#assign(svc, { ...alloc, pool: pool.name });
      }
    }
    for (const name of [...this.#poolIPsInUse.keys()]) if (!pools.byName.has(name) && this.#poolIPsInUse.get(name)?.size === 0) this.#poolIPsInUse.delete(name);
    return dropped;
  }

  /** The pool the Service's addresses came from, or "" when it holds none. */
  pool(svc: string): string {
    return this.#allocated.get(svc)?.pool ?? '';
  }

  /** The Service's addresses, in the order assigned. */
  ips(svc: string): Addr[] {
    return [...(this.#allocated.get(svc)?.ips ?? [])];
  }

  /** Services holding an allocation. */
  keys(): string[] {
    return [...this.#allocated.keys()];
  }

  /** Services on an address (for tests and the pool status). */
  servicesOn(ip: string): string[] {
    return [...(this.#servicesOnIP.get(ip) ?? [])].sort();
  }

  /** MetalLB's poolFor: the pool holding every one of the addresses. */
  #poolFor(ips: readonly Addr[]): Pool | undefined {
    for (const p of [...this.#pools.byName.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const all = ips.every((ip) => !(p.avoidBuggyIPs && isBuggyAddr(ip)) && p.prefixes.some((c) => prefixContains(c, ip)));
      if (all) return p;
    }
    return undefined;
  }

  poolForIPs(ips: readonly Addr[]): string | undefined {
    return this.#poolFor(ips)?.name;
  }

  #assign(svc: string, alloc: Alloc): void {
    this.unassign(svc);
    this.#allocated.set(svc, alloc);
    for (const ip of alloc.ips) {
      const k = addrKey(ip);
      this.#sharingKeyForIP.set(k, alloc.key);
      let ports = this.#portsInUse.get(k);
      if (!ports) this.#portsInUse.set(k, (ports = new Map<string, string>()));
      for (const port of alloc.ports) ports.set(port, svc);
      let on = this.#servicesOnIP.get(k);
      if (!on) this.#servicesOnIP.set(k, (on = new Set<string>()));
      on.add(svc);
      let inUse = this.#poolIPsInUse.get(alloc.pool);
      if (!inUse) this.#poolIPsInUse.set(alloc.pool, (inUse = new Map<string, number>()));
      inUse.set(k, (inUse.get(k) ?? 0) + 1);
    }
  }

  /** Frees what the Service holds, if anything. */
  unassign(svc: string): boolean {
    const al = this.#allocated.get(svc);
    if (!al) return false;
    this.#allocated.delete(svc);
    for (const ip of al.ips) {
      const k = addrKey(ip);
      const ports = this.#portsInUse.get(k);
      for (const port of al.ports) if (ports?.get(port) === svc) ports.delete(port);
      this.#servicesOnIP.get(k)?.delete(svc);
      if (this.#servicesOnIP.get(k)?.size === 0) this.#servicesOnIP.delete(k);
      if (!ports || ports.size === 0) {
        this.#portsInUse.delete(k);
        this.#sharingKeyForIP.delete(k);
      }
      const inUse = this.#poolIPsInUse.get(al.pool);
      if (inUse) {
        const n = (inUse.get(k) ?? 0) - 1;
        if (n <= 0) inUse.delete(k);
        else inUse.set(k, n);
      }
    }
    return true;
  }

  #checkSharing(svc: string, ip: string, ports: readonly string[], sk: SharingKey): void {
    const existing = this.#sharingKeyForIP.get(ip);
    if (!existing) return;
    if (sharingError(existing, sk) !== undefined) {
      // An incompatible key is fine when the Service is the address's only user.
      const others = [...(this.#servicesOnIP.get(ip) ?? [])].filter((s) => s !== svc).sort();
      if (others.length > 0) throw new AllocationError(`can't change sharing key for "${svc}", address also in use by ${others.join(',')}`);
    }
    const used = this.#portsInUse.get(ip);
    for (const port of ports) {
      const cur = used?.get(port);
      if (cur !== undefined && cur !== svc) throw new AllocationError(`port ${port} is already in use on "${ip}"`);
    }
  }

  #compatible(p: Pool, req: AllocRequest): boolean {
    const sa = p.serviceAllocation;
    if (!sa) return true;
    if (sa.namespaces.size > 0 && !sa.namespaces.has(req.namespace)) return false;
    if (sa.serviceSelectors.length > 0) return sa.serviceSelectors.some((s) => matches(s, req.labels));
    return true;
  }

  /** MetalLB's Assign: the given addresses, if config and sharing allow. */
  assign(req: AllocRequest, ips: readonly Addr[]): void {
    const pool = this.#poolFor(ips);
    const texts = ips.map(formatAddr);
    if (!pool) throw new AllocationError(`${quoteList(texts)} is not allowed in config`);
    if (!this.#compatible(pool, req)) throw new AllocationError(`pool ${pool.name} not compatible for ip assignment`);
    if (ips.length > 2) throw new AllocationError(`more than two addresses ${quoteList(texts)}`);
    if (ips.length === 2 && ips[0].family === ips[1].family) throw new AllocationError(`"${texts[0]}" "${texts[1]}" has the same family`);
    const sk = { sharing: req.sharingKey, backend: req.backendKey };
    for (const t of texts) this.#checkSharing(req.key, t, req.ports, sk);
    this.#assign(req.key, { pool: pool.name, ips: [...ips], ports: [...req.ports], key: sk });
  }

  /** The first address of the prefix the Service may take (free, or shareable with it). */
  #firstUsable(c: Prefix, avoidBuggy: boolean, req: AllocRequest): Addr | undefined {
    const sk = { sharing: req.sharingKey, backend: req.backendKey };
    const last = prefixLast(c);
    for (let n = c.base; n <= last; n++) {
      const a: Addr = { family: c.family, n };
      if (avoidBuggy && isBuggyAddr(a)) continue;
      const k = addrKey(a);
      // A free address needs no check; a used one is rare, so the scan stays short.
      const existing = this.#sharingKeyForIP.get(k);
      if (!existing) return a;
      // Cheap refusals first (no exception per used address: a large, busy pool stays fast).
      if (sk.sharing === '' || existing.sharing !== sk.sharing) continue;
      try {
        this.#checkSharing(req.key, k, req.ports, sk);
        return a;
      } catch {
        continue;
      }
    }
    return undefined;
  }

  #freeIPs(pool: Pool, req: AllocRequest): Candidate {
    const out: Candidate = { pool: pool.name };
    for (const c of pool.prefixes) {
      if (out[c.family]) continue;
      const a = this.#firstUsable(c, pool.avoidBuggyIPs, req);
      if (a) out[c.family] = a;
    }
    return out;
  }

  #findBestPool(pools: readonly Pool[], req: AllocRequest): Candidate {
    let primary: Candidate | undefined;
    let secondary: Candidate | undefined;
    const preferDual = req.policy === 'PreferDualStack' && req.family === 'dual';
    const other: Family = req.primary === 'ipv4' ? 'ipv6' : 'ipv4';
    for (const pool of pools) {
      const cand = this.#freeIPs(pool, req);
      if (req.family !== 'dual' && cand[req.family]) return cand;
      if (cand.ipv4 && cand.ipv6) return cand;
      if (!preferDual) continue;
      if (cand[req.primary] && !primary) primary = cand;
      if (cand[other] && !secondary) secondary = cand;
    }
    if (primary) return primary;
    if (secondary) return secondary;
    throw new AllocationError(`no suitable pool for ${req.family} IPFamily`);
  }

  /** MetalLB's selectIPsForFamilyAndPolicy. */
  #select(c: Candidate, family: ServiceFamily, policy: FamilyPolicy): Addr[] {
    const fail = () => new AllocationError(`no available IPs in pool ${c.pool} for ${family} IPFamily`);
    if (family !== 'dual') {
      const ip = c[family];
      if (!ip) throw fail();
      return [ip];
    }
    if (policy === 'RequireDualStack' || policy === 'PreferDualStack') {
      if (c.ipv4 && c.ipv6) return [c.ipv4, c.ipv6];
      if (policy === 'PreferDualStack') {
        if (c.ipv4) return [c.ipv4];
        if (c.ipv6) return [c.ipv6];
      }
    }
    throw fail();
  }

  #allocateFromPools(pools: readonly Pool[], req: AllocRequest): Addr[] | undefined {
    try {
      const best = this.#findBestPool(pools, req);
      const ips = this.#select(best, req.family, req.policy);
      this.assign(req, ips);
      return ips;
    } catch (e) {
      if (e instanceof AllocationError) return undefined;
      throw e;
    }
  }

  #pinnedPools(req: AllocRequest): Pool[] {
    const names = new Set<string>([...(this.#pools.byNamespace.get(req.namespace) ?? []), ...this.#pools.byServiceSelector]);
    const out: Pool[] = [];
    for (const n of names) {
      const p = this.#pools.byName.get(n);
      if (p && p.autoAssign && this.#compatible(p, req)) out.push(p);
    }
    return sortPools(out);
  }

  /** MetalLB's Allocate: pinned pools by priority, then every auto-assign pool without serviceAllocation. */
  allocate(req: AllocRequest): Addr[] {
    const cur = this.#allocated.get(req.key);
    if (cur) {
      this.assign(req, cur.ips);
      return [...cur.ips];
    }
    const pinned = this.#allocateFromPools(this.#pinnedPools(req), req);
    if (pinned) return pinned;
    const open = [...this.#pools.byName.values()].filter((p) => p.autoAssign && !p.serviceAllocation).sort((a, b) => a.name.localeCompare(b.name));
    const any = this.#allocateFromPools(open, req);
    if (any) return any;
    throw new AllocationError('no available IPs');
  }

  /** MetalLB's AllocateFromPool: from the pool the Service names (metallb.io/address-pool). */
  allocateFromPool(req: AllocRequest, poolName: string): Addr[] {
    const cur = this.#allocated.get(req.key);
    if (cur) {
      this.assign(req, cur.ips);
      return [...cur.ips];
    }
    const pool = this.#pools.byName.get(poolName);
    if (!pool) throw new AllocationError(`unknown pool "${poolName}"`);
    const ips = this.#select(this.#freeIPs(pool, req), req.family, req.policy);
    this.assign(req, ips);
    return ips;
  }

  /** MetalLB's AllocateFromPoolForAdditionalFamily: PreferDualStack with one address so far. */
  allocateAdditionalFamily(req: AllocRequest, existing: Addr, poolName: string): Addr {
    const pool = this.#pools.byName.get(poolName);
    if (!pool) throw new AllocationError(`unknown pool "${poolName}"`);
    const family: Family = existing.family === 'ipv4' ? 'ipv6' : 'ipv4';
    const [ip] = this.#select(this.#freeIPs(pool, req), family, 'SingleStack');
    this.assign(req, [existing, ip]);
    return ip;
  }

  /** The IPAddressPool status figures (MetalLB's PoolCounters); capped at 2^53-1 for JSON. */
  counters(poolName: string): PoolCounters | undefined {
    const p = this.#pools.byName.get(poolName);
    if (!p) return undefined;
    let v4 = 0n;
    let v6 = 0n;
    for (const c of p.prefixes) {
      // MetalLB counts a prefix of 2^62 or more as "never runs out".
      const n = familyWidth(c.family) - c.bits >= 62 ? BigInt(Number.MAX_SAFE_INTEGER) : usableCount(c, p.avoidBuggyIPs);
      if (c.family === 'ipv4') v4 += n;
      else v6 += n;
    }
    let a4 = 0;
    let a6 = 0;
    for (const ip of this.#poolIPsInUse.get(poolName)?.keys() ?? []) {
      if (parseAddr(ip)?.family === 'ipv4') a4++;
      else a6++;
    }
    const cap = (n: bigint) => Number(n > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : n);
    return { assignedIPv4: a4, assignedIPv6: a6, availableIPv4: cap(v4) - a4, availableIPv6: v6 >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : cap(v6) - a6 };
  }
}

/** MetalLB's sharingOK, as the reason it fails (undefined: the keys allow sharing). */
export function sharingError(existing: SharingKey, next: SharingKey): string | undefined {
  if (existing.sharing === '') return 'existing service does not allow sharing';
  if (next.sharing === '') return 'new service does not allow sharing';
  if (existing.sharing !== next.sharing) return `sharing key "${next.sharing}" does not match existing sharing key "${existing.sharing}"`;
  if (existing.backend !== next.backend) return `backend key "${next.backend}" does not match existing sharing key "${existing.backend}"`;
  return undefined;
}
