// The cluster DNS of a real `bin/svcnet server` (host mode), driven with the real kubectl and
// queried with dig and kdig: the address in the ready line, the seed's Services over UDP and TCP,
// a Service resolving within a second of its creation and gone within a second of its
// deletion, --dns-listen, and the metrics and health endpoints. Upstream: a fake on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { startFakeUpstream, type FakeUpstream } from '../src/dns/testing.ts';
import { examplesDir, kubectl, run, svcnetBin } from './lib/svcnet.ts';

interface Server {
  proc: ChildProcess;
  dataDir: string;
  kubeconfig: string;
  readyLine: string;
  logs(): string;
  stop(): Promise<void>;
}

/** Starts `svcnet server` (host mode) and returns once it printed its ready line. */
async function startServer(args: string[]): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'svcnet-dns-cli-'));
  const proc = spawn(svcnetBin, ['server', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, SVCNET_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let out = '';
  const readyLine = await new Promise<string>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes(' ready at '));
      if (line && out.includes('\n')) resolve(line);
    });
    proc.once('exit', (code) => reject(new Error(`svcnet server exited (${code}) before it was ready:\n${stderr}`)));
    setTimeout(() => reject(new Error(`svcnet server not ready in 30 s:\n${stderr}`)), 30_000).unref();
  });
  return {
    proc,
    dataDir,
    kubeconfig: join(dataDir, 'kubeconfig'),
    readyLine,
    logs: () => stderr,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await once(proc, 'exit');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The cluster DNS address (host, port) and metrics URL that the ready line gives. */
function dnsOf(s: Server): { host: string; port: number; metrics: string } {
  const m = /cluster DNS at (127\.\d+\.\d+\.\d+):(\d+) \(UDP, TCP; metrics (http:\/\/\S+)\/metrics\)/.exec(s.readyLine);
  assert.ok(m, `the ready line says where the cluster DNS answers: ${s.readyLine}`);
  return { host: m[1], port: Number(m[2]), metrics: m[3] };
}

async function freePort(): Promise<number> {
  for (;;) {
    const srv = net.createServer();
    const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)));
    await new Promise((r) => srv.close(r));
    // The DNS takes UDP too: skip ports whose UDP side is taken.
    const dgram = await import('node:dgram');
    const u = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => resolve(true));
    });
    u.close();
    if (ok) return port;
  }
}

let upstream: FakeUpstream;
let server: Server;
let dnsPort = 0;

