// The userspace backend with real sockets on loopback addresses of one random 127.78.x.0/24 per
// run: endpoints are small servers answering with their name and the client address they see.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { computeServiceState, toServiceInfo, toSliceInfo } from '../model/index.ts';
import { makeService, makeSlice, type EndpointOptions, type ServiceOptions } from '../testing.ts';
import type { ProxyState, ServiceState } from '../types.ts';
import { UserspaceBackend, type UserspaceBackendOptions } from './backend.ts';
import { logger } from '../../util/index.ts';

const subnet = `127.78.${1 + Math.floor(Math.random() * 250)}`;
const ip = (n: number): string => `${subnet}.${n}`;
const node = { name: 'node-a' };
const log = logger('test').child({}, { level: 'silent' });

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function backend(o: Partial<UserspaceBackendOptions> = {}): UserspaceBackend {
  const b = new UserspaceBackend({ config: { nodeIPs: [ip(1)], nodePortAddresses: [] }, node, log, ...o });
  cleanups.push(() => b.close());
  return b;
}

interface Svc {
  name?: string;
  o?: ServiceOptions;
  eps: (EndpointOptions & { port?: number })[];
  protocol?: 'TCP' | 'UDP';
  port?: number;
}

function svcState(s: Svc): ServiceState {
  const name = s.name ?? 'web';
  const protocol = s.protocol ?? 'TCP';
  const targetPort = s.eps[0]?.port ?? 8080;
  const info = toServiceInfo(makeService(name, { clusterIP: ip(10), ports: [{ name: 'p', port: s.port ?? 80, protocol, targetPort }], ...s.o }))!;
  const slice = toSliceInfo(makeSlice(name, s.eps, { ports: [{ name: 'p', port: targetPort, protocol }] }));
  return computeServiceState(info, [slice], node, ['IPv4']);
}

function stateOf(...svcs: Svc[]): ProxyState {
  return { services: new Map(svcs.map((s) => svcState(s)).map((st) => [st.name, st])) };
}

/** A TCP endpoint: answers each chunk with "<name> <client address>\n". */
async function endpoint(host: string, port: number, name: string, o: { onEnd?: (s: Socket) => void } = {}): Promise<Server> {
  const srv = createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', () => s.write(`${name} ${s.remoteAddress}\n`));
    s.on('end', () => (o.onEnd ? o.onEnd(s) : s.end()));
    s.on('error', () => {});
  });
  srv.listen(port, host);
  await once(srv, 'listening');
  cleanups.push(() => new Promise((r) => srv.close(r)));
  return srv;
}

/** Opens a connection and returns it with a line reader. */
async function dial(host: string, port: number, localAddress?: string): Promise<{ s: Socket; ask: () => Promise<string> }> {
  const s = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
  await once(s, 'connect');
  let buf = '';
  const waiting: ((line: string) => void)[] = [];
  s.setEncoding('utf8');
  s.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  s.on('error', () => {});
  cleanups.push(() => s.destroy());
  return {
    s,
    ask: () =>
      new Promise<string>((resolve, reject) => {
        waiting.push(resolve);
        s.once('close', () => reject(new Error('closed')));
        s.write('hi\n');
      }),
  };
}

async function askOnce(host: string, port: number, localAddress?: string): Promise<string> {
  const c = await dial(host, port, localAddress);
  const line = await c.ask();
  c.s.end();
  return line;
}

/** Resolves with the error code of a connection attempt that fails, or 'connected'. */
function connectResult(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

let nextPort = 20000 + Math.floor(Math.random() * 20000);
const port = (): number => nextPort++;

test('a Service listens on its ClusterIP and its connections reach both endpoints', async () => {
  const p = port();
  await endpoint(ip(21), p, 'a');
  await endpoint(ip(22), p, 'b');
  const b = backend();
  const r = await b.sync(stateOf({ eps: [{ ip: ip(21), port: p }, { ip: ip(22), port: p }] }), undefined);
  assert.equal(r.mode, 'full');
  assert.deepEqual(b.listening(), [`TCP/${ip(10)}/80`]);
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) seen.add((await askOnce(ip(10), 80)).split(' ')[0]);
  assert.deepEqual([...seen].sort(), ['a', 'b']);
});

test('a Service port without endpoints refuses at once, and serves once it has one', async () => {
  const p = port();
  const b = backend();
  await b.sync(stateOf({ name: 'empty', eps: [], port: 81 }), undefined);
  const t0 = performance.now();
  assert.equal(await connectResult(ip(10), 81), 'ECONNREFUSED');
  assert.ok(performance.now() - t0 < 500);
  await endpoint(ip(23), p, 'c');
  await b.sync(stateOf({ name: 'empty', eps: [{ ip: ip(23), port: p }], port: 81 }), new Set(['default/empty']));
  assert.match(await askOnce(ip(10), 81), /^c /);
});

