// `npm run bench:api`: the API server under load, over HTTPS on loopback, against `bin/svcnet
// server` as users start it. There is no kube-apiserver binary on this machine, so the peer is
// etcd (Debian's /usr/bin/etcd), kube-apiserver's own store, wherever a like-for-like figure
// exists: the same 10,000 creates as raw etcd puts, the same LIST as an etcd range read, the
// same 100 watchers as etcd watchers; and svcnet itself on `--store etcd:`. Everything else is
// held against the targets. Every process started here is stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { median, quantile, type Row, type Section } from './lib/results.ts';

const root = new URL('..', import.meta.url).pathname;
const svcnetBin = join(root, 'bin/svcnet');
const ETCD = process.env.SVCNET_ETCD ?? '/usr/bin/etcd';
const N = 10_000;
const CLIENTS = 32;
const WATCHERS = 100;
const WATCH_EVENTS = 500;
const STARTS = 5;
const LISTS = 5;

const log = (msg: string) => process.stderr.write(`bench api: ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

function rssMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

// ---------------------------------------------------------------- svcnet

interface Server {
  proc: ChildProcess;
  port: number;
  dataDir: string;
  token: string;
  ca: string;
}

/** Polls until /healthz answers over TLS; returns ms from spawn. */
async function untilServing(port: number, since: number, proc: ChildProcess): Promise<number> {
  const agent = new Agent({ rejectUnauthorized: false, keepAlive: false });
  for (;;) {
    if (proc.exitCode !== null) throw new Error('svcnet server exited while starting');
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', agent, rejectUnauthorized: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
      req.end();
    });
    if (ok) return performance.now() - since;
    await sleep(2);
  }
}

async function startSvcnet(dataDir: string, extra: string[] = []): Promise<Server & { readyMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(svcnetBin, ['server', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SVCNET_LOG_LEVEL: 'warn' },
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let readyMs: number;
  try {
    readyMs = await untilServing(port, t0, proc);
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${stderr}`);
  }
  // Requests need the admin token from the kubeconfig, written when the server listens.
  let kubeconfig = '';
  for (let i = 0; i < 500 && !/token: \S+/.test(kubeconfig); i++) {
    try {
      kubeconfig = readFileSync(join(dataDir, 'kubeconfig'), 'utf8');
    } catch {
      await sleep(10);
    }
  }
  const token = /token: (\S+)/.exec(kubeconfig)?.[1] ?? '';
  const ca = readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8');
  return { proc, port, dataDir, token, ca, readyMs };
}

class Client {
  #agent: Agent;
  #s: Server;
  constructor(s: Server, sockets: number) {
    this.#s = s;
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets, ca: s.ca });
  }
  send(method: string, path: string, body?: string, timeoutMs = 60_000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Authorization: `Bearer ${this.#s.token}`, Accept: 'application/json' };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(Buffer.byteLength(body));
      }
      const req = request({ host: '127.0.0.1', port: this.#s.port, method, path, headers, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }
  close(): void {
    this.#agent.destroy();
  }
}

function serviceBody(name: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { bench: 'api', shard: String(name.length % 7) } }, spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } });
}

interface CreateFigures {
  perSecond: number;
  p50: number;
  p99: number;
}

/** n creates spread over `clients` concurrent callers; returns rate and latency. */
async function runCreates(n: number, clients: number, one: (i: number) => Promise<void>): Promise<CreateFigures> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await one(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const wall = performance.now() - t0;
  return { perSecond: (n / wall) * 1000, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) };
}

