// The EndpointSlice reconciler as a table: a Service, its pods, the Nodes and the slices that
// exist in; the slices to create, update and delete out.
//
// Address plan: pods 10.0.0.0/16 and fd00::/64; nodes node-a (zone-a), node-b (zone-b);
// Service "web" in "ns" (uid svc-uid), port "http" 80 → targetPort "http".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { reconcile, type ReconcileInput, type SliceChanges } from './reconciler.ts';

const nodes = new Map<string, Node>([
  ['node-a', { metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' } } }],
  ['node-b', { metadata: { name: 'node-b', labels: { 'topology.kubernetes.io/zone': 'zone-b' } } }],
]);

function svc(spec: Partial<NonNullable<Service['spec']>> = {}, meta: Partial<NonNullable<Service['metadata']>> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'ns', uid: 'svc-uid', creationTimestamp: '2026-01-01T00:00:00Z', ...meta },
    spec: { clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }], ...spec },
  };
}

interface PodOpts {
  ips?: string[];
  ready?: boolean;
  node?: string;
  port?: number;
  terminating?: boolean;
  phase?: string;
  hostname?: string;
  subdomain?: string;
}

function pod(name: string, o: PodOpts = {}): Pod {
  const ips = o.ips ?? [];
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: { app: 'web' }, ...(o.terminating ? { deletionTimestamp: '2026-01-01T00:01:00Z' } : {}) },
    spec: {
      nodeName: o.node ?? 'node-a',
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
      containers: [{ name: 'c', image: 'i', ports: [{ name: 'http', containerPort: o.port ?? 8080, protocol: 'TCP' }] }],
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      conditions: [{ type: 'Ready', status: (o.ready ?? true) ? 'True' : 'False' }],
    },
  };
}

/** A pod's endpoint as the reconciler writes it. */
function ep(name: string, ip: string, o: { ready?: boolean; serving?: boolean; terminating?: boolean; node?: string; zone?: string | null; hostname?: string } = {}): Endpoint {
  const node = o.node ?? 'node-a';
  const zone = o.zone === null ? undefined : (o.zone ?? (node === 'node-b' ? 'zone-b' : 'zone-a'));
  const e: Endpoint = {
    addresses: [ip],
    conditions: { ready: o.ready ?? true, serving: o.serving ?? o.ready ?? true, terminating: o.terminating ?? false },
    targetRef: { kind: 'Pod', namespace: 'ns', name, uid: `uid-${name}` },
    nodeName: node,
  };
  if (zone) e.zone = zone;
  if (o.hostname) e.hostname = o.hostname;
  return e;
}

const managedLabels = { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' };
const ownerRef = { apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true };
const httpPorts = (port = 8080) => [{ name: 'http', port, protocol: 'TCP' }];

/** An existing slice as the API server would return it. */
function slice(name: string, endpoints: Endpoint[], o: { ports?: EndpointSlice['ports']; addressType?: string; labels?: Record<string, string>; owner?: string } = {}): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: 'ns',
      generateName: 'web-',
      uid: `uid-${name}`,
      resourceVersion: '7',
      generation: 1,
      labels: o.labels ?? managedLabels,
      ownerReferences: [{ ...ownerRef, uid: o.owner ?? 'svc-uid' }],
    },
    addressType: o.addressType ?? 'IPv4',
    endpoints,
    ports: o.ports ?? httpPorts(),
  };
}

function run(service: Service, pods: Pod[], existing: EndpointSlice[] = [], extra: Partial<ReconcileInput> = {}): SliceChanges {
  return reconcile({ service, pods, existingSlices: existing, nodeByName: (n) => nodes.get(n), triggerTime: '2026-01-01T00:00:05Z', ...extra });
}

/** What changed, in words: "create IPv4 [ips]", "update name [ips]", "delete name". */
function summary(ch: SliceChanges): string[] {
  const ips = (s: EndpointSlice) => s.endpoints.map((e) => e.addresses.join('+')).join(',');
  return [
    ...ch.create.map((s) => `create ${s.addressType} ${JSON.stringify((s.ports ?? []).map((p) => p.port))} [${ips(s)}]`),
    ...ch.update.map((s) => `update ${s.metadata?.name ?? ''} [${ips(s)}]`),
    ...ch.delete.map((s) => `delete ${s.metadata?.name ?? ''}`),
  ];
}

