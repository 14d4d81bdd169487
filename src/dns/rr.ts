// Resource records as the answer function produces them, and their zone-file text (the form
// CoreDNS's tests write expectations in: "name<TAB>ttl<TAB>IN<TAB>TYPE<TAB>rdata").
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { TYPE, typeName, wireToName, readName, CLASS_IN } from './wire.ts';

export type RR =
  | { type: 'A' | 'AAAA'; name: string; ttl: number; address: string }
  | { type: 'CNAME' | 'PTR' | 'NS'; name: string; ttl: number; target: string }
  | { type: 'SRV'; name: string; ttl: number; priority: number; weight: number; port: number; target: string }
  | { type: 'TXT'; name: string; ttl: number; text: string[] }
  | {
      type: 'SOA';
      name: string;
      ttl: number;
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  /** A record relayed from an upstream: owner and RDATA in wire form (RDATA names decompressed). */
  | { type: 'RAW'; owner: Buffer; code: number; class: number; ttl: number; rdata: Buffer };

export interface Answer {
  rcode: number;
  authoritative: boolean;
  answer: RR[];
  authority: RR[];
  additional: RR[];
  /** The answer is incomplete (an upstream answer for a chased CNAME was truncated). */
  truncated?: boolean;
  /**
   * An ExternalName outside the cluster zone: the server resolves `target` (through itself, as
   * CoreDNS's upstream does) and answers `prefix` (the CNAME chain) followed by what it found.
   * If that fails, the answer above (NODATA) stands, as in CoreDNS.
   */
  chase?: { prefix: RR[]; target: string; qtype: number };
  /** Answers that may be kept and replayed until the model changes (false for chased ones). */
  cacheable: boolean;
}

export function rrTypeCode(rr: RR): number {
  return rr.type === 'RAW' ? rr.code : TYPE[rr.type];
}

function addressText(code: number, rdata: Buffer): string | undefined {
  if (code === TYPE.A && rdata.length === 4) return [...rdata].join('.');
  if (code === TYPE.AAAA && rdata.length === 16) return ipaddr.fromByteArray([...rdata]).toString();
  return undefined;
}

/** Presentation of the RDATA types svcnet serves, from wire form (names already decompressed). */
function rawText(code: number, rdata: Buffer): string | undefined {
  try {
    switch (code) {
      case TYPE.CNAME:
      case TYPE.PTR:
      case TYPE.NS:
        return wireToName(readName(rdata, 0).wire);
      case TYPE.SRV:
        return `${rdata.readUInt16BE(0)} ${rdata.readUInt16BE(2)} ${rdata.readUInt16BE(4)} ${wireToName(readName(rdata, 6).wire)}`;
      case TYPE.MX:
        return `${rdata.readUInt16BE(0)} ${wireToName(readName(rdata, 2).wire)}`;
      case TYPE.SOA: {
        const m = readName(rdata, 0);
        const r = readName(rdata, m.end);
        const n = [0, 4, 8, 12, 16].map((i) => rdata.readUInt32BE(r.end + i));
        return `${wireToName(m.wire)} ${wireToName(r.wire)} ${n.join(' ')}`;
      }
      case TYPE.TXT: {
        const strings: string[] = [];
        for (let o = 0; o < rdata.length; o += rdata[o] + 1) strings.push(rdata.toString('utf8', o + 1, o + 1 + rdata[o]));
        return txtText(strings);
      }
    }
  } catch {
    // fall back to RFC 3597 form
  }
  return undefined;
}

function txtText(strings: readonly string[]): string {
  return strings.map((s) => JSON.stringify(s)).join(' ');
}

/** The zone-file line of a record; TXT strings quoted, unknown RDATA as RFC 3597 `\# len hex`. */
export function rrText(rr: RR): string {
  if (rr.type === 'RAW') {
    const owner = wireToName(rr.owner);
    const cls = rr.class === CLASS_IN ? 'IN' : `CLASS${rr.class}`;
    const t = typeName(rr.code);
    const data = addressText(rr.code, rr.rdata) ?? rawText(rr.code, rr.rdata) ?? `\\# ${rr.rdata.length} ${rr.rdata.toString('hex')}`;
    return `${owner}\t${rr.ttl}\t${cls}\t${t}\t${data}`;
  }
  const head = `${rr.name}\t${rr.ttl}\tIN\t${rr.type}\t`;
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      return head + rr.address;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return head + rr.target;
    case 'SRV':
      return head + `${rr.priority} ${rr.weight} ${rr.port} ${rr.target}`;
    case 'TXT':
      return head + txtText(rr.text);
    case 'SOA':
      return head + `${rr.mname} ${rr.rname} ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
  }
}

/** An A or AAAA record for an address, by its family. */
export function addressRR(name: string, ttl: number, address: string): RR | undefined {
  if (isIPv4(address)) return { type: 'A', name, ttl, address };
  if (isIPv6(address)) return { type: 'AAAA', name, ttl, address };
  return undefined;
}