before(async () => {
  upstream = await startFakeUpstream({
    host: '127.0.0.1',
    records: { 'db.example.com': [{ name: 'db.example.com', type: 'A', ttl: 300, data: '192.0.2.50' }] },
  });
  dnsPort = await freePort();
  server = await startServer(['--dns-listen', `127.0.0.1:${dnsPort}`, '--dns-upstream', upstream.address]);
  for (const f of ['00-namespaces.yaml', '01-mlflow-clusterip.yaml', '04-external-db-externalname.yaml']) {
    const r = await kubectl(server, ['apply', '-f', join(examplesDir, f)]);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  await server?.stop();
  await upstream?.stop();
});

async function dig(port: number, ...args: string[]): Promise<string> {
  const r = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', ...args], { timeoutMs: 10_000 });
  return r.stdout;
}

async function clusterIP(ns: string, name: string): Promise<string> {
  const r = await kubectl(server, ['get', 'service', name, '-n', ns, '-o', 'jsonpath={.spec.clusterIP}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test('svcnet server prints where its cluster DNS answers: the --dns-listen address, UDP and TCP, with its metrics', () => {
  const d = dnsOf(server);
  assert.equal(d.host, '127.0.0.1');
  assert.equal(d.port, dnsPort);
});

test('the seed\'s mlflow-service resolves to its ClusterIP over UDP and TCP (dig and kdig)', async () => {
  const ip = await clusterIP('mlflow', 'mlflow-service');
  assert.match(ip, /^127\.96\./);
  assert.equal((await dig(dnsPort, '+short', 'mlflow-service.mlflow.svc.cluster.local')).trim(), ip);
  assert.equal((await dig(dnsPort, '+short', '+tcp', 'mlflow-service.mlflow.svc.cluster.local')).trim(), ip);
  const k = await run('kdig', ['@127.0.0.1', '-p', String(dnsPort), '+short', '+time=1', '+retry=0', 'mlflow-service.mlflow.svc.cluster.local']);
  assert.equal(k.stdout.trim(), ip);
  const kt = await run('kdig', ['@127.0.0.1', '-p', String(dnsPort), '+short', '+tcp', '+time=1', '+retry=0', 'mlflow-service.mlflow.svc.cluster.local']);
  assert.equal(kt.stdout.trim(), ip);
});

test('the seed\'s external-db is a CNAME to db.example.com., followed through the upstream, over UDP and TCP', async () => {
  for (const proto of ['+notcp', '+tcp']) {
    const out = await dig(dnsPort, proto, '+noall', '+answer', 'external-db.default.svc.cluster.local');
    const lines = out.trim().split('\n').map((l) => l.split(/\s+/));
    assert.deepEqual(lines[0], ['external-db.default.svc.cluster.local.', '5', 'IN', 'CNAME', 'db.example.com.']);
    assert.deepEqual([lines[1]?.[0], lines[1]?.[3], lines[1]?.[4]], ['db.example.com.', 'A', '192.0.2.50']);
  }
  const cname = await dig(dnsPort, '+short', 'external-db.default.svc.cluster.local', 'CNAME');
  assert.equal(cname.trim(), 'db.example.com.');
});

test('the kubernetes Service resolves to its ClusterIP, with an SRV record for its https port', async () => {
  const ip = await clusterIP('default', 'kubernetes');
  assert.equal((await dig(dnsPort, '+short', 'kubernetes.default.svc.cluster.local')).trim(), ip);
  assert.equal((await dig(dnsPort, '+short', '+tcp', 'kubernetes.default.svc.cluster.local')).trim(), ip);
  assert.equal((await dig(dnsPort, '+short', '_https._tcp.kubernetes.default.svc.cluster.local', 'SRV')).trim(), '0 100 443 kubernetes.default.svc.cluster.local.');
});

test('a Service created with kubectl resolves within 1 s, and stops resolving within 1 s of its deletion', async () => {
  const name = 'fresh-svc.default.svc.cluster.local';
  assert.match(await dig(dnsPort, name), /status: NXDOMAIN/);
  const created = await kubectl(server, ['create', 'service', 'clusterip', 'fresh-svc', '--tcp=80:8080']);
  assert.equal(created.code, 0, created.stderr);
  const t0 = Date.now();
  const ip = await clusterIP('default', 'fresh-svc');
  let answer = '';
  while (Date.now() - t0 < 3000 && answer !== ip) answer = (await dig(dnsPort, '+short', name)).trim();
  const seenAfter = Date.now() - t0;
  assert.equal(answer, ip);
  assert.ok(seenAfter <= 1000, `resolved ${seenAfter} ms after kubectl create returned`);

  const deleted = await kubectl(server, ['delete', 'service', 'fresh-svc', '--wait=false']);
  assert.equal(deleted.code, 0, deleted.stderr);
  const t1 = Date.now();
  let status = '';
  while (Date.now() - t1 < 3000 && status !== 'NXDOMAIN') status = /status: (\w+)/.exec(await dig(dnsPort, name))?.[1] ?? '';
  const goneAfter = Date.now() - t1;
  assert.equal(status, 'NXDOMAIN');
  assert.ok(goneAfter <= 1000, `NXDOMAIN ${goneAfter} ms after kubectl delete returned`);
});

test('the metrics (CoreDNS\'s names), /health and /ready are served at the address the ready line gives', async () => {
  const { metrics } = dnsOf(server);
  await dig(dnsPort, '+short', 'mlflow-service.mlflow.svc.cluster.local');
  const text = await (await fetch(`${metrics}/metrics`)).text();
  assert.match(text, /^coredns_dns_requests_total\{server="dns:\/\/127\.0\.0\.1:\d+",zone="\.",view="",proto="udp",family="1",type="A"\} \d+/m);
  assert.match(text, /^coredns_dns_responses_total\{[^}]*rcode="NOERROR",plugin="kubernetes"\} \d+/m);
  assert.match(text, /^coredns_dns_request_duration_seconds_bucket\{/m);
  assert.equal(await (await fetch(`${metrics}/health`)).text(), 'OK');
  assert.equal(await (await fetch(`${metrics}/ready`)).text(), 'OK');
});

test('without --dns-listen, host mode answers on 127.0.0.1:1053, or on a free loopback port when that one is taken', async () => {
  const s = await startServer(['--dns-upstream', upstream.address]);
  try {
    const d = dnsOf(s);
    assert.equal(d.host, '127.0.0.1');
    const ip = (await kubectl(s, ['get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).stdout.trim();
    assert.equal((await dig(d.port, '+short', 'kubernetes.default.svc.cluster.local')).trim(), ip);
  } finally {
    await s.stop();
  }
});

test('--no-dns runs no cluster DNS', async () => {
  const s = await startServer(['--no-dns']);
  await s.stop();
  assert.match(s.readyLine, / ready at https:/);
  assert.doesNotMatch(s.readyLine, /cluster DNS/);
});