test('listeners come and go with Services without disturbing other Services\' connections', async () => {
  const p = port();
  await endpoint(ip(24), p, 'd');
  const b = backend();
  const one: Svc = { name: 'one', eps: [{ ip: ip(24), port: p }], port: 82 };
  const two: Svc = { name: 'two', eps: [{ ip: ip(24), port: p }], port: 83 };
  await b.sync(stateOf(one), undefined);
  const c = await dial(ip(10), 82);
  assert.match(await c.ask(), /^d /);
  const r = await b.sync(stateOf(one, two), new Set(['default/two']));
  assert.equal(r.mode, 'incremental');
  assert.deepEqual(b.listening(), [`TCP/${ip(10)}/82`, `TCP/${ip(10)}/83`]);
  assert.match(await askOnce(ip(10), 83), /^d /);
  await b.sync(stateOf(one), new Set(['default/two']));
  assert.equal(await connectResult(ip(10), 83), 'ECONNREFUSED');
  assert.match(await c.ask(), /^d /, 'the other Service\'s open connection still works');
});

test('an endpoint that goes away drains: open connections continue, new ones go elsewhere', async () => {
  const p = port();
  await endpoint(ip(25), p, 'e1');
  await endpoint(ip(26), p, 'e2');
  const b = backend();
  const both: Svc = { name: 'drain', eps: [{ ip: ip(25), port: p }, { ip: ip(26), port: p }], port: 84 };
  await b.sync(stateOf(both), undefined);
  // An open connection to e1.
  let c: Awaited<ReturnType<typeof dial>> | undefined;
  for (let i = 0; i < 50 && !c; i++) {
    const d = await dial(ip(10), 84);
    if ((await d.ask()).startsWith('e1 ')) c = d;
    else d.s.destroy();
  }
  assert.ok(c, 'a connection to e1');
  await b.sync(stateOf({ ...both, eps: [{ ip: ip(26), port: p }] }), new Set(['default/drain']));
  for (let i = 0; i < 20; i++) assert.match(await askOnce(ip(10), 84), /^e2 /);
  assert.match(await c.ask(), /^e1 /, 'the open connection still reaches e1');
  // The whole Service goes: the listener closes, the open connection still drains.
  await b.sync(stateOf(), new Set(['default/drain']));
  assert.equal(await connectResult(ip(10), 84), 'ECONNREFUSED');
  assert.match(await c.ask(), /^e1 /);
  c.s.end();
  await once(c.s, 'close');
});

test('an endpoint that refuses is retried on another: no connection is lost', async () => {
  const p = port();
  await endpoint(ip(27), p, 'alive');
  const b = backend();
  // ip(28) listed but nothing listens there (a pod that just exited).
  await b.sync(stateOf({ name: 'retry', eps: [{ ip: ip(27), port: p }, { ip: ip(28), port: p }], port: 85 }), undefined);
  const answers = await Promise.all(Array.from({ length: 60 }, () => askOnce(ip(10), 85)));
  assert.ok(answers.every((a) => a.startsWith('alive ')));
});

