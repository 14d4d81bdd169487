// The query engine between the sockets and the answer function: validates a query without
// allocating, serves ready-made bytes from the answer memo or the forward cache, and otherwise
// asks the answer function, the forwarder, or both (ExternalName targets outside the cluster).
import { limitedErrorLog } from './log.ts';
import { AnswerCache, AnswerMemo, cacheTTL, questionHash, questionKey, type CachedAnswer } from './cache.ts';
import type { Forwarder, Relay } from './forward.ts';
import { ForwardError } from './forward.ts';
import type { CacheMetrics, DnsStats, PluginIndex } from './metrics.ts';
import { typeIndex } from './metrics.ts';
import type { DnsModel } from './model.ts';
import { fit, prepare, FLAG_AA, FLAG_AD, FLAG_QR, FLAG_RA, FLAG_TC, type Prepared } from './prepared.ts';
import { answer, question, type DnsConfig, type DnsQuestion } from './records.ts';
import type { Answer, RR } from './rr.ts';
import { lowerBytes, nameToWire, parseMessage, RCODE, rcodeName, readName, TYPE, typeName, WireError, wireToName, type WireRR } from './wire.ts';

const logError = limitedErrorLog();

/** Where a query came from: a listener and the peer to answer (a UDP address or a TCP connection). */
export interface Listener<P> {
  index: number;
  tcp: boolean;
  v6: boolean;
  send(out: Buffer, peer: P): void;
  /** The peer as "address:port" (IPv6 in brackets), for the error log. */
  client?(peer: P): string;
}

// The outcome of looking a query over.
const OK = 0;
const COMPLEX = 1;
const DROP = -1;
const FORMERR = -2;
const NOTIMP = -3;
const BADVERS = -4;

/** What scan() found; one instance reused for every query (no allocation). */
interface Scan {
  /** End of the question name (start of QTYPE). */
  qEnd: number;
  qtype: number;
  qclass: number;
  edns: boolean;
  udpSize: number;
  dnssecOk: boolean;
  /** Why the query was rejected (FORMERR, NOTIMP, BADVERS); set on those paths only. */
  reason: string;
}

/** reject(s, why, FORMERR): records why, for the log line, and returns the verdict. */
function reject(s: Scan, reason: string, verdict: number): number {
  s.reason = reason;
  return verdict;
}