async function svcnetCreates(s: Server, ns: string): Promise<CreateFigures> {
  const c = new Client(s, CLIENTS);
  const r = await c.send('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: ns } }));
  if (r.status !== 201) throw new Error(`namespace: ${r.status} ${r.body}`);
  try {
    return await runCreates(N, CLIENTS, async (i) => {
      const res = await c.send('POST', `/api/v1/namespaces/${ns}/services`, serviceBody(`svc-${i}`));
      if (res.status !== 201) throw new Error(`create svc-${i}: ${res.status} ${res.body.slice(0, 300)}`);
    });
  } finally {
    c.close();
  }
}

async function svcnetList(s: Server, ns: string): Promise<{ median: number; items: number; bytes: number }> {
  const c = new Client(s, 1);
  const times: number[] = [];
  let items = 0;
  let bytes = 0;
  try {
    for (let i = 0; i < LISTS; i++) {
      const t = performance.now();
      const r = await c.send('GET', `/api/v1/namespaces/${ns}/services`);
      times.push(performance.now() - t);
      bytes = r.body.length;
      items = (JSON.parse(r.body) as { items: unknown[] }).items.length;
    }
  } finally {
    c.close();
  }
  return { median: median(times), items, bytes };
}

/** WATCHERS watches of one namespace; WATCH_EVENTS creates by 4 writers; delay from send to each arrival. */
async function svcnetWatch(s: Server): Promise<{ p50: number; p99: number; deliveries: number }> {
  const c = new Client(s, 4);
  const ns = 'bench-watch';
  await c.send('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: ns } }));
  const list = JSON.parse((await c.send('GET', `/api/v1/namespaces/${ns}/services`)).body) as { metadata: { resourceVersion: string } };
  const sent = new Map<string, number>();
  const delays: number[] = [];
  let received = 0;
  const watchAgent = new Agent({ keepAlive: false, maxSockets: WATCHERS + 1, ca: s.ca });
  const requests: ReturnType<typeof request>[] = [];
  await Promise.all(
    Array.from(
      { length: WATCHERS },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port: s.port, path: `/api/v1/namespaces/${ns}/services?watch=true&resourceVersion=${list.metadata.resourceVersion}`, headers: { Authorization: `Bearer ${s.token}` }, agent: watchAgent },
            (res) => {
              let buf = '';
              res.setEncoding('utf8');
              res.on('data', (d: string) => {
                const now = performance.now();
                buf += d;
                let i: number;
                while ((i = buf.indexOf('\n')) >= 0) {
                  const line = buf.slice(0, i);
                  buf = buf.slice(i + 1);
                  const m = /"name":"(w-\d+)"/.exec(line);
                  const at = m ? sent.get(m[1]) : undefined;
                  if (at !== undefined) {
                    delays.push(now - at);
                    received++;
                  }
                }
              });
              resolve();
            },
          );
          req.on('error', reject);
          req.end();
          requests.push(req);
        }),
    ),
  );
  await sleep(200);
  await runCreates(WATCH_EVENTS, 4, async (i) => {
    sent.set(`w-${i}`, performance.now());
    const r = await c.send('POST', `/api/v1/namespaces/${ns}/services`, serviceBody(`w-${i}`));
    if (r.status !== 201) throw new Error(`watch create: ${r.status}`);
  });
  const deadline = Date.now() + 30_000;
  while (received < WATCHERS * WATCH_EVENTS && Date.now() < deadline) await sleep(20);
  for (const r of requests) r.destroy();
  watchAgent.destroy();
  c.close();
  if (received < WATCHERS * WATCH_EVENTS) throw new Error(`watchers received ${received} of ${WATCHERS * WATCH_EVENTS} events`);
  return { p50: quantile(delays, 0.5), p99: quantile(delays, 0.99), deliveries: received };
}

// ---------------------------------------------------------------- etcd, the peer

