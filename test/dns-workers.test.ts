// The cluster DNS with UDP worker processes: replicas of the model answer from the shared UDP
// socket, stay consistent with the serving process through changes and crashes, are restarted
// when they die, and are gone (with the port free) after a stop or when the server dies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { promisify } from 'node:util';
import type { Namespace, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeInformer } from '../src/client/index.ts';
import { startDnsServer, type DnsServer } from '../src/dns/index.ts';
import { decodeResponse, makeQuery } from '../src/dns/testing.ts';
import { pidAlive } from '../src/util/index.ts';

const run = promisify(execFile);
const repo = new URL('..', import.meta.url).pathname;

function svc(name: string, ip: string, namespace = 'default'): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
}

let server: DnsServer;
let services: FakeInformer<Service>;
let port = 0;

before(async () => {
  services = new FakeInformer<Service>([svc('first', '10.96.0.11'), svc('second', '10.96.0.12')]);
  server = await startDnsServer({
    services,
    endpointSlices: new FakeInformer<EndpointSlice>([]),
    namespaces: new FakeInformer<Namespace>([{ metadata: { name: 'default' } }]),
    listen: [{ host: '127.0.0.1', port: 0 }],
    upstreams: ['127.0.0.1:9'],
    udpWorkers: 2,
  });
  await server.synced;
  port = server.addresses[0].port;
});

after(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * dig, started in a process of its own while this process (the serving one) is kept busy for
 * longer than dig waits: whatever answers is a worker.
 */
async function digWhileBusy(name: string): Promise<string> {
  const pending = run('dig', ['@127.0.0.1', '-p', String(port), '+short', '+time=1', '+tries=1', name], { timeout: 10_000 }).then(
    (r) => r.stdout.trim(),
    (e: { stdout?: string }) => `failed: ${e.stdout ?? ''}`,
  );
  // Let dig start, then block the event loop.
  await sleep(100);
  const until = Date.now() + 1800;
  while (Date.now() < until) {
    // busy: this process reads nothing meanwhile
  }
  return pending;
}

/** Sends `n` queries for `name` over UDP and returns the answers' first records (in arrival order). */
async function burst(name: string, n: number): Promise<string[]> {
  const sock = dgram.createSocket('udp4');
  const got: string[] = [];
  const done = new Promise<void>((resolve) => {
    sock.on('message', (m) => {
      const d = decodeResponse(m);
      got.push(d.answer[0]?.split(/\s+/).pop() ?? d.rcode);
      if (got.length === n) resolve();
    });
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  for (let i = 0; i < n; i++) {
    sock.send(makeQuery(name, 'A', { id: i }), port, '127.0.0.1');
    if (i % 50 === 49) await sleep(5);
  }
  await Promise.race([done, sleep(5000)]);
  sock.close();
  return got;
}

test('with UDP workers, a worker answers while the serving process is busy, from a replica equal to the model', async () => {
  assert.equal(server.workers().length, 2);
  assert.ok(server.workers().every((w) => w.ready && w.pid > 0 && w.pid !== process.pid));
  assert.equal(await digWhileBusy('first.default.svc.cluster.local'), '10.96.0.11');
  const digests = await server.replicaDigests();
  assert.equal(digests.length, 3);
  assert.deepEqual(new Set(digests).size, 1, `replicas agree with the model: ${digests.join(' ')}`);
});

test('every change reaches every worker in order: after 300 changes the replicas equal the model and a worker answers the last one', async () => {
  for (let i = 0; i < 100; i++) {
    services.upsert(svc(`churn-${i}`, `10.96.1.${i}`));
    services.upsert(svc(`churn-${i}`, `10.96.2.${i}`));
    if (i % 2 === 0) services.remove(`default/churn-${i}`);
  }
  services.upsert(svc('first', '10.96.0.21'));
  const digests = await server.replicaDigests();
  assert.equal(new Set(digests).size, 1, `replicas agree with the model: ${digests.join(' ')}`);
  assert.equal(await digWhileBusy('first.default.svc.cluster.local'), '10.96.0.21');
  assert.equal(await digWhileBusy('churn-99.default.svc.cluster.local'), '10.96.2.99');
  assert.equal(await digWhileBusy('churn-98.default.svc.cluster.local'), '');
});

test('a worker that crashes or is killed is restarted with the model as it is now, and queries are answered throughout', async () => {
  const before = server.workers();
  server.crashWorker(0);
  // While worker 0 is down (and restarting), the others answer, and changes go on.
  const answers = await burst('second.default.svc.cluster.local', 300);
  services.upsert(svc('during-crash', '10.96.3.1'));
  assert.equal(answers.length, 300, 'every query answered');
  assert.ok(answers.every((a) => a === '10.96.0.12'));
  await until('worker 0 restarted', () => server.workers()[0].restarts === 1 && server.workers()[0].ready);
  assert.notEqual(server.workers()[0].pid, before[0].pid);
  assert.equal(pidAlive(before[0].pid), false);

  // SIGKILL from outside, as the OOM killer would.
  process.kill(server.workers()[1].pid, 'SIGKILL');
  services.upsert(svc('during-kill', '10.96.3.2'));
  assert.equal((await burst('during-crash.default.svc.cluster.local', 200)).filter((a) => a === '10.96.3.1').length, 200);
  await until('worker 1 restarted', () => server.workers()[1].restarts === 1 && server.workers()[1].ready);
  const digests = await server.replicaDigests();
  assert.equal(new Set(digests).size, 1, `replicas agree with the model: ${digests.join(' ')}`);
  assert.equal(await digWhileBusy('during-kill.default.svc.cluster.local'), '10.96.3.2');
});

test('a worker that stops answering (an endless loop) is killed and restarted', async () => {
  const s = await startDnsServer({
    services: new FakeInformer<Service>([svc('x', '10.96.9.9')]),
    endpointSlices: new FakeInformer<EndpointSlice>([]),
    namespaces: new FakeInformer<Namespace>([{ metadata: { name: 'default' } }]),
    listen: [{ host: '127.0.0.1', port: 0 }],
    upstreams: ['127.0.0.1:9'],
    udpWorkers: 1,
    udpWorkerHeartbeatMs: 200,
  });
  try {
    const stuck = s.workers()[0].pid;
    s.crashWorker(0, 'hang');
    await until('the stuck worker replaced', () => s.workers()[0].restarts === 1 && s.workers()[0].ready);
    assert.notEqual(s.workers()[0].pid, stuck);
    await until('the stuck worker gone', () => !pidAlive(stuck), 5000);
    const digests = await s.replicaDigests();
    assert.equal(new Set(digests).size, 1, digests.join(' '));
  } finally {
    await s.stop();
  }
});

test('the metrics sum every process\'s counts', async () => {
  const n = 400;
  await burst('first.default.svc.cluster.local', n);
  const own = /coredns_dns_requests_total\{[^}]*proto="udp"[^}]*type="A"\} (\d+)/.exec(await server.registry.metrics());
  const all = /coredns_dns_requests_total\{[^}]*proto="udp"[^}]*type="A"\} (\d+)/.exec(await server.metricsText());
  assert.ok(all && own, 'both have the counter');
  assert.ok(Number(all[1]) >= Number(own[1]) + 1, `workers' queries are counted too (all ${all[1]}, this process ${own[1]})`);
  assert.ok(Number(all[1]) >= n);
});

