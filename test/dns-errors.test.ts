// The cluster DNS of a real `bin/svcnet server` facing errors: an upstream that never answers
// (SERVFAIL) and malformed queries (FORMERR, NOTIMP, silent drops), over UDP and TCP. Every
// rejected or failed query is answered with the exact rcode CoreDNS (miekg/dns) gives, its ID
// echoed, and leaves one JSON line in the server's log naming the query, the client and the
// error (src/dns/log.ts). The upstream is a socket of this test on loopback that never answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { makeQuery } from '../src/dns/testing.ts';
import { nameToWire } from '../src/dns/wire.ts';
import { run, startSvcnet, type Svcnet } from './lib/svcnet.ts';
import { eventually } from '../src/util/index.ts';

let server: Svcnet;
let silent: dgram.Socket;
let silentPort = 0;
let dnsHost = '';
let dnsPort = 0;


interface LogLine {
  level: number;
  component?: string;
  msg: string;
  [k: string]: unknown;
}

/** The server's JSON log lines (pino, on stderr). */
function logLines(): LogLine[] {
  const out: LogLine[] = [];
  for (const l of server.logs().split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as LogLine);
    } catch {
      // a line still being written
    }
  }
  return out;
}

before(async () => {
  // The upstream: a bound UDP socket on loopback that reads queries and never answers.
  silent = dgram.createSocket('udp4');
  silent.on('message', () => undefined);
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  silentPort = silent.address().port;
  server = await startSvcnet({ args: ['--dns-upstream', `127.0.0.1:${silentPort}`] });
  assert.ok(server.net, 'the server has loopback ranges of its own');
  const [h, p] = server.net.dnsListen.split(':');
  dnsHost = h;
  dnsPort = Number(p);
  // Listening once the ready line is out; the cluster zone answers once the informers synced.
  await eventually('the cluster DNS answering', async () => {
    const r = await run('dig', [`@${dnsHost}`, '-p', String(dnsPort), '+time=1', '+tries=1', 'kubernetes.default.svc.cluster.local']);
    return /status: NOERROR/.test(r.stdout) ? true : undefined;
  });
});

after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
  silent?.close();
});

// ---- a tiny client that sends exact bytes and sees every reply ----

interface Header {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  cd: boolean;
  rcode: number;
  qd: number;
  an: number;
  ns: number;
  ar: number;
  length: number;
}

function header(b: Buffer): Header {
  return {
    id: b.readUInt16BE(0),
    qr: (b[2] & 0x80) !== 0,
    opcode: (b[2] >> 3) & 0xf,
    aa: (b[2] & 0x04) !== 0,
    tc: (b[2] & 0x02) !== 0,
    rd: (b[2] & 0x01) !== 0,
    ra: (b[3] & 0x80) !== 0,
    cd: (b[3] & 0x10) !== 0,
    rcode: b[3] & 0xf,
    qd: b.readUInt16BE(4),
    an: b.readUInt16BE(6),
    ns: b.readUInt16BE(8),
    ar: b.readUInt16BE(10),
    length: b.length,
  };
}

const PROBE_ID = 0xbeef;
const probe = (): Buffer => makeQuery('kubernetes.default.svc.cluster.local', 'A', { id: PROBE_ID });

/**
 * Sends `pkt` then a valid probe query from one UDP socket and returns the replies up to the
 * probe's: what the server answered to `pkt` (nothing when it dropped it), in order. Loopback
 * keeps a socket's datagrams in order and the server answers them in order.
 */
async function udpExchange(pkt: Buffer, sock?: dgram.Socket): Promise<Buffer[]> {
  const s = sock ?? dgram.createSocket('udp4');
  if (!sock) await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      const got: Buffer[] = [];
      const timer = setTimeout(() => reject(new Error(`no answer to the probe after ${got.length} replies`)), 10_000);
      const on = (m: Buffer): void => {
        if (m.length >= 2 && m.readUInt16BE(0) === PROBE_ID && m.length > 12) {
          clearTimeout(timer);
          s.off('message', on);
          resolve(got);
        } else {
          got.push(m);
        }
      };
      s.on('message', on);
      s.send(pkt, dnsPort, dnsHost);
      s.send(probe(), dnsPort, dnsHost);
    });
  } finally {
    if (!sock) s.close();
  }
}

