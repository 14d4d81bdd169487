// DNS wire format (RFC 1035, 3597, 6891): the few constants, a loop-safe message parser for
// untrusted bytes, and a writer with name compression. dns-packet neither compresses names nor
// guards against hostile input well enough for a server, so the server speaks the wire itself.

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  NOTAUTH: 9,
  BADVERS: 16,
} as const;

export const CLASS_IN = 1;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TYPE).map(([k, v]) => [v, k]));
TYPE_NAMES[3] = 'MD';
TYPE_NAMES[4] = 'MF';
TYPE_NAMES[39] = 'DNAME';
TYPE_NAMES[46] = 'RRSIG';
TYPE_NAMES[65] = 'HTTPS';
TYPE_NAMES[64] = 'SVCB';

const RCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RCODE).map(([k, v]) => [v, k]));

export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `TYPE${t}`;
}

export function typeCode(name: string): number {
  const up = name.toUpperCase();
  const known = (TYPE as Record<string, number>)[up];
  if (known !== undefined) return known;
  const m = /^TYPE(\d+)$/.exec(up);
  if (m) return Number(m[1]);
  throw new Error(`unknown DNS type ${name}`);
}

export function rcodeName(r: number): string {
  return RCODE_NAMES[r] ?? `RCODE${r}`;
}

export class WireError extends Error {}

// ---- names ----

/** Wire form (uncompressed) of a presentation name such as "svc1.testns.svc.cluster.local." */
export function nameToWire(name: string): Buffer {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n === '') return Buffer.from([0]);
  const labels = n.split('.');
  let len = 1;
  for (const l of labels) len += 1 + Buffer.byteLength(l, 'latin1');
  if (len > 255) throw new WireError(`name too long: ${name}`);
  const out = Buffer.allocUnsafe(len);
  let o = 0;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) throw new WireError(`bad label in ${JSON.stringify(name)}`);
    out[o++] = l.length;
    o += out.write(l, o, 'latin1');
  }
  out[o] = 0;
  return out;
}

/** Labels of an uncompressed wire name, as latin1 strings (case kept). */
export function wireLabels(wire: Uint8Array): string[] {
  const out: string[] = [];
  let o = 0;
  while (o < wire.length) {
    const len = wire[o];
    if (len === 0) break;
    out.push(Buffer.from(wire.buffer, wire.byteOffset + o + 1, len).toString('latin1'));
    o += len + 1;
  }
  return out;
}

/** Presentation form, escaping what is not a plain hostname character (RFC 4343 style). */
export function wireToName(wire: Uint8Array): string {
  const labels = wireLabels(wire);
  if (labels.length === 0) return '.';
  return labels.map(escapeLabel).join('.') + '.';
}

function escapeLabel(l: string): string {
  let out = '';
  for (let i = 0; i < l.length; i++) {
    const c = l.charCodeAt(i);
    if (c === 0x2e || c === 0x5c || c === 0x22 || c === 0x28 || c === 0x29 || c === 0x3b || c === 0x40 || c === 0x24) out += '\\' + l[i];
    else if (c <= 0x20 || c >= 0x7f) out += '\\' + String(c).padStart(3, '0');
    else out += l[i];
  }
  return out;
}

/** ASCII lower-casing of a wire name or any byte string (label lengths are < 64, never letters). */
export function lowerBytes(b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(b.length);
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    out[i] = c >= 65 && c <= 90 ? c | 0x20 : c;
  }
  return out;
}

/**
 * Reads a possibly compressed name at `off`. Every pointer must jump before the start of the
 * run it was found in, so reading always terminates (no compression loops); the expanded name
 * must fit 255 bytes. Returns the uncompressed wire name and the offset after it.
 */
