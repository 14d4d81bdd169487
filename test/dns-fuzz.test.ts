// Hostile input: well over 100,000 random, mutated and crafted packets over UDP (and some over
// TCP). The server must keep answering valid queries throughout, never crash, never answer a
// response, and never send a UDP answer larger than the query allows (512 bytes, or the EDNS
// size it advertised, at most 1232).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Namespace, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeInformer } from '../src/client/index.ts';
import { startDnsServer, type DnsServer } from '../src/dns/index.ts';
import { log } from '../src/dns/log.ts';
import { decodeResponse, makeQuery, startFakeUpstream, type FakeUpstream } from '../src/dns/testing.ts';
import { parseMessage } from '../src/dns/wire.ts';

const SEED = Number(process.env.DNS_FUZZ_SEED ?? 0x5eed);
let rngState = SEED >>> 0 || 1;
function rand(): number {
  // xorshift32: reproducible from the seed printed on failure
  rngState ^= rngState << 13;
  rngState >>>= 0;
  rngState ^= rngState >>> 17;
  rngState ^= rngState << 5;
  rngState >>>= 0;
  return rngState / 0x100000000;
}
const ri = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[ri(xs.length)];

const names = [
  'web.default.svc.cluster.local',
  'many.default.svc.cluster.local',
  '_http._tcp.many.default.svc.cluster.local',
  'ext.default.svc.cluster.local',
  'nope.default.svc.cluster.local',
  'default.svc.cluster.local',
  'cluster.local',
  '10-244-0-1.default.pod.cluster.local',
  '1.0.96.10.in-addr.arpa',
  'outside.example.test',
  'x.y.z.w.v.u.default.svc.cluster.local',
];
const types = ['A', 'AAAA', 'SRV', 'PTR', 'TXT', 'SOA', 'NS', 'CNAME', 'ANY', 'AXFR', 'MX', 'TYPE65'];

function validQuery(): Buffer {
  return makeQuery(pick(names), pick(types), { edns: rand() < 0.5 ? pick([0, 100, 512, 1232, 4096, 65535]) || undefined : undefined, dnssecOk: rand() < 0.2 });
}

function randomBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = ri(256);
  return b;
}

function mutate(q: Buffer): Buffer {
  let b = Buffer.from(q);
  const rounds = 1 + ri(4);
  for (let r = 0; r < rounds; r++) {
    switch (ri(9)) {
      case 0: // flip bits
        for (let i = 0; i < 1 + ri(4); i++) b[ri(b.length)] ^= 1 << ri(8);
        break;
      case 1: // overwrite a byte
        b[ri(b.length)] = ri(256);
        break;
      case 2: // truncate
        b = b.subarray(0, ri(b.length + 1));
        break;
      case 3: // append garbage
        b = Buffer.concat([b, randomBytes(ri(64))]);
        break;
      case 4: // absurd counts
        if (b.length >= 12) b.writeUInt16BE(ri(65536), 4 + 2 * ri(4));
        break;
      case 5: // a compression pointer somewhere in the question (often a loop)
        if (b.length > 14) {
          const at = 12 + ri(b.length - 13);
          b[at] = 0xc0 | ri(64);
          b[at + 1] = ri(256);
        }
        break;
      case 6: // label length beyond the data, or a reserved label type
        if (b.length > 12) b[12 + ri(Math.min(20, b.length - 12))] = pick([63, 64, 127, 128, 191, 255]);
        break;
      case 7: // opcode, QR, EDNS version games
        if (b.length >= 4) b[2] = ri(256);
        break;
      case 8: // splice two queries
        b = Buffer.concat([b.subarray(0, ri(b.length)), validQuery().subarray(ri(12))]);
        break;
    }
  }
  return b;
}

function crafted(): Buffer {
  const q = makeQuery('web.default.svc.cluster.local', 'A', { edns: 1232 });
  switch (ri(8)) {
    case 0: // the question name is a pointer to itself
      return Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    case 1: {
      // 127 one-byte labels (254 bytes), then more labels past 255
      const labels: number[] = [];
      for (let i = 0; i < 127 + ri(60); i++) labels.push(1, 0x61);
      return Buffer.concat([q.subarray(0, 12), Buffer.from([...labels, 0, 0, 1, 0, 1])]);
    }
    case 2: // QDCOUNT 0, or 65535
      q.writeUInt16BE(pick([0, 2, 65535]), 4);
      return q;
    case 3: // EDNS version 1..255
      q[q.length - 5] = 1 + ri(255);
      return q;
    case 4: {
      // an OPT whose RDLENGTH runs past the end
      q.writeUInt16BE(0xffff, q.length - 2);
      return q;
    }
    case 5: // a response sent to the server (reflection bait): must not be answered
      q[2] |= 0x80;
      return q;
    case 6: // oversized: a valid query followed by kilobytes
      return Buffer.concat([q, randomBytes(1000 + ri(8000))]);
    default: // a header and nothing else
      return q.subarray(0, 12);
  }
}

/** The most a UDP answer to this query may hold, as the server must read it. */
function allowed(q: Buffer): number {
  try {
    const m = parseMessage(q);
    const opts = m.additional.filter((r) => r.type === 41);
    if (opts.length === 1 && opts[0].name.length === 1) return Math.min(Math.max(opts[0].class, 512), 1232);
  } catch {
    // not a parseable query: the plain limit
  }
  return 512;
}

let server: DnsServer;
let upstream: FakeUpstream;

