// Forwarding of names outside the cluster zones, with CoreDNS forward's semantics: upstreams in
// random order, UDP with a retry over TCP when the answer is truncated, a read timeout per try
// and an overall deadline, `max_fails` consecutive failures mark an upstream down until a
// health check (`. IN NS`, every 0.5 s) gets an answer, all down means trying one at random,
// and `max_concurrent` queries in flight at most (REFUSED beyond).
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { limitedErrorLog, log } from './log.ts';
import type { ForwardMetrics } from './metrics.ts';
import { flag, parseMessage, rcodeName, TYPE, wireToName, type Message, type WireRR } from './wire.ts';
import { joinHostPort } from '../util/index.ts';

const logError = limitedErrorLog();

export interface Upstream {
  host: string;
  port: number;
  /** "host:port" as CoreDNS labels it (IPv6 in brackets). */
  label: string;
}

/** "10.0.0.1", "10.0.0.1:53", "::1", "[::1]:5353" (as in CoreDNS's forward TO). */
export function parseUpstream(s: string): Upstream {
  let host = s.trim().replace(/^dns:\/\//, '');
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracket) {
    host = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else if (net.isIPv4(host.split(':')[0]) && host.includes(':')) {
    const [h, p] = host.split(':');
    host = h;
    port = Number(p);
  }
  if (!net.isIP(host)) throw new Error(`upstream ${JSON.stringify(s)} is not an IP address (optionally with a port)`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`upstream ${JSON.stringify(s)} has a bad port`);
  return { host, port, label: joinHostPort(host, port) };
}

/** The nameservers of a resolv.conf text (at most 3 are used by libc; CoreDNS takes all, up to 15). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    // An IPv6 address keeps its zone index (`fe80::1%eth0`, as glibc reads it): a link-local
    // resolver cannot be reached without it.
    const addr = m[1];
    if (net.isIP(addr)) out.push(addr);
  }
  return out.slice(0, 15);
}

export function readResolvConf(path: string): string[] {
  return parseResolvConf(readFileSync(path, 'utf8'));
}

export interface ForwardOptions {
  upstreams: Upstream[];
  /** Consecutive failures that mark an upstream down (0: never). Default 2. */
  maxFails?: number;
  /** Health check period of a down upstream. Default 500 ms. */
  healthCheckMs?: number;
  /** Wait for one upstream's answer. Default 2000 ms. */
  readTimeoutMs?: number;
  /** Give up (SERVFAIL) after this long in all. Default 5000 ms. */
  deadlineMs?: number;
  /** Queries in flight at most; beyond, REFUSED. Default 1000 (kubeadm's). 0: unlimited. */
  maxConcurrent?: number;
  metrics?: ForwardMetrics;
}

/** What an upstream answered, OPT removed. */
export interface Relay {
  rcode: number;
  flags: number;
  answers: WireRR[];
  authority: WireRR[];
  additional: WireRR[];
  /** The upstream's label, for logs and metrics. */
  from: string;
}

