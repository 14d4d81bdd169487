// What is allocated: one store key per Service IP and per NodePort, written in the same
// transaction as the Service (so no two Services ever share one, across restarts and across
// API servers sharing etcd). This process follows those keys with a store watch to pick free
// values quickly, and holds tentative reservations for writes in flight.
import type { Store, Watch } from '../../store/index.ts';
import { logger } from '../../util/index.ts';
import { parsePortRange, parseRange, pickFree, type Family, type IPRange, type PortRange } from './ranges.ts';

export const ipKeyPrefix = '/registry/allocations/serviceips/';
export const nodePortKeyPrefix = '/registry/allocations/servicenodeports/';

/** The Service an allocation belongs to. */
export interface AllocationOwner {
  namespace: string;
  name: string;
  uid: string;
}

export interface AllocatorConfig {
  /** Service CIDRs, primary first, at most one per family. */
  serviceCIDRs: readonly string[];
  /** "30000-32767" */
  nodePortRange: string;
}

const log = logger('allocator');

export class ServiceAllocator {
  readonly ranges: IPRange[];
  readonly ports: PortRange;
  readonly #store: Store;
  readonly #ips = new Map<string, AllocationOwner>();
  readonly #nodePorts = new Map<number, AllocationOwner>();
  readonly #reservedIPs = new Set<string>();
  readonly #reservedPorts = new Set<number>();
  #watches: Watch[] = [];

  constructor(store: Store, cfg: AllocatorConfig) {
    this.#store = store;
    this.ranges = cfg.serviceCIDRs.map(parseRange);
    const fams = new Set(this.ranges.map((r) => r.family));
    if (fams.size !== this.ranges.length) throw new Error(`--service-cidr: at most one CIDR per IP family (got ${cfg.serviceCIDRs.join(',')})`);
    this.ports = parsePortRange(cfg.nodePortRange);
  }

  async start(): Promise<void> {
    for (const [prefix, apply] of [
      [ipKeyPrefix, (k: string, v: AllocationOwner | undefined) => (v ? this.#ips.set(k, v) : this.#ips.delete(k))],
      [nodePortKeyPrefix, (k: string, v: AllocationOwner | undefined) => (v ? this.#nodePorts.set(Number(k), v) : this.#nodePorts.delete(Number(k)))],
    ] as const) {
      const list = await this.#store.list(prefix);
      for (const kv of list.items) apply(kv.key.slice(prefix.length), parseOwner(kv.value));
      this.#watches.push(
        await this.#store.watch(prefix, list.revision, {
          onEvents: (events) => {
            for (const e of events) {
              if (e.type === 'PUT') apply(e.kv.key.slice(prefix.length), parseOwner(e.kv.value));
              else apply(e.prev.key.slice(prefix.length), undefined);
            }
          },
          onError: (err) => log.error({ err, prefix }, 'allocation watch ended'),
        }),
      );
    }
  }

  stop(): void {
    for (const w of this.#watches) w.stop();
    this.#watches = [];
  }

  rangeFor(family: Family): IPRange | undefined {
    return this.ranges.find((r) => r.family === family);
  }

  ipOwner(ip: string): AllocationOwner | undefined {
    return this.#ips.get(ip);
  }

  nodePortOwner(port: number): AllocationOwner | undefined {
    return this.#nodePorts.get(port);
  }

  /** Every allocated IP and its owner (for the repair pass). */
  allocatedIPs(): ReadonlyMap<string, AllocationOwner> {
    return this.#ips;
  }

  allocatedNodePorts(): ReadonlyMap<number, AllocationOwner> {
    return this.#nodePorts;
  }

  ipTaken(ip: string): boolean {
    return this.#ips.has(ip) || this.#reservedIPs.has(ip);
  }

  nodePortTaken(port: number): boolean {
    return this.#nodePorts.has(port) || this.#reservedPorts.has(port);
  }

  /** Reserves a specific IP for a write in flight; false when taken. */
  reserveIP(ip: string): boolean {
    if (this.ipTaken(ip)) return false;
    this.#reservedIPs.add(ip);
    return true;
  }

  reservePort(port: number): boolean {
    if (this.nodePortTaken(port)) return false;
    this.#reservedPorts.add(port);
    return true;
  }

  /** Picks and reserves a free IP of the family; undefined when the range is full. */
  allocateIP(family: Family): string | undefined {
    const r = this.rangeFor(family);
    if (!r) return undefined;
    const off = pickFree(r.size, r.staticBand, (o) => this.ipTaken(r.addressAt(o)));
    if (off === undefined) return undefined;
    const ip = r.addressAt(off);
    this.#reservedIPs.add(ip);
    return ip;
  }

  allocatePort(): number | undefined {
    const p = this.ports;
    const off = pickFree(p.size, p.staticBand, (o) => this.nodePortTaken(p.base + o - 1));
    if (off === undefined) return undefined;
    const port = p.base + off - 1;
    this.#reservedPorts.add(port);
    return port;
  }

  /** Ends reservations (the write committed or failed). Committed values arrive by the watch. */
  unreserve(ips: readonly string[], ports: readonly number[]): void {
    for (const ip of ips) this.#reservedIPs.delete(ip);
    for (const p of ports) this.#reservedPorts.delete(p);
  }

  /** Records committed allocations at once (the watch confirms them shortly after). */
  noteCommitted(owner: AllocationOwner, ips: readonly string[], ports: readonly number[], releasedIPs: readonly string[], releasedPorts: readonly number[]): void {
    for (const ip of ips) this.#ips.set(ip, owner);
    for (const p of ports) this.#nodePorts.set(p, owner);
    for (const ip of releasedIPs) if (this.#ips.get(ip)?.uid === owner.uid) this.#ips.delete(ip);
    for (const p of releasedPorts) if (this.#nodePorts.get(p)?.uid === owner.uid) this.#nodePorts.delete(p);
  }

  /** Marks a value another writer took (learned from a failed transaction). */
  noteTakenElsewhere(key: string): void {
    if (key.startsWith(ipKeyPrefix)) this.#ips.set(key.slice(ipKeyPrefix.length), { namespace: '', name: '', uid: '' });
    else if (key.startsWith(nodePortKeyPrefix)) this.#nodePorts.set(Number(key.slice(nodePortKeyPrefix.length)), { namespace: '', name: '', uid: '' });
  }
}

function parseOwner(value: string): AllocationOwner {
  try {
    const v = JSON.parse(value) as Partial<AllocationOwner>;
    return { namespace: v.namespace ?? '', name: v.name ?? '', uid: v.uid ?? '' };
  } catch {
    return { namespace: '', name: '', uid: '' };
  }
}

export function ipKey(ip: string): string {
  return ipKeyPrefix + ip;
}

export function nodePortKey(port: number): string {
  return nodePortKeyPrefix + String(port);
}
