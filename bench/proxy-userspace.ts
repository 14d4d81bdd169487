// `npm run bench:proxy-userspace`: the userspace backend (host mode's data plane) against HAProxy
// proxying the same two backends in the same run, with wrk on loopback (issue 5: at least 0.8×
// HAProxy's requests per second, p99 latency at most 1.25× HAProxy's).
//
// Setup, all on loopback addresses of a 127.77.x.0/24 picked per run:
//  - two backends that answer every HTTP request with a short body: one HAProxy process (mode
//    http, `http-request return`, one thread) with a frontend per backend, so that the backends
//    are fast and the same for both proxies;
//  - HAProxy as the proxy compared: `mode tcp` (L4, as the userspace backend is), `balance
//    random`, one thread (the userspace backend is one Node.js event loop);
//  - svcnet's UserspaceBackend in a process of its own (this file with --serve), synced with a
//    ClusterIP Service of two endpoints built by the shared model (Service + EndpointSlice →
//    desired state);
//  - wrk (one thread, keep-alive connections) against each proxy in turn: a warm-up, then
//    alternating rounds; each proxy's figure is the median over its rounds. The proxy process's
//    CPU time over a round (from /proc) gives its CPU cost per request, which the other load on a
//    shared machine disturbs far less than requests/s and latency.
// Two phases in the same run: (1) the proxy under test on CPU 0, wrk and the backends on CPU 1
// (the load generator does not take the proxy's CPU; as proxies are usually benchmarked), and
// (2) every process free to run on every CPU.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { computeServiceState, toServiceInfo, toSliceInfo, type ServiceState } from '../src/proxy/index.ts';
import { UserspaceBackend } from '../src/proxy/userspace/index.ts';
import { makeService, makeSlice } from '../src/proxy/testing.ts';
import { median, type Row, type Section } from './lib/results.ts';
import { parseWrk, type WrkResult } from './lib/wrk.ts';

const sh = promisify(execFile);
const num = (v: string | undefined, d: number): number => (v !== undefined && Number(v) > 0 ? Number(v) : d);
const Rounds = num(process.env.SVCNET_BENCH_US_ROUNDS, 6);
const Seconds = num(process.env.SVCNET_BENCH_US_SECONDS, 8);
const Connections = num(process.env.SVCNET_BENCH_US_CONNECTIONS, 50);
const WarmupSeconds = 3;
const BackendPort = 8080;
const ServicePort = 80;
const CanPin = cpus().length >= 2;

/** cmd under `taskset -c cpu` when cpu is given. */
const onCPU = (cpu: number | undefined, cmd: string, args: string[]): [string, string[]] => (cpu === undefined ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]]);

/** Moves every thread of a running process to cpus ("0", "1", "0-1"). */
async function setAffinity(pid: number, list: string): Promise<void> {
  await sh('taskset', ['-a', '-p', '-c', list, String(pid)]);
}

async function wrk(url: string, seconds: number, cpu: number | undefined): Promise<WrkResult> {
  const [cmd, args] = onCPU(cpu, 'wrk', ['-t1', `-c${Connections}`, `-d${seconds}s`, '--latency', url]);
  const { stdout } = await sh(cmd, args, { timeout: (seconds + 30) * 1000 });
  return parseWrk(stdout);
}

