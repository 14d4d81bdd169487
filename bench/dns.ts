// `npm run bench:dns`: dnsperf against svcnet's cluster DNS and, in the same run, Unbound
// serving the same records from local-data (both forwarding other names to one fake upstream on
// loopback); QPS, loss and latency for cluster names, NXDOMAINs and forwarded names, and memory
// per 1,000 Services. Everything listens on 127.0.0.x; every process started here is stopped.
import { fork, spawn, execFile, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Namespace, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Section, Row } from './lib/results.ts';
import { quantile } from './lib/results.ts';

const exec = promisify(execFile);
const SERVICES = 10_000;
const NAMESPACES = 10;
const UPSTREAM_HOST = '127.0.0.31';
const SVCNET_HOST = '127.0.0.32';
const PEER_HOST = '127.0.0.33';

// ---- the fixture: Services with an EndpointSlice of two ready endpoints each ----

function clusterIP(i: number): string {
  return `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

function podIP(i: number, k: number): string {
  const n = i * 2 + k;
  return `10.${200 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

function fixture(n: number): { services: Service[]; slices: EndpointSlice[]; namespaces: Namespace[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `ns-${i % NAMESPACES}`;
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${i}`, namespace: ns, uid: `uid-svc-${i}`, resourceVersion: String(i + 1), labels: { app: `app-${i}` } },
      spec: { type: 'ClusterIP', clusterIP: clusterIP(i + 1), clusterIPs: [clusterIP(i + 1)], selector: { app: `app-${i}` }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
    });
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `svc-${i}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
      addressType: 'IPv4',
      endpoints: [0, 1].map((k) => ({ addresses: [podIP(i, k)], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', name: `svc-${i}-pod-${k}`, namespace: ns } })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  }
  const namespaces: Namespace[] = Array.from({ length: NAMESPACES }, (_, i) => ({ metadata: { name: `ns-${i}` } }));
  // Through JSON, as objects reach an informer from the API server (flat strings, no shared parts).
  return JSON.parse(JSON.stringify({ services, slices, namespaces })) as { services: Service[]; slices: EndpointSlice[]; namespaces: Namespace[] };
}

// ---- child: one svcnet DNS server over FakeInformers ----

interface ChildConfig {
  services: number;
  host: string;
  upstream: string;
  /** UDP worker processes besides the serving one. */
  workers?: number;
  /** Measure the model alone: build it from the objects, drop the objects. */
  modelOnly?: boolean;
}

type ChildMessage = { kind: 'listening'; port: number; pids: number[] } | { kind: 'memory'; rss: number; heapUsed: number };

async function child(cfg: ChildConfig): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const settle = async (): Promise<{ rss: number; heapUsed: number }> => {
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed };
  };
  const send = (m: ChildMessage): void => {
    process.send?.(m);
  };
  const { FakeInformer } = await import('../src/client/index.ts');
  const { startDnsServer } = await import('../src/dns/index.ts');
  if (cfg.modelOnly) {
    const { DnsModel, toDnsService, toDnsSlice } = await import('../src/dns/model.ts');
    const before = await settle();
    // Built in a plain function: a suspended async frame would keep the objects alive.
    const build = (): InstanceType<typeof DnsModel> => {
      const model = new DnsModel();
      const f = fixture(cfg.services);
      for (const n of f.namespaces) model.setNamespace(n.metadata!.name!, true);
      for (const s of f.services) model.setService(toDnsService(s)!);
      for (const s of f.slices) model.setSlice(toDnsSlice(s)!);
      return model;
    };
    const model = build();
    const after = await settle();
    send({ kind: 'memory', rss: after.rss - before.rss, heapUsed: after.heapUsed - before.heapUsed });
    // keep the model alive until measured
    if (model.services.size < 0) console.log('unreachable');
    return;
  }
  const f = fixture(cfg.services);
  const server = await startDnsServer({
    services: new FakeInformer<Service>(f.services),
    endpointSlices: new FakeInformer<EndpointSlice>(f.slices),
    namespaces: new FakeInformer<Namespace>(f.namespaces),
    listen: [{ host: cfg.host, port: 0 }],
    upstreams: [cfg.upstream],
    udpWorkers: cfg.workers ?? 0,
  });
  await server.synced;
  send({ kind: 'listening', port: server.addresses[0].port, pids: [process.pid, ...server.workers().map((w) => w.pid)] });
  process.on('message', (m: { cmd?: string }) => {
    if (m.cmd === 'memory') void settle().then((mem) => send({ kind: 'memory', ...mem }));
    if (m.cmd === 'stop') void server.stop().then(() => process.exit(0));
  });
}

function startChild(cfg: ChildConfig): { proc: ChildProcess; next: () => Promise<ChildMessage> } {
  const proc = fork(fileURLToPath(import.meta.url), ['--dns-bench-child', JSON.stringify(cfg)], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    env: { ...process.env, SVCNET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: ChildMessage[] = [];
  const waiters: ((m: ChildMessage) => void)[] = [];
  proc.on('message', (m: ChildMessage) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return {
    proc,
    next: () =>
      new Promise((resolve, reject) => {
        const q = queue.shift();
        if (q) return resolve(q);
        waiters.push(resolve);
        proc.once('exit', (code) => reject(new Error(`bench child exited (${code})`)));
      }),
  };
}

// ---- the peer: Unbound with the same records ----

function unboundConfig(dir: string, port: number, upstreamPort: number, n: number, threads: number): string {
  const lines = [
    'server:',
    `  interface: ${PEER_HOST}`,
    `  port: ${port}`,
    '  do-ip6: no',
    `  num-threads: ${threads}`,
    `  so-reuseport: ${threads > 1 ? 'yes' : 'no'}`,
    '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: no',
    '  module-config: "iterator"',
    '  qname-minimisation: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${dir}/unbound.pid"`,
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  local-zone: "cluster.local." static',
    `  local-data: "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"`,
  ];
  for (let i = 0; i < n; i++) lines.push(`  local-data: "svc-${i}.ns-${i % NAMESPACES}.svc.cluster.local. 5 IN A ${clusterIP(i + 1)}"`);
  lines.push('forward-zone:', '  name: "."', `  forward-addr: ${UPSTREAM_HOST}@${upstreamPort}`);
  return lines.join('\n') + '\n';
}

async function startUnbound(dir: string, port: number, upstreamPort: number, threads: number): Promise<ChildProcess> {
  const conf = join(dir, 'unbound.conf');
  writeFileSync(conf, unboundConfig(dir, port, upstreamPort, SERVICES, threads));
  await exec('unbound-checkconf', [conf]);
  const proc = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Up when it answers.
  for (let i = 0; i < 100; i++) {
    try {
      const { stdout } = await exec('dig', [`@${PEER_HOST}`, '-p', String(port), '+short', '+time=1', '+tries=1', 'svc-0.ns-0.svc.cluster.local']);
      if (stdout.trim() === clusterIP(1)) return proc;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error('unbound did not come up');
}

async function freePort(host: string): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// ---- dnsperf ----

interface Perf {
  qps: number;
  sent: number;
  completed: number;
  lost: number;
  avgMs: number;
  p50Ms?: number;
  p99Ms?: number;
  /** CPU time (user + system) the server's processes spent per answered query, µs. */
  cpuUsPerQuery?: number;
}

/** User + system CPU seconds of these processes (all their threads) so far. */
function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100; // USER_HZ
}

/**
 * Runs a command with its output going to a file, read once it has exited: with -v dnsperf
 * prints a line per query (about 200,000 in a latency run), and this process reading them from a
 * pipe meanwhile took CPU from the server being measured (a 1-process svcnet's p99 at 40,000 QPS
 * went from ~0.4 ms to ~3 ms with a Node.js reader on the pipe).
 */
async function runToFile(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-dnsperf-'));
  const out = join(dir, 'out');
  const fd = openSync(out, 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      const p = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.on('error', reject);
      p.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}:\n${readFileSync(out, 'utf8').slice(-2000)}`));
      });
    });
    return readFileSync(out, 'utf8');
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function dnsperf(host: string, port: number, file: string, seconds: number, opts: { qps?: number; verbose?: boolean; pids?: readonly number[] } = {}): Promise<Perf> {
  const args = ['-s', host, '-p', String(port), '-d', file, '-l', String(seconds), '-c', '8', '-q', '1000', '-t', '2'];
  if (opts.qps) args.push('-Q', String(opts.qps));
  if (opts.verbose) args.push('-v');
  const cpu0 = opts.pids ? cpuSeconds(opts.pids) : 0;
  const stdout = await runToFile('dnsperf', args, (seconds + 30) * 1000);
  const cpu1 = opts.pids ? cpuSeconds(opts.pids) : 0;
  const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? NaN);
  const p: Perf = {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
  };
  if (opts.pids && p.completed > 0) p.cpuUsPerQuery = ((cpu1 - cpu0) * 1e6) / p.completed;
  if (opts.verbose) {
    const lat: number[] = [];
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('> ')) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) lat.push(v * 1000);
    }
    p.p50Ms = quantile(lat, 0.5);
    p.p99Ms = quantile(lat, 0.99);
  }
  return p;
}

const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const lossPct = (p: Perf): number => (p.sent ? (100 * p.lost) / p.sent : 0);

interface Measured {
  cluster: Perf;
  cluster100k: Perf;
  nx: Perf;
  forwarded: Perf;
  latency40k: Perf;
}

interface Target {
  host: string;
  port: number;
  /** The server's processes, for its CPU time. */
  pids: readonly number[];
}

/** The run of median QPS among several (its latency figures come with it). */
function medianRun(runs: Perf[], by: (p: Perf) => number = (p) => p.qps): Perf {
  const sorted = [...runs].sort((x, y) => by(x) - by(y));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Measures both servers, alternating one run of each so that the machine's other work weighs
 * on both alike, and keeps each one's median run per kind of load.
 */
async function measurePair(a: Target, b: Target, files: { cluster: string; nx: string; fwd: string }): Promise<[Measured, Measured]> {
  for (const t of [a, b]) {
    // Warm the caches (forwarded names) and the answer memo.
    await dnsperf(t.host, t.port, files.fwd, 2, { qps: 5000 });
    await dnsperf(t.host, t.port, files.cluster, 2);
  }
  const kinds: { key: keyof Measured; rounds: number; run: (t: Target) => Promise<Perf>; by?: (p: Perf) => number }[] = [
    { key: 'cluster', rounds: 3, run: (t) => dnsperf(t.host, t.port, files.cluster, 6, { pids: t.pids }) },
    { key: 'cluster100k', rounds: 2, run: (t) => dnsperf(t.host, t.port, files.cluster, 6, { qps: 100_000 }) },
    { key: 'nx', rounds: 2, run: (t) => dnsperf(t.host, t.port, files.nx, 5) },
    { key: 'forwarded', rounds: 2, run: (t) => dnsperf(t.host, t.port, files.fwd, 5) },
    { key: 'latency40k', rounds: 3, run: (t) => dnsperf(t.host, t.port, files.cluster, 5, { qps: 40_000, verbose: true }), by: (p) => -(p.p99Ms ?? Infinity) },
  ];
  const out: [Partial<Measured>, Partial<Measured>] = [{}, {}];
  for (const k of kinds) {
    const runs: [Perf[], Perf[]] = [[], []];
    for (let r = 0; r < k.rounds; r++) {
      // Who goes first alternates too.
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) runs[i].push(await k.run(i === 0 ? a : b));
    }
    out[0][k.key] = medianRun(runs[0], k.by);
    out[1][k.key] = medianRun(runs[1], k.by);
  }
  return out as [Measured, Measured];
}

const load1 = (): string => loadavg()[0].toFixed(1);

export async function run(): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-dns-bench-'));
  const { startFakeUpstream } = await import('../src/dns/testing.ts');
  const forwarded: Record<string, { name: string; type: 'A'; ttl: number; data: string }[]> = {};
  for (let i = 0; i < 1000; i++) forwarded[`host-${i}.example.test`] = [{ name: `host-${i}.example.test`, type: 'A', ttl: 3600, data: `192.0.2.${i & 255}` }];
  const upstream = await startFakeUpstream({ host: UPSTREAM_HOST, records: forwarded });
  const children: ChildProcess[] = [];
  const loads: string[] = [load1()];
  try {
    // Query files: every Service once in a shuffled order; unknown Services; outside names.
    const order = Array.from({ length: SERVICES }, (_, i) => i).sort(() => Math.random() - 0.5);
    const files = { cluster: join(dir, 'cluster.txt'), nx: join(dir, 'nx.txt'), fwd: join(dir, 'forwarded.txt') };
    writeFileSync(files.cluster, order.map((i) => `svc-${i}.ns-${i % NAMESPACES}.svc.cluster.local A`).join('\n') + '\n');
    writeFileSync(files.nx, order.map((i) => `nosuch-${i}.ns-${i % NAMESPACES}.svc.cluster.local A`).join('\n') + '\n');
    writeFileSync(files.fwd, Array.from({ length: 1000 }, (_, i) => `host-${i}.example.test A`).join('\n') + '\n');

    // Each configuration: svcnet with N processes reading the UDP socket (the serving one and
    // N-1 workers) against Unbound with N threads, one after the other on the same machine.
    const configs = [1, 2];
    const results: { procs: number; svcnet: Measured; unbound: Measured }[] = [];
    let mem10k: ChildMessage | undefined;
    for (const procs of configs) {
      const svc = startChild({ services: SERVICES, host: SVCNET_HOST, upstream: upstream.address, workers: procs - 1 });
      children.push(svc.proc);
      const listening = await svc.next();
      if (listening.kind !== 'listening') throw new Error('bench child did not start');
      const peerPort = await freePort(PEER_HOST);
      const peer = await startUnbound(dir, peerPort, upstream.port, procs);
      children.push(peer);
      console.error(`bench dns: svcnet with ${procs} process(es) and unbound with ${procs} thread(s), alternating`);
      const [svcnet, unbound] = await measurePair({ host: SVCNET_HOST, port: listening.port, pids: listening.pids }, { host: PEER_HOST, port: peerPort, pids: peer.pid ? [peer.pid] : [] }, files);
      if (procs === 1) {
        svc.proc.send({ cmd: 'memory' });
        mem10k = await svc.next();
      }
      svc.proc.send({ cmd: 'stop' });
      peer.kill('SIGTERM');
      await Promise.all([new Promise((r) => svc.proc.once('exit', r)), new Promise((r) => peer.once('exit', r))]);
      loads.push(load1());
      results.push({ procs, svcnet, unbound });
    }

    // Memory: a server with no Services against one with 10,000 (each with a 2-endpoint slice).
    const empty = startChild({ services: 0, host: SVCNET_HOST, upstream: upstream.address });
    children.push(empty.proc);
    await empty.next();
    empty.proc.send({ cmd: 'memory' });
    const mem0 = await empty.next();
    empty.proc.send({ cmd: 'stop' });
    const modelOnly = startChild({ services: SERVICES, host: SVCNET_HOST, upstream: upstream.address, modelOnly: true });
    children.push(modelOnly.proc);
    const memModel = await modelOnly.next();
    if (mem10k?.kind !== 'memory' || mem0.kind !== 'memory' || memModel.kind !== 'memory') throw new Error('no memory figures');

    const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : '');
    const perK = (bytes: number): string => `${fmt(bytes / (SERVICES / 1000) / 1024 / 1024, 2)} MiB`;
    const rows: Row[] = [];
    for (const { procs, svcnet: s, unbound: u } of results) {
      const who = procs === 1 ? '1 process / 1 thread' : `${procs} processes / ${procs} threads`;
      rows.push(
        { metric: `[${who}] cluster names, max QPS (A, 10,000 Services)`, svcnet: `${fmt(s.cluster.qps)} QPS, ${fmt(lossPct(s.cluster), 2)}% lost`, peer: `${fmt(u.cluster.qps)} QPS, ${fmt(lossPct(u.cluster), 2)}% lost`, ratio: ratio(s.cluster.qps, u.cluster.qps), target: `≥0.6× peer: ${s.cluster.qps >= 0.6 * u.cluster.qps ? 'met' : 'missed'}; ≥100,000 with <1% lost: ${s.cluster.qps >= 100_000 && lossPct(s.cluster) < 1 ? 'met' : 'missed'}` },
        { metric: `[${who}] cluster names at 100,000 QPS offered`, svcnet: `${fmt(s.cluster100k.qps)} QPS, ${fmt(lossPct(s.cluster100k), 2)}% lost`, peer: `${fmt(u.cluster100k.qps)} QPS, ${fmt(lossPct(u.cluster100k), 2)}% lost`, ratio: ratio(s.cluster100k.qps, u.cluster100k.qps), target: `≥99,000 answered, <1% lost: ${s.cluster100k.qps >= 99_000 && lossPct(s.cluster100k) < 1 ? 'met' : 'missed'}` },
        {
          metric: `[${who}] CPU time per answered query at max QPS (user + system, all processes or threads of the server)`,
          svcnet: `${fmt(s.cluster.cpuUsPerQuery ?? NaN, 1)} µs (≈${fmt(1e6 / (s.cluster.cpuUsPerQuery ?? NaN))} QPS per busy core)`,
          peer: `${fmt(u.cluster.cpuUsPerQuery ?? NaN, 1)} µs (≈${fmt(1e6 / (u.cluster.cpuUsPerQuery ?? NaN))} QPS per busy core)`,
          ratio: ratio(u.cluster.cpuUsPerQuery ?? NaN, s.cluster.cpuUsPerQuery ?? NaN),
        },
        { metric: `[${who}] cluster names, average latency at max QPS`, svcnet: `${fmt(s.cluster.avgMs, 3)} ms`, peer: `${fmt(u.cluster.avgMs, 3)} ms` },
        { metric: `[${who}] cluster names at 40,000 QPS offered: p50 / p99 latency`, svcnet: `${fmt(s.latency40k.p50Ms ?? NaN, 3)} / ${fmt(s.latency40k.p99Ms ?? NaN, 3)} ms (${fmt(lossPct(s.latency40k), 2)}% lost)`, peer: `${fmt(u.latency40k.p50Ms ?? NaN, 3)} / ${fmt(u.latency40k.p99Ms ?? NaN, 3)} ms (${fmt(lossPct(u.latency40k), 2)}% lost)`, target: `p99 ≤1 ms: ${(s.latency40k.p99Ms ?? Infinity) <= 1 ? 'met' : 'missed'}` },
        { metric: `[${who}] NXDOMAIN (unknown Services), max QPS`, svcnet: `${fmt(s.nx.qps)} QPS, ${fmt(lossPct(s.nx), 2)}% lost`, peer: `${fmt(u.nx.qps)} QPS, ${fmt(lossPct(u.nx), 2)}% lost`, ratio: ratio(s.nx.qps, u.nx.qps) },
        { metric: `[${who}] forwarded names (cached after warm-up), max QPS`, svcnet: `${fmt(s.forwarded.qps)} QPS, ${fmt(lossPct(s.forwarded), 2)}% lost`, peer: `${fmt(u.forwarded.qps)} QPS, ${fmt(lossPct(u.forwarded), 2)}% lost`, ratio: ratio(s.forwarded.qps, u.forwarded.qps) },
      );
    }
    rows.push(
      {
        metric: 'memory per 1,000 Services (+2 endpoints each): DNS model, heap',
        svcnet: perK(memModel.heapUsed),
        peer: 'CoreDNS ≈1 MiB per 1,000 objects',
        target: `≤1 KB per Service or pod: ${memModel.heapUsed / SERVICES / 3 <= 1024 ? 'met' : 'missed'} (${fmt(memModel.heapUsed / SERVICES / 3, 0)} B per object)`,
      },
      { metric: 'memory per 1,000 Services: whole serving process incl. informer caches, heap / RSS', svcnet: `${perK(mem10k.heapUsed - mem0.heapUsed)} / ${perK(mem10k.rss - mem0.rss)}` },
    );
    return {
      area: 'dns',
      title: 'Cluster DNS',
      method: [
        `dnsperf 2.10 (8 clients, 1,000 outstanding, 2 s timeout) on this machine against svcnet's DNS (over FakeInformers holding ${fmt(SERVICES)} ClusterIP Services in ${NAMESPACES} namespaces, each with an EndpointSlice of 2 ready endpoints) and, in the same run, Unbound 1.17 (iterator only) serving the same A records as local-data;`,
        `both forward other names to one fake upstream on loopback. Two configurations, one after the other: svcnet as one process against Unbound with one thread, and svcnet with one UDP worker process (2 processes reading the socket, each with a replica of the model) against Unbound with 2 threads (so-reuseport).`,
        `Cluster-name runs cycle through every Service in random order; NXDOMAIN runs ask for unknown Services; forwarded runs ask 1,000 outside names after a warm-up (so they come from each server's cache).`,
        `Both servers run side by side and dnsperf alternates between them, run by run (who goes first alternating too); each figure is the median run: max QPS for cluster names of 3 runs of 6 s at unlimited offered load, 100,000 QPS offered 2 × 6 s, NXDOMAIN and forwarded 2 × 5 s each; latency: 40,000 QPS offered, 3 × 5 s, p50/p99 from dnsperf's per-query times (-v), the run with the median p99. Memory: heap after GC in a process that built the DNS model from 10,000 Services and their slices then dropped the objects; and the whole one-process server at 10,000 against 0 Services. dnsperf and the servers share the machine's 2 cores, as do other processes.`,
      ].join(' '),
      rows,
      notes: [
        `Machine load average (1 min) along the run: ${loads.join(' → ')} (start, then after each configuration). The machine is shared with other work, so every figure carries that noise; svcnet and Unbound alternate within one run.`,
        "dnsperf's output (a line per query in the latency runs) goes to a file that is read after each run, so that nothing of the bench's own competes with the servers while they are measured.",
        'CPU time per answered query is what the machine\'s other work changes least: it says how many queries each server answers with a core it is given (QPS per busy core), whatever share of the cores it got in this run.',
        'The UDP workers are `--dns-workers` of `svcnet server` and `svcnet agent` (default 0: one process).',
      ],
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const childArg = process.argv.indexOf('--dns-bench-child');
if (childArg >= 0) {
  child(JSON.parse(process.argv[childArg + 1]) as ChildConfig).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
