// The question name, taken apart as CoreDNS's plugin/kubernetes/parse.go does. Works on label
// arrays (never on dotted strings), so a label that itself holds a dot cannot pose as two.
import ipaddr from 'ipaddr.js';

/** What a name below the cluster zone asks for (empty strings where absent). */
export interface RecordRequest {
  /** The named port of `_port._proto.svc.ns.svc.zone`, underscore stripped. */
  port: string;
  protocol: string;
  /** The endpoint label of `endpoint.svc.ns.svc.zone`. */
  endpoint: string;
  /** The service (or, under `pod`, the dashed pod IP). */
  service: string;
  namespace: string;
  /** "svc", "pod", or "" for the zone apex and the bare `svc`/`pod` labels. */
  podOrSvc: '' | 'svc' | 'pod';
}

export type ParseResult = { ok: true; request: RecordRequest } | { ok: false };

function stripUnderscore(s: string): string {
  return s.startsWith('_') ? s.slice(1) : s;
}

/**
 * Parses the labels below the zone (left to right, lower-cased). `{ok: false}` is CoreDNS's
 * errInvalidRequest: the name cannot exist (NXDOMAIN).
 */
export function parseRequest(sub: readonly string[]): ParseResult {
  const r: RecordRequest = { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' };
  // The apex and the bare `svc` and `pod` labels exist (NODATA).
  if (sub.length === 0 || (sub.length === 1 && (sub[0] === 'svc' || sub[0] === 'pod'))) return { ok: true, request: r };
  let last = sub.length - 1;
  const kind = sub[last];
  if (kind !== 'svc' && kind !== 'pod') return { ok: false };
  r.podOrSvc = kind;
  if (--last < 0) return { ok: true, request: r };
  r.namespace = sub[last]!;
  if (--last < 0) return { ok: true, request: r };
  r.service = sub[last]!;
  if (--last < 0) return { ok: true, request: r };
  if (last === 0) {
    r.endpoint = sub[0]!;
  } else if (last === 1) {
    r.protocol = stripUnderscore(sub[1]);
    r.port = stripUnderscore(sub[0]);
  } else {
    return { ok: false };
  }
  return { ok: true, request: r };
}

/** Lower-cased labels of a dotted zone name ("cluster.local." -> ["cluster", "local"]). */
export function zoneLabels(zone: string): string[] {
  const z = zone.replace(/\.$/, '').toLowerCase();
  return z === '' ? [] : z.split('.');
}

/** True when `labels` ends with `zone` (both lower-cased). */
export function inZone(labels: readonly string[], zone: readonly string[]): boolean {
  if (labels.length < zone.length) return false;
  const off = labels.length - zone.length;
  for (let i = 0; i < zone.length; i++) if (labels[off + i] !== zone[i]) return false;
  return true;
}

/**
 * The address a full reverse name stands for (`4.3.2.1.in-addr.arpa` or 32 nibbles under
 * `ip6.arpa`), canonical; undefined for anything else (partial names included).
 */
export function addressFromReverse(labels: readonly string[]): string | undefined {
  const n = labels.length;
  if (n === 6 && labels[4] === 'in-addr' && labels[5] === 'arpa') {
    const octets: string[] = [];
    for (let i = 3; i >= 0; i--) {
      const l = labels[i];
      if (!/^(0|[1-9][0-9]{0,2})$/.test(l) || Number(l) > 255) return undefined;
      octets.push(l);
    }
    return octets.join('.');
  }
  if (n === 34 && labels[32] === 'ip6' && labels[33] === 'arpa') {
    let hex = '';
    for (let i = 31; i >= 0; i--) {
      const l = labels[i];
      if (!/^[0-9a-f]$/.test(l)) return undefined;
      hex += l;
    }
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return ipaddr.IPv6.parse(groups.join(':')).toString();
  }
  return undefined;
}

/** The reverse name of an address, for tests and the NS/PTR fixtures. */
export function reverseName(ip: string): string {
  const addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv4') return addr.toByteArray().reverse().join('.') + '.in-addr.arpa.';
  const nibbles: string[] = [];
  for (const b of addr.toByteArray()) nibbles.push((b >> 4).toString(16), (b & 0xf).toString(16));
  return nibbles.reverse().join('.') + '.ip6.arpa.';
}
