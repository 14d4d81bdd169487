// Table-driven tests of the model: which endpoints each Service port uses on node "node-a".
// Address plan: see src/proxy/testing.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeService, makeSlice, type EndpointOptions, type ServiceOptions } from '../testing.ts';
import { computeServiceState, toServiceInfo, toSliceInfo } from './index.ts';
import type { IPFamily, NodeInfo } from '../types.ts';

const node: NodeInfo = { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' } };
const local = (ip: string, o: Partial<EndpointOptions> = {}): EndpointOptions => ({ ip, node: 'node-a', ...o });
const remote = (ip: string, o: Partial<EndpointOptions> = {}): EndpointOptions => ({ ip, node: 'node-b', ...o });

interface Case {
  name: string;
  svc: ServiceOptions;
  eps: EndpointOptions[];
  families?: IPFamily[];
  /** Expected endpoint IPs per list. */
  internal: string[];
  external: string[];
  hasAny: boolean;
  localReady?: number;
}

const cases: Case[] = [
  { name: 'a ClusterIP service uses every ready endpoint', svc: {}, eps: [local('10.244.1.5'), remote('10.244.2.7')], internal: ['10.244.1.5', '10.244.2.7'], external: ['10.244.1.5', '10.244.2.7'], hasAny: true, localReady: 1 },
  { name: 'not-ready endpoints are left out', svc: {}, eps: [local('10.244.1.5', { ready: false }), remote('10.244.2.7')], internal: ['10.244.2.7'], external: ['10.244.2.7'], hasAny: true, localReady: 0 },
  { name: 'no endpoints at all gives empty lists and hasAnyEndpoints false', svc: {}, eps: [], internal: [], external: [], hasAny: false },
  {
    name: 'serving-terminating endpoints are the fallback when none is ready',
    svc: {},
    eps: [local('10.244.1.5', { ready: false, serving: true, terminating: true }), remote('10.244.2.7', { ready: false, serving: false, terminating: true })],
    internal: ['10.244.1.5'],
    external: ['10.244.1.5'],
    hasAny: true,
  },
  { name: 'terminating endpoints are not used while a ready one exists', svc: {}, eps: [local('10.244.1.5', { ready: false, serving: true, terminating: true }), remote('10.244.2.7')], internal: ['10.244.2.7'], external: ['10.244.2.7'], hasAny: true },
  { name: 'internalTrafficPolicy Local uses only local endpoints inside', svc: { internalTrafficPolicy: 'Local' }, eps: [local('10.244.1.5'), remote('10.244.2.7')], internal: ['10.244.1.5'], external: [], hasAny: true },
  { name: 'internalTrafficPolicy Local with no local endpoint leaves internal traffic nowhere to go', svc: { internalTrafficPolicy: 'Local' }, eps: [remote('10.244.2.7')], internal: [], external: [], hasAny: true },
  {
    name: 'externalTrafficPolicy Local uses local endpoints for external traffic and all for internal',
    svc: { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30001, protocol: 'TCP' }], externalTrafficPolicy: 'Local' },
    eps: [local('10.244.1.5'), remote('10.244.2.7')],
    internal: ['10.244.1.5', '10.244.2.7'],
    external: ['10.244.1.5'],
    hasAny: true,
  },
  {
    name: 'externalTrafficPolicy Local falls back to local serving-terminating endpoints',
    svc: { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30001, protocol: 'TCP' }], externalTrafficPolicy: 'Local' },
    eps: [local('10.244.1.5', { ready: false, serving: true, terminating: true }), remote('10.244.2.7')],
    internal: ['10.244.2.7'],
    external: ['10.244.1.5'],
    hasAny: true,
  },
  {
    name: 'externalTrafficPolicy Local on a ClusterIP-only service is ignored',
    svc: { externalTrafficPolicy: 'Local' },
    eps: [remote('10.244.2.7')],
    internal: ['10.244.2.7'],
    external: ['10.244.2.7'],
    hasAny: true,
  },
  {
    name: 'topology hints keep the endpoints hinted for this zone',
    svc: { annotations: { 'service.kubernetes.io/topology-mode': 'Auto' } },
    eps: [local('10.244.1.5', { hints: ['zone-a'] }), remote('10.244.2.7', { hints: ['zone-b'] })],
    internal: ['10.244.1.5'],
    external: ['10.244.1.5'],
    hasAny: true,
  },
  {
    name: 'topology hints are ignored when one ready endpoint has none',
    svc: { trafficDistribution: 'PreferClose' },
    eps: [local('10.244.1.5', { hints: ['zone-a'] }), remote('10.244.2.7')],
    internal: ['10.244.1.5', '10.244.2.7'],
    external: ['10.244.1.5', '10.244.2.7'],
    hasAny: true,
  },
  {
    name: 'topology hints are ignored without the annotation or trafficDistribution',
    svc: {},
    eps: [local('10.244.1.5', { hints: ['zone-a'] }), remote('10.244.2.7', { hints: ['zone-b'] })],
    internal: ['10.244.1.5', '10.244.2.7'],
    external: ['10.244.1.5', '10.244.2.7'],
    hasAny: true,
  },
];

