// kube-controller-manager's cidrset (pkg/controller/nodeipam/ipam/cidrset): a cluster CIDR cut
// into node-sized subnets, handed out round-robin from after the last one given (so a subnet
// just released is not at once reused), marked used by what nodes already have. Pure.
import ipaddr from 'ipaddr.js';

function toBig(addr: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  let v = 0n;
  for (const b of addr.toByteArray()) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBig(v: bigint, family: 4 | 6): string {
  const n = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = n - 1; i >= 0; i--) bytes.push(Number((v >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

export class CidrSet {
  readonly family: 4 | 6;
  readonly clusterCIDR: string;
  readonly nodeMask: number;
  readonly #base: bigint;
  readonly #step: bigint;
  readonly #count: number;
  readonly #used = new Set<number>();
  #next = 0;

  constructor(clusterCIDR: string, nodeMask: number) {
    const [addr, len] = ipaddr.parseCIDR(clusterCIDR);
    this.family = addr.kind() === 'ipv4' ? 4 : 6;
    const total = this.family === 4 ? 32 : 128;
    if (nodeMask < len) throw new Error(`--node-cidr-mask-size ${nodeMask} is smaller than the cluster CIDR ${clusterCIDR}'s prefix`);
    if (nodeMask - len > 24) throw new Error(`--node-cidr-mask-size ${nodeMask}: too many node subnets in ${clusterCIDR} (at most 2^24)`);
    const size = 1n << BigInt(total - len);
    const v = toBig(addr);
    this.#base = v - (v % size);
    this.#step = 1n << BigInt(total - nodeMask);
    this.#count = 2 ** (nodeMask - len);
    this.nodeMask = nodeMask;
    this.clusterCIDR = `${fromBig(this.#base, this.family)}/${len}`;
  }

  get size(): number {
    return this.#count;
  }

  get used(): number {
    return this.#used.size;
  }

  #cidrAt(i: number): string {
    return `${fromBig(this.#base + BigInt(i) * this.#step, this.family)}/${this.nodeMask}`;
  }

  /** The index of a node subnet of this set, or undefined (another size, outside the set). */
  #indexOf(cidr: string): number | undefined {
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    let len: number;
    try {
      [addr, len] = ipaddr.parseCIDR(cidr);
    } catch {
      return undefined;
    }
    if ((addr.kind() === 'ipv4' ? 4 : 6) !== this.family || len !== this.nodeMask) return undefined;
    const off = toBig(addr) - this.#base;
    if (off < 0n || off % this.#step !== 0n) return undefined;
    const i = Number(off / this.#step);
    return i < this.#count ? i : undefined;
  }

  contains(cidr: string): boolean {
    return this.#indexOf(cidr) !== undefined;
  }

  /** Marks a subnet a node already has; false when it is not one of this set's. */
  occupy(cidr: string): boolean {
    const i = this.#indexOf(cidr);
    if (i === undefined) return false;
    this.#used.add(i);
    return true;
  }

  release(cidr: string): void {
    const i = this.#indexOf(cidr);
    if (i !== undefined) this.#used.delete(i);
  }

  /** The next free subnet after the last one given, or undefined when all are used. */
  allocateNext(): string | undefined {
    for (let k = 0; k < this.#count; k++) {
      const i = (this.#next + k) % this.#count;
      if (!this.#used.has(i)) {
        this.#used.add(i);
        this.#next = (i + 1) % this.#count;
        return this.#cidrAt(i);
      }
    }
    return undefined;
  }
}

/** --node-cidr-mask-size defaults: /24 for IPv4, /64 for IPv6. */
export function defaultNodeMask(cidr: string): number {
  return cidr.includes(':') ? 64 : 24;
}
