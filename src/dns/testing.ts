// A fake upstream resolver for tests and the benchmark: UDP and TCP on a loopback address,
// answering from a fixed table (NXDOMAIN with an SOA otherwise), able to truncate its UDP
// answers, to stay silent (down), and counting what it was asked. Never anything but loopback.
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { rrText } from './rr.ts';
import { flag, nameToWire, parseMessage, rcodeName, TYPE, typeCode, wireToName, type WireRR } from './wire.ts';

export interface FakeUpstreamOptions {
  /** A loopback address (127.0.0.0/8 or ::1). Default 127.0.0.1. */
  host?: string;
  /**
   * Allow an address other than loopback: only for a process started inside a network namespace
   * that a test made itself, in a closed topology (a lab's workstation), never in the host's.
   */
  insideTestNamespace?: boolean;
  port?: number;
  /** name (lower-case, no trailing dot) -> records answered for it (filtered by type). */
  records?: Record<string, dnsPacket.Answer[]>;
  /** Answer these names over UDP with TC and no records (the client is to retry over TCP). */
  truncateUdp?: (name: string) => boolean;
  /** TTL and MINIMUM of the SOA in negative answers. Default 60 / 30. */
  soaTtl?: number;
  soaMinimum?: number;
}

export interface FakeUpstream {
  host: string;
  port: number;
  /** "host:port", as `upstreams` takes it. */
  address: string;
  queries: { name: string; type: string; proto: 'udp' | 'tcp' }[];
  /** While down, nothing is answered (health checks included). */
  down: boolean;
  stop(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === '::1' || /^127\./.test(host);
}

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && !opts.insideTestNamespace) throw new Error('the fake upstream listens on loopback only');
  const records = opts.records ?? {};
  const v6 = net.isIPv6(host);
  // The same port for UDP and TCP; with port 0, retry when the kernel's UDP pick is taken for TCP.
  let udp: dgram.Socket;
  let tcp: net.Server;
  let port: number;
  for (let attempt = 0; ; attempt++) {
    const u = dgram.createSocket(v6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      u.once('error', reject);
      u.bind(opts.port ?? 0, host, () => resolve());
    });
    const p = u.address().port;
    // Bursts of forwarded queries (a cold cache under load) must not overflow the default buffer.
    try {
      u.setRecvBufferSize(4 * 1024 * 1024);
    } catch {
      // capped by the kernel; fine
    }
    const t = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        t.once('error', reject);
        t.listen(p, host, () => resolve());
      });
    } catch (e) {
      u.close();
      if (opts.port === undefined && attempt < 20) continue;
      throw e;
    }
    udp = u;
    tcp = t;
    port = p;
    break;
  }
  const conns = new Set<net.Socket>();
  const self: FakeUpstream = {
    host,
    port,
    address: v6 ? `[${host}]:${port}` : `${host}:${port}`,
    queries: [],
    down: false,
    async stop() {
      for (const c of conns) c.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };

  const respond = (msg: Buffer, proto: 'udp' | 'tcp'): Buffer | undefined => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const question = q.questions?.[0];
    if (!question) return undefined;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    self.queries.push({ name, type: question.type, proto });
    const base = { type: 'response' as const, id: q.id, questions: [question] };
    if (proto === 'udp' && opts.truncateUdp?.(name)) {
      return dnsPacket.encode({ ...base, flags: dnsPacket.TRUNCATED_RESPONSE | dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED });
    }
    if (name === '' && question.type === 'NS') {
      return dnsPacket.encode({ ...base, flags: dnsPacket.RECURSION_AVAILABLE, answers: [{ name: '.', type: 'NS', ttl: 3600, data: 'a.root-servers.test' }] });
    }
    const rrs = records[name];
    const flags = dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED;
    const soa: dnsPacket.Answer = {
      name: 'test',
      type: 'SOA',
      ttl: opts.soaTtl ?? 60,
      data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: opts.soaMinimum ?? 30 },
    };
    if (!rrs) return dnsPacket.encode({ ...base, flags: flags | 3, authorities: [soa] });
    const answers = rrs.filter((rr) => rr.type === question.type || (rr.type === 'CNAME' && question.type !== 'CNAME'));
    if (answers.length === 0) return dnsPacket.encode({ ...base, flags, authorities: [soa] });
    return dnsPacket.encode({ ...base, flags, answers: answers.map((rr) => ({ ...rr, name: question.name })) });
  };

  udp.on('message', (msg, rinfo) => {
    if (self.down) return;
    const out = respond(msg, 'udp');
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  tcp.on('connection', (sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        if (self.down) continue;
        const out = respond(Buffer.from(msg), 'tcp');
        if (!out) continue;
        const frame = Buffer.alloc(out.length + 2);
        frame.writeUInt16BE(out.length, 0);
        out.copy(frame, 2);
        sock.write(frame);
      }
    });
  });
  return self;
}

