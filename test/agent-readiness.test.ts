// Readiness drives the Service, end to end with the real node agent (host mode, the real
// `bin/svcnet server` and kubectl): a pod whose readiness probe starts failing leaves the
// Service's Endpoints (moved to notReadyAddresses) and turns ready=false in its EndpointSlice
// within periodSeconds × failureThreshold + 1 s (the issue's bound), not before the
// threshold is reached, and the Service's ClusterIP stops sending it traffic; when the probe
// passes again (successThreshold times) it comes back. Once with an exec probe on a
// Deployment's replica, once with an httpGet probe on a lone pod.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import { kubectlOk, startNodeServer, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient } from './lib/apiserver.ts';
import { killPodProcesses, waitFor } from './lib/agent.ts';

const node = 'readiness-node';
const ns = 'readiness';
const flipServer = resolve('test/fixtures/agent/flipserver.py');
/** What issue 4 allows beyond period × threshold for a failing pod to leave the endpoints. */
const leaveMarginMs = 1000;
/** Time a loaded 2-core machine may add on the way back (no figure is asked for). */
const marginMs = 3000;
let s: Svcnet;
let api: ApiClient;
let work: string;

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(s, args, input);

interface ServiceView {
  ready: string[];
  notReady: string[];
  /** EndpointSlice conditions by address. */
  slice: Record<string, { ready?: boolean; serving?: boolean; terminating?: boolean }>;
}

/** What `kubectl get endpoints` and `kubectl get endpointslices` say about a Service. */
async function serviceView(svc: string): Promise<ServiceView> {
  const [ep, sl] = await Promise.all([
    ok(['get', 'endpoints', svc, '-n', ns, '-o', 'json']),
    ok(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${svc}`, '-o', 'json']),
  ]);
  return viewOf(JSON.parse(ep) as Endpoints, (JSON.parse(sl) as { items: EndpointSlice[] }).items);
}

/**
 * The same read straight from the API: a poll takes milliseconds, where a kubectl run takes a
 * few hundred, so it times a change to within a 50 ms poll.
 */
async function serviceViewFromApi(svc: string): Promise<ServiceView> {
  const [e, sl] = await Promise.all([
    api.json<Endpoints>('GET', `/api/v1/namespaces/${ns}/endpoints/${svc}`),
    api.json<{ items: EndpointSlice[] }>('GET', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${svc}`)}`),
  ]);
  return viewOf(e, sl.items);
}

function viewOf(e: Endpoints, slices: EndpointSlice[]): ServiceView {
  const view: ServiceView = { ready: [], notReady: [], slice: {} };
  for (const ss of e.subsets ?? []) {
    view.ready.push(...(ss.addresses ?? []).map((a) => a.ip));
    view.notReady.push(...(ss.notReadyAddresses ?? []).map((a) => a.ip));
  }
  for (const x of slices) for (const ep of x.endpoints) for (const a of ep.addresses) view.slice[a] = ep.conditions ?? {};
  view.ready.sort();
  view.notReady.sort();
  return view;
}

/** What the Service's ClusterIP answers on /hostname, n times (a connection each). */
async function viaService(ip: string, port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await fetch(`http://${ip}:${port}/hostname`, { signal: AbortSignal.timeout(3000), headers: { Connection: 'close' } });
    seen.add(await r.text());
  }
  return seen;
}

interface PodRow {
  name: string;
  ip: string;
}

async function readyPods(selector: string): Promise<PodRow[]> {
  const out = await ok(['get', 'pods', '-n', ns, '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.podIP}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('='))
    .filter(([, ip, r]) => ip && r === 'True')
    .map(([name, ip]) => ({ name: name, ip: ip }));
}

/** Polls until `cond` holds of the Service; returns the ms since `since` at the first poll that saw it. */
async function timeUntil(what: string, svc: string, since: number, cond: (v: ServiceView) => boolean, timeoutMs: number): Promise<{ ms: number; view: ServiceView }> {
  return waitFor(what, async () => {
    const view = await serviceViewFromApi(svc).catch(() => undefined);
    return view && cond(view) ? { ms: Date.now() - since, view } : undefined;
  }, timeoutMs, 50);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'svcnet-agent-readiness-'));
  s = await startNodeServer(node, ns);
  api = apiClient(s);
});

after(async () => {
  api?.close();
  if (s) {
    await s.stop();
    s.cleanup();
  }
  killPodProcesses(work);
  rmSync(work, { recursive: true, force: true });
});

