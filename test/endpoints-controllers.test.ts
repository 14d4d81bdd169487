// The EndpointSlice, Endpoints and mirroring controllers against a real API server (in process,
// memory store, dual-stack Service CIDRs), with pods created and updated through the API as a
// kubelet would; and once through `bin/svcnet server` with the real kubectl and the seed's
// MLflow Service.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container, Endpoints, Event, Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { parseAllDocuments } from 'yaml';
import { EndpointSlices, Endpoints as EndpointsResource, Events, Namespaces, Nodes, Pods, Services } from '../src/api/index.ts';
import type { Client } from '../src/client/index.ts';
import { examplesDir, kubectl, startSvcnet, type Svcnet } from './lib/svcnet.ts';
import { untilPasses } from '../src/util/index.ts';

process.env.SVCNET_LOG_LEVEL ??= 'warn';
const { startServer } = await import('../src/apiserver/index.ts');
const { MemoryStore } = await import('../src/store/index.ts');
const { startControllers } = await import('../src/controllers/index.ts');
const { EndpointSliceController } = await import('../src/controllers/endpointslice/index.ts');
const { EndpointsController } = await import('../src/controllers/endpoints/index.ts');
const { EndpointSliceMirroringController } = await import('../src/controllers/endpointslicemirroring/index.ts');

type Running = Awaited<ReturnType<typeof startControllers>>;

const serviceCIDRs = ['10.96.0.0/16', 'fd00:10:96::/112'];
let dir: string;
let server: Awaited<ReturnType<typeof startServer>>;
let client: Client;
let controllers: Running;
let sliceController: InstanceType<typeof EndpointSliceController>;
let nsCount = 0;

function newControllers() {
  sliceController = new EndpointSliceController({ sliceChangeDelayMs: 200 });
  return [sliceController, new EndpointsController(), new EndpointSliceMirroringController()];
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'svcnet-endpoints-'));
  server = await startServer({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', store: new MemoryStore(), serviceCIDRs, loopbackAddresses: true });
  client = server.client('test', 'test');
  controllers = await startControllers(server.client('system:kube-controller-manager', 'kube-controller-manager'), { serviceCIDRs, clusterDomain: 'cluster.local', mode: 'host' }, newControllers());
  await node('node-a', 'zone-a');
  await node('node-b', 'zone-b');
});

after(async () => {
  await controllers?.stop();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- helpers ----

async function namespace(): Promise<string> {
  const name = `ep-${++nsCount}`;
  await client.create(Namespaces, undefined, { metadata: { name } });
  return name;
}

async function node(name: string, zone?: string): Promise<Node> {
  return client.create<Node>(Nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: zone ? { 'topology.kubernetes.io/zone': zone } : {} } });
}

interface PodOptions {
  labels?: Record<string, string>;
  ips?: string[];
  ready?: boolean;
  nodeName?: string;
  ports?: Container['ports'];
  hostname?: string;
  subdomain?: string;
}

async function pod(ns: string, name: string, o: PodOptions = {}): Promise<Pod> {
  const created = await client.create<Pod>(Pods, ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: o.labels ?? { app: 'web' } },
    spec: {
      nodeName: o.nodeName ?? 'node-a',
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
      containers: [{ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', ports: o.ports ?? [{ name: 'http', containerPort: 8080 }] }],
    },
  });
  if (!o.ips) return created;
  return setStatus(created, o.ips, o.ready ?? true);
}

/** Writes the pod's status as a kubelet would: Running, its IPs, Ready or not. */
async function setStatus(p: Pod, ips: string[], ready: boolean): Promise<Pod> {
  const cur = await client.get<Pod>(Pods, p.metadata!.namespace, p.metadata!.name!);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const status = {
    ...structuredClone(cur.status),
    phase: 'Running',
    podIP: ips[0],
    podIPs: ips.map((ip) => ({ ip })),
    conditions: [
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: now },
    ],
    containerStatuses: [{ name: 'c', image: 'agnhost', imageID: '', ready, restartCount: 0, started: true, state: { running: { startedAt: now } } }],
  };
  return client.update<Pod>(Pods, { ...structuredClone(cur), status }, {}, 'status');
}