export function readName(buf: Uint8Array, off: number): { wire: Buffer; end: number } {
  const parts: number[] = [];
  let runStart = off;
  let o = off;
  let end = -1;
  let total = 1;
  for (;;) {
    if (o >= buf.length) throw new WireError('name runs past the message');
    const len = buf[o];
    if (len === 0) {
      if (end < 0) end = o + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (o + 1 >= buf.length) throw new WireError('truncated pointer');
      const target = ((len & 0x3f) << 8) | buf[o + 1];
      if (target >= runStart) throw new WireError('forward or looping compression pointer');
      if (end < 0) end = o + 2;
      o = target;
      runStart = target;
      continue;
    }
    if (kind !== 0) throw new WireError('unknown label type');
    if (o + 1 + len > buf.length) throw new WireError('label runs past the message');
    total += len + 1;
    if (total > 255) throw new WireError('name longer than 255 bytes');
    parts.push(o, len);
    o += len + 1;
  }
  const wire = Buffer.allocUnsafe(total);
  let w = 0;
  for (let i = 0; i < parts.length; i += 2) {
    const s = parts[i];
    const l = parts[i + 1];
    wire[w++] = l;
    for (let j = 0; j < l; j++) wire[w++] = buf[s + 1 + j]!;
  }
  wire[w] = 0;
  return { wire, end };
}

// ---- messages ----

export interface Question {
  name: Buffer;
  type: number;
  class: number;
}

/** A resource record as parsed: names inside well-known RDATA are decompressed, so RDATA is self-contained. */
export interface WireRR {
  name: Buffer;
  type: number;
  class: number;
  ttl: number;
  rdata: Buffer;
}

export interface Message {
  id: number;
  /** Header bytes 2-3: QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE. */
  flags: number;
  questions: Question[];
  answers: WireRR[];
  authority: WireRR[];
  additional: WireRR[];
}

export const flag = {
  qr: (f: number): boolean => (f & 0x8000) !== 0,
  opcode: (f: number): number => (f >> 11) & 0xf,
  aa: (f: number): boolean => (f & 0x0400) !== 0,
  tc: (f: number): boolean => (f & 0x0200) !== 0,
  rd: (f: number): boolean => (f & 0x0100) !== 0,
  ra: (f: number): boolean => (f & 0x0080) !== 0,
  ad: (f: number): boolean => (f & 0x0020) !== 0,
  cd: (f: number): boolean => (f & 0x0010) !== 0,
  rcode: (f: number): number => f & 0xf,
};

// RDATA layouts with names that may be compressed (RFC 1035 types and a few later ones that
// implementations compress anyway): [fixed bytes before, number of names, fixed bytes after].
const NAME_RDATA: Record<number, readonly [number, number, number]> = {
  2: [0, 1, 0], // NS
  3: [0, 1, 0], // MD
  4: [0, 1, 0], // MF
  5: [0, 1, 0], // CNAME
  6: [0, 2, 20], // SOA
  7: [0, 1, 0], // MB
  8: [0, 1, 0], // MG
  9: [0, 1, 0], // MR
  12: [0, 1, 0], // PTR
  14: [0, 2, 0], // MINFO
  15: [2, 1, 0], // MX
  17: [0, 2, 0], // RP
  18: [2, 1, 0], // AFSDB
  21: [2, 1, 0], // RT
  26: [2, 2, 0], // PX
  33: [6, 1, 0], // SRV
  36: [2, 1, 0], // KX
  39: [0, 1, 0], // DNAME
};

function readRdata(buf: Uint8Array, type: number, start: number, len: number): Buffer {
  const end = start + len;
  const layout = NAME_RDATA[type];
  if (!layout) return Buffer.from(buf.subarray(start, end));
  const [before, names, after] = layout;
  if (len < before) throw new WireError('short rdata');
  const chunks: Uint8Array[] = [buf.subarray(start, start + before)];
  let o = start + before;
  for (let i = 0; i < names; i++) {
    const n = readName(buf, o);
    if (n.end > end) throw new WireError('rdata name runs past rdata');
    chunks.push(n.wire);
    o = n.end;
  }
  if (end - o !== after) throw new WireError('bad rdata length');
  chunks.push(buf.subarray(o, end));
  return Buffer.concat(chunks);
}