async function waitListening(host: string, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${host}:${port} not listening after 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startHaproxy(dir: string, name: string, config: string): ChildProcess {
  const file = join(dir, `${name}.cfg`);
  writeFileSync(file, config);
  const p = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  p.once('exit', (code) => {
    if (code) console.error(`haproxy ${name} exited (${code}): ${err}`);
  });
  return p;
}

const global = ['global', '  nbthread 1', '  maxconn 4096', 'defaults', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s'];

/** The userspace backend alone, for the bench to measure: `--serve SERVICE_IP ENDPOINT_IP...`. */
async function serve(serviceIP: string, endpoints: string[]): Promise<void> {
  const node = { name: 'bench-node' };
  const backend = new UserspaceBackend({ config: { nodeIPs: ['127.0.0.1'], nodePortAddresses: [] }, node });
  const svc = toServiceInfo(makeService('web', { clusterIP: serviceIP, ports: [{ name: 'http', port: ServicePort, protocol: 'TCP', targetPort: BackendPort }] }))!;
  const slice = toSliceInfo(makeSlice('web', endpoints.map((ip) => ({ ip, node: node.name })), { ports: [{ name: 'http', port: BackendPort }] }));
  const state: ServiceState = computeServiceState(svc, [slice], node, ['IPv4']);
  await backend.sync({ services: new Map([[state.name, state]]) }, undefined);
  process.stdout.write('ready\n');
  // Ends with the bench (stdin closes) or by a signal.
  const stop = (): void => void backend.close().then(() => process.exit(0));
  process.stdin.resume();
  process.stdin.once('end', stop);
  process.once('SIGTERM', stop);
}

const ClockTicks = 100;
/** CPU seconds used so far by a process (user + system). */
function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / ClockTicks;
}

type Proxy = 'userspace' | 'haproxy';

interface Round extends WrkResult {
  /** CPU µs of the proxy process per request. */
  cpuUsPerRequest: number;
}

interface Summary {
  rps: number;
  p50: number;
  p99: number;
  cpu: number;
  errors: number;
  rounds: Round[];
}

function summarize(rs: Round[]): Summary {
  return {
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50ms)),
    p99: median(rs.map((r) => r.p99ms)),
    cpu: median(rs.map((r) => r.cpuUsPerRequest)),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    rounds: rs,
  };
}

async function phase(name: string, targets: Record<Proxy, { url: string; pid: number }>, wrkCPU: number | undefined): Promise<Record<Proxy, Summary>> {
  const results: Record<Proxy, Round[]> = { userspace: [], haproxy: [] };
  for (const t of ['userspace', 'haproxy'] as const) await wrk(targets[t].url, WarmupSeconds, wrkCPU);
  for (let i = 0; i < Rounds; i++) {
    // Alternate which goes first, so that drift in the machine's load falls on both.
    const order = i % 2 === 0 ? (['userspace', 'haproxy'] as const) : (['haproxy', 'userspace'] as const);
    for (const t of order) {
      const cpu0 = cpuOf(targets[t].pid);
      const r = await wrk(targets[t].url, Seconds, wrkCPU);
      const cpu = cpuOf(targets[t].pid) - cpu0;
      const round: Round = { ...r, cpuUsPerRequest: r.requests > 0 ? (cpu * 1e6) / r.requests : NaN };
      results[t].push(round);
      console.error(`${name} round ${i + 1} ${t}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50ms.toFixed(3)} ms, p99 ${r.p99ms.toFixed(3)} ms, ${round.cpuUsPerRequest.toFixed(1)} CPU µs/request, errors ${r.errors}`);
    }
  }
  return { userspace: summarize(results.userspace), haproxy: summarize(results.haproxy) };
}

function rows(label: string, r: Record<Proxy, Summary>): Row[] {
  const us = r.userspace;
  const hp = r.haproxy;
  const rpsRatio = us.rps / hp.rps;
  const p99Ratio = us.p99 / hp.p99;
  return [
    { metric: `${label}: requests/s`, svcnet: us.rps.toFixed(0), peer: `${hp.rps.toFixed(0)} (HAProxy)`, ratio: `${rpsRatio.toFixed(2)}×`, target: `≥ 0.8×: ${rpsRatio >= 0.8 ? 'met' : 'missed'}` },
    { metric: `${label}: latency p50`, svcnet: `${us.p50.toFixed(3)} ms`, peer: `${hp.p50.toFixed(3)} ms`, ratio: `${(us.p50 / hp.p50).toFixed(2)}×` },
    { metric: `${label}: latency p99`, svcnet: `${us.p99.toFixed(3)} ms`, peer: `${hp.p99.toFixed(3)} ms`, ratio: `${p99Ratio.toFixed(2)}×`, target: `≤ 1.25×: ${p99Ratio <= 1.25 ? 'met' : 'missed'}` },
    { metric: `${label}: proxy CPU per request (user + system)`, svcnet: `${us.cpu.toFixed(1)} µs`, peer: `${hp.cpu.toFixed(1)} µs`, ratio: `${(us.cpu / hp.cpu).toFixed(2)}×` },
    { metric: `${label}: socket errors and non-2xx responses`, svcnet: String(us.errors), peer: String(hp.errors) },
  ];
}

const perRound = (s: Summary): string => s.rounds.map((r) => `${r.rps.toFixed(0)}/${r.p99ms.toFixed(2)}`).join(', ');