async function service(ns: string, name: string, spec: Service['spec'], labels?: Record<string, string>): Promise<Service> {
  return client.create<Service>(Services, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name, ...(labels ? { labels } : {}) }, spec });
}

async function slicesOf(ns: string, svc: string): Promise<EndpointSlice[]> {
  const l = await client.list<EndpointSlice>(EndpointSlices, ns, { labelSelector: `kubernetes.io/service-name=${svc}` });
  return l.items;
}

async function endpointsOf(ns: string, name: string): Promise<Endpoints | undefined> {
  try {
    return await client.get<Endpoints>(EndpointsResource, ns, name);
  } catch {
    return undefined;
  }
}

/** Retries the check until it passes (or the time is up, then fails with its last error). */
/** Every endpoint of the Service's slices, as "address ready/serving/terminating". */
async function endpointSummary(ns: string, svc: string): Promise<string[]> {
  const out: string[] = [];
  for (const s of await slicesOf(ns, svc)) {
    for (const e of s.endpoints ?? []) out.push(`${e.addresses.join(',')} ${e.conditions?.ready}/${e.conditions?.serving}/${e.conditions?.terminating}`);
  }
  return out.sort();
}

/** The Endpoints as "ip:port" (ready) and "~ip:port" (not ready), as kubectl shows ready ones. */
async function endpointsSummary(ns: string, name: string): Promise<string[]> {
  const ep = await endpointsOf(ns, name);
  if (!ep) return ['<missing>'];
  const out: string[] = [];
  for (const s of ep.subsets ?? []) {
    for (const p of s.ports ?? [{ port: 0 }]) {
      for (const a of s.addresses ?? []) out.push(`${a.ip}:${p.port}`);
      for (const a of s.notReadyAddresses ?? []) out.push(`~${a.ip}:${p.port}`);
    }
  }
  return out.sort();
}

const web = (extra: Partial<NonNullable<Service['spec']>> = {}): Service['spec'] => ({ selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }], ...extra });

// ---- tests ----

test('a Service gets one EndpointSlice of its ready pods, shaped as the EndpointSlice controller writes it', async () => {
  const ns = await namespace();
  const svc = await service(ns, 'web', web(), { tier: 'front' });
  await pod(ns, 'web-1', { ips: ['10.244.1.1'], nodeName: 'node-a' });
  await pod(ns, 'web-2', { ips: ['10.244.1.2'], nodeName: 'node-b' });
  const slices = await untilPasses(async () => {
    const s = await slicesOf(ns, 'web');
    assert.equal(s.length, 1);
    assert.equal(s[0].endpoints?.length, 2);
    return s;
  });
  const s = slices[0];
  assert.match(s.metadata!.name!, /^web-[a-z0-9]{5}$/);
  assert.equal(s.metadata!.generateName, 'web-');
  assert.deepEqual(s.metadata!.labels, { tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
  assert.deepEqual(s.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: svc.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  assert.match(s.metadata!.annotations!['endpoints.kubernetes.io/last-change-trigger-time'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(s.addressType, 'IPv4');
  assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  const byIP = new Map(s.endpoints.map((e) => [e.addresses[0], e]));
  assert.deepEqual(byIP.get('10.244.1.2'), {
    addresses: ['10.244.1.2'],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: 'node-b',
    zone: 'zone-b',
    targetRef: { kind: 'Pod', namespace: ns, name: 'web-2', uid: (await client.get<Pod>(Pods, ns, 'web-2')).metadata!.uid },
  });
  assert.deepEqual(await endpointsSummary(ns, 'web'), ['10.244.1.1:8080', '10.244.1.2:8080']);
  const ep = await endpointsOf(ns, 'web');
  assert.deepEqual(ep!.metadata!.labels, { tier: 'front' });
  assert.equal(ep!.subsets![0].addresses![0].targetRef!.name, 'web-1');
  assert.equal(ep!.subsets![0].addresses![0].nodeName, 'node-a');
});

test('readiness flips move a pod between ready and not ready', async () => {
  const ns = await namespace();
  await service(ns, 'web', web());
  const p = await pod(ns, 'web-1', { ips: ['10.244.2.1'], ready: false });
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.2.1 false/false/false']));
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), ['~10.244.2.1:8080']));
  const sliceName = (await slicesOf(ns, 'web'))[0].metadata!.name;
  await setStatus(p, ['10.244.2.1'], true);
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.2.1 true/true/false']));
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), ['10.244.2.1:8080']));
  // Updated in place, not replaced.
  assert.equal((await slicesOf(ns, 'web'))[0].metadata!.name, sliceName);
  await setStatus(p, ['10.244.2.1'], false);
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.2.1 false/false/false']));
});