export class ForwardError extends Error {
  constructor(
    readonly kind: 'refused' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

interface UpstreamState extends Upstream {
  fails: number;
  checking: NodeJS.Timeout | undefined;
}

interface Pending {
  up: UpstreamState;
  qname: Buffer;
  qtype: number;
  qclass: number;
  resolve: (m: Message) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const SOCKETS_PER_FAMILY = 4;
const UPSTREAM_UDP_SIZE = 1232;

function buildQuery(id: number, qname: Uint8Array, qtype: number, qclass: number, dnssecOk: boolean, cd: boolean): Buffer {
  const b = Buffer.alloc(12 + qname.length + 4 + 11);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x0100 | (cd ? 0x0010 : 0), 2); // RD
  b.writeUInt16BE(1, 4);
  b.writeUInt16BE(1, 10);
  b.set(qname, 12);
  let o = 12 + qname.length;
  b.writeUInt16BE(qtype, o);
  b.writeUInt16BE(qclass, o + 2);
  o += 4;
  // OPT: root owner, our UDP size, DO as the client asked.
  b[o] = 0;
  b.writeUInt16BE(TYPE.OPT, o + 1);
  b.writeUInt16BE(UPSTREAM_UDP_SIZE, o + 3);
  b.writeUInt32BE(dnssecOk ? 0x8000 : 0, o + 5);
  b.writeUInt16BE(0, o + 9);
  return b;
}

function sameName(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a[i];
    let y = b[i];
    if (x >= 65 && x <= 90) x |= 0x20;
    if (y >= 65 && y <= 90) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

function toRelay(m: Message, from: string): Relay {
  const additional = m.additional.filter((rr) => rr.type !== TYPE.OPT);
  const opt = m.additional.find((rr) => rr.type === TYPE.OPT);
  // An extended RCODE (RFC 6891) lives in the OPT TTL's top byte.
  const rcode = (opt ? (opt.ttl >>> 24) << 4 : 0) | flag.rcode(m.flags);
  return { rcode, flags: m.flags, answers: m.answers, authority: m.authority, additional, from };
}

export class Forwarder {
  readonly #ups: UpstreamState[];
  readonly #maxFails: number;
  readonly #healthCheckMs: number;
  readonly #readTimeoutMs: number;
  readonly #deadlineMs: number;
  readonly #maxConcurrent: number;
  readonly #metrics: ForwardMetrics | undefined;
  readonly #sockets: { v4: dgram.Socket[]; v6: dgram.Socket[] } = { v4: [], v6: [] };
  readonly #pending = new Map<string, Pending>();
  readonly #tcp = new Set<net.Socket>();
  #inflight = 0;
  #closed = false;

  constructor(opts: ForwardOptions) {
    this.#ups = opts.upstreams.map((u) => ({ ...u, fails: 0, checking: undefined }));
    this.#maxFails = opts.maxFails ?? 2;
    this.#healthCheckMs = opts.healthCheckMs ?? 500;
    this.#readTimeoutMs = opts.readTimeoutMs ?? 2000;
    this.#deadlineMs = opts.deadlineMs ?? 5000;
    this.#maxConcurrent = opts.maxConcurrent ?? 1000;
    this.#metrics = opts.metrics;
  }

  get upstreams(): readonly Upstream[] {
    return this.#ups;
  }

  /** Upstreams currently taken as healthy. */
  healthy(): Upstream[] {
    return this.#ups.filter((u) => !this.#isDown(u));
  }

  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Asks the upstreams. Rejects with ForwardError('refused') beyond max_concurrent and
   * ForwardError('failed') when no upstream answered in time.
   */
  async query(qname: Buffer, qtype: number, qclass: number, dnssecOk = false, cd = false): Promise<Relay> {
    if (this.#closed) throw new ForwardError('failed', 'forwarder closed');
    if (this.#ups.length === 0) throw new ForwardError('failed', 'no upstream resolvers configured');
    if (this.#maxConcurrent > 0 && this.#inflight >= this.#maxConcurrent) {
      this.#metrics?.maxConcurrentRejects.inc();
      throw new ForwardError('refused', `max_concurrent (${this.#maxConcurrent}) queries in flight`);
    }
    this.#inflight++;
    try {
      return await this.#tryAll(qname, qtype, qclass, dnssecOk, cd);
    } finally {
      this.#inflight--;
    }
  }

  async #tryAll(qname: Buffer, qtype: number, qclass: number, dnssecOk: boolean, cd: boolean): Promise<Relay> {
    const deadline = Date.now() + this.#deadlineMs;
    const order = this.#order();
    let lastErr: Error | undefined;
    for (const up of order) {
      if (this.#closed) break;
      const left = deadline - Date.now();
      if (left <= 0) break;
      const started = performance.now();
      this.#metrics?.requests.inc({ to: up.label });
      try {
        let m = await this.#udp(up, qname, qtype, qclass, dnssecOk, cd, Math.min(left, this.#readTimeoutMs));
        if (flag.tc(m.flags)) m = await this.#tcpQuery(up, qname, qtype, qclass, dnssecOk, cd, Math.max(1, Math.min(deadline - Date.now(), this.#readTimeoutMs)));
        up.fails = 0;
        const relay = toRelay(m, up.label);
        const rcode = rcodeName(relay.rcode);
        this.#metrics?.responses.inc({ to: up.label, rcode });
        this.#metrics?.duration.observe({ to: up.label, rcode }, (performance.now() - started) / 1000);
        return relay;
      } catch (e) {
        lastErr = e as Error;
        this.#failed(up);
      }
    }
    const name = wireToName(qname);
    // The engine logs the failed query (with its client); this is the forwarder's detail.
    log.debug({ name, qtype, err: lastErr?.message }, 'forward: no upstream answered');
    throw new ForwardError('failed', `no upstream answered ${name}: ${lastErr?.message ?? 'deadline passed'}`);
  }

  /** Healthy upstreams in random order, then the down ones; all down: one at random first. */
  #order(): UpstreamState[] {
    const shuffled = [...this.#ups];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const up = shuffled.filter((u) => !this.#isDown(u));
    if (up.length === 0) this.#metrics?.healthcheckBroken.inc();
    return [...up, ...shuffled.filter((u) => this.#isDown(u))];
  }

  #isDown(u: UpstreamState): boolean {
    return this.#maxFails > 0 && u.fails >= this.#maxFails;
  }

  #failed(up: UpstreamState): void {
    up.fails++;
    if (this.#isDown(up) && !up.checking && !this.#closed) {
      log.warn({ upstream: up.label, fails: up.fails }, 'forward: upstream marked down; health checking');
      up.checking = setInterval(() => this.#healthCheck(up), this.#healthCheckMs);
    }
  }

  #healthCheck(up: UpstreamState): void {
    // `. IN NS`, as CoreDNS: any answer counts as healthy.
    this.#udp(up, Buffer.from([0]), TYPE.NS, 1, false, false, this.#readTimeoutMs).then(
      () => {
        up.fails = 0;
        if (up.checking) clearInterval(up.checking);
        up.checking = undefined;
        log.info({ upstream: up.label }, 'forward: upstream healthy again');
      },
      () => {
        this.#metrics?.healthcheckFailures.inc({ to: up.label });
      },
    );
  }

  #socket(v6: boolean): dgram.Socket {
    const list = v6 ? this.#sockets.v6 : this.#sockets.v4;
    if (list.length < SOCKETS_PER_FAMILY) {
      const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', lookup: (a, _o, cb) => cb(null, a, v6 ? 6 : 4) });
      s.on('message', (msg, rinfo) => this.#onMessage(s, msg, rinfo));
      s.on('error', (err) => logError({ err: err.message }, 'forward: socket error'));
      list.push(s);
      return s;
    }
    return list[randomInt(list.length)];
  }

  #udp(up: UpstreamState, qname: Buffer, qtype: number, qclass: number, dnssecOk: boolean, cd: boolean, timeoutMs: number): Promise<Message> {
    const sock = this.#socket(net.isIPv6(up.host));
    return new Promise<Message>((resolve, reject) => {
      let id = randomInt(65536);
      let key = pendingKey(sock, id);
      while (this.#pending.has(key)) {
        id = randomInt(65536);
        key = pendingKey(sock, id);
      }
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        reject(new Error(`read timeout from ${up.label}`));
      }, timeoutMs);
      this.#pending.set(key, { up, qname, qtype, qclass, resolve, reject, timer });
      sock.send(buildQuery(id, qname, qtype, qclass, dnssecOk, cd), up.port, up.host, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.#pending.delete(key);
        reject(err);
      });
    });
  }