/** The parser's own account of a malformed message (for the log line of a rejected query). */
function parseFailure(msg: Uint8Array): string {
  try {
    parseMessage(Buffer.from(msg.buffer, msg.byteOffset, msg.length));
  } catch (e) {
    return (e as Error).message;
  }
  return 'malformed OPT record';
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/**
 * Looks a query over (RFC 1035, 6891; the checks of miekg/dns's DefaultMsgAcceptFunc): drops
 * what is no query (short, or a response), FORMERR for malformed ones, NOTIMP for other
 * opcodes, BADVERS for EDNS versions above 0. OK: one question, maybe one OPT, nothing else.
 */
function scan(msg: Uint8Array, s: Scan): number {
  const len = msg.length;
  if (len < 12 || (msg[2] & 0x80) !== 0) return DROP;
  if (((msg[2] >> 3) & 0xf) !== 0) return reject(s, `opcode ${(msg[2] >> 3) & 0xf} is not QUERY`, NOTIMP);
  const qd = u16(msg, 4);
  const an = u16(msg, 6);
  const ns = u16(msg, 8);
  const ar = u16(msg, 10);
  if (qd !== 1) return reject(s, `QDCOUNT is ${qd}, a query has one question`, FORMERR);
  if (an > 1 || ns > 1 || ar > 2) return reject(s, 'more records than a query has', FORMERR);
  let o = 12;
  let total = 1;
  for (;;) {
    if (o >= len) return reject(s, 'question truncated', FORMERR);
    const l = msg[o];
    if (l === 0) break;
    // A query's question has no pointers (nothing precedes it to point at) and no label types.
    if (l > 63) return reject(s, (l & 0xc0) === 0xc0 ? 'compression pointer in the question' : `label length ${l} (labels are at most 63 bytes)`, FORMERR);
    total += l + 1;
    if (total > 255) return reject(s, 'name longer than 255 bytes', FORMERR);
    o += l + 1;
  }
  s.qEnd = o + 1;
  if (s.qEnd + 4 > len) return reject(s, 'question truncated', FORMERR);
  s.qtype = u16(msg, s.qEnd);
  s.qclass = u16(msg, s.qEnd + 2);
  s.edns = false;
  s.udpSize = 512;
  s.dnssecOk = false;
  o = s.qEnd + 4;
  if (an === 0 && ns === 0 && ar === 0) return OK;
  if (an === 0 && ns === 0 && ar === 1) {
    if (o + 11 > len) return reject(s, parseFailure(msg), FORMERR);
    if (msg[o] !== 0) return COMPLEX;
    if (u16(msg, o + 1) !== TYPE.OPT) return COMPLEX;
    const rdlen = u16(msg, o + 9);
    if (o + 11 + rdlen > len) return reject(s, parseFailure(msg), FORMERR);
    s.edns = true;
    s.udpSize = u16(msg, o + 3);
    s.dnssecOk = (msg[o + 7] & 0x80) !== 0;
    if (msg[o + 6] !== 0) return reject(s, 'EDNS version not supported', BADVERS);
    return OK;
  }
  return COMPLEX;
}

/** The full parse for queries with more than a question and an OPT (each part checked). */
function scanComplex(msg: Buffer, s: Scan): number {
  let m;
  try {
    m = parseMessage(msg);
  } catch (e) {
    return reject(s, (e as Error).message, FORMERR);
  }
  const opts = m.additional.filter((rr) => rr.type === TYPE.OPT);
  if (opts.length > 1) return reject(s, 'malformed OPT record', FORMERR);
  const opt = opts[0];
  if (opt) {
    if (opt.name.length !== 1) return reject(s, 'malformed OPT record', FORMERR);
    s.edns = true;
    s.udpSize = opt.class;
    s.dnssecOk = (opt.ttl & 0x8000) !== 0;
    if (((opt.ttl >>> 16) & 0xff) !== 0) return reject(s, 'EDNS version not supported', BADVERS);
  }
  return OK;
}

function rawRR(rr: WireRR): RR {
  return { type: 'RAW', owner: rr.name, code: rr.type, class: rr.class, ttl: rr.ttl, rdata: rr.rdata };
}

export interface EngineOptions {
  model: DnsModel;
  config: DnsConfig;
  forwarder: Forwarder;
  stats: DnsStats;
  cacheSize: number;
  cacheMetrics?: CacheMetrics;
  /** The largest UDP answer, whatever the client advertises (DNS Flag Day 2020: 1232). */
  maxUdpSize: number;
  /** Labels for the cache metrics ("server" label), per listener index. */
  servers: string[];
}

export class DnsEngine {
  readonly model: DnsModel;
  readonly config: DnsConfig;
  readonly memo = new AnswerMemo();
  readonly cache: AnswerCache;
  readonly #forwarder: Forwarder;
  readonly #stats: DnsStats;
  readonly #cm: CacheMetrics | undefined;
  readonly #maxUdp: number;
  readonly #inflight = new Map<string, Promise<CachedAnswer>>();
  readonly #s: Scan = { qEnd: 0, qtype: 0, qclass: 0, edns: false, udpSize: 512, dnssecOk: false, reason: '' };
  readonly #servers: string[];
  #tick = 0;
  #lastFast = 0;
  // A coarse clock for cache expiry (TTLs are whole seconds; Date.now() costs 0.4 us here).
  #now = Date.now();
  readonly #clock: NodeJS.Timeout;

  constructor(o: EngineOptions) {
    this.model = o.model;
    this.config = o.config;
    this.#forwarder = o.forwarder;
    this.#stats = o.stats;
    this.#cm = o.cacheMetrics;
    this.#maxUdp = o.maxUdpSize;
    this.#servers = o.servers;
    this.#clock = setInterval(() => (this.#now = Date.now()), 100);
    this.#clock.unref();
    const cm = o.cacheMetrics;
    this.cache = new AnswerCache(o.cacheSize, {
      evict: (denial) => cm?.evictions.inc({ server: 'dns://', type: denial ? 'denial' : 'success', zones: '.', view: '' }),
      size: (success, denial) => {
        cm?.entries.set({ server: 'dns://', type: 'success', zones: '.', view: '' }, success);
        cm?.entries.set({ server: 'dns://', type: 'denial', zones: '.', view: '' }, denial);
      },
    });
  }

  /**
   * Answers one query. Returns the response when it is ready at once (the common case); when
   * it is not (forwarding), `l.send(response, peer)` follows; nothing at all for dropped input.
   */
  handle<P>(msg: Buffer, l: Listener<P>, peer: P): Buffer | undefined {
    // Reading the clock costs about as much as answering from the memo (0.15 us on this kind of
    // VM), so answers served at once are timed one in 16 and counted with the latest such time.
    const timed = (++this.#tick & 15) === 0;
    const t0 = timed ? performance.now() : 0;
    const s = this.#s;
    let r = scan(msg, s);
    if (r === COMPLEX) r = scanComplex(msg, s);
    if (r === DROP) return undefined;
    if (r !== OK) {
      const rcode = r === FORMERR ? RCODE.FORMERR : r === NOTIMP ? RCODE.NOTIMP : RCODE.BADVERS;
      this.#stats.response(l.index, rcode, 0, typeIndex(r === BADVERS ? s.qtype : 0), this.#fastTime(timed, t0));
      logError(() => ({ rcode: rcodeName(rcode), ...readableQuestion(msg), id: (msg[0] << 8) | msg[1], client: l.client?.(peer), proto: l.tcp ? 'tcp' : 'udp', err: s.reason }), 'dns: query rejected', 'warn');
      return r === BADVERS ? this.#badvers(msg, s) : headerOnly(msg, rcode);
    }
    const tIdx = typeIndex(s.qtype);
    this.#stats.request(l.index, l.tcp, l.v6, tIdx);
    const qEnd4 = s.qEnd + 4;
    const hash = questionHash(msg, 12, qEnd4, 0);
    const m = this.memo.get(hash, this.model.generation, msg, 12, qEnd4);
    if (m) {
      const out = this.#emit(m.p, msg, s, l.tcp, -1);
      this.#stats.response(l.index, m.p.rcode, 1, tIdx, this.#fastTime(timed, t0));
      return out;
    }
    const flags = (s.dnssecOk ? 2 : 0) | ((msg[3] & 0x10) !== 0 ? 1 : 0);
    const chash = questionHash(msg, 12, qEnd4, flags);
    const now = this.#now;
    const c = this.cache.get(chash, msg, 12, qEnd4, flags, now);
    if (c) {
      this.#cacheHit(l.index, c.denial);
      const out = this.#emit(c.p, msg, s, l.tcp, remaining(c, now));
      this.#stats.response(l.index, c.p.rcode, 2, tIdx, this.#fastTime(timed, t0));
      return out;
    }
    try {
      return this.#slow(msg, l, peer, hash, chash, flags, timed ? t0 : performance.now(), tIdx);
    } catch (e) {
      this.#stats.panics.inc();
      logError(() => failure(RCODE.SERVFAIL, safeName(msg, s.qEnd), s.qtype, l, peer, e), 'dns: query failed');
      this.#stats.response(l.index, RCODE.SERVFAIL, 0, tIdx, this.#fastTime(timed, t0));
      return headerOnly(msg, RCODE.SERVFAIL);
    }
  }

  #fastTime(timed: boolean, t0: number): number {
    if (timed) this.#lastFast = (performance.now() - t0) / 1000;
    return this.#lastFast;
  }

  #cacheHit(listener: number, denial: boolean): void {
    const cm = this.#cm;
    if (!cm) return;
    const server = this.#servers[listener] ?? '';
    cm.requests.inc({ server, zones: '.', view: '' });
    cm.hits.inc({ server, type: denial ? 'denial' : 'success', zones: '.', view: '' });
  }

  #slow<P>(msg: Buffer, l: Listener<P>, peer: P, hash: number, chash: number, flags: number, t0: number, tIdx: number): Buffer | undefined {
    const s = this.#s;
    const qEnd = s.qEnd;
    const q = questionOf(msg, qEnd, s.qtype, s.qclass);
    const a = answer(this.model, q, this.config);
    const qname = lowerBytes(msg.subarray(12, qEnd));
    if (a && !a.chase) {
      const p = prepareAnswer(qname, s.qtype, s.qclass, a);
      if (a.cacheable) this.memo.set(hash, this.model.generation, { key: questionKey(msg, 12, qEnd + 4, 0), p });
      const out = this.#emit(p, msg, s, l.tcp, -1);
      this.#stats.response(l.index, p.rcode, 1, tIdx, (performance.now() - t0) / 1000);
      return out;
    }
    // Asynchronous from here: keep what the reply needs (the scan state is reused).
    const saved: Scan = { ...s };
    const query = Buffer.from(msg);
    const finish = (p: Prepared, ttl: number, plugin: PluginIndex): void => {
      this.#stats.response(l.index, p.rcode, plugin, tIdx, (performance.now() - t0) / 1000);
      l.send(this.#emit(p, query, saved, l.tcp, ttl), peer);
    };
    const fail = (e: unknown): void => {
      const rcode = e instanceof ForwardError && e.kind === 'refused' ? RCODE.REFUSED : RCODE.SERVFAIL;
      if (!(e instanceof ForwardError)) this.#stats.panics.inc();
      // One line per failed query, as CoreDNS's errors plugin logs a plugin's error.
      logError(() => failure(rcode, safeName(query, saved.qEnd), saved.qtype, l, peer, e), 'dns: query failed');
      this.#stats.response(l.index, rcode, rcode === RCODE.REFUSED ? 3 : 0, tIdx, (performance.now() - t0) / 1000);
      l.send(withQuestion(query, saved, rcode), peer);
    };
    if (a?.chase) {
      const chase = a.chase;
      // CoreDNS puts the CNAME in the answer before it looks the target up: when the target
      // cannot be resolved (NXDOMAIN upstream, no upstream answering) the CNAME stands alone.
      const cnameOnly = () => {
        const composed: Answer = { ...a, rcode: RCODE.NOERROR, answer: [...chase.prefix], authority: [], additional: [] };
        finish(prepareAnswer(qname, saved.qtype, saved.qclass, composed), -1, 1);
      };
      this.#resolve(chase.target, chase.qtype, 0).then((found) => {
        if (!found) return cnameOnly();
        const composed: Answer = { ...a, rcode: RCODE.NOERROR, answer: [...chase.prefix, ...found.answers], authority: [], additional: [], truncated: found.truncated };
        finish(prepareAnswer(qname, saved.qtype, saved.qclass, composed), -1, 1);
      }, cnameOnly);
      return undefined;
    }
    const cm = this.#cm;
    if (cm) {
      const server = this.#servers[l.index] ?? '';
      cm.requests.inc({ server, zones: '.', view: '' });
      cm.misses.inc({ server, zones: '.', view: '' });
    }
    const key = questionKey(msg, 12, qEnd + 4, flags);
    this.#forward(qname, saved.qtype, saved.qclass, saved.dnssecOk, (flags & 1) !== 0, chash, key).then((c) => finish(c.p, remaining(c, Date.now()), 3), fail);
    return undefined;
  }

  /** Relays a question (one upstream query for all who ask it meanwhile) and caches the answer. */
  #forward(qname: Buffer, qtype: number, qclass: number, dnssecOk: boolean, cd: boolean, chash: number, key: Buffer): Promise<CachedAnswer> {
    const k = key.toString('latin1');
    let p = this.#inflight.get(k);
    if (p) return p;
    p = this.#forwarder.query(qname, qtype, qclass, dnssecOk, cd).then((relay) => {
      const entry = relayEntry(relay, qname, qtype, qclass, dnssecOk, key);
      if (entry.expiresAt > entry.storedAt) this.cache.set(chash, entry);
      return entry;
    });
    this.#inflight.set(k, p);
    const clear = (): void => {
      this.#inflight.delete(k);
    };
    p.then(clear, clear);
    return p;
  }

  /** Resolves a name through the server itself (CoreDNS's upstream.Lookup), for chased CNAMEs. */
  async #resolve(target: string, qtype: number, depth: number): Promise<{ answers: RR[]; truncated: boolean } | null> {
    if (depth > 7) return null;
    const q: DnsQuestion = question(target, qtype);
    const a = answer(this.model, q, this.config);
    if (a && !a.chase) return { answers: a.answer, truncated: !!a.truncated };
    if (a?.chase) {
      const next = await this.#resolve(a.chase.target, a.chase.qtype, depth + 1);
      return next ? { answers: [...a.chase.prefix, ...next.answers], truncated: next.truncated } : null;
    }
    const qname = lowerBytes(nameToWire(target));
    const key = Buffer.concat([qname, Buffer.from([qtype >> 8, qtype & 0xff, 0, 1, 0])]);
    const chash = questionHash(key, 0, key.length - 1, 0);
    const now = Date.now();
    let c = this.cache.get(chash, key, 0, key.length - 1, 0, now);
    if (!c) {
      try {
        c = await this.#forward(qname, qtype, 1, false, false, chash, key);
      } catch {
        return null;
      }
    }
    const left = remaining(c, Date.now());
    const answers = left < 0 ? c.answers : c.answers.map((rr) => ({ ...rr, ttl: left }));
    return { answers, truncated: (c.p.bytes[2] & 0x02) !== 0 };
  }

  close(): void {
    clearInterval(this.#clock);
  }

  /** Copies a prepared response for this query: ID, RD/CD, question case, OPT, size. */
  #emit(p: Prepared, msg: Buffer, s: Scan, tcp: boolean, ttl: number): Buffer {
    const limit = tcp ? 65535 : s.edns ? Math.min(Math.max(s.udpSize, 512), this.#maxUdp) : 512;
    const optLen = s.edns ? 11 : 0;
    const f = fit(p, limit - optLen);
    const out = Buffer.allocUnsafe(f.length + optLen);
    p.bytes.copy(out, 0, 0, f.length);
    out[0] = msg[0];
    out[1] = msg[1];
    out[2] = p.bytes[2] | (msg[2] & 0x01) | (f.tc ? 0x02 : 0);
    out[3] = p.bytes[3] | (msg[3] & 0x10);
    msg.copy(out, 12, 12, s.qEnd);
    if (f.length !== p.bytes.length) {
      out.writeUInt16BE(f.an, 6);
      out.writeUInt16BE(f.ns, 8);
      out.writeUInt16BE(f.ar, 10);
    }
    if (ttl >= 0) {
      for (let i = 0; i < p.ttlAt.length; i++) {
        const at = p.ttlAt[i];
        if (at + 4 > f.length) break;
        out.writeUInt32BE(ttl, at);
      }
    }
    if (optLen) {
      writeOpt(out, f.length, this.#maxUdp, 0, s.dnssecOk);
      out.writeUInt16BE(f.ar + 1, 10);
    }
    return out;
  }

  #badvers(msg: Buffer, s: Scan): Buffer {
    // RFC 6891 6.1.3: BADVERS (16) is RCODE 0 in the header and 1 in the OPT's extended RCODE.
    const out = Buffer.alloc(s.qEnd + 4 + 11);
    msg.copy(out, 0, 0, s.qEnd + 4);
    out[2] = 0x80 | (msg[2] & 0x01);
    out[3] = FLAG_RA;
    out.writeUInt16BE(1, 4);
    out.writeUInt32BE(0, 6);
    out.writeUInt16BE(1, 10);
    writeOpt(out, s.qEnd + 4, this.#maxUdp, 1, s.dnssecOk);
    return out;
  }
}

/** Seconds of TTL an entry has left (-1: serve its records' own TTLs). */
function remaining(c: CachedAnswer, now: number): number {
  if (c.expiresAt <= c.storedAt) return -1;
  return Math.max(0, c.ttl - Math.floor(Math.max(0, now - c.storedAt) / 1000));
}

function writeOpt(out: Buffer, at: number, udpSize: number, extRcode: number, dnssecOk: boolean): void {
  out[at] = 0;
  out.writeUInt16BE(TYPE.OPT, at + 1);
  out.writeUInt16BE(udpSize, at + 3);
  out[at + 5] = extRcode;
  out[at + 6] = 0;
  out.writeUInt16BE(dnssecOk ? 0x8000 : 0, at + 7);
  out.writeUInt16BE(0, at + 9);
}

/** A 12-byte response carrying only an RCODE: never larger than the query it answers. */
function headerOnly(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out[0] = msg[0];
  out[1] = msg[1];
  out[2] = 0x80 | (msg[2] & 0x79); // QR, the query's opcode and RD
  out[3] = (msg[3] & 0x10) | (rcode & 0xf); // CD copied (RFC 6840 5.9)
  return out;
}

/** The fields of a failed query's log line (CoreDNS's errors plugin: rcode, name, type, error). */
function failure<P>(rcode: number, name: string, qtype: number, l: Listener<P>, peer: P, e: unknown): Record<string, unknown> {
  return { rcode: rcodeName(rcode), name, type: typeName(qtype), client: l.client?.(peer), proto: l.tcp ? 'tcp' : 'udp', err: e instanceof Error ? e.message : String(e) };
}

/** The question of a rejected query, as far as it can be read: `{name, type}`, or nothing. */
function readableQuestion(msg: Buffer): { name?: string; type?: string } {
  if (msg.length < 12 || ((msg[4] << 8) | msg[5]) === 0) return {};
  try {
    const n = readName(msg, 12);
    const name = wireToName(n.wire);
    return n.end + 2 <= msg.length ? { name, type: typeName((msg[n.end] << 8) | msg[n.end + 1]) } : { name };
  } catch {
    return {};
  }
}

/** A response with the question and an RCODE (SERVFAIL, REFUSED): no larger than the query. */
function withQuestion(msg: Buffer, s: Scan, rcode: number): Buffer {
  const end = s.qEnd + 4;
  const out = Buffer.alloc(end);
  msg.copy(out, 0, 0, end);
  out[2] = 0x80 | (msg[2] & 0x01);
  out[3] = FLAG_RA | (msg[3] & 0x10) | (rcode & 0xf);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}

function questionOf(msg: Buffer, qEnd: number, qtype: number, qclass: number): DnsQuestion {
  const labels: string[] = [];
  let o = 12;
  while (o < qEnd - 1) {
    const l = msg[o];
    labels.push(msg.toString('latin1', o + 1, o + 1 + l));
    o += l + 1;
  }
  return { labels, type: qtype, class: qclass };
}

function safeName(msg: Buffer, qEnd: number): string {
  try {
    return wireToName(msg.subarray(12, qEnd));
  } catch {
    return '?';
  }
}

function prepareAnswer(qname: Buffer, qtype: number, qclass: number, a: Answer): Prepared {
  const flags = FLAG_QR | (a.authoritative ? FLAG_AA : 0) | FLAG_RA | (a.truncated ? FLAG_TC : 0) | (a.rcode & 0xf);
  try {
    return prepare(qname, qtype, qclass, flags, a.answer, a.authority, a.additional);
  } catch (e) {
    if (e instanceof WireError) throw new Error(`cannot encode the answer: ${e.message}`);
    throw e;
  }
}

function relayEntry(relay: Relay, qname: Buffer, qtype: number, qclass: number, dnssecOk: boolean, key: Buffer): CachedAnswer {
  const keep = FLAG_AA | FLAG_RA | (dnssecOk ? FLAG_AD : 0);
  const flags = FLAG_QR | (relay.flags & keep) | (relay.rcode & 0xf);
  const answers = relay.answers.map(rawRR);
  const p = prepare(qname, qtype, qclass, flags, answers, relay.authority.map(rawRR), relay.additional.map(rawRR));
  const t = cacheTTL(relay.rcode, false, relay.answers, relay.authority);
  const now = Date.now();
  return { key, p, storedAt: now, expiresAt: t ? now + t.ttl * 1000 : now, ttl: t?.ttl ?? 0, denial: t?.denial ?? false, answers };
}
