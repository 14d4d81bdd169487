// Pod addresses from the node's pod CIDR (pure). The network address, the first host address
// (the node bridge's gateway in netns mode; kept free in host mode too, so both modes number
// pods alike) and the broadcast address are never handed out.
import ipaddr from 'ipaddr.js';

export interface ParsedCidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
  size: bigint;
}

export function parseCidr(cidr: string): ParsedCidr {
  const [addr, len] = ipaddr.parseCIDR(cidr);
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const total = family === 4 ? 32 : 128;
  const bytes = addr.toByteArray();
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  const size = 1n << BigInt(total - len);
  return { family, base: v - (v % size), bits: len, size };
}

export function formatAddress(v: bigint, family: 4 | 6): string {
  const n = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = n - 1; i >= 0; i--) bytes.push(Number((v >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** The lowest free address of the CIDR (skipping network, gateway and broadcast), or undefined. */
export function allocateAddress(cidr: string, used: ReadonlySet<string>): string | undefined {
  const c = parseCidr(cidr);
  const last = c.family === 4 ? c.size - 1n : c.size;
  for (let off = 2n; off < last; off++) {
    const a = formatAddress(c.base + off, c.family);
    if (!used.has(a)) return a;
  }
  return undefined;
}

export function cidrContains(cidr: string, address: string): boolean {
  try {
    const c = parseCidr(cidr);
    const a = parseCidr(`${address}/${c.family === 4 ? 32 : 128}`);
    return a.family === c.family && a.base >= c.base && a.base < c.base + c.size;
  } catch {
    return false;
  }
}
