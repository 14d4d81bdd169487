// Address and port ranges for allocation, pure: offsets within a Service CIDR or the NodePort
// range, and the static/dynamic split Kubernetes uses (KEP-3070, KEP-3668): random picks come
// from the upper band first, keeping the lower band for addresses users ask for (the
// `kubernetes` Service's .1, cluster DNS's .10).
import ipaddr from 'ipaddr.js';

export type Family = 'IPv4' | 'IPv6';

export interface IPRange {
  cidr: string;
  family: Family;
  /** Addresses usable for Services (network and, for IPv4, broadcast excluded). */
  size: number;
  /** Offset (1-based from the network address) → address. */
  addressAt(offset: number): string;
  /** Address → offset, or undefined when outside the range or not allocatable. */
  offsetOf(ip: string): number | undefined;
  /** Offsets [1, staticBand] are preferred for requested addresses. */
  staticBand: number;
}

function toBig(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBig(v: bigint, len: number): number[] {
  const out = new Array<number>(len).fill(0);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

// Kubernetes caps what one range allocates (the bitmap allocator's limit); bigger IPv6 ranges
// use only their first 2^20 addresses here.
const maxRangeSize = 1 << 20;

export function parseRange(cidr: string): IPRange {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new Error(`invalid service CIDR ${JSON.stringify(cidr)}`);
  }
  const [addr, bits] = parsed;
  const family: Family = addr.kind() === 'ipv4' ? 'IPv4' : 'IPv6';
  const len = family === 'IPv4' ? 4 : 16;
  const hostBits = len * 8 - bits;
  const network = toBig(addr.toByteArray()) & ~((1n << BigInt(hostBits)) - 1n);
  const total = 1n << BigInt(hostBits);
  // IPv4 loses the network and broadcast addresses; IPv6 only the network (subnet-router anycast).
  const usable = family === 'IPv4' ? total - 2n : total - 1n;
  if (usable < 1n) throw new Error(`service CIDR ${cidr} has no usable addresses`);
  const size = Number(usable > BigInt(maxRangeSize) ? BigInt(maxRangeSize) : usable);
  const normalized = `${ipaddr.fromByteArray(fromBig(network, len)).toString()}/${bits}`;
  return {
    cidr: normalized,
    family,
    size,
    staticBand: Math.min(Math.max(16, Math.floor(size / 16)), 256, size),
    addressAt: family === 'IPv4' ? ipv4At(Number(network)) : (offset) => ipaddr.fromByteArray(fromBig(network + BigInt(offset), len)).toString(),
    offsetOf: (ip) => {
      let a: ipaddr.IPv4 | ipaddr.IPv6;
      try {
        a = ipaddr.parse(ip);
      } catch {
        return undefined;
      }
      if (a.kind() !== addr.kind()) return undefined;
      const off = toBig(a.toByteArray()) - network;
      if (off < 1n || off > BigInt(size)) return undefined;
      return Number(off);
    },
  };
}

/** IPv4 offsets in plain numbers (every allocation probes a few; BigInt and ipaddr cost more). */
function ipv4At(network: number): (offset: number) => string {
  return (offset) => {
    const v = network + offset;
    return `${Math.floor(v / 0x1000000) & 0xff}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  };
}

export interface PortRange {
  base: number;
  size: number;
  staticBand: number;
}

export function parsePortRange(spec: string): PortRange {
  const m = /^(\d+)-(\d+)$/.exec(spec.trim());
  if (!m) throw new Error(`invalid node port range ${JSON.stringify(spec)}: expected e.g. 30000-32767`);
  const base = Number(m[1]);
  const last = Number(m[2]);
  if (base < 1 || last > 65535 || last < base) throw new Error(`invalid node port range ${JSON.stringify(spec)}`);
  const size = last - base + 1;
  return { base, size, staticBand: Math.min(Math.max(16, Math.floor(size / 32)), 128, size) };
}

/**
 * Picks a free offset in [1, size] at random, from the dynamic band (above staticBand) first,
 * then the static band. `taken` says whether an offset is in use.
 */
export function pickFree(size: number, staticBand: number, taken: (offset: number) => boolean, random: () => number = Math.random): number | undefined {
  const bands: [number, number][] = staticBand < size ? [[staticBand + 1, size], [1, staticBand]] : [[1, size]];
  for (const [lo, hi] of bands) {
    const n = hi - lo + 1;
    for (let i = 0; i < 32; i++) {
      const o = lo + Math.floor(random() * n);
      if (!taken(o)) return o;
    }
    // Dense: scan from a random start.
    const start = Math.floor(random() * n);
    for (let i = 0; i < n; i++) {
      const o = lo + ((start + i) % n);
      if (!taken(o)) return o;
    }
  }
  return undefined;
}