/** Pod pN has IP 10.0.1.N for N < 250, then 10.0.2.(N-249) and so on. */
function ipOf(n: number): string {
  return `10.0.${1 + Math.floor((n - 1) / 249)}.${((n - 1) % 249) + 1}`;
}

function podsN(n: number, from = 1): Pod[] {
  return Array.from({ length: n }, (_, i) => pod(`p${from + i}`, { ips: [ipOf(from + i)] }));
}

function endpointsN(n: number, from = 1): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ep(`p${from + i}`, ipOf(from + i)));
}

test('a Service without pods gets one empty placeholder slice', () => {
  const ch = run(svc(), []);
  assert.deepEqual(ch.create, [
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { generateName: 'web-', namespace: 'ns', labels: managedLabels, ownerReferences: [ownerRef], annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:05Z' } },
      addressType: 'IPv4',
      endpoints: [],
      ports: [],
    },
  ]);
  assert.deepEqual([ch.update, ch.delete, ch.errors], [[], [], []]);
});

test('an existing placeholder is kept as it is', () => {
  const ch = run(svc(), [pod('no-ip'), pod('done', { ips: ['10.0.0.9'], phase: 'Succeeded' })], [slice('web-aaaaa', [], { ports: [] })]);
  assert.deepEqual(summary(ch), []);
});

test('ready pods become endpoints of one new slice, with node, zone and pod reference', () => {
  const ch = run(svc({}, { labels: { tier: 'front' } }), [pod('a', { ips: ['10.0.0.1'] }), pod('b', { ips: ['10.0.0.2'], node: 'node-b', ready: false })]);
  assert.equal(ch.create.length, 1);
  const s = ch.create[0];
  assert.deepEqual(s.metadata?.labels, { tier: 'front', ...managedLabels });
  assert.deepEqual(s.ports, httpPorts());
  assert.deepEqual(s.endpoints, [ep('a', '10.0.0.1'), ep('b', '10.0.0.2', { node: 'node-b', ready: false })]);
});

test('slices that are already right are not written again', () => {
  const existing = [slice('web-aaaaa', [ep('a', '10.0.0.1'), ep('b', '10.0.0.2', { node: 'node-b' })])];
  const ch = run(svc(), [pod('b', { ips: ['10.0.0.2'], node: 'node-b' }), pod('a', { ips: ['10.0.0.1'] })], existing);
  assert.deepEqual(summary(ch), []);
});

