// `npm run bench:controllers`: the EndpointSlice controller at scale, with the Endpoints and
// mirroring controllers running beside it as in `svcnet server`, against svcnet's API server on
// its SQLite store (in process, as `svcnet server` runs its controllers).
//
// 1. Latency: 1,000 Services × 10 pods. A pod's readiness is flipped (a kubelet-style status
//    write), one change at a time; the delay is taken from just before the write until a watcher
//    sees the pod's endpoint with the new condition in an EndpointSlice. Two watchers: one in
//    process (as the proxy and DNS of `svcnet server` watch) and one over HTTPS with the
//    kubeconfig (as a remote node's proxy would).
// 2. Convergence: 10,000 Services × 2 pods on a fresh store, all written while no controller
//    runs. (a) First start: from startControllers() until a watcher has seen every Service's
//    slice with its two ready endpoints (10,000 slices and 10,000 Endpoints created).
//    (b) Restart with everything right: until the EndpointSlice controller has synced every
//    Service and its queue is empty; the writes made are counted (the target is none).
//    (c) Restart after 1,000 pods turned not ready while the controllers were down: until the
//    watcher has seen all 1,000 changes.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { quantile, type Row, type Section } from './lib/results.ts';

process.env.SVCNET_LOG_LEVEL ??= 'error';
const { startServer } = await import('../src/apiserver/index.ts');
const { openStore } = await import('../src/store/index.ts');
const { EndpointSlices, Namespaces, Nodes, Pods, Services } = await import('../src/api/index.ts');
const { HttpClient } = await import('../src/client/index.ts');
const { startControllers } = await import('../src/controllers/index.ts');
const { EndpointSliceController } = await import('../src/controllers/endpointslice/index.ts');
const { EndpointsController } = await import('../src/controllers/endpoints/index.ts');
const { EndpointSliceMirroringController } = await import('../src/controllers/endpointslicemirroring/index.ts');

type Client = import('../src/client/index.ts').Client;
type WatchHandle = import('../src/client/index.ts').WatchHandle;

const serviceCIDRs = ['10.96.0.0/16'];
const settings = { serviceCIDRs, clusterDomain: 'cluster.local', mode: 'host' as const };
// SVCNET_BENCH_SCALE shrinks the Service counts for a quick trial (the results then say so).
const scale = Number(process.env.SVCNET_BENCH_SCALE ?? '1');
const nodeCount = 20;
const namespaces = 10;

function log(msg: string): void {
  console.error(`bench controllers: ${msg}`);
}