test('a named targetPort resolves per pod, and pods with different numbers for it get different slices', async () => {
  const ns = await namespace();
  await service(ns, 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web-port' }, { name: 'metrics', port: 9090, targetPort: 9090 }] });
  await pod(ns, 'a', { ips: ['10.244.3.1'], ports: [{ name: 'web-port', containerPort: 8080 }] });
  await pod(ns, 'b', { ips: ['10.244.3.2'], ports: [{ name: 'web-port', containerPort: 8080 }] });
  await pod(ns, 'c', { ips: ['10.244.3.3'], ports: [{ name: 'web-port', containerPort: 9000 }] });
  // No port of that name: the pod serves only the numeric port.
  await pod(ns, 'd', { ips: ['10.244.3.4'], ports: [{ name: 'other', containerPort: 7000 }] });
  const slices = await untilPasses(async () => {
    const s = await slicesOf(ns, 'web');
    assert.equal(s.length, 3);
    assert.equal(s.reduce((n, x) => n + x.endpoints.length, 0), 4);
    return s;
  });
  const byPorts = new Map(slices.map((s) => [JSON.stringify(s.ports), s.endpoints.map((e) => e.addresses[0]).sort()]));
  assert.deepEqual(
    byPorts,
    new Map([
      [JSON.stringify([{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }]), ['10.244.3.1', '10.244.3.2']],
      [JSON.stringify([{ name: 'http', port: 9000, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }]), ['10.244.3.3']],
      [JSON.stringify([{ name: 'metrics', port: 9090, protocol: 'TCP' }]), ['10.244.3.4']],
    ]),
  );
  const ep = await endpointsOf(ns, 'web');
  const flat = (ep!.subsets ?? []).flatMap((s) => (s.ports ?? []).flatMap((p) => (s.addresses ?? []).map((a) => `${p.name}:${a.ip}:${p.port}`))).sort();
  assert.deepEqual(flat, [
    'http:10.244.3.1:8080',
    'http:10.244.3.2:8080',
    'http:10.244.3.3:9000',
    'metrics:10.244.3.1:9090',
    'metrics:10.244.3.2:9090',
    'metrics:10.244.3.3:9090',
    'metrics:10.244.3.4:9090',
  ]);
});

test('more than 100 pods are split over slices of at most 100 endpoints', async () => {
  const ns = await namespace();
  await service(ns, 'big', { selector: { app: 'big' }, ports: [{ port: 80, targetPort: 8080 }] });
  await Promise.all(Array.from({ length: 230 }, (_, i) => pod(ns, `big-${i}`, { labels: { app: 'big' }, ips: [`10.245.${Math.floor(i / 200)}.${(i % 200) + 1}`] })));
  const slices = await untilPasses(async () => {
    const s = await slicesOf(ns, 'big');
    assert.equal(s.reduce((n, x) => n + x.endpoints.length, 0), 230);
    return s;
  }, 15_000);
  assert.ok(slices.length >= 3, `${slices.length} slices`);
  for (const s of slices) assert.ok(s.endpoints.length <= 100, `${s.endpoints.length} endpoints in one slice`);
  assert.equal(new Set(slices.flatMap((s) => s.endpoints.map((e) => e.addresses[0]))).size, 230);
  const ep = await untilPasses(async () => {
    const e = await endpointsOf(ns, 'big');
    assert.equal(e?.subsets?.[0]?.addresses?.length, 230);
    return e;
  });
  assert.equal(ep.metadata!.annotations?.['endpoints.kubernetes.io/over-capacity'], undefined);
});

test('a terminating pod stays in its slice as serving and terminating, and leaves the Endpoints', async () => {
  const ns = await namespace();
  await service(ns, 'web', web());
  await pod(ns, 'web-1', { ips: ['10.244.4.1'] });
  await pod(ns, 'web-2', { ips: ['10.244.4.2'] });
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), ['10.244.4.1:8080', '10.244.4.2:8080']));
  await client.delete(Pods, ns, 'web-1', { gracePeriodSeconds: 30 });
  assert.ok((await client.get<Pod>(Pods, ns, 'web-1')).metadata!.deletionTimestamp, 'the API server keeps the pod terminating');
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.4.1 false/true/true', '10.244.4.2 true/true/false']));
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), ['10.244.4.2:8080']));
  await client.delete(Pods, ns, 'web-1', { gracePeriodSeconds: 0 });
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.4.2 true/true/false']));
});

