import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { l2Leader } from '../../controllers/loadbalancer/index.ts';
import { addressesByInterface, l2Config, planL2, type L2Config, type L2Plan } from './core.ts';
import { advertisement, lbService, legacyConfig, node, pool, slice } from './testing.ts';

const names = ['master-node', 'worker1', 'worker2'];
const seedPool = pool('default', ['192.168.1.200-192.168.1.250']);
const seedConfig = l2Config([seedPool], [advertisement('default', { ipAddressPools: ['default'] })], undefined);
const grafana = lbService('monitoring', 'grafana-service', ['192.168.1.200']);
const everywhere = slice('monitoring', 'grafana-service', [{ node: 'worker1' }, { node: 'worker2' }]);

function plan(self: string, o: { nodes?: Node[]; services?: Service[]; slices?: EndpointSlice[]; config?: L2Config; live?: Set<string> } = {}): L2Plan {
  const slices = o.slices ?? [everywhere];
  return planL2({
    self,
    services: o.services ?? [grafana],
    slicesFor: (key) => slices.filter((s) => `${s.metadata?.namespace}/${s.metadata?.labels?.['kubernetes.io/service-name']}` === key),
    nodes: o.nodes ?? names.map((n) => node(n)),
    config: o.config ?? seedConfig,
    ...(o.live ? { live: o.live } : {}),
  });
}

/** Which nodes announce each address when every node plans for itself. */
function announcers(o: Parameters<typeof plan>[1] = {}, nodes = names): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const self of nodes) {
    for (const a of plan(self, o).announce.keys()) out.set(a, [...(out.get(a) ?? []), self]);
  }
  return out;
}

test('every node computes the same leader for an address, and only the leader announces it', () => {
  const leader = l2Leader('192.168.1.200', names.map((name) => ({ name, ready: true })));
  assert.ok(leader);
  assert.deepEqual(announcers(), new Map([['192.168.1.200', [leader]]]));
  const mine = plan(leader);
  assert.deepEqual(mine.decisions, [{ service: 'monitoring/grafana-service', addresses: ['192.168.1.200'], pool: 'default', eligible: names, leader }]);
  assert.deepEqual([...mine.announce.values()], [{ address: '192.168.1.200', services: ['monitoring/grafana-service'], interfaces: [''] }]);
});

test('different addresses spread over the nodes, each with one announcer', () => {
  const services = Array.from({ length: 12 }, (_, i) => lbService('ns', `s${i}`, [`192.168.1.${200 + i}`]));
  const slices = services.map((s) => slice('ns', s.metadata?.name ?? '', [{ node: 'worker1' }]));
  const got = announcers({ services, slices });
  assert.equal(got.size, 12);
  for (const who of got.values()) assert.equal(who.length, 1);
  assert.ok(new Set([...got.values()].flat()).size > 1, 'not every address lands on one node');
});

test('when the leader is not Ready or its announcer is silent, the next node in hash order takes over; losing another node moves nothing', () => {
  const leader = l2Leader('192.168.1.200', names.map((name) => ({ name, ready: true })))!;
  const others = names.filter((n) => n !== leader);
  const next = l2Leader('192.168.1.200', others.map((name) => ({ name, ready: true })))!;
  const notReady = names.map((n) => node(n, { ready: n !== leader }));
  assert.deepEqual(announcers({ nodes: notReady }), new Map([['192.168.1.200', [next]]]));
  // Heartbeats: the leader is Ready in the API but its announcer is silent.
  assert.deepEqual(announcers({ live: new Set(others) }, others), new Map([['192.168.1.200', [next]]]));
  // A node that is not the leader goes: the address stays where it is.
  const bystander = others.find((n) => n !== next)!;
  assert.deepEqual(announcers({ live: new Set(names.filter((n) => n !== bystander)) }, names.filter((n) => n !== bystander)), new Map([['192.168.1.200', [leader]]]));
});

test('a node that is excluded from load balancers, has its network unavailable or is being deleted never announces', () => {
  for (const o of [{ labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }, { networkUnavailable: true }, { deleting: true }]) {
    const nodes = [node('worker1', o)];
    const p = plan('worker1', { nodes });
    assert.equal(p.announce.size, 0, JSON.stringify(o));
    assert.equal(p.decisions[0]?.reason, 'no node is eligible');
  }
});

test('externalTrafficPolicy Local: only a node with a serving local endpoint announces', () => {
  const svc = lbService('monitoring', 'grafana-service', ['192.168.1.200'], { etp: 'Local' });
  const onlyW2 = slice('monitoring', 'grafana-service', [{ node: 'worker2' }, { node: 'worker1', ready: false, serving: false }]);
  assert.deepEqual(announcers({ services: [svc], slices: [onlyW2] }), new Map([['192.168.1.200', ['worker2']]]));
  assert.deepEqual(plan('worker1', { services: [svc], slices: [onlyW2] }).decisions[0]?.eligible, ['worker2']);
  // Its endpoint's node is not Ready: nobody.
  const p = plan('worker2', { services: [svc], slices: [onlyW2], nodes: names.map((n) => node(n, { ready: n !== 'worker2' })) });
  assert.equal(p.announce.size, 0);
  assert.equal(p.decisions[0]?.reason, 'no eligible node has a serving endpoint');
});

test('a Service without a serving endpoint is not announced (MetalLB); a terminating but serving one counts', () => {
  const none = slice('monitoring', 'grafana-service', [{ node: 'worker1', ready: false, serving: false }]);
  assert.equal(announcers({ slices: [none] }).size, 0);
  assert.equal(plan('worker1', { slices: [none] }).decisions[0]?.reason, 'no serving endpoints');
  assert.equal(plan('worker1', { slices: [] }).decisions[0]?.reason, 'no serving endpoints');
  const terminating = slice('monitoring', 'grafana-service', [{ node: 'worker1', ready: false, serving: true }]);
  assert.equal(announcers({ slices: [terminating] }).size, 1);
});