for (const c of cases) {
  test(`model: ${c.name}`, () => {
    const info = toServiceInfo(makeService('web', c.svc));
    assert.ok(info);
    const slice = toSliceInfo(makeSlice('web', c.eps, { addressType: 'IPv4' }));
    const st = computeServiceState(info, [slice], node, c.families ?? ['IPv4']);
    assert.equal(st.ports.length, 1);
    const p = st.ports[0];
    assert.deepEqual(p.internalEndpoints.map((e) => e.ip), c.internal);
    assert.deepEqual(p.externalEndpoints.map((e) => e.ip), c.external);
    assert.equal(p.hasAnyEndpoints, c.hasAny);
    if (c.localReady !== undefined) assert.equal(st.localReadyEndpoints, c.localReady);
  });
}

test('model: headless, ExternalName and other proxies’ services are not proxied', () => {
  assert.equal(toServiceInfo(makeService('h', { clusterIP: 'None' })), undefined);
  assert.equal(toServiceInfo(makeService('x', { type: 'ExternalName', clusterIPs: [] })), undefined);
  assert.equal(toServiceInfo(makeService('o', { labels: { 'service.kubernetes.io/service-proxy-name': 'other' } })), undefined);
  assert.ok(toServiceInfo(makeService('n')));
});

test('model: LoadBalancer ingress with ipMode Proxy is not captured, VIP is', () => {
  const info = toServiceInfo(
    makeService('lb', {
      type: 'LoadBalancer',
      ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }],
      loadBalancerIngress: [{ ip: '203.0.113.1', ipMode: 'Proxy' }, { ip: '203.0.113.2' }],
      loadBalancerSourceRanges: [' 198.51.100.0/24 '],
      affinityTimeout: 60,
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32000,
    }),
  );
  assert.ok(info);
  const p = info.ports[0];
  assert.deepEqual(p.loadBalancerIPs, ['203.0.113.2']);
  assert.deepEqual(p.loadBalancerSourceRanges, ['198.51.100.0/24']);
  assert.equal(p.affinityTimeoutSeconds, 60);
  assert.equal(p.healthCheckNodePort, 32000);
  assert.equal(p.externalPolicyLocal, true);
  assert.equal(p.nodePort, 30080);
});

test('model: session affinity defaults to 10800 s', () => {
  const svc = makeService('a');
  svc.spec!.sessionAffinity = 'ClientIP';
  assert.equal(toServiceInfo(svc)!.ports[0].affinityTimeoutSeconds, 10800);
});

test('model: endpoints match the service port by name and protocol, per family', () => {
  const info = toServiceInfo(
    makeService('dns', {
      clusterIPs: ['10.96.0.10', 'fd00:96::a'],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    }),
  )!;
  const v4 = toSliceInfo(
    makeSlice('dns', [local('10.244.1.5')], { name: 'dns-v4', ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5354, protocol: 'TCP' }] }),
  );
  const v6 = toSliceInfo(makeSlice('dns', [local('fd00:244:1::5')], { name: 'dns-v6', ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }));
  const st = computeServiceState(info, [v4, v6], node, ['IPv4', 'IPv6']);
  const got = st.ports.map((p) => `${p.info.name} ${p.family} ${p.clusterEndpoints.map((e) => `${e.ip}:${e.port}`).join(',')}`);
  assert.deepEqual(got, ['default/dns:dns IPv4 10.244.1.5:5353', 'default/dns:dns IPv6 fd00:244:1::5:5353', 'default/dns:dns-tcp IPv4 10.244.1.5:5354', 'default/dns:dns-tcp IPv6 ']);
});

test('model: duplicate endpoints across slices are merged, a ready copy winning', () => {
  const info = toServiceInfo(makeService('web'))!;
  const a = toSliceInfo(makeSlice('web', [local('10.244.1.5', { ready: false })], { name: 'a' }));
  const b = toSliceInfo(makeSlice('web', [local('10.244.1.5')], { name: 'b' }));
  const st = computeServiceState(info, [a, b], node, ['IPv4']);
  assert.deepEqual(st.ports[0].clusterEndpoints.map((e) => [e.ip, e.ready]), [['10.244.1.5', true]]);
});