test('publishNotReadyAddresses makes not-ready and terminating pods ready endpoints', async () => {
  const ns = await namespace();
  await service(ns, 'web', web({ publishNotReadyAddresses: true }));
  await pod(ns, 'web-1', { ips: ['10.244.5.1'], ready: false });
  await pod(ns, 'web-2', { ips: ['10.244.5.2'] });
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.5.1 true/false/false', '10.244.5.2 true/true/false']));
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), ['10.244.5.1:8080', '10.244.5.2:8080']));
  await client.delete(Pods, ns, 'web-2', { gracePeriodSeconds: 30 });
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.5.1 true/false/false', '10.244.5.2 true/true/true']));
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), ['10.244.5.1:8080', '10.244.5.2:8080']));
});

test('a selector change moves the Service to other pods', async () => {
  const ns = await namespace();
  const svc = await service(ns, 'web', web());
  await pod(ns, 'blue', { labels: { app: 'web', color: 'blue' }, ips: ['10.244.6.1'] });
  await pod(ns, 'green', { labels: { app: 'web', color: 'green' }, ips: ['10.244.6.2'] });
  await untilPasses(async () => assert.equal((await endpointSummary(ns, 'web')).length, 2));
  const cur = await client.get<Service>(Services, ns, 'web');
  await client.update(Services, { ...structuredClone(cur), spec: { ...structuredClone(cur.spec), selector: { app: 'web', color: 'green' } } });
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.6.2 true/true/false']));
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), ['10.244.6.2:8080']));
  assert.ok(svc.metadata?.uid);
});

test('a relabelled pod leaves one Service and joins another', async () => {
  const ns = await namespace();
  await service(ns, 'web', web());
  await service(ns, 'api', { selector: { app: 'api' }, ports: [{ port: 80, targetPort: 8080 }] });
  await pod(ns, 'p', { ips: ['10.244.7.1'] });
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.7.1 true/true/false']));
  const cur = await client.get<Pod>(Pods, ns, 'p');
  await client.update(Pods, { ...structuredClone(cur), metadata: { ...structuredClone(cur.metadata), labels: { app: 'api' } } });
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'api'), ['10.244.7.1 true/true/false']));
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), []));
  // A Service without endpoints keeps one empty slice.
  const placeholder = await slicesOf(ns, 'web');
  assert.equal(placeholder.length, 1);
  assert.deepEqual(placeholder[0].ports ?? [], []);
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), []));
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'api'), ['10.244.7.1:8080']));
});

test('a deleted pod is removed, and a deleted Service takes its slices and Endpoints along', async () => {
  const ns = await namespace();
  await service(ns, 'web', web());
  await pod(ns, 'web-1', { ips: ['10.244.8.1'] });
  await pod(ns, 'web-2', { ips: ['10.244.8.2'] });
  await untilPasses(async () => assert.equal((await endpointSummary(ns, 'web')).length, 2));
  await client.delete(Pods, ns, 'web-1', { gracePeriodSeconds: 0 });
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.8.2 true/true/false']));
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), ['10.244.8.2:8080']));
  await client.delete(Services, ns, 'web');
  await untilPasses(async () => assert.deepEqual(await slicesOf(ns, 'web'), []));
  await untilPasses(async () => assert.equal(await endpointsOf(ns, 'web'), undefined));
});