test('a pool no L2Advertisement covers is allocated from but never announced', () => {
  const config = l2Config([seedPool, pool('other', ['10.0.0.0/24'])], [advertisement('only-other', { ipAddressPools: ['other'] })], undefined);
  const p = plan('worker1', { config });
  assert.equal(announcers({ config }).size, 0);
  assert.equal(p.decisions[0]?.reason, 'no L2Advertisement covers pool default');
  // An advertisement naming no pool covers them all; one selecting by label covers the labelled.
  assert.equal(announcers({ config: l2Config([seedPool], [advertisement('all')], undefined) }).size, 1);
  const labelled = pool('default', ['192.168.1.200-192.168.1.250'], { zone: 'lan' });
  assert.equal(announcers({ config: l2Config([labelled], [advertisement('by-label', { ipAddressPoolSelectors: [{ matchLabels: { zone: 'lan' } }] })], undefined) }).size, 1);
});

test('an address outside every layer2 pool, or with no pool configured, is not announced', () => {
  const stray = lbService('monitoring', 'grafana-service', ['10.9.9.9']);
  assert.equal(plan('worker1', { services: [stray] }).decisions[0]?.reason, '10.9.9.9 is in no layer2 pool');
  assert.equal(plan('worker1', { config: l2Config([], [], undefined) }).decisions[0]?.reason, 'no address pool is configured');
});

test('L2Advertisement nodeSelectors limit the nodes that may announce; interfaces name where', () => {
  const nodes = [node('master-node'), node('worker1', { labels: { edge: 'true' } }), node('worker2', { labels: { edge: 'true' } })];
  const config = l2Config([seedPool], [advertisement('edge', { ipAddressPools: ['default'], nodeSelectors: [{ matchLabels: { edge: 'true' } }], interfaces: ['eth1', 'eth0'] })], undefined);
  const got = announcers({ nodes, config });
  const [who] = [...got.values()];
  assert.equal(who?.length, 1);
  assert.notEqual(who?.[0], 'master-node');
  assert.deepEqual(plan('master-node', { nodes, config }).decisions[0]?.eligible, ['worker1', 'worker2']);
  const mine = plan(who[0], { nodes, config });
  assert.deepEqual(mine.announce.get('192.168.1.200')?.interfaces, ['eth0', 'eth1']);
  assert.deepEqual(addressesByInterface(mine), new Map([['eth0', ['192.168.1.200']], ['eth1', ['192.168.1.200']]]));
});

test('the legacy ConfigMap announces its layer2 pools from every node, not its bgp ones; IPAddressPools take precedence', () => {
  const cm = legacyConfig('address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 192.168.1.200-192.168.1.250\n- name: routed\n  protocol: bgp\n  addresses:\n  - 10.50.0.0/24\n');
  const legacy = l2Config([], [], cm);
  assert.equal(legacy.source, 'ConfigMap');
  assert.equal(announcers({ config: legacy }).size, 1);
  const bgp = lbService('monitoring', 'grafana-service', ['10.50.0.1']);
  assert.equal(plan('worker1', { config: legacy, services: [bgp] }).decisions[0]?.reason, '10.50.0.1 is in no layer2 pool');
  // IPAddressPools exist: the ConfigMap is ignored, and this pool has no advertisement.
  const both = l2Config([seedPool], [], cm);
  assert.equal(both.source, 'IPAddressPool');
  assert.equal(announcers({ config: both }).size, 0);
  assert.deepEqual(l2Config([], [], legacyConfig('address-pools: [')).errors.length, 1);
});

test('Services of another loadBalancerClass, without an address, or no longer LoadBalancer are left alone', () => {
  const services = [
    lbService('a', 'classy', ['192.168.1.201'], { lbClass: 'example.com/other' }),
    lbService('a', 'pending', []),
    lbService('a', 'was-lb', ['192.168.1.202'], { type: 'ClusterIP' }),
  ];
  const slices = services.map((s) => slice('a', s.metadata?.name ?? '', [{ node: 'worker1' }]));
  for (const self of names) assert.deepEqual(plan(self, { services, slices }).decisions, []);
});

test('Services sharing an address are announced together by one node', () => {
  const tcp = lbService('dns', 'dns-tcp', ['192.168.1.210']);
  const udp = lbService('dns', 'dns-udp', ['192.168.1.210']);
  const slices = [slice('dns', 'dns-tcp', [{ node: 'worker1' }]), slice('dns', 'dns-udp', [{ node: 'worker2' }])];
  const got = announcers({ services: [tcp, udp], slices });
  assert.equal(got.get('192.168.1.210')?.length, 1);
  const leader = got.get('192.168.1.210')![0];
  assert.deepEqual(plan(leader, { services: [tcp, udp], slices }).announce.get('192.168.1.210')?.services, ['dns/dns-tcp', 'dns/dns-udp']);
});

test('a dual-stack Service is led by its first address; its IPv6 address is reported, not announced', () => {
  const config = l2Config([pool('v4', ['192.168.1.200/29']), pool('v6', ['fd00::/120'])], [advertisement('all')], undefined);
  const svc = lbService('monitoring', 'grafana-service', ['192.168.1.200', 'fd00::5']);
  const leader = l2Leader('192.168.1.200', names.map((name) => ({ name, ready: true })))!;
  const p = plan(leader, { services: [svc], config });
  assert.deepEqual([...p.announce.keys()], ['192.168.1.200']);
  assert.deepEqual(p.ipv6Skipped, ['fd00::5']);
});