/** Parses a whole message; throws WireError on anything malformed (counts beyond the data included). */
export function parseMessage(buf: Uint8Array): Message {
  if (buf.length < 12) throw new WireError('shorter than a header');
  const u16 = (o: number): number => (buf[o] << 8) | buf[o + 1];
  const qd = u16(4);
  const an = u16(6);
  const ns = u16(8);
  const ar = u16(10);
  // Every question takes at least 5 bytes and every RR at least 11: refuse absurd counts early.
  if (12 + qd * 5 + (an + ns + ar) * 11 > buf.length) throw new WireError('counts exceed the message');
  const msg: Message = { id: u16(0), flags: u16(2), questions: [], answers: [], authority: [], additional: [] };
  let o = 12;
  for (let i = 0; i < qd; i++) {
    const n = readName(buf, o);
    o = n.end;
    if (o + 4 > buf.length) throw new WireError('truncated question');
    msg.questions.push({ name: n.wire, type: u16(o), class: u16(o + 2) });
    o += 4;
  }
  const section = (count: number, into: WireRR[]): void => {
    for (let i = 0; i < count; i++) {
      const n = readName(buf, o);
      o = n.end;
      if (o + 10 > buf.length) throw new WireError('truncated record');
      const type = u16(o);
      const klass = u16(o + 2);
      const ttl = ((buf[o + 4] << 24) >>> 0) + (buf[o + 5] << 16) + (buf[o + 6] << 8) + buf[o + 7];
      const rdlen = u16(o + 8);
      o += 10;
      if (o + rdlen > buf.length) throw new WireError('rdata runs past the message');
      into.push({ name: n.wire, type, class: klass, ttl, rdata: readRdata(buf, type, o, rdlen) });
      o += rdlen;
    }
  };
  section(an, msg.answers);
  section(ns, msg.authority);
  section(ar, msg.additional);
  return msg;
}

// ---- writing ----

/** A buffer that writes names with compression (RFC 1035 4.1.4), case-insensitively matched. */
export class Writer {
  buf: Buffer;
  off = 0;
  #names = new Map<string, number>();

  constructor(capacity = 65535) {
    this.buf = Buffer.alloc(capacity);
  }

  /** Starts a new message in the same buffer. */
  reset(): void {
    this.off = 0;
    this.#names.clear();
  }

  u8(v: number): void {
    this.#room(1);
    this.buf[this.off++] = v;
  }

  u16(v: number): void {
    this.#room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.off);
    this.off += 2;
  }

  u32(v: number): void {
    this.#room(4);
    this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }

  /** Remembers the suffixes of a name already present at `at` (e.g. the question) as targets. */
  noteName(wire: Uint8Array, at: number): void {
    let o = 0;
    while (o < wire.length && wire[o] !== 0) {
      if (at + o < 0x4000) {
        const key = suffixKey(wire, o);
        if (!this.#names.has(key)) this.#names.set(key, at + o);
      }
      o += wire[o] + 1;
    }
  }

  /** Writes a wire name, replacing the longest already-written suffix with a pointer. */
  name(wire: Uint8Array, compress = true): void {
    let o = 0;
    while (o < wire.length && wire[o] !== 0) {
      if (compress) {
        const at = this.#names.get(suffixKey(wire, o));
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
      }
      if (this.off < 0x4000) {
        const key = suffixKey(wire, o);
        if (!this.#names.has(key)) this.#names.set(key, this.off);
      }
      const len = wire[o];
      this.bytes(wire.subarray(o, o + len + 1));
      o += len + 1;
    }
    this.u8(0);
  }

  #room(n: number): void {
    if (this.off + n > this.buf.length) throw new WireError('message larger than 65535 bytes');
  }
}

function suffixKey(wire: Uint8Array, from: number): string {
  let s = '';
  for (let i = from; i < wire.length; i++) {
    const c = wire[i];
    s += String.fromCharCode(c >= 65 && c <= 90 ? c | 0x20 : c);
  }
  return s;
}