test('a pod with a hostname and a subdomain naming the Service gets an endpoint hostname', async () => {
  const ns = await namespace();
  await service(ns, 'db', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] });
  await pod(ns, 'db-0', { labels: { app: 'db' }, ips: ['10.244.9.1'], hostname: 'db-0', subdomain: 'db' });
  await pod(ns, 'db-1', { labels: { app: 'db' }, ips: ['10.244.9.2'], hostname: 'db-1', subdomain: 'other' });
  const s = await untilPasses(async () => {
    const x = await slicesOf(ns, 'db');
    assert.equal(x[0]?.endpoints.length, 2);
    return x[0];
  });
  assert.equal(s.metadata!.labels!['service.kubernetes.io/headless'], '');
  const host = new Map(s.endpoints.map((e) => [e.addresses[0], e.hostname]));
  assert.deepEqual([...host].sort(), [
    ['10.244.9.1', 'db-0'],
    ['10.244.9.2', undefined],
  ]);
  const ep = await untilPasses(async () => {
    const e = await endpointsOf(ns, 'db');
    assert.equal(e?.subsets?.[0]?.addresses?.length, 2);
    return e;
  });
  assert.equal(ep.metadata!.labels!['service.kubernetes.io/headless'], '');
  assert.deepEqual(ep.subsets![0].addresses!.map((a) => a.hostname), ['db-0', undefined]);
});

test('a dual-stack Service gets one slice per IP family; its Endpoints hold the primary family', async () => {
  const ns = await namespace();
  const svc = await service(ns, 'web', web({ ipFamilyPolicy: 'RequireDualStack' }));
  assert.deepEqual(svc.spec!.ipFamilies, ['IPv4', 'IPv6']);
  await pod(ns, 'web-1', { ips: ['10.244.10.1', 'fd00:244::a:1'] });
  await pod(ns, 'web-2', { ips: ['10.244.10.2', 'fd00:244::a:2'] });
  const slices = await untilPasses(async () => {
    const s = await slicesOf(ns, 'web');
    assert.equal(s.length, 2);
    assert.ok(s.every((x) => x.endpoints.length === 2));
    return s;
  });
  const byType = new Map(slices.map((s) => [s.addressType, s.endpoints.map((e) => e.addresses[0]).sort()]));
  assert.deepEqual(byType.get('IPv4'), ['10.244.10.1', '10.244.10.2']);
  assert.deepEqual(byType.get('IPv6'), ['fd00:244::a:1', 'fd00:244::a:2']);
  await untilPasses(async () => assert.deepEqual(await endpointsSummary(ns, 'web'), ['10.244.10.1:8080', '10.244.10.2:8080']));
});

test('a pod on a Node that does not exist waits for it, with a FailedToUpdateEndpointSlices Event', async () => {
  const ns = await namespace();
  await service(ns, 'web', web());
  await pod(ns, 'web-1', { ips: ['10.244.11.1'], nodeName: 'node-late' });
  await pod(ns, 'web-2', { ips: ['10.244.11.2'] });
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.11.2 true/true/false']));
  const ev = await untilPasses(async () => {
    const evs = (await client.list<Event>(Events, ns)).items.filter((e) => e.reason === 'FailedToUpdateEndpointSlices');
    assert.equal(evs.length, 1);
    return evs[0];
  });
  assert.equal(ev.type, 'Warning');
  assert.equal(ev.involvedObject.kind, 'Service');
  assert.equal(ev.involvedObject.name, 'web');
  assert.equal(ev.source?.component, 'endpoint-slice-controller');
  assert.equal(ev.message, `Error updating Endpoint Slices for Service ${ns}/web: skipping Pod web-1 for Service ${ns}/web: Node node-late Not Found`);
  await node('node-late', 'zone-c');
  await untilPasses(async () => assert.deepEqual(await endpointSummary(ns, 'web'), ['10.244.11.1 true/true/false', '10.244.11.2 true/true/false']));
  const late = (await slicesOf(ns, 'web'))[0].endpoints.find((e) => e.addresses[0] === '10.244.11.1');
  assert.equal(late?.zone, 'zone-c');
});

