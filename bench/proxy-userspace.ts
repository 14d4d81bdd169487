// `npm run bench:proxy-userspace`: the userspace backend (host mode's data plane) against HAProxy
// proxying the same two backends in the same run, with wrk on loopback (issue 5: at least 0.8×
// HAProxy's requests per second, p99 latency at most 1.25× HAProxy's).
//
// Setup, all on loopback addresses of 127.77.x.0/24 picked per run:
//  - two backends that answer every HTTP request with a short body: one HAProxy process (mode
//    http, `http-request return`, one thread) with a frontend per backend, so that the backends
//    are fast and identical for both proxies;
//  - HAProxy as the proxy under comparison: `mode tcp` (L4, as the userspace backend is),
//    `balance random`, one thread (the userspace backend is one Node.js event loop);
//  - svcnet's UserspaceBackend in this process, synced with a ClusterIP Service of two endpoints
//    built by the shared model (Service + EndpointSlice → desired state);
//  - wrk (one thread, keep-alive connections) against each proxy in turn: a warm-up, then
//    alternating rounds; the figure of each proxy is the median over its rounds.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'node:net';
import { computeServiceState, toServiceInfo, toSliceInfo, type ServiceState } from '../src/proxy/index.ts';
import { UserspaceBackend } from '../src/proxy/userspace/index.ts';
import { makeService, makeSlice } from '../src/proxy/testing.ts';
import { median, type Row, type Section } from './lib/results.ts';

const sh = promisify(execFile);
const num = (v: string | undefined, d: number): number => (v !== undefined && Number(v) > 0 ? Number(v) : d);
const Rounds = num(process.env.SVCNET_BENCH_US_ROUNDS, 5);
const Seconds = num(process.env.SVCNET_BENCH_US_SECONDS, 10);
const Connections = num(process.env.SVCNET_BENCH_US_CONNECTIONS, 50);
const WarmupSeconds = 3;
const BackendPort = 8080;
const ServicePort = 80;

export interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  requests: number;
}

const unitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Parses `wrk --latency` output. */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const lat = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? Number(m[1]) * unitMs[m[2]] : NaN;
  };
  const reqs = /(\d+) requests in/.exec(out);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors = (errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  if (!rps) throw new Error(`cannot read wrk's output:\n${out}`);
  return { rps: Number(rps[1]), p50ms: lat('50'), p99ms: lat('99'), errors, requests: reqs ? Number(reqs[1]) : 0 };
}