test('when every endpoint refuses, the client is reset at once rather than left hanging', async () => {
  const p = port();
  const b = backend();
  await b.sync(stateOf({ name: 'dead', eps: [{ ip: ip(29), port: p }, { ip: ip(30), port: p }], port: 86 }), undefined);
  const s = connect({ host: ip(10), port: 86 });
  const t0 = performance.now();
  const [err] = (await once(s, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNRESET');
  assert.ok(performance.now() - t0 < 1000);
});

test('sessionAffinity ClientIP: each client address sticks to one endpoint', async () => {
  const p = port();
  await endpoint(ip(31), p, 'f1');
  await endpoint(ip(32), p, 'f2');
  const b = backend();
  await b.sync(stateOf({ name: 'sticky', o: { affinityTimeout: 60 }, eps: [{ ip: ip(31), port: p }, { ip: ip(32), port: p }], port: 87 }), undefined);
  const firsts = new Set<string>();
  for (let c = 0; c < 8; c++) {
    const from = `127.79.0.${10 + c}`;
    const names = new Set<string>();
    for (let i = 0; i < 10; i++) names.add((await askOnce(ip(10), 87, from)).split(' ')[0]);
    assert.equal(names.size, 1, `client ${from} saw ${[...names].join(',')}`);
    firsts.add([...names][0]);
  }
  assert.equal(firsts.size, 2, 'different clients are still spread');
});

test('the endpoint sees the client\'s own loopback address', async () => {
  const p = port();
  await endpoint(ip(33), p, 'g');
  const b = backend();
  await b.sync(stateOf({ name: 'src', eps: [{ ip: ip(33), port: p }], port: 88 }), undefined);
  assert.equal(await askOnce(ip(10), 88, '127.79.1.7'), 'g 127.79.1.7');
  assert.equal(await askOnce(ip(10), 88, '127.0.0.1'), 'g 127.0.0.1');
});

test('half-close passes through: the endpoint sees the end and its late reply still arrives', async () => {
  const p = port();
  await endpoint(ip(34), p, 'h', { onEnd: (s) => setTimeout(() => s.end('bye\n'), 50) });
  const b = backend();
  await b.sync(stateOf({ name: 'half', eps: [{ ip: ip(34), port: p }], port: 89 }), undefined);
  const s = connect({ host: ip(10), port: 89, allowHalfOpen: true });
  await once(s, 'connect');
  let got = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => (got += d));
  s.end('x');
  await once(s, 'end');
  assert.equal(got, `h ${'127.0.0.1'}\nbye\n`);
  s.destroy();
});

test('a large transfer arrives intact through a slow reader (backpressure)', async () => {
  const p = port();
  const payload = randomBytes(8 * 1024 * 1024);
  const srv = createServer((s) => {
    s.on('error', () => {});
    s.end(payload);
  });
  srv.listen(p, ip(35));
  await once(srv, 'listening');
  cleanups.push(() => new Promise((r) => srv.close(r)));
  const b = backend();
  await b.sync(stateOf({ name: 'big', eps: [{ ip: ip(35), port: p }], port: 90 }), undefined);
  const s = connect({ host: ip(10), port: 90 });
  s.pause();
  await new Promise((r) => setTimeout(r, 300));
  const h = createHash('sha256');
  let n = 0;
  s.on('data', (d: Buffer) => {
    n += d.length;
    h.update(d);
  });
  s.resume();
  await once(s, 'end');
  assert.equal(n, payload.length);
  assert.equal(h.digest('hex'), createHash('sha256').update(payload).digest('hex'));
});

test('NodePort, LoadBalancer and externalIP addresses serve; loadBalancerSourceRanges resets other clients', async () => {
  const p = port();
  const nodePort = port();
  await endpoint(ip(36), p, 'k');
  const b = backend();
  const o: ServiceOptions = {
    type: 'LoadBalancer',
    ports: [{ name: 'p', port: 91, protocol: 'TCP', targetPort: p, nodePort }],
    loadBalancerIngress: [{ ip: ip(40) }, { ip: '192.168.1.240' }],
    externalIPs: [ip(41)],
    loadBalancerSourceRanges: ['127.79.5.0/24'],
  };
  await b.sync(stateOf({ name: 'lb', o, eps: [{ ip: ip(36), port: p }], port: 91 }), undefined);
  assert.deepEqual(b.listening(), [`TCP/${ip(10)}/91`, `TCP/${ip(1)}/${nodePort}`, `TCP/${ip(40)}/91`, `TCP/${ip(41)}/91`].sort());
  assert.match(await askOnce(ip(1), nodePort), /^k /);
  assert.match(await askOnce(ip(41), 91), /^k /);
  assert.match(await askOnce(ip(40), 91, '127.79.5.9'), /^k /);
  await assert.rejects(askOnce(ip(40), 91, '127.79.6.9'), /ECONNRESET|closed/);
});

test('addresses outside loopback are never bound', async () => {
  const b = backend();
  await b.sync(stateOf({ name: 'far', o: { clusterIP: '10.96.0.10' }, eps: [{ ip: ip(37), port: 8080 }] }), undefined);
  assert.deepEqual(b.listening(), []);
  assert.deepEqual([...b.unbound()], []);
});

test('an address in use elsewhere is reported and taken once it is free', async () => {
  const p = port();
  await endpoint(ip(38), p, 'm');
  const squatter = createServer();
  squatter.listen(92, ip(10));
  await once(squatter, 'listening');
  const b = backend({ bindRetryMs: 100 });
  await b.sync(stateOf({ name: 'busy', eps: [{ ip: ip(38), port: p }], port: 92 }), undefined);
  assert.deepEqual([...b.unbound()], [[`TCP/${ip(10)}/92`, 'EADDRINUSE']]);
  await new Promise((r) => squatter.close(r));
  const deadline = Date.now() + 5000;
  while (b.listening().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(b.listening(), [`TCP/${ip(10)}/92`]);
  assert.match(await askOnce(ip(10), 92), /^m /);
});

test('close() stops every listener and ends open connections', async () => {
  const p = port();
  await endpoint(ip(39), p, 'n');
  const b = new UserspaceBackend({ config: { nodeIPs: [ip(1)], nodePortAddresses: [] }, node, log });
  await b.sync(stateOf({ name: 'end', eps: [{ ip: ip(39), port: p }], port: 93 }), undefined);
  const c = await dial(ip(10), 93);
  await c.ask();
  assert.equal(b.active(), 1);
  await b.close();
  await once(c.s, 'close');
  assert.equal(await connectResult(ip(10), 93), 'ECONNREFUSED');
});

// ---- UDP ----

async function udpEndpoint(host: string, port: number, name: string): Promise<UdpSocket> {
  const s = createSocket('udp4');
  s.on('message', (m, r) => s.send(`${name} ${r.address} ${m.toString()}`, r.port, r.address));
  s.bind(port, host);
  await once(s, 'listening');
  cleanups.push(() => s.close());
  return s;
}

async function udpClient(localAddress = '127.0.0.1'): Promise<{ s: UdpSocket; ask: (host: string, port: number, msg: string) => Promise<{ text: string; from: string }> }> {
  const s = createSocket('udp4');
  s.bind(0, localAddress);
  await once(s, 'listening');
  cleanups.push(() => s.close());
  return {
    s,
    ask: (host, port, msg) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no UDP reply in 2 s')), 2000);
        s.once('message', (m, r) => {
          clearTimeout(t);
          resolve({ text: m.toString(), from: `${r.address}:${r.port}` });
        });
        s.send(msg, port, host);
      }),
  };
}