/** One TCP connection: `pkt` then the probe, framed; the replies before the probe's, or 'closed'. */
function tcpExchange(pkt: Buffer): Promise<{ replies: Buffer[]; closed: boolean; local: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(dnsPort, dnsHost);
    const got: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let local = 0;
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ replies: got, closed, local });
    };
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer to the probe over TCP after ${got.length} replies`));
    }, 10_000);
    const frame = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
    s.on('connect', () => {
      local = s.localPort ?? 0;
      s.write(Buffer.concat([frame(pkt), frame(probe())]));
    });
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        if (m.readUInt16BE(0) === PROBE_ID && m.length > 12) return done(false);
        got.push(Buffer.from(m));
      }
    });
    s.on('error', () => done(true));
    s.on('close', () => done(true));
  });
}

// ---- the malformed queries ----

const QR = 0x80;
/** A query for a name in the cluster zone: RD and CD set, to see what the reply echoes. */
function query(id: number, name = 'kubernetes.default.svc.cluster.local'): Buffer {
  const q = makeQuery(name, 'A', { id });
  q[3] |= 0x10; // CD
  return q;
}
function withCount(q: Buffer, at: number, n: number): Buffer {
  const b = Buffer.from(q);
  b.writeUInt16BE(n, at);
  return b;
}
function asResponse(q: Buffer): Buffer {
  const b = Buffer.from(q);
  b[2] |= QR;
  return b;
}
function setOpcode(q: Buffer, op: number): Buffer {
  const b = Buffer.from(q);
  b[2] = (b[2] & 0x87) | (op << 3);
  return b;
}
/** A query whose question name is the given wire bytes (then QTYPE A, QCLASS IN). */
function rawName(id: number, wire: number[] | Buffer): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h[2] = 0x01; // RD
  h[3] = 0x10; // CD
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, Buffer.from(wire), Buffer.from([0, 1, 0, 1])]);
}
function labels(n: number, len: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(len, ...Buffer.alloc(len, 0x61 + (i % 26)));
  return out;
}
/** A name of exactly `total` bytes on the wire (root label included), ending in `suffix`. */
function nameOfWireLength(total: number, suffix: string): Buffer {
  const tail = nameToWire(suffix); // ends with the root label
  let left = total - tail.length;
  const parts: number[] = [];
  while (left > 0) {
    const len = Math.min(63, left - 1);
    assert.ok(len > 0, 'no empty label inside the name');
    parts.push(len, ...Buffer.alloc(len, 0x78));
    left -= len + 1;
  }
  return Buffer.concat([Buffer.from(parts), tail]);
}

interface Case {
  what: string;
  pkt: Buffer;
  /** The rcode of a 12-byte header-only reply, or 'drop' for no reply at all. */
  want: 'FORMERR' | 'NOTIMP' | 'drop';
  /** The opcode the reply carries (the query's for NOTIMP). */
  opcode?: number;
  /** The `err` of the log line (rejections are logged; drops are not). */
  err?: RegExp;
}

const RCODES = { FORMERR: 1, NOTIMP: 4 } as const;

const cases: Case[] = [
  { what: 'QDCOUNT 0', pkt: withCount(query(0x1001), 4, 0), want: 'FORMERR', err: /QDCOUNT is 0/ },
  {
    what: 'QDCOUNT 2 (two questions)',
    pkt: (() => {
      const q = query(0x1002);
      const second = makeQuery('svc.cluster.local', 'A').subarray(12);
      return withCount(Buffer.concat([q, second]), 4, 2);
    })(),
    want: 'FORMERR',
    err: /QDCOUNT is 2/,
  },
  { what: 'a header alone, QDCOUNT 1', pkt: query(0x1003).subarray(0, 12), want: 'FORMERR', err: /question truncated/ },
  { what: 'the question cut inside its name', pkt: query(0x1004).subarray(0, 12 + 14), want: 'FORMERR', err: /question truncated/ },
  { what: 'the question cut after its name (no QTYPE, QCLASS)', pkt: query(0x1005).subarray(0, query(0).length - 4), want: 'FORMERR', err: /question truncated/ },
  { what: 'the question cut inside QCLASS', pkt: query(0x1006).subarray(0, query(0).length - 1), want: 'FORMERR', err: /question truncated/ },
  { what: 'a compression pointer to itself', pkt: rawName(0x1007, [0xc0, 12]), want: 'FORMERR', err: /compression pointer/ },
  { what: 'two compression pointers pointing at each other', pkt: rawName(0x1008, [0xc0, 14, 0xc0, 12]), want: 'FORMERR', err: /compression pointer/ },
  { what: 'a label of 64 bytes', pkt: rawName(0x1009, [...labels(1, 64), 0]), want: 'FORMERR', err: /label length 64/ },
  { what: 'a reserved label type (0x80)', pkt: rawName(0x100a, [0x80, 0x61, 0]), want: 'FORMERR', err: /label length 128/ },
  { what: 'a name of 256 bytes', pkt: rawName(0x100b, nameOfWireLength(256, 'svc.cluster.local')), want: 'FORMERR', err: /longer than 255/ },
  { what: 'three answer records in a query', pkt: withCount(query(0x100c), 6, 3), want: 'FORMERR', err: /more records than a query has/ },
  { what: 'opcode IQUERY (1)', pkt: setOpcode(query(0x1011), 1), want: 'NOTIMP', opcode: 1, err: /opcode 1 is not QUERY/ },
  { what: 'opcode STATUS (2)', pkt: setOpcode(query(0x1012), 2), want: 'NOTIMP', opcode: 2, err: /opcode 2 is not QUERY/ },
  { what: 'opcode NOTIFY (4)', pkt: setOpcode(query(0x1014), 4), want: 'NOTIMP', opcode: 4, err: /opcode 4 is not QUERY/ },
  { what: 'opcode UPDATE (5)', pkt: setOpcode(query(0x1015), 5), want: 'NOTIMP', opcode: 5, err: /opcode 5 is not QUERY/ },
  { what: 'a response (QR=1)', pkt: asResponse(query(0x1021)), want: 'drop' },
  { what: 'a response (QR=1) with opcode UPDATE and QDCOUNT 0', pkt: withCount(setOpcode(asResponse(query(0x1022)), 5), 4, 0), want: 'drop' },
];

function checkReply(c: Case, replies: Buffer[], proto: string): void {
  const id = c.pkt.readUInt16BE(0);
  if (c.want === 'drop') {
    assert.deepEqual(replies.map((r) => r.toString('hex')), [], `${c.what} over ${proto}: no answer at all`);
    return;
  }
  assert.equal(replies.length, 1, `${c.what} over ${proto}: one answer`);
  // miekg/dns's reject: the header alone (no question, no OPT), QR, the query's ID, RD and CD.
  assert.deepEqual(header(replies[0]), {
    id,
    qr: true,
    opcode: c.opcode ?? 0,
    aa: false,
    tc: false,
    rd: true,
    ra: false,
    cd: true,
    rcode: RCODES[c.want],
    qd: 0,
    an: 0,
    ns: 0,
    ar: 0,
    length: 12,
  }, `${c.what} over ${proto}`);
}

test('each rejected query leaves one JSON warning line naming its rcode, ID, question, client, protocol and reason', async () => {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const client = `127.0.0.1:${sock.address().port}`;
  try {
    // A fresh ID per run of this test, so lines of the table tests above are not counted.
    const two = withCount(Buffer.concat([query(0x2001, 'logged.default.svc.cluster.local'), makeQuery('svc.cluster.local', 'A').subarray(12)]), 4, 2);
    const loop = rawName(0x2002, [0xc0, 12]);
    const notify = setOpcode(query(0x2003, 'notify.default.svc.cluster.local'), 4);
    for (const p of [two, loop, notify]) assert.equal((await udpExchange(p, sock)).length, 1);
    const tcp = await tcpExchange(withCount(query(0x2004, 'tcp-logged.default.svc.cluster.local'), 4, 2));
    const byId = (id: number) => logLines().filter((l) => l.msg === 'dns: query rejected' && l.id === id);
    // The marker: the last one sent; every line of the others is written before it.
    await eventually('the log line of the last rejected query', () => (byId(0x2004).length ? true : undefined));
    const pick = (l: LogLine) => ({ level: l.level, component: l.component, rcode: l.rcode, id: l.id, name: l.name, type: l.type, client: l.client, proto: l.proto, err: l.err });
    assert.deepEqual(byId(0x2001).map(pick), [
      { level: 40, component: 'dns', rcode: 'FORMERR', id: 0x2001, name: 'logged.default.svc.cluster.local.', type: 'A', client, proto: 'udp', err: 'QDCOUNT is 2, a query has one question' },
    ]);
    assert.deepEqual(byId(0x2002).map(pick), [
      { level: 40, component: 'dns', rcode: 'FORMERR', id: 0x2002, name: undefined, type: undefined, client, proto: 'udp', err: 'compression pointer in the question' },
    ]);
    assert.deepEqual(byId(0x2003).map(pick), [
      { level: 40, component: 'dns', rcode: 'NOTIMP', id: 0x2003, name: 'notify.default.svc.cluster.local.', type: 'A', client, proto: 'udp', err: 'opcode 4 is not QUERY' },
    ]);
    assert.deepEqual(byId(0x2004).map(pick), [
      { level: 40, component: 'dns', rcode: 'FORMERR', id: 0x2004, name: 'tcp-logged.default.svc.cluster.local.', type: 'A', client: `127.0.0.1:${tcp.local}`, proto: 'tcp', err: 'QDCOUNT is 2, a query has one question' },
    ]);
    // A dropped response is not worth a line (no answer, and a flood of them must cost nothing).
    assert.equal((await udpExchange(asResponse(query(0x2005)), sock)).length, 0);
    assert.equal((await udpExchange(withCount(query(0x2006), 4, 0), sock)).length, 1);
    await eventually('the line after the dropped response', () => (byId(0x2006).length ? true : undefined));
    assert.deepEqual(byId(0x2005), []);
  } finally {
    sock.close();
  }
});

test('an outside name the upstream never answers is SERVFAIL (dig, UDP and TCP), with one JSON error line per query naming name, type, client and error', async () => {
  // The upstream's read timeout is 2 s: dig waits longer.
  const udp = await run('dig', [`@${dnsHost}`, '-p', String(dnsPort), '+time=8', '+tries=1', 'unreachable-udp.example.test', 'AAAA']);
  assert.match(udp.stdout, /status: SERVFAIL/, udp.stdout);
  assert.match(udp.stdout, /^;unreachable-udp\.example\.test\.\s+IN\s+AAAA$/m, 'the question is echoed');
  const tcp = await run('dig', [`@${dnsHost}`, '-p', String(dnsPort), '+tcp', '+time=8', '+tries=1', 'unreachable-tcp.example.test', 'TXT']);
  assert.match(tcp.stdout, /status: SERVFAIL/, tcp.stdout);
  // A later rejected query is the marker: lines are written in order, so any second line for
  // the SERVFAILs would come before its line.
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  try {
    await udpExchange(withCount(query(0x2101), 4, 0), sock);
  } finally {
    sock.close();
  }
  await eventually('the marker line', () => (logLines().some((l) => l.msg === 'dns: query rejected' && l.id === 0x2101) ? true : undefined));
  const failed = (name: string) => logLines().filter((l) => l.msg === 'dns: query failed' && l.name === name);
  const upstream = `127.0.0.1:${silentPort}`;
  for (const [name, type, proto] of [
    ['unreachable-udp.example.test.', 'AAAA', 'udp'],
    ['unreachable-tcp.example.test.', 'TXT', 'tcp'],
  ]) {
    const lines = failed(name);
    assert.equal(lines.length, 1, `one line for ${name}: ${JSON.stringify(lines)}`);
    const l = lines[0];
    assert.deepEqual({ level: l.level, component: l.component, rcode: l.rcode, type: l.type, proto: l.proto }, { level: 50, component: 'dns', rcode: 'SERVFAIL', type, proto });
    assert.match(String(l.client), /^127\.0\.0\.1:\d+$/);
    assert.equal(l.err, `no upstream answered ${name}: read timeout from ${upstream}`);
  }
  // No other error line for these queries (the forwarder's own detail is debug only).
  const others = logLines().filter((l) => l.level >= 50 && JSON.stringify(l).includes('unreachable-') && l.msg !== 'dns: query failed');
  assert.deepEqual(others, []);
});

test('malformed queries over UDP get CoreDNS\'s exact answer: FORMERR or NOTIMP as a bare header with the ID, RD and CD echoed, or nothing for a response', async () => {
  for (const c of cases) checkReply(c, await udpExchange(c.pkt), 'UDP');
});

test('malformed queries over TCP get the same answers, and the connection goes on serving', async () => {
  for (const c of cases) {
    const r = await tcpExchange(c.pkt);
    assert.equal(r.closed, false, `${c.what} over TCP: the connection stays open and the next query is answered`);
    checkReply(c, r.replies, 'TCP');
  }
  // Shorter than a header: no answer, and the stream (out of step) is closed.
  const short = await tcpExchange(Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00]));
  assert.deepEqual([short.closed, short.replies.length], [true, 0]);
  const shortUdp = await udpExchange(Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00]));
  assert.deepEqual(shortUdp, [], 'UDP: a 5-byte packet is dropped');
});

test('a name of exactly 255 bytes is no error: answered NXDOMAIN with its question', async () => {
  const q = rawName(0x1100, nameOfWireLength(255, 'default.svc.cluster.local'));
  const [udp] = await udpExchange(q);
  assert.ok(udp, 'answered over UDP');
  assert.deepEqual([header(udp).id, header(udp).rcode, header(udp).qd, header(udp).aa], [0x1100, 3, 1, true]);
  const tcp = await tcpExchange(q);
  assert.deepEqual([header(tcp.replies[0]).id, header(tcp.replies[0]).rcode, header(tcp.replies[0]).qd], [0x1100, 3, 1]);
});