/** Runs fn over items with at most `n` in flight. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

function podIP(i: number): string {
  return `10.${244 + Math.floor(i / 62500)}.${Math.floor((i % 62500) / 250)}.${(i % 250) + 1}`;
}

function now(): string {
  return new Date().toISOString();
}

function status(ip: string, ready: boolean, prev: Pod['status']): NonNullable<Pod['status']> {
  const t = now();
  return {
    ...prev,
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    conditions: [
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: t },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: t },
    ],
  };
}

interface World {
  dir: string;
  server: Awaited<ReturnType<typeof startServer>>;
  store: Awaited<ReturnType<typeof openStore>>;
  client: Client;
  pods: Pod[];
}

async function startWorld(name: string): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), `svcnet-bench-${name}-`));
  const store = await openStore(`sqlite:${join(dir, 'data')}`);
  const server = await startServer({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', store, serviceCIDRs, loopbackAddresses: true });
  const client = server.client('bench', 'bench');
  for (let n = 0; n < namespaces; n++) await client.create(Namespaces, undefined, { metadata: { name: `bench-${n}` } });
  for (let n = 0; n < nodeCount; n++) {
    await client.create(Nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${n}`, labels: { 'topology.kubernetes.io/zone': `zone-${n % 3}` } } });
  }
  return { dir, server, store, client, pods: [] };
}

async function stopWorld(w: World): Promise<void> {
  await w.server.close();
  await w.store.close();
  rmSync(w.dir, { recursive: true, force: true });
}

/** Services svc-0..n-1 (spread over the namespaces), `per` ready pods each. */
async function populate(w: World, services: number, per: number): Promise<void> {
  const t0 = performance.now();
  const idx = Array.from({ length: services }, (_, i) => i);
  await pool(idx, 32, (i) =>
    w.client.create<Service>(Services, `bench-${i % namespaces}`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${i}` },
      spec: { selector: { app: `svc-${i}` }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    }),
  );
  const podIdx = Array.from({ length: services * per }, (_, i) => i);
  w.pods = new Array<Pod>(podIdx.length);
  await pool(podIdx, 32, async (i) => {
    const s = Math.floor(i / per);
    const created = await w.client.create<Pod>(Pods, `bench-${s % namespaces}`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `svc-${s}-${i % per}`, labels: { app: `svc-${s}` } },
      spec: { nodeName: `node-${i % nodeCount}`, containers: [{ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', ports: [{ name: 'http', containerPort: 8080 }] }] },
    });
    w.pods[i] = await w.client.update<Pod>(Pods, { ...created, status: status(podIP(i), true, created.status) }, {}, 'status');
  });
  log(`${services} Services and ${services * per} ready pods written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Follows the managed slices: per "ns/service", IP → ready, from a watch. */
class SliceWatcher {
  readonly byService = new Map<string, Map<string, Map<string, boolean>>>();
  #handle: WatchHandle | undefined;
  #onChange: ((svc: string) => void) | undefined;

  start(client: Client, rv: string, onChange?: (svc: string) => void): void {
    this.#onChange = onChange;
    this.#handle = client.watch<EndpointSlice>(EndpointSlices, undefined, { resourceVersion: rv }, (e) => {
      const s = e.object;
      const labels = s.metadata?.labels ?? {};
      if (labels['endpointslice.kubernetes.io/managed-by'] !== 'endpointslice-controller.k8s.io') return;
      const key = `${s.metadata?.namespace ?? ''}/${labels['kubernetes.io/service-name'] ?? ''}`;
      let slices = this.byService.get(key);
      if (!slices) this.byService.set(key, (slices = new Map<string, Map<string, boolean>>()));
      if (e.type === 'DELETED') slices.delete(s.metadata?.name ?? '');
      else if (e.type === 'ADDED' || e.type === 'MODIFIED') slices.set(s.metadata?.name ?? '', new Map((s.endpoints ?? []).map((ep) => [ep.addresses[0], ep.conditions?.ready === true])));
      this.#onChange?.(key);
    });
  }

  ready(key: string): number {
    let n = 0;
    for (const eps of this.byService.get(key)?.values() ?? []) for (const r of eps.values()) if (r) n++;
    return n;
  }

  readyOf(key: string, ip: string): boolean | undefined {
    for (const eps of this.byService.get(key)?.values() ?? []) if (eps.has(ip)) return eps.get(ip);
    return undefined;
  }

  stop(): void {
    this.#handle?.stop();
  }
}

async function currentRV(client: Client): Promise<string> {
  const l = await client.list(EndpointSlices, undefined, { limit: 1 });
  return l.metadata.resourceVersion ?? '';
}

function svcKey(i: number): string {
  return `bench-${i % namespaces}/svc-${i}`;
}

function controllersSet() {
  const slices = new EndpointSliceController();
  const endpoints = new EndpointsController();
  return { slices, endpoints, all: [slices, endpoints, new EndpointSliceMirroringController()] };
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
const s = (x: number) => `${(x / 1000).toFixed(2)} s`;

async function latency(rows: Row[], notes: string[]): Promise<void> {
  const services = Math.round(1000 * scale);
  const per = 10;
  const changes = Math.round(400 * Math.min(1, scale * 4));
  const w = await startWorld('latency');
  try {
    await populate(w, services, per);
    const kcm = w.server.client('system:kube-controller-manager', 'kube-controller-manager');
    const t0 = performance.now();
    const c = controllersSet();
    const running = await startControllers(kcm, settings, c.all);
    const local = new SliceWatcher();
    local.start(w.client, '0');
    await until(() => Array.from({ length: services }, (_, i) => svcKey(i)).every((k) => local.ready(k) === per), 120_000, 'the first slices');
    log(`slices of ${services} Services converged in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await until(() => c.endpoints.pending() === 0 && c.slices.pending() === 0, 60_000, 'idle controllers');

    // Pending changes: IP → [new ready, start, resolve per watcher]
    const waiting = new Map<string, { ready: boolean; key: string; local?: () => void; remote?: () => void }>();
    const rv = await currentRV(w.client);
    const check = (watcher: SliceWatcher, which: 'local' | 'remote') => (key: string) => {
      for (const [ip, p] of waiting) {
        if (p.key !== key) continue;
        if (watcher.readyOf(key, ip) === p.ready) p[which]?.();
      }
    };
    const localW = new SliceWatcher();
    localW.start(w.client, rv, check(localW, 'local'));
    const http = HttpClient.fromKubeconfig(w.server.kubeconfigPath, { userAgent: 'svcnet-bench/v0' });
    const remoteW = new SliceWatcher();
    remoteW.start(http, rv, check(remoteW, 'remote'));
    // Seed the watchers' views (the watch starts at the current state, so ready is known only for slices that change).
    for (const [k, v] of local.byService) {
      localW.byService.set(k, new Map([...v].map(([n, m]) => [n, new Map(m)])));
      remoteW.byService.set(k, new Map([...v].map(([n, m]) => [n, new Map(m)])));
    }
    local.stop();

    const localMs: number[] = [];
    const remoteMs: number[] = [];
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const state = w.pods.map(() => true);
    for (let n = 0; n < changes; n++) {
      const i = Math.floor(rand() * w.pods.length);
      const sIdx = Math.floor(i / per);
      const ip = podIP(i);
      const ready = !state[i];
      state[i] = ready;
      const pod = w.pods[i];
      let resolveLocal!: () => void;
      let resolveRemote!: () => void;
      const seenLocal = new Promise<void>((r) => (resolveLocal = r));
      const seenRemote = new Promise<void>((r) => (resolveRemote = r));
      let tl = 0;
      let tr = 0;
      waiting.set(ip, {
        ready,
        key: svcKey(sIdx),
        local: () => {
          if (!tl) tl = performance.now();
          resolveLocal();
        },
        remote: () => {
          if (!tr) tr = performance.now();
          resolveRemote();
        },
      });
      const cur = await w.client.get<Pod>(Pods, pod.metadata!.namespace, pod.metadata!.name!);
      const writeStart = performance.now();
      await w.client.update<Pod>(Pods, { ...structuredClone(cur), status: status(ip, ready, cur.status) }, {}, 'status');
      await Promise.all([seenLocal, seenRemote]);
      waiting.delete(ip);
      // From just before the status write (the get above is the bench's own bookkeeping).
      localMs.push(tl - writeStart);
      remoteMs.push(tr - writeStart);
      await new Promise((r) => setTimeout(r, 5));
    }
    localW.stop();
    remoteW.stop();
    http.close();
    const p = (v: number[], q: number) => quantile(v, q);
    rows.push(
      { metric: `pod readiness change → EndpointSlice update seen by an in-process watcher, p50 (${changes} changes, 1,000 Services × 10 pods)`, svcnet: ms(p(localMs, 0.5)) },
      { metric: 'same, p99', svcnet: ms(p(localMs, 0.99)), target: '≤ 100 ms', ratio: p(localMs, 0.99) <= 100 ? 'target met' : 'target missed' },
      { metric: 'same, seen by a watcher over HTTPS, p50', svcnet: ms(p(remoteMs, 0.5)) },
      { metric: 'same, over HTTPS, p99', svcnet: ms(p(remoteMs, 0.99)), target: '≤ 100 ms', ratio: p(remoteMs, 0.99) <= 100 ? 'target met' : 'target missed' },
      { metric: 'same, max (in process / HTTPS)', svcnet: `${ms(Math.max(...localMs))} / ${ms(Math.max(...remoteMs))}` },
    );
    const st = c.slices.stats();
    notes.push(`Latency run: the EndpointSlice controller made ${st.syncs} syncs and ${st.creates} creates, ${st.updates} updates, ${st.deletes} deletes of slices in total (first convergence included).`);
    await running.stop();
  } finally {
    await stopWorld(w);
  }
}

async function convergence(rows: Row[], notes: string[]): Promise<void> {
  const services = Math.round(10_000 * scale);
  const per = 2;
  const w = await startWorld('converge');
  try {
    await populate(w, services, per);
    const kcm = w.server.client('system:kube-controller-manager', 'kube-controller-manager');
    const keys = Array.from({ length: services }, (_, i) => svcKey(i));
    const watcher = new SliceWatcher();
    let converged = 0;
    const done = new Set<string>();
    let expect = (k: string) => watcher.ready(k) === per;
    watcher.start(w.client, await currentRV(w.client), (k) => {
      if (!done.has(k) && expect(k)) {
        done.add(k);
        converged++;
      }
    });

    // (a) first start, no slices yet
    let t0 = performance.now();
    let c = controllersSet();
    let running = await startControllers(kcm, settings, c.all);
    const synced = performance.now() - t0;
    await until(() => converged === services, 300_000, 'all slices');
    const first = performance.now() - t0;
    await until(() => c.endpoints.pending() === 0 && c.slices.pending() === 0, 120_000, 'idle controllers');
    let st = c.slices.stats();
    let est = c.endpoints.stats();
    rows.push({
      metric: `first start, no slices yet: controllers started → every slice seen correct by a watcher (10,000 Services × 2 pods; ${st.creates} slices and ${est.creates} Endpoints created)`,
      svcnet: s(first),
      target: '≤ 10 s',
      ratio: first <= 10_000 ? 'target met' : 'target missed',
    });
    notes.push(`First start: listing and caching the objects (informers synced) took ${s(synced)} of it.`);
    await running.stop();

    // (b) restart with everything right
    t0 = performance.now();
    c = controllersSet();
    running = await startControllers(kcm, settings, c.all);
    await until(() => c.slices.stats().syncs >= services && c.slices.pending() === 0 && c.endpoints.stats().syncs >= services && c.endpoints.pending() === 0, 300_000, 'the restart');
    const warm = performance.now() - t0;
    st = c.slices.stats();
    est = c.endpoints.stats();
    const writes = st.creates + st.updates + st.deletes + est.creates + est.updates + est.deletes;
    rows.push({
      metric: `restart with every slice right: controllers started → every Service synced, queues empty (${st.syncs} slice syncs)`,
      svcnet: s(warm),
      target: '≤ 10 s',
      ratio: warm <= 10_000 ? 'target met' : 'target missed',
    });
    rows.push({ metric: 'writes made by that restart (slices and Endpoints)', svcnet: String(writes), target: '0', ratio: writes === 0 ? 'target met' : 'target missed' });
    await running.stop();

    // (c) restart after 1,000 pods turned not ready while the controllers were down
    const flipped = Array.from({ length: services / 10 }, (_, n) => n * 20);
    const flippedKeys = new Set(flipped.map((i) => svcKey(Math.floor(i / per))));
    await pool(flipped, 32, async (i) => {
      const p = w.pods[i];
      const cur = await w.client.get<Pod>(Pods, p.metadata!.namespace, p.metadata!.name!);
      await w.client.update<Pod>(Pods, { ...structuredClone(cur), status: status(podIP(i), false, cur.status) }, {}, 'status');
    });
    done.clear();
    converged = 0;
    expect = (k) => flippedKeys.has(k) && watcher.ready(k) === per - 1;
    t0 = performance.now();
    c = controllersSet();
    running = await startControllers(kcm, settings, c.all);
    await until(() => converged === flippedKeys.size, 300_000, 'the changed slices');
    const changed = performance.now() - t0;
    await until(() => c.slices.pending() === 0, 120_000, 'idle controllers');
    st = c.slices.stats();
    rows.push({
      metric: `restart after 1,000 pods turned not ready while down: controllers started → all 1,000 changes seen (${st.updates} slice updates)`,
      svcnet: s(changed),
      target: '≤ 10 s',
      ratio: changed <= 10_000 ? 'target met' : 'target missed',
    });
    await running.stop();
    watcher.stop();
    if (!keys.every((k) => watcher.byService.has(k))) throw new Error('a Service has no slice');
  } finally {
    await stopWorld(w);
  }
}

export async function run(): Promise<Section> {
  const rows: Row[] = [];
  const notes: string[] = [];
  // SVCNET_BENCH_ONLY=latency|convergence runs one part (for trials).
  const only = process.env.SVCNET_BENCH_ONLY;
  const loadBefore = loadavg()[0];
  if (!only || only === 'latency') await latency(rows, notes);
  if (!only || only === 'convergence') await convergence(rows, notes);
  notes.push(`Machine load average (1 min) ${loadBefore.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end: other work shared the 2 cores, so the figures carry that noise.`);
  return {
    area: 'controllers',
    title: 'Controllers: EndpointSlices',
    method: [
      "svcnet's API server in process on its SQLite store (as `svcnet server`), with the EndpointSlice, Endpoints and mirroring controllers (defaults: 5 workers each, 100 endpoints per slice).",
      'Pods are written through the API as a kubelet would (create with spec.nodeName, then a status write with the IP and the Ready condition); 20 Nodes in 3 zones; Services spread over 10 namespaces.',
      'Latency: 1,000 Services × 10 pods; one readiness flip at a time (random pod, 5 ms apart), timed from just before the status write until each watcher sees the endpoint with the new condition.',
      'Convergence: 10,000 Services × 2 pods (20,000 pods), everything written while no controller runs, then the controllers are started (each start lists and caches everything anew).',
    ].join(' '),
    rows,
    notes: scale === 1 ? notes : [`SCALED DOWN by SVCNET_BENCH_SCALE=${scale}: the labels above name the full sizes, the run used ${scale} of them.`, ...notes],
  };
}
