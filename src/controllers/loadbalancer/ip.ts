// Address arithmetic for LoadBalancer pools: addresses and prefixes as bigints, parsed and
// printed as Go's net package does (MetalLB's allocator works on net.IP and net.IPNet), and
// address ranges summarized into prefixes as MetalLB's config does (ipaddr.Summarize).
import ipaddr from 'ipaddr.js';

export type Family = 'ipv4' | 'ipv6';

export interface Addr {
  family: Family;
  n: bigint;
}

export interface Prefix {
  family: Family;
  /** The network address (host bits zero). */
  base: bigint;
  bits: number;
}

export function familyWidth(f: Family): number {
  return f === 'ipv4' ? 32 : 128;
}

/** IPv4 as four decimal parts (leading zeros read as decimal, as the API server's webhook allows). */
function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return undefined;
    const v = Number.parseInt(p, 10);
    if (v > 255) return undefined;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function fromBytes(bytes: readonly number[]): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** net.ParseIP: IPv4 dotted quad or IPv6 (no zone); an IPv4-mapped IPv6 address is IPv4. */
export function parseAddr(s: string): Addr | undefined {
  if (s.includes(':')) {
    if (s.includes('%') || !ipaddr.IPv6.isValid(s)) return undefined;
    const tail = s.slice(s.lastIndexOf(':') + 1);
    if (tail.includes('.') && parseV4(tail) === undefined) return undefined;
    const v6 = ipaddr.IPv6.parse(s);
    if (v6.isIPv4MappedAddress()) return { family: 'ipv4', n: fromBytes(v6.toIPv4Address().octets) };
    return { family: 'ipv6', n: fromBytes(v6.toByteArray()) };
  }
  const n = parseV4(s);
  return n === undefined ? undefined : { family: 'ipv4', n };
}

/** net.IP.String(): dotted quad, or RFC 5952 for IPv6. */
export function formatAddr(a: Addr): string {
  if (a.family === 'ipv4') {
    const n = Number(a.n);
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((a.n >> BigInt(i * 8)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/** The canonical text of an address string, or undefined when it is not one. */
export function canonicalAddr(s: string): string | undefined {
  const a = parseAddr(s.trim());
  return a ? formatAddr(a) : undefined;
}

function hostMask(p: { family: Family; bits: number }): bigint {
  return (1n << BigInt(familyWidth(p.family) - p.bits)) - 1n;
}

/** net.ParseCIDR (the network address, host bits cleared); undefined when invalid. */
export function parsePrefix(s: string): Prefix | undefined {
  const i = s.indexOf('/');
  if (i < 0) return undefined;
  const addrText = s.slice(0, i);
  const bitsText = s.slice(i + 1);
  if (!/^[0-9]{1,3}$/.test(bitsText)) return undefined;
  let bits = Number.parseInt(bitsText, 10);
  const a = parseAddr(addrText);
  if (!a) return undefined;
  let family = a.family;
  let n = a.n;
  if (addrText.includes(':')) {
    if (bits > 128) return undefined;
    if (family === 'ipv4') {
      // An IPv4-mapped address with an IPv6 prefix length: IPv4 when the length covers the map.
      if (bits >= 96) bits -= 96;
      else {
        family = 'ipv6';
        n = (0xffffn << 32n) | a.n;
      }
    }
  } else if (bits > 32) return undefined;
  const p = { family, bits };
  return { family, bits, base: n & ~hostMask(p) & ((1n << BigInt(familyWidth(family))) - 1n) };
}

export function prefixSize(p: Prefix): bigint {
  return 1n << BigInt(familyWidth(p.family) - p.bits);
}

export function prefixLast(p: Prefix): bigint {
  return p.base + prefixSize(p) - 1n;
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddr({ family: p.family, n: p.base })}/${p.bits}`;
}

export function prefixContains(p: Prefix, a: Addr): boolean {
  return p.family === a.family && a.n >= p.base && a.n <= prefixLast(p);
}

/** MetalLB's cidrsOverlap: one contains the other. */
export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.base <= prefixLast(b) && b.base <= prefixLast(a);
}

/** The fewest prefixes covering exactly [start, end], in address order (ipaddr.Summarize). */
export function summarize(start: Addr, end: Addr): Prefix[] {
  const width = familyWidth(start.family);
  const out: Prefix[] = [];
  let cur = start.n;
  while (cur <= end.n) {
    // The largest aligned block starting at cur that stays within end.
    let bits = width;
    while (bits > 0) {
      const size = 1n << BigInt(width - bits + 1);
      if (cur % size !== 0n || cur + size - 1n > end.n) break;
      bits--;
    }
    out.push({ family: start.family, base: cur, bits });
    cur += 1n << BigInt(width - bits);
  }
  return out;
}

/** MetalLB's ipConfusesBuggyFirmwares: an IPv4 address ending in .0 or .255. */
export function isBuggyAddr(a: Addr): boolean {
  if (a.family !== 'ipv4') return false;
  const last = a.n & 255n;
  return last === 0n || last === 255n;
}

/**
 * config.ParseCIDR: a CIDR or a range "a-b", as prefixes; throws with MetalLB's message.
 * Ranges of mixed families are refused in the API server's webhook words.
 */
export function parsePoolAddresses(entry: string): Prefix[] {
  if (!entry.includes('-')) {
    const p = parsePrefix(entry);
    if (!p) throw new Error(`invalid CIDR "${entry}"`);
    return [p];
  }
  const i = entry.indexOf('-');
  const a = entry.slice(0, i);
  const b = entry.slice(i + 1);
  const start = parseAddr(a.trim());
  if (!start) throw new Error(`invalid IP range "${entry}": invalid start IP "${a}"`);
  const end = parseAddr(b.trim());
  if (!end) throw new Error(`invalid IP range "${entry}": invalid end IP "${b}"`);
  if (start.family !== end.family) {
    throw new Error(`invalid IP range "${entry}": start IP "${formatAddr(start)}" and end IP "${formatAddr(end)}" are not of the same IP family`);
  }
  if (start.n > end.n) throw new Error(`invalid IP range "${entry}": start IP "${formatAddr(start)}" is after the end IP "${formatAddr(end)}"`);
  return summarize(start, end);
}

/** Go's %q of a list of addresses: ["a" "b"]. */
export function quoteList(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}