export async function run(): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-bench-us-'));
  const net = `127.77.${1 + Math.floor(Math.random() * 250)}`;
  const epA = `${net}.1`;
  const epB = `${net}.2`;
  const haproxyIP = `${net}.10`;
  const serviceIP = `${net}.20`;
  const procs: ChildProcess[] = [];
  try {
    const backends = startHaproxy(
      dir,
      'backends',
      [
        ...global,
        '  mode http',
        ...[epA, epB].flatMap((ip, i) => [`frontend ep${i}`, `  bind ${ip}:${BackendPort}`, `  http-request return status 200 content-type text/plain string "backend-${'ab'[i]}"`]),
        '',
      ].join('\n'),
    );
    procs.push(backends);
    const haproxy = startHaproxy(
      dir,
      'proxy',
      [...global, '  mode tcp', 'frontend svc', `  bind ${haproxyIP}:${ServicePort}`, '  default_backend eps', 'backend eps', '  balance random', `  server a ${epA}:${BackendPort}`, `  server b ${epB}:${BackendPort}`, ''].join('\n'),
    );
    procs.push(haproxy);
    const userspace = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve', serviceIP, epA, epB], { stdio: ['pipe', 'pipe', 'inherit'] });
    procs.push(userspace);
    let out = '';
    userspace.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await Promise.race([
      (async () => {
        while (!out.includes('ready')) await once(userspace.stdout, 'data');
      })(),
      once(userspace, 'exit').then(() => {
        throw new Error('the userspace proxy process exited before it was ready');
      }),
    ]);
    await Promise.all([waitListening(epA, BackendPort), waitListening(epB, BackendPort), waitListening(haproxyIP, ServicePort), waitListening(serviceIP, ServicePort)]);
    const targets: Record<Proxy, { url: string; pid: number }> = {
      userspace: { url: `http://${serviceIP}:${ServicePort}/`, pid: userspace.pid! },
      haproxy: { url: `http://${haproxyIP}:${ServicePort}/`, pid: haproxy.pid! },
    };

    const phases: { label: string; r: Record<Proxy, Summary> }[] = [];
    if (CanPin) {
      await Promise.all([setAffinity(userspace.pid!, '0'), setAffinity(haproxy.pid!, '0'), setAffinity(backends.pid!, '1')]);
      phases.push({ label: 'proxy on its own CPU', r: await phase('pinned', targets, 1) });
      const all = `0-${cpus().length - 1}`;
      await Promise.all([setAffinity(userspace.pid!, all), setAffinity(haproxy.pid!, all), setAffinity(backends.pid!, all)]);
    }
    phases.push({ label: 'all CPUs shared', r: await phase('shared', targets, undefined) });

    return {
      area: 'proxy-userspace',
      title: 'Service proxy: userspace backend (host mode) against HAProxy',
      method: [
        `wrk -t1 -c${Connections} (keep-alive, GET of a 9-byte body) for ${Seconds} s per round, ${Rounds} rounds per phase alternating the two proxies after a ${WarmupSeconds} s warm-up of each; figures are medians over rounds.`,
        'Both proxies forward TCP (HAProxy 2.6 `mode tcp`, `balance random`, `nbthread 1`; svcnet: the UserspaceBackend in its own Node.js process, one event loop, synced from a Service and its EndpointSlice through the shared model) to the same two backends (an HAProxy `http-request return` frontend each, one thread), all on loopback addresses.',
        CanPin ? 'Two phases in the same run: the proxy under test alone on CPU 0 with wrk and the backends on CPU 1 (taskset; both proxies alike), then every process free on every CPU.' : 'One CPU: one phase.',
        'CPU per request: the proxy process\'s user + system time over a round (/proc/PID/stat) divided by the requests of the round.',
      ].join(' '),
      rows: phases.flatMap((p) => rows(p.label, p.r)),
      notes: [
        `Load average at the end of the run: ${loadavg().map((x) => x.toFixed(1)).join(', ')} (a shared machine: other work ran beside the bench, which moves p99 most).`,
        ...phases.map((p) => `Rounds (${p.label}), requests/s / p99 ms: userspace ${perRound(p.r.userspace)}; HAProxy ${perRound(p.r.haproxy)}.`),
      ],
    };
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3], process.argv.slice(4));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  // Run directly: print the figures without writing RESULTS.md (npm run bench:proxy-userspace writes them).
  const s = await run();
  console.log(JSON.stringify(s, null, 2));
}