async function wrk(url: string, seconds: number): Promise<WrkResult> {
  const { stdout } = await sh('wrk', ['-t1', `-c${Connections}`, `-d${seconds}s`, '--latency', url], { timeout: (seconds + 30) * 1000 });
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

export async function run(): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-bench-us-'));
  const net = `127.77.${1 + Math.floor(Math.random() * 250)}`;
  const epA = `${net}.1`;
  const epB = `${net}.2`;
  const haproxyIP = `${net}.10`;
  const serviceIP = `${net}.20`;
  const procs: ChildProcess[] = [];
  let backend: UserspaceBackend | undefined;
  try {
    procs.push(
      startHaproxy(
        dir,
        'backends',
        [
          ...global,
          '  mode http',
          ...[epA, epB].flatMap((ip, i) => [`frontend ep${i}`, `  bind ${ip}:${BackendPort}`, `  http-request return status 200 content-type text/plain string "backend-${'ab'[i]}"`]),
          '',
        ].join('\n'),
      ),
    );
    procs.push(
      startHaproxy(
        dir,
        'proxy',
        [...global, '  mode tcp', 'frontend svc', `  bind ${haproxyIP}:${ServicePort}`, '  default_backend eps', 'backend eps', '  balance random', `  server a ${epA}:${BackendPort}`, `  server b ${epB}:${BackendPort}`, ''].join('\n'),
      ),
    );
    const node = { name: 'bench-node' };
    backend = new UserspaceBackend({ config: { nodeIPs: ['127.0.0.1'], nodePortAddresses: [] }, node });
    const svc = toServiceInfo(makeService('web', { clusterIP: serviceIP, ports: [{ name: 'http', port: ServicePort, protocol: 'TCP', targetPort: BackendPort }] }))!;
    const slice = toSliceInfo(makeSlice('web', [{ ip: epA, node: 'bench-node' }, { ip: epB, node: 'bench-node' }], { ports: [{ name: 'http', port: BackendPort }] }));
    const state: ServiceState = computeServiceState(svc, [slice], node, ['IPv4']);
    await backend.sync({ services: new Map([[state.name, state]]) }, undefined);
    await Promise.all([waitListening(epA, BackendPort), waitListening(epB, BackendPort), waitListening(haproxyIP, ServicePort), waitListening(serviceIP, ServicePort)]);

    const targets = { userspace: `http://${serviceIP}:${ServicePort}/`, haproxy: `http://${haproxyIP}:${ServicePort}/` } as const;
    const results: Record<keyof typeof targets, WrkResult[]> = { userspace: [], haproxy: [] };
    for (const t of ['userspace', 'haproxy'] as const) await wrk(targets[t], WarmupSeconds);
    for (let i = 0; i < Rounds; i++) {
      // Alternate which goes first, so that drift in the machine's load falls on both.
      const order = i % 2 === 0 ? (['userspace', 'haproxy'] as const) : (['haproxy', 'userspace'] as const);
      for (const t of order) {
        const r = await wrk(targets[t], Seconds);
        results[t].push(r);
        console.error(`round ${i + 1} ${t}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50ms.toFixed(3)} ms, p99 ${r.p99ms.toFixed(3)} ms, errors ${r.errors}`);
      }
    }
    const summary = (rs: WrkResult[]) => ({ rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50ms)), p99: median(rs.map((r) => r.p99ms)), errors: rs.reduce((a, r) => a + r.errors, 0) });
    const us = summary(results.userspace);
    const hp = summary(results.haproxy);
    const rpsRatio = us.rps / hp.rps;
    const p99Ratio = us.p99 / hp.p99;
    const rows: Row[] = [
      { metric: 'requests/s through the Service address (median of rounds)', svcnet: us.rps.toFixed(0), peer: `${hp.rps.toFixed(0)} (HAProxy)`, ratio: `${rpsRatio.toFixed(2)}×`, target: `≥ 0.8× HAProxy: ${rpsRatio >= 0.8 ? 'met' : 'missed'}` },
      { metric: 'latency p50', svcnet: `${us.p50.toFixed(3)} ms`, peer: `${hp.p50.toFixed(3)} ms (HAProxy)`, ratio: `${(us.p50 / hp.p50).toFixed(2)}×` },
      { metric: 'latency p99', svcnet: `${us.p99.toFixed(3)} ms`, peer: `${hp.p99.toFixed(3)} ms (HAProxy)`, ratio: `${p99Ratio.toFixed(2)}×`, target: `≤ 1.25× HAProxy: ${p99Ratio <= 1.25 ? 'met' : 'missed'}` },
      { metric: 'socket errors and non-2xx responses', svcnet: String(us.errors), peer: `${hp.errors} (HAProxy)` },
    ];
    return {
      area: 'proxy-userspace',
      title: 'Service proxy: userspace backend (host mode) against HAProxy',
      method: [
        `wrk -t1 -c${Connections} (keep-alive) for ${Seconds} s per round, ${Rounds} rounds alternating the two proxies after a ${WarmupSeconds} s warm-up of each; figures are the medians over rounds.`,
        'Both proxies forward TCP (HAProxy `mode tcp`, `balance random`, `nbthread 1`; svcnet: one Node.js event loop) to the same two backends (an HAProxy `http-request return` frontend each, one thread), all on loopback addresses, on the same 2-core machine as wrk.',
      ].join(' '),
      rows,
      notes: [`Per-round figures: userspace ${results.userspace.map((r) => r.rps.toFixed(0)).join(', ')} req/s; HAProxy ${results.haproxy.map((r) => r.rps.toFixed(0)).join(', ')} req/s.`],
    };
  } finally {
    await backend?.close();
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run directly: print the section without writing RESULTS.md.
if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await run();
  console.log(JSON.stringify(s, null, 2));
}