  #onMessage(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12) return;
    const key = pendingKey(sock, msg.readUInt16BE(0));
    const p = this.#pending.get(key);
    if (!p) return;
    // Only the upstream asked may answer, and only to the question asked.
    if (withoutZone(rinfo.address) !== withoutZone(p.up.host) || rinfo.port !== p.up.port) return;
    let m: Message;
    try {
      m = parseMessage(msg);
    } catch {
      return;
    }
    const q = m.questions[0];
    if (!flag.qr(m.flags) || m.questions.length !== 1 || q.type !== p.qtype || q.class !== p.qclass || !sameName(q.name, p.qname)) return;
    clearTimeout(p.timer);
    this.#pending.delete(key);
    p.resolve(m);
  }

  #tcpQuery(up: UpstreamState, qname: Buffer, qtype: number, qclass: number, dnssecOk: boolean, cd: boolean, timeoutMs: number): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const id = randomInt(65536);
      const q = buildQuery(id, qname, qtype, qclass, dnssecOk, cd);
      const frame = Buffer.allocUnsafe(q.length + 2);
      frame.writeUInt16BE(q.length, 0);
      q.copy(frame, 2);
      const sock = net.connect({ host: up.host, port: up.port });
      this.#tcp.add(sock);
      let buf = Buffer.alloc(0);
      const done = (err: Error | undefined, m?: Message): void => {
        clearTimeout(timer);
        this.#tcp.delete(sock);
        sock.destroy();
        if (err) reject(err);
        else resolve(m!);
      };
      const timer = setTimeout(() => done(new Error(`tcp read timeout from ${up.label}`)), timeoutMs);
      sock.on('connect', () => sock.write(frame));
      sock.on('error', (err) => done(err));
      sock.on('close', () => done(new Error(`tcp connection to ${up.label} closed`)));
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        try {
          const m = parseMessage(buf.subarray(2, 2 + len));
          if (m.id !== id || !flag.qr(m.flags)) return done(new Error(`bad tcp answer from ${up.label}`));
          done(undefined, m);
        } catch (e) {
          done(e as Error);
        }
      });
    });
  }

  close(): void {
    this.#closed = true;
    for (const u of this.#ups) {
      if (u.checking) clearInterval(u.checking);
      u.checking = undefined;
    }
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('forwarder closed'));
    }
    this.#pending.clear();
    for (const s of this.#tcp) s.destroy();
    for (const s of [...this.#sockets.v4, ...this.#sockets.v6]) s.close();
    this.#sockets.v4 = [];
    this.#sockets.v6 = [];
  }
}

/** An address without its IPv6 zone index (the kernel may name the zone by index or by name). */
function withoutZone(addr: string): string {
  const i = addr.indexOf('%');
  return i < 0 ? addr : addr.slice(0, i);
}

const socketIds = new WeakMap<dgram.Socket, number>();
let nextSocketId = 0;

function pendingKey(sock: dgram.Socket, id: number): string {
  let s = socketIds.get(sock);
  if (s === undefined) socketIds.set(sock, (s = nextSocketId++));
  return `${s}:${id}`;
}