test('an exec readiness probe failing on one replica of a Deployment takes it out of the Service within period × threshold, and back', async (t) => {
  const period = 1;
  const threshold = 3;
  await ok(['apply', '-f', '-'], `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.k8s.io/e2e-test-images/agnhost:2.53
        args: [netexec, --http-port=8080, --udp-port=-1]
        ports: [{containerPort: 8080}]
        readinessProbe:
          exec: {command: [sh, -c, 'test ! -e ${work}/unready-$HOSTNAME']}
          periodSeconds: ${period}
          failureThreshold: ${threshold}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`);
  await ok(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=60s']);
  const pods = await waitFor('two Ready replicas', async () => {
    const p = await readyPods('app=web');
    return p.length === 2 ? p : undefined;
  });
  const [victim, other] = pods as [PodRow, PodRow];
  const clusterIP = await ok(['get', 'svc', 'web', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}']);
  await timeUntil('both replicas in the endpoints', 'web', Date.now(), (v) => v.ready.length === 2, 20_000);
  await waitFor('the ClusterIP reaching both replicas', async () => (await viaService(clusterIP, 80, 10)).size === 2, 20_000);

  const failAt = Date.now();
  writeFileSync(join(work, `unready-${victim.name}`), '');
  const gone = await timeUntil(`${victim.ip} out of the endpoints`, 'web', failAt, (v) => !v.ready.includes(victim.ip) && v.slice[victim.ip]?.ready === false, 30_000);
  const bound = period * threshold * 1000;
  assert.ok(gone.ms <= bound + leaveMarginMs, `${victim.name} left the endpoints ${gone.ms} ms after its probe began failing (period × threshold = ${bound} ms)`);
  assert.ok(gone.ms >= (threshold - 1) * period * 1000, `left after ${gone.ms} ms: before ${threshold} failures could have been counted`);
  assert.deepEqual(gone.view.ready, [other.ip]);
  assert.deepEqual(gone.view.notReady, [victim.ip]);
  assert.deepEqual(await serviceView('web'), gone.view, 'kubectl shows the same: a not-ready address, ready=false in the slice');
  assert.deepEqual(gone.view.slice[victim.ip], { ready: false, serving: false, terminating: false });
  assert.deepEqual(gone.view.slice[other.ip], { ready: true, serving: true, terminating: false });
  const row = await ok(['get', 'pod', victim.name, '-n', ns]);
  assert.match(row, new RegExp(`${victim.name}\\s+0/1\\s+Running\\s+0\\s`), 'unready, not restarted');
  // The node's proxy follows: the ClusterIP sends everything to the ready replica.
  await waitFor('the ClusterIP reaching only the ready replica', async () => {
    const seen = await viaService(clusterIP, 80, 10);
    return seen.size === 1 && seen.has(other.name);
  }, 20_000);

  const passAt = Date.now();
  rmSync(join(work, `unready-${victim.name}`));
  const back = await timeUntil(`${victim.ip} back in the endpoints`, 'web', passAt, (v) => v.ready.includes(victim.ip) && v.slice[victim.ip]?.ready === true, 30_000);
  t.diagnostic(`out of the endpoints after ${gone.ms} ms, back after ${back.ms} ms`);
  assert.ok(back.ms <= period * 1000 + marginMs, `back in the endpoints ${back.ms} ms after its probe passed again`);
  assert.deepEqual(back.view.ready, [victim.ip, other.ip].sort());
  assert.deepEqual(back.view.notReady, []);
  await waitFor('the ClusterIP reaching both replicas again', async () => (await viaService(clusterIP, 80, 10)).size === 2, 20_000);
  await ok(['delete', 'deployment', 'web', '-n', ns]);
});

test('an httpGet readiness probe answering 503 takes a pod out of the Service within period × threshold; successThreshold counts on the way back', async (t) => {
  const period = 1;
  const threshold = 2;
  const flag = join(work, 'probed-unready');
  await ok(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: probed, namespace: ${ns}, labels: {app: probed}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: flipserver
    command: [python3, -u, ${flipServer}]
    env:
    - {name: UNREADY_FLAG, value: ${flag}}
    - {name: PORT, value: "8080"}
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /ready, port: http}
      periodSeconds: ${period}
      failureThreshold: ${threshold}
      successThreshold: 2
---
apiVersion: v1
kind: Service
metadata: {name: probed, namespace: ${ns}}
spec:
  selector: {app: probed}
  ports: [{port: 80, targetPort: http}]
`);
  const [pod] = await waitFor('the pod Ready', async () => {
    const p = await readyPods('app=probed');
    return p.length === 1 ? p : undefined;
  });
  const ip = pod.ip;
  await timeUntil('the pod in the endpoints', 'probed', Date.now(), (v) => v.ready.includes(ip), 20_000);

  const failAt = Date.now();
  writeFileSync(flag, '');
  const gone = await timeUntil(`${ip} out of the endpoints`, 'probed', failAt, (v) => v.ready.length === 0 && v.notReady.includes(ip) && v.slice[ip]?.ready === false, 30_000);
  const bound = period * threshold * 1000;
  assert.ok(gone.ms <= bound + leaveMarginMs, `left the endpoints ${gone.ms} ms after the probe began failing (period × threshold = ${bound} ms)`);
  assert.ok(gone.ms >= (threshold - 1) * period * 1000, `left after ${gone.ms} ms: before ${threshold} failures could have been counted`);
  assert.deepEqual(gone.view.slice[ip], { ready: false, serving: false, terminating: false });
  const ev = await ok(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=probed,reason=Unhealthy', '-o', 'jsonpath={.items[*].message}']);
  assert.match(ev, /Readiness probe failed: HTTP probe failed with statuscode: 503/);

  const passAt = Date.now();
  rmSync(flag);
  const back = await timeUntil(`${ip} back in the endpoints`, 'probed', passAt, (v) => v.ready.includes(ip) && v.slice[ip]?.ready === true, 30_000);
  t.diagnostic(`out of the endpoints after ${gone.ms} ms, back after ${back.ms} ms`);
  assert.ok(back.ms >= period * 1000, `back after ${back.ms} ms: before two successes (successThreshold 2) could have been counted`);
  assert.ok(back.ms <= 2 * period * 1000 + marginMs, `back in the endpoints ${back.ms} ms after the probe passed again`);
  await ok(['delete', 'pod', 'probed', '-n', ns]);
});