before(async () => {
  // Every rejected packet is a warning line (at most 20 a second, test/dns-errors.test.ts checks
  // them); here they would only bury the test's output.
  log.level = 'error';
  upstream = await startFakeUpstream({ host: '127.0.0.3', records: { 'outside.example.test': [{ name: 'outside.example.test', type: 'A', ttl: 60, data: '192.0.2.1' }] } });
  const many = Array.from({ length: 200 }, (_, i) => ({ addresses: [`10.244.${i >> 8}.${i & 255}`], conditions: { ready: true } }));
  server = await startDnsServer({
    services: new FakeInformer<Service>([
      { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80 }] } },
      { metadata: { name: 'many', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
      { metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'outside.example.test' } },
    ]),
    endpointSlices: new FakeInformer<EndpointSlice>([
      { metadata: { name: 'many-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'many' } }, addressType: 'IPv4', endpoints: many, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    ]),
    namespaces: new FakeInformer<Namespace>([{ metadata: { name: 'default' } }]),
    podsMode: 'insecure',
    upstreams: [upstream.address],
    forward: { readTimeoutMs: 500, deadlineMs: 1000 },
  });
  await server.synced;
});

after(async () => {
  await server?.stop();
  await upstream?.stop();
});

test(`the server survives 100,000+ hostile UDP packets, answering valid queries throughout (seed ${SEED})`, async () => {
  const port = server.addresses[0].port;
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  sock.setRecvBufferSize(8 * 1024 * 1024);
  // Every fuzz packet gets a fresh ID (replies are matched by it); probes use their own socket.
  const sent = new Map<number, { limit: number; response: boolean }>();
  const violations: string[] = [];
  let replies = 0;
  sock.on('message', (msg) => {
    replies++;
    if (msg.length < 2) return violations.push(`a ${msg.length}-byte reply`);
    const info = sent.get(msg.readUInt16BE(0));
    if (!info) return;
    if (info.response) violations.push('a response was answered');
    if (msg.length > info.limit) violations.push(`a ${msg.length}-byte reply where ${info.limit} were allowed`);
  });
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  // A stub resolver's patience: resend every 500 ms, give up after 5 s.
  const ask = (id: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const q = makeQuery('web.default.svc.cluster.local', 'A', { id });
      let tries = 0;
      const send = (): void => {
        if (++tries > 10) {
          clearInterval(timer);
          probe.off('message', on);
          reject(new Error(`probe ${id} unanswered`));
          return;
        }
        probe.send(q, port, '127.0.0.1');
      };
      const timer = setInterval(send, 500);
      const on = (msg: Buffer): void => {
        if (msg.readUInt16BE(0) !== id) return;
        clearInterval(timer);
        probe.off('message', on);
        resolve(decodeResponse(msg).answer.join('\n'));
      };
      probe.on('message', on);
      send();
    });

  try {
    const TOTAL = 110_000;
    let id = 0;
    let probes = 0;
    for (let i = 0; i < TOTAL; ) {
      // Sender and server share this event loop, and libuv reads at most 32 datagrams a turn:
      // 25 a turn keeps the server's socket buffer from overflowing.
      for (let j = 0; j < 25 && i < TOTAL; j++, i++) {
        const kind = ri(10);
        let pkt = kind < 3 ? randomBytes(ri(kind === 0 ? 600 : 40)) : kind < 8 ? mutate(validQuery()) : crafted();
        if (pkt.length > 60_000) pkt = pkt.subarray(0, 60_000);
        if (pkt.length >= 2) {
          id = (id + 1) & 0xffff;
          pkt = Buffer.from(pkt);
          pkt.writeUInt16BE(id, 0);
          sent.set(id, { limit: allowed(pkt), response: pkt.length >= 3 && (pkt[2] & 0x80) !== 0 });
        }
        sock.send(pkt, port, '127.0.0.1');
      }
      if (i % 10_000 === 0) {
        probes++;
        assert.equal(await ask(60_000 + probes), 'web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.1', `valid query answered after ${i} packets`);
      } else {
        await new Promise((r) => setImmediate(r));
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await ask(65_000), 'web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.1');
    assert.deepEqual(violations.slice(0, 10), []);
    assert.ok(replies > TOTAL / 4, `${replies} replies to ${TOTAL} packets`);
    assert.ok(server.healthy(), 'server.healthy()');
  } finally {
    sock.close();
    probe.close();
  }
});

test('the server survives garbage and mutated queries over TCP, and still answers over TCP', async () => {
  const port = server.addresses[0].port;
  const tcpAsk = (frames: Buffer[], wantAnswer: boolean): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      const done = (v: Buffer | undefined): void => {
        clearTimeout(timer);
        s.destroy();
        resolve(v);
      };
      const timer = setTimeout(() => done(undefined), wantAnswer ? 3000 : 200);
      s.on('error', () => done(undefined));
      s.on('connect', () => {
        for (const f of frames) s.write(f);
      });
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (wantAnswer && buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      s.on('close', () => done(wantAnswer ? undefined : buf));
    });
  const frame = (b: Buffer, len = b.length): Buffer => Buffer.concat([Buffer.from([len >> 8, len & 255]), b]);
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < 3000; i++) {
    const kind = ri(4);
    const frames =
      kind === 0
        ? [randomBytes(ri(200))]
        : kind === 1
          ? [frame(mutate(validQuery())), frame(mutate(validQuery()))]
          : kind === 2
            ? [frame(randomBytes(ri(100)), ri(65536))]
            : [frame(crafted()), frame(validQuery())];
    batch.push(tcpAsk(frames, false));
    if (batch.length >= 50) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  const answer = await tcpAsk([frame(makeQuery('web.default.svc.cluster.local', 'A', { id: 4242 }))], true);
  assert.ok(answer, 'a valid TCP query is answered');
  assert.deepEqual(decodeResponse(answer).answer, ['web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.1']);
  assert.ok(server.healthy(), 'server.healthy()');
});