test('UDP: datagrams reach an endpoint and replies come back from the Service address, one flow per client', async () => {
  const p = port();
  await udpEndpoint(ip(50), p, 'u1');
  await udpEndpoint(ip(51), p, 'u2');
  const b = backend();
  await b.sync(stateOf({ name: 'dns', protocol: 'UDP', port: 53, eps: [{ ip: ip(50), port: p }, { ip: ip(51), port: p }] }), undefined);
  assert.deepEqual(b.listening(), [`UDP/${ip(10)}/53`]);
  const c = await udpClient('127.79.2.1');
  const first = await c.ask(ip(10), 53, 'one');
  assert.equal(first.from, `${ip(10)}:53`);
  assert.match(first.text, /^u[12] 127\.79\.2\.1 one$/);
  // The same client keeps its flow (and endpoint).
  for (let i = 0; i < 10; i++) assert.equal((await c.ask(ip(10), 53, `m${i}`)).text.split(' ')[0], first.text.split(' ')[0]);
  // Many clients: spread over both, one flow each.
  const names = new Set<string>();
  for (let i = 0; i < 30; i++) names.add((await (await udpClient()).ask(ip(10), 53, 'x')).text.split(' ')[0]);
  assert.deepEqual([...names].sort(), ['u1', 'u2']);
  assert.equal(b.active(), 31);
});

test('UDP: idle flows close after the idle timeout', async () => {
  const p = port();
  await udpEndpoint(ip(52), p, 'v');
  const b = backend({ udpIdleTimeoutMs: 200, housekeepingMs: 50 });
  await b.sync(stateOf({ name: 'idle', protocol: 'UDP', port: 54, eps: [{ ip: ip(52), port: p }] }), undefined);
  const c = await udpClient();
  await c.ask(ip(10), 54, 'x');
  assert.equal(b.active(), 1);
  const deadline = Date.now() + 3000;
  while (b.active() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(b.active(), 0);
  assert.match((await c.ask(ip(10), 54, 'again')).text, /^v /, 'a new flow after the idle one closed');
});

test('UDP: a flow to an endpoint that leaves is dropped and the next datagram goes to one still there', async () => {
  const p = port();
  await udpEndpoint(ip(53), p, 'w1');
  await udpEndpoint(ip(54), p, 'w2');
  const b = backend();
  const svc: Svc = { name: 'moving', protocol: 'UDP', port: 55, eps: [{ ip: ip(53), port: p }, { ip: ip(54), port: p }] };
  await b.sync(stateOf(svc), undefined);
  const c = await udpClient();
  const first = (await c.ask(ip(10), 55, 'x')).text.split(' ')[0];
  const stay = first === 'w1' ? ip(54) : ip(53);
  await b.sync(stateOf({ ...svc, eps: [{ ip: stay, port: p }] }), new Set(['default/moving']));
  const next = (await c.ask(ip(10), 55, 'y')).text.split(' ')[0];
  assert.notEqual(next, first);
});

test('UDP: a Service port without endpoints is refused (port unreachable)', async () => {
  const b = backend();
  await b.sync(stateOf({ name: 'nodns', protocol: 'UDP', port: 56, eps: [] }), undefined);
  const s = createSocket('udp4');
  cleanups.push(() => s.close());
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  s.connect(56, ip(10));
  await once(s, 'connect');
  s.send('x');
  const [err] = (await once(s, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
});