test('stop ends every worker and frees the port', async () => {
  const s = await startDnsServer({
    services: new FakeInformer<Service>([svc('x', '10.96.9.9')]),
    endpointSlices: new FakeInformer<EndpointSlice>([]),
    namespaces: new FakeInformer<Namespace>([{ metadata: { name: 'default' } }]),
    listen: [{ host: '127.0.0.1', port: 0 }],
    upstreams: ['127.0.0.1:9'],
    udpWorkers: 2,
  });
  const pids = s.workers().map((w) => w.pid);
  const p = s.addresses[0].port;
  await s.stop();
  assert.deepEqual(pids.filter(pidAlive), [], 'no worker left');
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(p, '127.0.0.1', () => resolve());
  });
  sock.close();
});

test('workers exit when the serving process is killed, leaving the port free', async () => {
  const code = `
    const { FakeInformer } = await import(${JSON.stringify(repo + 'src/client/index.ts')});
    const { startDnsServer } = await import(${JSON.stringify(repo + 'src/dns/index.ts')});
    const s = await startDnsServer({ services: new FakeInformer([]), endpointSlices: new FakeInformer([]), namespaces: new FakeInformer([]), upstreams: ['127.0.0.1:9'], udpWorkers: 2 });
    process.stdout.write(JSON.stringify({ port: s.addresses[0].port, pids: s.workers().map((w) => w.pid) }) + '\\n');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repo, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, SVCNET_LOG_LEVEL: 'warn' } });
  try {
    let out = '';
    const info = await new Promise<{ port: number; pids: number[] }>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line && out.includes('\n')) resolve(JSON.parse(line) as { port: number; pids: number[] });
      });
      child.once('exit', (c) => reject(new Error(`server exited (${c}) before it was ready`)));
    });
    assert.equal(info.pids.length, 2);
    assert.ok(info.pids.every(pidAlive));
    child.kill('SIGKILL');
    await until('the workers to exit', () => info.pids.every((p) => !pidAlive(p)), 10_000);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(info.port, '127.0.0.1', () => resolve());
    });
    sock.close();
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