async function startEtcd(dir: string): Promise<{ proc: ChildProcess; endpoint: string }> {
  const client = await freePort();
  const peer = await freePort();
  const endpoint = `http://127.0.0.1:${client}`;
  const proc = spawn(
    ETCD,
    [
      '--name=bench',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=bench=http://127.0.0.1:${peer}`,
      '--log-level=error',
      '--logger=zap',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      if (((await r.json()) as { health?: string }).health === 'true') return { proc, endpoint };
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  await stopChild(proc);
  throw new Error('etcd did not become healthy');
}

async function etcdPeer(endpoint: string, value: string): Promise<{ creates: CreateFigures; listMs: number; watch: { p50: number; p99: number } }> {
  const clients = Array.from({ length: CLIENTS }, () => new Etcd3({ hosts: endpoint }));
  try {
    let k = 0;
    const creates = await runCreates(N, CLIENTS, async (i) => {
      await clients[k++ % CLIENTS].put(`/registry/core/services/bench/svc-${i}`).value(value).exec();
    });
    const times: number[] = [];
    for (let i = 0; i < LISTS; i++) {
      const t = performance.now();
      const all = await clients[0].getAll().prefix('/registry/core/services/bench/').strings();
      times.push(performance.now() - t);
      if (Object.keys(all).length !== N) throw new Error(`etcd range read ${Object.keys(all).length} keys`);
    }
    // 100 watchers of one prefix, 500 puts by 4 writers.
    const sent = new Map<string, number>();
    const delays: number[] = [];
    const watchers = await Promise.all(
      Array.from({ length: WATCHERS }, async (_, i) => {
        const w = await clients[i % CLIENTS].watch().prefix('/registry/core/services/bench-watch/').create();
        w.on('put', (kv) => {
          const at = sent.get(kv.key.toString());
          if (at !== undefined) delays.push(performance.now() - at);
        });
        return w;
      }),
    );
    await sleep(200);
    await runCreates(WATCH_EVENTS, 4, async (i) => {
      const key = `/registry/core/services/bench-watch/w-${i}`;
      sent.set(key, performance.now());
      await clients[i % 4].put(key).value(value).exec();
    });
    const deadline = Date.now() + 30_000;
    while (delays.length < WATCHERS * WATCH_EVENTS && Date.now() < deadline) await sleep(20);
    await Promise.all(watchers.map((w) => w.cancel()));
    return { creates, listMs: median(times), watch: { p50: quantile(delays, 0.5), p99: quantile(delays, 0.99) } };
  } finally {
    for (const c of clients) c.close();
  }
}

// ---------------------------------------------------------------- the run

export async function run(): Promise<Section> {
  const work = mkdtempSync(join(tmpdir(), 'svcnet-bench-api-'));
  const children: ChildProcess[] = [];
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    // Ready time: first start makes the PKI; the next starts are what a user waits for.
    const dir = join(work, 'sqlite');
    const first = await startSvcnet(dir);
    await stopChild(first.proc);
    const readies: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const s = await startSvcnet(dir);
      readies.push(s.readyMs);
      await stopChild(s.proc);
    }
    log(`ready ${readies.map((r) => r.toFixed(0)).join(', ')} ms (first start with PKI ${first.readyMs.toFixed(0)} ms)`);

    // Load on the default SQLite store. The in-process node agent is off (--no-agent) so its
    // userspace proxy does not open 10,000 listeners: this is the API server's figure.
    const s = await startSvcnet(dir, ['--no-agent']);
    children.push(s.proc);
    const load0 = loadavg()[0];
    log('10,000 creates on sqlite');
    const creates = await svcnetCreates(s, 'bench');
    log(`${creates.perSecond.toFixed(0)} creates/s`);
    const list = await svcnetList(s, 'bench');
    if (list.items !== N) throw new Error(`LIST returned ${list.items} items`);
    const watch = await svcnetWatch(s);
    const mem = rssMiB(s.proc.pid!);
    await stopChild(s.proc);

    // Ready again, now with 10,000 Services (and their allocations) to load into the watch cache.
    const loadedReadies: number[] = [];
    for (let i = 0; i < 3; i++) {
      const again = await startSvcnet(dir);
      loadedReadies.push(again.readyMs);
      await stopChild(again.proc);
    }

    // The peer: etcd alone, then svcnet on etcd.
    const etcd = await startEtcd(work);
    children.push(etcd.proc);
    const value = serviceBody('svc-0000').replace('"metadata":{', '"metadata":{"namespace":"bench","uid":"00000000-0000-0000-0000-000000000000","creationTimestamp":"2026-01-01T00:00:00Z",');
    log('etcd peer');
    const peer = await etcdPeer(etcd.endpoint, value);
    await stopChild(etcd.proc);
    const etcd2 = await startEtcd(join(work, 'e2'));
    children.push(etcd2.proc);
    const onEtcd = await startSvcnet(join(work, 'on-etcd'), ['--no-agent', '--store', `etcd:${etcd2.endpoint}`]);
    children.push(onEtcd.proc);
    log('10,000 creates on etcd');
    const etcdCreates = await svcnetCreates(onEtcd, 'bench');
    const etcdList = await svcnetList(onEtcd, 'bench');
    await stopChild(onEtcd.proc);
    await stopChild(etcd2.proc);
    const load1 = loadavg()[0];

    const met = (ok: boolean) => (ok ? 'target met' : 'target missed');
    rows.push(
      { metric: 'creates/s, 10,000 Services, 32 clients (sqlite)', svcnet: creates.perSecond.toFixed(0), peer: `etcd put ${peer.creates.perSecond.toFixed(0)}/s`, ratio: `${(creates.perSecond / peer.creates.perSecond).toFixed(2)}× etcd; ${met(creates.perSecond >= 2000)}`, target: '≥ 2,000/s' },
      { metric: 'create latency p50 / p99 (sqlite)', svcnet: `${ms(creates.p50)} / ${ms(creates.p99)}`, peer: `etcd put ${ms(peer.creates.p50)} / ${ms(peer.creates.p99)}` },
      { metric: 'creates/s, same load, svcnet on --store etcd', svcnet: etcdCreates.perSecond.toFixed(0), peer: `etcd put ${peer.creates.perSecond.toFixed(0)}/s`, ratio: `${(etcdCreates.perSecond / peer.creates.perSecond).toFixed(2)}× etcd` },
      { metric: 'create latency p50 / p99 (svcnet on etcd)', svcnet: `${ms(etcdCreates.p50)} / ${ms(etcdCreates.p99)}` },
      { metric: `LIST of 10,000 Services, median of ${LISTS} (${(list.bytes / 2 ** 20).toFixed(1)} MiB JSON)`, svcnet: ms(list.median), peer: `etcd range read ${ms(peer.listMs)}`, ratio: met(list.median <= 300), target: '≤ 300 ms' },
      { metric: 'LIST of 10,000 Services (svcnet on etcd)', svcnet: ms(etcdList.median), peer: `etcd range read ${ms(peer.listMs)}`, ratio: met(etcdList.median <= 300) },
      { metric: `watch delivery, ${WATCHERS} watchers × ${WATCH_EVENTS} creates, p50 / p99 (send → event)`, svcnet: `${ms(watch.p50)} / ${ms(watch.p99)}`, peer: `etcd watch ${ms(peer.watch.p50)} / ${ms(peer.watch.p99)}`, ratio: met(watch.p99 <= 50), target: 'p99 ≤ 50 ms' },
      { metric: 'resident memory after the run (peak)', svcnet: `${mem.rss.toFixed(0)} MiB (${mem.hwm.toFixed(0)} MiB)`, peer: 'k3s server: 1,428–1,606 MiB (published, with workload)', ratio: met(mem.hwm <= 250), target: '≤ 250 MB' },
      { metric: `process start → first served request, median of ${STARTS} (empty store)`, svcnet: ms(median(readies)), peer: 'k3s: kube-apiserver launched ~1 s after start (published log)', ratio: met(median(readies) <= 1000), target: '≤ 1 s' },
      { metric: 'same, with the 10,000 Services stored (median of 3)', svcnet: ms(median(loadedReadies)) },
    );
    notes.push(
      `Peer: etcd ${ETCD} (kube-apiserver's store; no kube-apiserver binary exists here). Its rows use the etcd3 client with ${CLIENTS} connections on the same loopback, values the size of a stored Service.`,
      `Load average ${load0.toFixed(1)} at the start and ${load1.toFixed(1)} at the end of the load phases (2 shared cores); the client runs in the bench process on the same cores.`,
      'Watch delay is measured from sending the create to the event arriving at each watcher, so it includes the create round trip.',
      `First start on an empty data dir, which also makes the CA and certificates: ${ms(first.readyMs)}.`,
    );
    return {
      area: 'api',
      title: 'API server',
      method: `\`bin/svcnet server\` (default SQLite store; the load phases with --no-agent) over HTTPS on 127.0.0.1, driven from this process: ${N.toLocaleString('en')} Service creates by ${CLIENTS} concurrent keep-alive clients, a JSON LIST of all of them, ${WATCHERS} watchers receiving ${WATCH_EVENTS} creates, RSS from /proc, and start-up time from spawn to the first 200 on /healthz.`,
      rows,
      notes,
    };
  } finally {
    for (const c of children) await stopChild(c);
    rmSync(work, { recursive: true, force: true });
  }
}