test('user-written Endpoints of a Service without a selector are mirrored to an EndpointSlice', async () => {
  const ns = await namespace();
  await service(ns, 'db', { ports: [{ name: 'pg', port: 5432 }] });
  const ep = await client.create<Endpoints>(EndpointsResource, ns, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'db', labels: { team: 'data' } },
    subsets: [{ addresses: [{ ip: '192.0.2.10' }, { ip: '192.0.2.11' }], notReadyAddresses: [{ ip: '192.0.2.12' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }],
  });
  const s = await untilPasses(async () => {
    const x = await slicesOf(ns, 'db');
    assert.equal(x.length, 1);
    assert.equal(x[0].endpoints.length, 3);
    return x[0];
  });
  assert.deepEqual(s.metadata!.labels, { team: 'data', 'kubernetes.io/service-name': 'db', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' });
  assert.deepEqual(s.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'Endpoints', name: 'db', uid: ep.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(s.ports, [{ name: 'pg', port: 5432, protocol: 'TCP' }]);
  assert.deepEqual(
    s.endpoints.map((e) => `${e.addresses[0]} ${e.conditions?.ready}`).sort(),
    ['192.0.2.10 true', '192.0.2.11 true', '192.0.2.12 false'],
  );
  // The Endpoints controller leaves user-written Endpoints alone.
  assert.deepEqual(await endpointsSummary(ns, 'db'), ['192.0.2.10:5432', '192.0.2.11:5432', '~192.0.2.12:5432']);

  const cur = await client.get<Endpoints>(EndpointsResource, ns, 'db');
  await client.update(EndpointsResource, { ...structuredClone(cur), subsets: [{ addresses: [{ ip: '192.0.2.20' }], ports: [{ name: 'pg', port: 5433, protocol: 'TCP' }] }] });
  await untilPasses(async () => {
    const x = await slicesOf(ns, 'db');
    assert.equal(x.length, 1);
    assert.deepEqual(x[0].ports, [{ name: 'pg', port: 5433, protocol: 'TCP' }]);
    assert.deepEqual(x[0].endpoints.map((e) => e.addresses[0]), ['192.0.2.20']);
  });

  await client.delete(EndpointsResource, ns, 'db');
  await untilPasses(async () => assert.deepEqual(await slicesOf(ns, 'db'), []));
});

test('Endpoints labelled skip-mirror, and the API server\'s own kubernetes Endpoints, are not mirrored', async () => {
  const ns = await namespace();
  await service(ns, 'ext', { ports: [{ port: 443 }] });
  await client.create<Endpoints>(EndpointsResource, ns, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'ext', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: '192.0.2.30' }], ports: [{ port: 443, protocol: 'TCP' }] }],
  });
  // A mirrored sibling shows the controller has had its chance.
  await service(ns, 'ext2', { ports: [{ port: 443 }] });
  await client.create<Endpoints>(EndpointsResource, ns, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'ext2' },
    subsets: [{ addresses: [{ ip: '192.0.2.31' }], ports: [{ port: 443, protocol: 'TCP' }] }],
  });
  await untilPasses(async () => assert.equal((await slicesOf(ns, 'ext2')).length, 1));
  assert.deepEqual(await slicesOf(ns, 'ext'), []);
  const kube = await client.list<EndpointSlice>(EndpointSlices, 'default', { labelSelector: 'kubernetes.io/service-name=kubernetes' });
  assert.deepEqual(
    kube.items.map((s) => s.metadata?.labels?.['endpointslice.kubernetes.io/managed-by']),
    [undefined],
    'only the API server\'s own slice',
  );
});