export interface QueryOptions {
  id?: number;
  /** Add an OPT record advertising this UDP size. */
  edns?: number;
  dnssecOk?: boolean;
  recursionDesired?: boolean;
  qclass?: number;
}

/** The bytes of a query, as a stub resolver sends it. */
export function makeQuery(name: string, type: string | number, o: QueryOptions = {}): Buffer {
  const qname = nameToWire(name);
  const b = Buffer.alloc(12 + qname.length + 4 + (o.edns ? 11 : 0));
  b.writeUInt16BE(o.id ?? 1, 0);
  b.writeUInt16BE(o.recursionDesired === false ? 0 : 0x0100, 2);
  b.writeUInt16BE(1, 4);
  qname.copy(b, 12);
  let at = 12 + qname.length;
  b.writeUInt16BE(typeof type === 'number' ? type : typeCode(type), at);
  b.writeUInt16BE(o.qclass ?? 1, at + 2);
  at += 4;
  if (o.edns) {
    b.writeUInt16BE(1, 10);
    b[at] = 0;
    b.writeUInt16BE(TYPE.OPT, at + 1);
    b.writeUInt16BE(o.edns, at + 3);
    b.writeUInt32BE(o.dnssecOk ? 0x8000 : 0, at + 5);
    b.writeUInt16BE(0, at + 9);
  }
  return b;
}

export interface Decoded {
  id: number;
  rcode: string;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  question: string;
  /** Zone-file lines of each section (OPT left out). */
  answer: string[];
  authority: string[];
  additional: string[];
  /** The OPT record's UDP size, when there is one. */
  udpSize?: number;
}

function lines(rrs: WireRR[]): string[] {
  return rrs.filter((r) => r.type !== TYPE.OPT).map((r) => rrText({ type: 'RAW', owner: r.name, code: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata }));
}

/** A response taken apart for assertions (with svcnet's own strict parser). */
export function decodeResponse(buf: Buffer): Decoded {
  const m = parseMessage(buf);
  const opt = m.additional.find((r) => r.type === TYPE.OPT);
  const rcode = (opt ? (opt.ttl >>> 24) << 4 : 0) | flag.rcode(m.flags);
  return {
    id: m.id,
    rcode: rcodeName(rcode),
    aa: flag.aa(m.flags),
    tc: flag.tc(m.flags),
    rd: flag.rd(m.flags),
    ra: flag.ra(m.flags),
    question: m.questions[0] ? wireToName(m.questions[0].name) : '',
    answer: lines(m.answers),
    authority: lines(m.authority),
    additional: lines(m.additional),
    udpSize: opt?.class,
  };
}

// `node --import tsx src/dns/testing.ts '<FakeUpstreamOptions as JSON>'`: a fake upstream as a
// process of its own (a test starts it inside a lab's namespace); prints "listening <address>"
// and answers until killed.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const o = JSON.parse(process.argv[2] ?? '{}') as FakeUpstreamOptions;
  void startFakeUpstream(o).then(
    (u) => {
      process.stdout.write(`listening ${u.address}\n`);
      const stop = (): void => void u.stop().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (e: unknown) => {
      process.stderr.write(`fake upstream: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