test('a readiness flip updates the endpoint in place, keeping the slice and its resourceVersion', () => {
  const existing = [slice('web-aaaaa', [ep('a', '10.0.0.1'), ep('b', '10.0.0.2')])];
  const ch = run(svc(), [pod('a', { ips: ['10.0.0.1'] }), pod('b', { ips: ['10.0.0.2'], ready: false })], existing);
  assert.deepEqual(summary(ch), ['update web-aaaaa [10.0.0.1,10.0.0.2]']);
  const s = ch.update[0];
  assert.equal(s.metadata?.resourceVersion, '7');
  assert.deepEqual(s.endpoints[1].conditions, { ready: false, serving: false, terminating: false });
  assert.equal(s.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'], '2026-01-01T00:00:05Z');
});

test('a terminating pod is serving and terminating but not ready; publishNotReadyAddresses makes every endpoint ready', () => {
  const pods = [pod('a', { ips: ['10.0.0.1'], terminating: true }), pod('b', { ips: ['10.0.0.2'], ready: false })];
  assert.deepEqual(run(svc(), pods).create[0].endpoints.map((e) => e.conditions), [
    { ready: false, serving: true, terminating: true },
    { ready: false, serving: false, terminating: false },
  ]);
  assert.deepEqual(run(svc({ publishNotReadyAddresses: true }), pods).create[0].endpoints.map((e) => e.conditions), [
    { ready: true, serving: true, terminating: true },
    { ready: true, serving: false, terminating: false },
  ]);
});

test('a removed pod is dropped from its slice; with none left the slice becomes the placeholder', () => {
  const existing = [slice('web-aaaaa', [ep('a', '10.0.0.1'), ep('b', '10.0.0.2')])];
  assert.deepEqual(summary(run(svc(), [pod('b', { ips: ['10.0.0.2'] })], existing)), ['update web-aaaaa [10.0.0.2]']);
  const ch = run(svc(), [], existing);
  // The delete of the old slice and the create of the placeholder become one update.
  assert.deepEqual(summary(ch), ['update web-aaaaa []']);
  assert.deepEqual(ch.update[0].ports, []);
  assert.equal(ch.update[0].metadata?.name, 'web-aaaaa');
  assert.equal(ch.update[0].metadata?.resourceVersion, '7');
});

test('250 pods fill slices of at most 100 endpoints', () => {
  const ch = run(svc(), podsN(250));
  assert.deepEqual(
    ch.create.map((s) => s.endpoints.length),
    [100, 100, 50],
  );
  assert.equal(new Set(ch.create.flatMap((s) => s.endpoints.map((e) => e.addresses[0]))).size, 250);
});

test('new pods go to the unchanged slice they fit best, leaving full slices alone', () => {
  const existing = [slice('web-full', endpointsN(100)), slice('web-half', endpointsN(50, 101)), slice('web-most', endpointsN(90, 151))];
  // 10 more pods fit exactly into web-most; nothing else changes.
  const ch = run(svc(), podsN(250), existing);
  assert.deepEqual(
    ch.update.map((s) => [s.metadata?.name, s.endpoints.length]),
    [['web-most', 100]],
  );
  assert.deepEqual([ch.create.length, ch.delete.length], [0, 0]);
});

test('slices written anyway are filled first, fullest first, before any unchanged slice', () => {
  const existing = [slice('web-a', endpointsN(100)), slice('web-b', endpointsN(60, 101)), slice('web-c', endpointsN(20, 161))];
  // p1..p5 leave web-a, p201..p208 are new.
  const pods = [...podsN(95, 6), ...podsN(60, 101), ...podsN(20, 161), ...podsN(8, 201)];
  const ch = run(svc(), pods, existing);
  assert.deepEqual(
    ch.update.map((s) => [s.metadata?.name, s.endpoints.length]),
    [
      // web-a lost 5 and is written anyway: it takes 5 of the 8 new ones.
      ['web-a', 100],
      // The other 3 go where they fit best: web-b (60) ends closer to full than web-c (20).
      ['web-b', 63],
    ],
  );
  assert.deepEqual([ch.create.length, ch.delete.length], [0, 0]);
});

test('more pods than fit anywhere get new slices, and a slice emptied of pods is reused for them', () => {
  const existing = [slice('web-a', endpointsN(3)), slice('web-b', endpointsN(100, 4))];
  // web-b's pods are all gone; 150 new ones arrive.
  const ch = run(svc(), [...podsN(3), ...podsN(150, 201)], existing);
  assert.deepEqual(ch.delete, []);
  assert.deepEqual(
    [...ch.update.map((s) => `${s.metadata?.name ?? ''}:${s.endpoints.length}`), ...ch.create.map((s) => `new:${s.endpoints.length}`)].sort(),
    ['web-a:53', 'web-b:100'],
  );
});

test('a named targetPort resolves per pod: different numbers make different slices', () => {
  const ch = run(svc(), [pod('a', { ips: ['10.0.0.1'], port: 8080 }), pod('b', { ips: ['10.0.0.2'], port: 9090 }), pod('c', { ips: ['10.0.0.3'], port: 8080 })]);
  assert.deepEqual(summary(ch).sort(), ['create IPv4 [8080] [10.0.0.1,10.0.0.3]', 'create IPv4 [9090] [10.0.0.2]']);
});

test('a dual-stack Service gets a slice per family; dropping a family deletes its slices', () => {
  const pods = [pod('a', { ips: ['10.0.0.1', 'fd00::0001'] }), pod('b', { ips: ['10.0.0.2'] })];
  const dual = svc({ ipFamilies: ['IPv4', 'IPv6'], clusterIPs: ['10.96.0.10', 'fd00:96::10'] });
  assert.deepEqual(summary(run(dual, pods)), ['create IPv4 [8080] [10.0.0.1,10.0.0.2]', 'create IPv6 [8080] [fd00::1]']);
  const existing = [slice('web-v4', [ep('a', '10.0.0.1'), ep('b', '10.0.0.2')]), slice('web-v6', [ep('a', 'fd00::1')], { addressType: 'IPv6' })];
  assert.deepEqual(summary(run(dual, pods, existing)), []);
  assert.deepEqual(summary(run(svc(), pods, existing)), ['delete web-v6']);
});

test('a slice owned by an earlier Service of the same name is replaced, not reused', () => {
  const existing = [slice('web-old', [ep('a', '10.0.0.1')], { owner: 'old-uid' })];
  assert.deepEqual(summary(run(svc(), [pod('a', { ips: ['10.0.0.1'] })], existing)), ['create IPv4 [8080] [10.0.0.1]', 'delete web-old']);
});

test('a Service label change relabels its slices without touching endpoints', () => {
  const existing = [slice('web-aaaaa', [ep('a', '10.0.0.1')])];
  const ch = run(svc({}, { labels: { tier: 'back', 'kubernetes.io/service-name': 'ignored' } }), [pod('a', { ips: ['10.0.0.1'] })], existing);
  assert.deepEqual(summary(ch), ['update web-aaaaa [10.0.0.1]']);
  assert.deepEqual(ch.update[0].metadata?.labels, { tier: 'back', ...managedLabels });
});

test('a pod on an unknown Node is left out with an error, unless the Service publishes not-ready addresses', () => {
  const pods = [pod('a', { ips: ['10.0.0.1'], node: 'node-x' }), pod('b', { ips: ['10.0.0.2'] })];
  const ch = run(svc(), pods);
  assert.deepEqual(summary(ch), ['create IPv4 [8080] [10.0.0.2]']);
  assert.deepEqual(ch.errors, ['skipping Pod a for Service ns/web: Node node-x Not Found']);
  const pub = run(svc({ publishNotReadyAddresses: true }), pods);
  assert.deepEqual(pub.errors, []);
  assert.deepEqual(pub.create[0].endpoints[0], ep('a', '10.0.0.1', { node: 'node-x', zone: null }));
});

test('a headless Service marks its slices headless; a pod whose subdomain names it gets a hostname', () => {
  const ch = run(svc({ clusterIP: 'None' }), [pod('a', { ips: ['10.0.0.1'], hostname: 'a-0', subdomain: 'web' }), pod('b', { ips: ['10.0.0.2'], hostname: 'b-0', subdomain: 'other' })]);
  assert.equal(ch.create[0].metadata?.labels?.['service.kubernetes.io/headless'], '');
  assert.deepEqual(ch.create[0].endpoints, [ep('a', '10.0.0.1', { hostname: 'a-0' }), ep('b', '10.0.0.2')]);
});

test('a Service being deleted gets no new slices', () => {
  assert.deepEqual(summary(run(svc({}, { deletionTimestamp: '2026-01-01T00:02:00Z' }), [pod('a', { ips: ['10.0.0.1'] })])), []);
});

test('no trigger time removes the annotation from written slices', () => {
  const existing = [slice('web-aaaaa', [ep('a', '10.0.0.1')])];
  existing[0].metadata!.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': 'x', keep: 'me' };
  const ch = run(svc(), [pod('a', { ips: ['10.0.0.1'], ready: false })], existing, { triggerTime: '' });
  assert.deepEqual(ch.update[0].metadata?.annotations, { keep: 'me' });
});

test('the input objects are never modified (informer caches hand out frozen objects)', () => {
  const existing = [slice('web-a', endpointsN(3)), slice('web-b', endpointsN(2, 4))];
  // p4 and p5 are gone (web-b empties), p6 is new (it joins web-a).
  const pods = [...podsN(3), ...podsN(1, 6)];
  const deepFreeze = <T>(o: T): T => {
    if (o && typeof o === 'object') {
      Object.freeze(o);
      for (const v of Object.values(o)) deepFreeze(v);
    }
    return o;
  };
  const ch = run(deepFreeze(svc()), deepFreeze(pods), deepFreeze(existing));
  assert.deepEqual(summary(ch), ['update web-a [10.0.1.1,10.0.1.2,10.0.1.3,10.0.1.6]', 'delete web-b']);
});