test('a restart of the controllers converges without rewriting slices or Endpoints that are right', async () => {
  const ns = await namespace();
  await service(ns, 'web', web());
  await service(ns, 'api', web({ selector: { app: 'api' } }));
  for (let i = 0; i < 5; i++) await pod(ns, `web-${i}`, { ips: [`10.244.12.${i + 1}`] });
  await untilPasses(async () => assert.equal((await endpointSummary(ns, 'web')).length, 5));
  await untilPasses(async () => assert.equal((await endpointsSummary(ns, 'web')).length, 5));
  await untilPasses(async () => assert.equal((await slicesOf(ns, 'api')).length, 1));
  await sleep(300);
  const before = new Map((await client.list<EndpointSlice>(EndpointSlices, undefined)).items.map((s) => [s.metadata!.name!, s.metadata!.resourceVersion]));
  const epBefore = new Map((await client.list<Endpoints>(EndpointsResource, undefined)).items.map((s) => [`${s.metadata!.namespace}/${s.metadata!.name}`, s.metadata!.resourceVersion]));
  await controllers.stop();
  controllers = await startControllers(server.client('system:kube-controller-manager', 'kube-controller-manager'), { serviceCIDRs, clusterDomain: 'cluster.local', mode: 'host' }, newControllers());
  await untilPasses(async () => {
    assert.ok(sliceController.stats().syncs > 0);
    assert.equal(sliceController.pending(), 0);
  });
  await sleep(300);
  const stats = sliceController.stats();
  assert.deepEqual({ creates: stats.creates, updates: stats.updates, deletes: stats.deletes }, { creates: 0, updates: 0, deletes: 0 });
  const after = new Map((await client.list<EndpointSlice>(EndpointSlices, undefined)).items.map((s) => [s.metadata!.name!, s.metadata!.resourceVersion]));
  const epAfter = new Map((await client.list<Endpoints>(EndpointsResource, undefined)).items.map((s) => [`${s.metadata!.namespace}/${s.metadata!.name}`, s.metadata!.resourceVersion]));
  assert.deepEqual(after, before);
  assert.deepEqual(epAfter, epBefore);
});

test('with the seed\'s MLflow Service applied by kubectl, kubectl lists both pods as IP:5000 in Endpoints and EndpointSlices', async () => {
  const s: Svcnet = await startSvcnet();
  try {
    const k = (args: string[], input?: string) => kubectl(s, args, input === undefined ? {} : { input });
    const docs = parseAllDocuments(readFileSync(join(examplesDir, '05-mlflow-deployment.yaml'), 'utf8')).map((d) => d.toJSON() as { kind: string; spec?: { template?: { metadata?: { labels?: Record<string, string> } } } });
    const deployment = docs.find((d) => d.kind === 'Deployment')!;
    const labels = deployment.spec!.template!.metadata!.labels!;
    const svcDoc = docs.find((d) => d.kind === 'Service')!;
    let r = await k(['create', 'namespace', 'mlflow']);
    assert.equal(r.code, 0, r.stderr);
    r = await k(['apply', '-f', '-'], JSON.stringify(svcDoc));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /service\/mlflow-service created/);
    r = await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker1' } }));
    assert.equal(r.code, 0, r.stderr);
    // Two pods as the Deployment would make them, on a node, with what the kubelet reports.
    const ips = ['10.244.1.5', '10.244.2.7'];
    for (const [i, ip] of ips.entries()) {
      const name = `mlflow-abc12-${i}`;
      const podDoc = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'mlflow', labels }, spec: { nodeName: 'worker1', containers: [{ name: 'mlflow', image: 'mlflow/mlflow', ports: [{ containerPort: 5000 }] }] } };
      r = await k(['apply', '-f', '-'], JSON.stringify(podDoc));
      assert.equal(r.code, 0, r.stderr);
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const status = {
        status: {
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
          containerStatuses: [{ name: 'mlflow', image: 'mlflow/mlflow', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } }],
        },
      };
      r = await k(['patch', 'pod', name, '-n', 'mlflow', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
      assert.equal(r.code, 0, r.stderr);
    }
    const out = await untilPasses(async () => {
      const g = await k(['get', 'endpoints', 'mlflow-service', '-n', 'mlflow']);
      assert.equal(g.code, 0, g.stderr);
      assert.match(g.stdout, /10\.244\.1\.5:5000,10\.244\.2\.7:5000/);
      return g.stdout;
    }, 15_000);
    assert.match(out, /^NAME\s+ENDPOINTS\s+AGE\n/);
    assert.match(out, /^mlflow-service\s+10\.244\.1\.5:5000,10\.244\.2\.7:5000\s+\S+/m);
    const slices = await untilPasses(async () => {
      const g = await k(['get', 'endpointslices', '-n', 'mlflow']);
      assert.equal(g.code, 0, g.stderr);
      assert.match(g.stdout, /^mlflow-service-[a-z0-9]{5}\s+IPv4\s+5000\s+10\.244\.(1\.5,10\.244\.2\.7|2\.7,10\.244\.1\.5)\s+\S+/m);
      return g.stdout;
    }, 15_000);
    assert.match(slices, /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE\n/);
  } finally {
    await s.stop();
    s.cleanup();
  }
});
