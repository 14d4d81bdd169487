// Ready-made response bytes. An answer is encoded once per (question, model generation) with the
// question lower-cased and ID 0; serving it is a copy plus a patch of the ID, the RD/CD bits and
// the question bytes (which restores the client's case everywhere names point into the
// question), an OPT record when the client sent one, and cutting to the size the client allows.
import ipaddr from 'ipaddr.js';
import { rrTypeCode, type RR } from './rr.ts';
import { CLASS_IN, nameToWire, Writer, WireError } from './wire.ts';

export interface Prepared {
  /** Header (ID 0, RD/CD clear) + question + answer, authority and additional; no OPT. */
  bytes: Buffer;
  /** End of the question section. */
  qEnd: number;
  /** End offset of every record, in section order. */
  ends: number[];
  an: number;
  ns: number;
  ar: number;
  rcode: number;
  /** Where the TTLs are, and their values, for relayed answers whose TTLs count down in a cache. */
  ttlAt: number[];
  ttls: number[];
}

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;

// One scratch buffer: encoding happens synchronously, one answer at a time.
let scratch: Writer | undefined;

function writeRR(w: Writer, rr: RR, ttlAt: number[], ttls: number[]): void {
  if (rr.type === 'RAW') {
    w.name(rr.owner);
    w.u16(rr.code);
    w.u16(rr.class);
  } else {
    w.name(nameToWire(rr.name));
    w.u16(rrTypeCode(rr));
    w.u16(CLASS_IN);
  }
  ttlAt.push(w.off);
  ttls.push(rr.ttl);
  w.u32(rr.ttl);
  const lenAt = w.off;
  w.u16(0);
  const start = w.off;
  switch (rr.type) {
    case 'RAW':
      w.bytes(rr.rdata);
      break;
    case 'A':
    case 'AAAA':
      w.bytes(Uint8Array.from(ipaddr.parse(rr.address).toByteArray()));
      break;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      w.name(nameToWire(rr.target));
      break;
    case 'SRV':
      w.u16(rr.priority);
      w.u16(rr.weight);
      w.u16(rr.port);
      // RFC 2782: the target is not compressed.
      w.name(nameToWire(rr.target), false);
      break;
    case 'TXT':
      for (const s of rr.text) {
        const b = Buffer.from(s, 'utf8');
        if (b.length > 255) throw new WireError('TXT string longer than 255 bytes');
        w.u8(b.length);
        w.bytes(b);
      }
      break;
    case 'SOA':
      w.name(nameToWire(rr.mname));
      w.name(nameToWire(rr.rname));
      w.u32(rr.serial);
      w.u32(rr.refresh);
      w.u32(rr.retry);
      w.u32(rr.expire);
      w.u32(rr.minimum);
      break;
  }
  w.buf.writeUInt16BE(w.off - start, lenAt);
}

/**
 * Encodes a response to the question `qname` (wire form, lower-cased) with header flags
 * `flags` (QR, AA, TC, RA, AD, RCODE; RD and CD are the client's and patched in when served).
 */
export function prepare(qname: Uint8Array, qtype: number, qclass: number, flags: number, answer: readonly RR[], authority: readonly RR[], additional: readonly RR[]): Prepared {
  const writer = (scratch ??= new Writer(65535));
  writer.reset();
  writer.u16(0);
  writer.u16(flags);
  writer.u16(1);
  writer.u16(answer.length);
  writer.u16(authority.length);
  writer.u16(additional.length);
  writer.bytes(qname);
  writer.noteName(qname, 12);
  writer.u16(qtype);
  writer.u16(qclass);
  const qEnd = writer.off;
  const ends: number[] = [];
  const ttlAt: number[] = [];
  const ttls: number[] = [];
  for (const section of [answer, authority, additional]) {
    for (const rr of section) {
      writeRR(writer, rr, ttlAt, ttls);
      ends.push(writer.off);
    }
  }
  return {
    bytes: Buffer.from(writer.buf.subarray(0, writer.off)),
    qEnd,
    ends,
    an: answer.length,
    ns: authority.length,
    ar: additional.length,
    rcode: flags & 0xf,
    ttlAt,
    ttls,
  };
}

export interface Fit {
  /** Bytes of `Prepared.bytes` to send. */
  length: number;
  an: number;
  ns: number;
  ar: number;
  tc: boolean;
}

/**
 * How much of a prepared response fits `limit` bytes (RFC 2181 9, as miekg/dns's Truncate):
 * whole answer records while they fit (TC when one does not), then authority and additional
 * records while they fit (dropping those sets no TC).
 */
export function fit(p: Prepared, limit: number): Fit {
  if (p.bytes.length <= limit) return { length: p.bytes.length, an: p.an, ns: p.ns, ar: p.ar, tc: false };
  let length = p.qEnd;
  let i = 0;
  let an = 0;
  for (; an < p.an; an++, i++) {
    if (p.ends[i] > limit) return { length, an, ns: 0, ar: 0, tc: true };
    length = p.ends[i]!;
  }
  let ns = 0;
  for (; ns < p.ns; ns++, i++) {
    if (p.ends[i] > limit) return { length, an, ns, ar: 0, tc: false };
    length = p.ends[i]!;
  }
  let ar = 0;
  for (; ar < p.ar; ar++, i++) {
    if (p.ends[i] > limit) break;
    length = p.ends[i]!;
  }
  return { length, an, ns, ar, tc: false };
}
