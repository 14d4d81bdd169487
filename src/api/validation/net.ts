// IP and CIDR parsing with the leniency of k8s.io/utils/net ParseIPSloppy/ParseCIDRSloppy:
// IPv4 in four decimal parts (leading zeros allowed, read as decimal), IPv6 without zone.
// An IPv4-mapped IPv6 address counts as IPv4, as Go's net.IP.To4() treats it.
import ipaddr from 'ipaddr.js';

export type IPFamily = 'IPv4' | 'IPv6';

export interface ParsedIP {
  family: IPFamily;
  /** 4 bytes for IPv4 (also IPv4-mapped IPv6), 16 for IPv6. */
  bytes: number[];
}

function parseIPv4Sloppy(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]+$/.test(p)) return undefined;
    const n = Number.parseInt(p, 10);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

export function parseIPSloppy(s: string): ParsedIP | undefined {
  if (s.includes(':')) {
    if (s.includes('%') || !ipaddr.IPv6.isValid(s)) return undefined;
    // An embedded IPv4 tail must itself be four decimal parts.
    const tail = s.slice(s.lastIndexOf(':') + 1);
    if (tail.includes('.') && !parseIPv4Sloppy(tail)) return undefined;
    const v6 = ipaddr.IPv6.parse(s);
    if (v6.isIPv4MappedAddress()) return { family: 'IPv4', bytes: v6.toIPv4Address().octets.slice() };
    return { family: 'IPv6', bytes: v6.toByteArray() };
  }
  const v4 = parseIPv4Sloppy(s);
  return v4 ? { family: 'IPv4', bytes: v4 } : undefined;
}

export interface ParsedCIDR {
  ip: ParsedIP;
  prefix: number;
}

export function parseCIDRSloppy(s: string): ParsedCIDR | undefined {
  const i = s.indexOf('/');
  if (i < 0) return undefined;
  const addr = s.slice(0, i);
  const bits = s.slice(i + 1);
  if (!/^[0-9]{1,3}$/.test(bits)) return undefined;
  const prefix = Number.parseInt(bits, 10);
  const ip = parseIPSloppy(addr);
  if (!ip) return undefined;
  // A mapped address written in IPv6 form takes an IPv6 prefix length.
  const isV6Text = addr.includes(':');
  const max = isV6Text ? 128 : 32;
  if (prefix > max) return undefined;
  if (isV6Text && ip.family === 'IPv4') return prefix >= 96 ? { ip, prefix: prefix - 96 } : { ip: { family: 'IPv6', bytes: ipaddr.IPv6.parse(addr).toByteArray() }, prefix };
  return { ip, prefix };
}

export function familyOf(s: string): IPFamily | undefined {
  return parseIPSloppy(s)?.family;
}

export function isIPv6String(s: string): boolean {
  return familyOf(s) === 'IPv6';
}

/** The address as Go's net.IP.String() prints it. */
export function ipString(ip: ParsedIP): string {
  return ipaddr.fromByteArray(ip.bytes).toString();
}

/** Whether `ip` lies in `cidr`. */
export function cidrContains(cidr: ParsedCIDR, ip: ParsedIP): boolean {
  if (cidr.ip.family !== ip.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; i < ip.bytes.length && bits > 0; i++) {
    const take = Math.min(8, bits);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((ip.bytes[i] ?? 0) & mask) !== ((cidr.ip.bytes[i] ?? 0) & mask)) return false;
    bits -= take;
  }
  return true;
}

/** Compares two addresses of the same family byte by byte. */
export function compareIP(a: ParsedIP, b: ParsedIP): number {
  for (let i = 0; i < Math.max(a.bytes.length, b.bytes.length); i++) {
    const d = (a.bytes[i] ?? 0) - (b.bytes[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function isUnspecified(ip: ParsedIP): boolean {
  return ip.bytes.every((b) => b === 0);
}

export function isLoopback(ip: ParsedIP): boolean {
  if (ip.family === 'IPv4') return ip.bytes[0] === 127;
  return ip.bytes.slice(0, 15).every((b) => b === 0) && ip.bytes[15] === 1;
}

export function isLinkLocalUnicast(ip: ParsedIP): boolean {
  if (ip.family === 'IPv4') return ip.bytes[0] === 169 && ip.bytes[1] === 254;
  return ip.bytes[0] === 0xfe && ((ip.bytes[1] ?? 0) & 0xc0) === 0x80;
}

export function isLinkLocalMulticast(ip: ParsedIP): boolean {
  if (ip.family === 'IPv4') return ip.bytes[0] === 224 && ip.bytes[1] === 0 && ip.bytes[2] === 0;
  return ip.bytes[0] === 0xff && ((ip.bytes[1] ?? 0) & 0x0f) === 0x02;
}
