// Behaviour of the rendered ruleset, traced packet by packet over FakeNftables, plus the
// incremental-sync, adoption and failure paths of the backend.
//
// Address plan (see src/proxy/testing.ts): ClusterIPs 10.96.0.0/16; this node "node-a" has IP
// 192.168.0.10 and pods 10.244.1.0/24; node-b's pods are 10.244.2.0/24; LB and external IPs
// 203.0.113.0/24; clients outside 198.51.100.0/24.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { NftablesBackend } from './backend.ts';
import { FakeNftables } from './fake.ts';
import { FakeConntrack } from './conntrack.ts';
import { describe as desc, traceAll, tracePacket, type TracePacket } from './tracer.ts';
import { computeState, toServiceInfo, toSliceInfo } from '../model/index.ts';
import { makeService, makeSlice, type EndpointOptions } from '../testing.ts';
import type { ProxyConfig, ProxyState, ServiceInfo, SliceInfo } from '../types.ts';

const node = { name: 'node-a' };
const nodeIP = '192.168.0.10';
const config: ProxyConfig = {
  families: ['IPv4', 'IPv6'],
  nodeIPs: [nodeIP, 'fd00:192::10'],
  nodePortAddresses: [],
  localTrafficCIDRs: ['10.244.0.0/16', 'fd00:244::/32'],
  masqueradeAll: false,
  serviceCIDRs: [],
};
const L = (ip: string, o: Partial<EndpointOptions> = {}): EndpointOptions => ({ ip, node: 'node-a', ...o });
const R = (ip: string, o: Partial<EndpointOptions> = {}): EndpointOptions => ({ ip, node: 'node-b', ...o });

function stateOf(objs: (Service | EndpointSlice)[]): ProxyState {
  const svcs = new Map<string, ServiceInfo>();
  const slices = new Map<string, Map<string, SliceInfo>>();
  for (const o of objs) {
    if (o.kind === 'Service') {
      const i = toServiceInfo(o);
      if (i) svcs.set(i.name, i);
    } else {
      const s = toSliceInfo(o as EndpointSlice);
      if (!slices.has(s.service)) slices.set(s.service, new Map());
      slices.get(s.service)!.set(s.name, s);
    }
  }
  return computeState(svcs, slices, node, config.families);
}

async function setup(objs: (Service | EndpointSlice)[], cfg: ProxyConfig = config): Promise<{ nft: FakeNftables; backend: NftablesBackend; ct: FakeConntrack }> {
  const nft = new FakeNftables();
  const ct = new FakeConntrack();
  const backend = new NftablesBackend({ nft, config: cfg, node, conntrack: ct });
  await backend.sync(stateOf(objs), undefined);
  return { nft, backend, ct };
}

const tcp = (saddr: string, daddr: string, dport: number, o: Partial<TracePacket> = {}): TracePacket => ({ proto: 'tcp', saddr, daddr, dport, ...o });
const outcomes = (nft: FakeNftables, p: TracePacket): string[] => traceAll(nft, p, { nodeIPs: config.nodeIPs }).map(desc);

const np = (port = 80, nodePort = 30001): { ports: ServicePort[] } => ({ ports: [{ name: 'http', port, nodePort, protocol: 'TCP' }] });

interface Case {
  name: string;
  objs: (Service | EndpointSlice)[];
  packet: TracePacket;
  want: string[];
}

const web = makeSlice('web', [L('10.244.1.5'), R('10.244.2.7')]);
const cases: Case[] = [
  { name: 'a pod reaches a ClusterIP on both endpoints, not masqueraded', objs: [makeService('web'), web], packet: tcp('10.244.1.9', '10.96.0.10', 80), want: ['DNAT 10.244.1.5:8080', 'DNAT 10.244.2.7:8080'] },
  { name: 'the node itself reaching a ClusterIP is masqueraded', objs: [makeService('web'), web], packet: tcp(nodeIP, '10.96.0.10', 80, { fromNode: true }), want: ['DNAT 10.244.1.5:8080 masquerade', 'DNAT 10.244.2.7:8080 masquerade'] },
  { name: 'off-cluster traffic to a ClusterIP is masqueraded', objs: [makeService('web'), web], packet: tcp('198.51.100.1', '10.96.0.10', 80), want: ['DNAT 10.244.1.5:8080 masquerade', 'DNAT 10.244.2.7:8080 masquerade'] },
  { name: 'a pod reaching itself through its Service is masqueraded (hairpin)', objs: [makeService('web'), web], packet: tcp('10.244.1.5', '10.96.0.10', 80), want: ['DNAT 10.244.1.5:8080 masquerade', 'DNAT 10.244.2.7:8080'] },
  { name: 'an unknown port on a ClusterIP is rejected', objs: [makeService('web'), web], packet: tcp('10.244.1.9', '10.96.0.10', 81), want: ['reject'] },
  { name: 'a service port with no endpoints is rejected', objs: [makeService('web')], packet: tcp('10.244.1.9', '10.96.0.10', 80), want: ['reject'] },
  {
    name: 'a service port whose endpoints are all not ready is rejected',
    objs: [makeService('web'), makeSlice('web', [L('10.244.1.5', { ready: false, serving: false })])],
    packet: tcp('10.244.1.9', '10.96.0.10', 80),
    want: ['reject'],
  },
  { name: 'traffic to another address passes untouched', objs: [makeService('web'), web], packet: tcp('10.244.1.9', '10.244.2.7', 8080), want: ['accept'] },
  {
    name: 'serving-terminating endpoints take traffic when none is ready',
    objs: [makeService('web'), makeSlice('web', [L('10.244.1.5', { ready: false, serving: true, terminating: true }), R('10.244.2.7', { ready: false, serving: false, terminating: true })])],
    packet: tcp('10.244.1.9', '10.96.0.10', 80),
    want: ['DNAT 10.244.1.5:8080'],
  },
  {
    name: 'a NodePort reaches every endpoint, masqueraded',
    objs: [makeService('web', { type: 'NodePort', ...np() }), web],
    packet: tcp('198.51.100.1', nodeIP, 30001),
    want: ['DNAT 10.244.1.5:8080 masquerade', 'DNAT 10.244.2.7:8080 masquerade'],
  },
  {
    name: 'a NodePort with no endpoints is rejected',
    objs: [makeService('web', { type: 'NodePort', ...np() })],
    packet: tcp('198.51.100.1', nodeIP, 30001),
    want: ['reject'],
  },
  {
    name: 'a NodePort on another address is not captured',
    objs: [makeService('web', { type: 'NodePort', ...np() }), web],
    packet: tcp('198.51.100.1', '192.168.0.99', 30001),
    want: ['accept'],
  },
  {
    name: 'externalTrafficPolicy Local: external traffic goes to local endpoints only, source kept',
    objs: [makeService('web', { type: 'NodePort', ...np(), externalTrafficPolicy: 'Local' }), web],
    packet: tcp('198.51.100.1', nodeIP, 30001),
    want: ['DNAT 10.244.1.5:8080'],
  },
  {
    name: 'externalTrafficPolicy Local: pods still reach every endpoint',
    objs: [makeService('web', { type: 'NodePort', ...np(), externalTrafficPolicy: 'Local' }), web],
    packet: tcp('10.244.1.9', nodeIP, 30001),
    want: ['DNAT 10.244.1.5:8080', 'DNAT 10.244.2.7:8080'],
  },
  {
    name: 'externalTrafficPolicy Local: the node itself reaches every endpoint, masqueraded',
    objs: [makeService('web', { type: 'NodePort', ...np(), externalTrafficPolicy: 'Local' }), web],
    packet: tcp(nodeIP, nodeIP, 30001, { fromNode: true }),
    want: ['DNAT 10.244.1.5:8080 masquerade', 'DNAT 10.244.2.7:8080 masquerade'],
  },
  {
    name: 'externalTrafficPolicy Local with no local endpoint drops external traffic',
    objs: [makeService('web', { type: 'NodePort', ...np(), externalTrafficPolicy: 'Local' }), makeSlice('web', [R('10.244.2.7')])],
    packet: tcp('198.51.100.1', nodeIP, 30001),
    want: ['drop'],
  },
  {
    name: 'externalTrafficPolicy Local with no local endpoint still serves the ClusterIP',
    objs: [makeService('web', { type: 'NodePort', ...np(), externalTrafficPolicy: 'Local' }), makeSlice('web', [R('10.244.2.7')])],
    packet: tcp('10.244.1.9', '10.96.0.10', 80),
    want: ['DNAT 10.244.2.7:8080'],
  },
  {
    name: 'internalTrafficPolicy Local sends ClusterIP traffic to local endpoints only',
    objs: [makeService('web', { internalTrafficPolicy: 'Local' }), web],
    packet: tcp('10.244.1.9', '10.96.0.10', 80),
    want: ['DNAT 10.244.1.5:8080'],
  },
  {
    name: 'internalTrafficPolicy Local with no local endpoint drops ClusterIP traffic',
    objs: [makeService('web', { internalTrafficPolicy: 'Local' }), makeSlice('web', [R('10.244.2.7')])],
    packet: tcp('10.244.1.9', '10.96.0.10', 80),
    want: ['drop'],
  },
  {
    name: 'a LoadBalancer IP reaches every endpoint, masqueraded',
    objs: [makeService('lb', { type: 'LoadBalancer', ...np(), loadBalancerIngress: [{ ip: '203.0.113.1' }] }), makeSlice('lb', [L('10.244.1.5'), R('10.244.2.7')])],
    packet: tcp('198.51.100.1', '203.0.113.1', 80),
    want: ['DNAT 10.244.1.5:8080 masquerade', 'DNAT 10.244.2.7:8080 masquerade'],
  },
  {
    name: 'a LoadBalancer IP with ipMode Proxy is not captured',
    objs: [makeService('lb', { type: 'LoadBalancer', ...np(), loadBalancerIngress: [{ ip: '203.0.113.1', ipMode: 'Proxy' }] }), makeSlice('lb', [L('10.244.1.5')])],
    packet: tcp('198.51.100.1', '203.0.113.1', 80),
    want: ['accept'],
  },
  {
    name: 'loadBalancerSourceRanges let a client inside the ranges in',
    objs: [makeService('lb', { type: 'LoadBalancer', ...np(), loadBalancerIngress: [{ ip: '203.0.113.1' }], loadBalancerSourceRanges: ['198.51.100.0/25'] }), makeSlice('lb', [L('10.244.1.5')])],
    packet: tcp('198.51.100.1', '203.0.113.1', 80),
    want: ['DNAT 10.244.1.5:8080 masquerade'],
  },
  {
    name: 'loadBalancerSourceRanges drop a client outside the ranges',
    objs: [makeService('lb', { type: 'LoadBalancer', ...np(), loadBalancerIngress: [{ ip: '203.0.113.1' }], loadBalancerSourceRanges: ['198.51.100.0/25'] }), makeSlice('lb', [L('10.244.1.5')])],
    packet: tcp('198.51.100.200', '203.0.113.1', 80),
    want: ['drop'],
  },
  {
    name: 'loadBalancerSourceRanges do not apply to the NodePort',
    objs: [makeService('lb', { type: 'LoadBalancer', ...np(), loadBalancerIngress: [{ ip: '203.0.113.1' }], loadBalancerSourceRanges: ['198.51.100.0/25'] }), makeSlice('lb', [L('10.244.1.5')])],
    packet: tcp('198.51.100.200', nodeIP, 30001),
    want: ['DNAT 10.244.1.5:8080 masquerade'],
  },
  {
    name: 'an externalIP reaches every endpoint, masqueraded',
    objs: [makeService('web', { externalIPs: ['203.0.113.7'] }), web],
    packet: tcp('198.51.100.1', '203.0.113.7', 80),
    want: ['DNAT 10.244.1.5:8080 masquerade', 'DNAT 10.244.2.7:8080 masquerade'],
  },
  {
    name: 'UDP is dispatched by protocol as well as port',
    objs: [
      makeService('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
      makeSlice('dns', [R('10.244.2.7')], { ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }),
    ],
    packet: { proto: 'udp', saddr: '10.244.1.9', daddr: '10.96.0.10', dport: 53 },
    want: ['DNAT 10.244.2.7:5353'],
  },
  {
    name: 'TCP to a UDP-only service port is rejected as an unknown port',
    objs: [
      makeService('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
      makeSlice('dns', [R('10.244.2.7')], { ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }),
    ],
    packet: tcp('10.244.1.9', '10.96.0.10', 53),
    want: ['reject'],
  },
  {
    name: 'IPv6 ClusterIPs of a dual-stack service reach the IPv6 endpoints',
    objs: [makeService('web', { clusterIPs: ['10.96.0.10', 'fd00:96::a'] }), web, makeSlice('web', [L('fd00:244:1::5')], { name: 'web-v6' })],
    packet: tcp('fd00:244:1::9', 'fd00:96::a', 80),
    want: ['DNAT [fd00:244:1::5]:8080'],
  },
  {
    name: 'services of another proxy are left alone',
    objs: [makeService('web', { labels: { 'service.kubernetes.io/service-proxy-name': 'other' } }), web],
    packet: tcp('10.244.1.9', '10.96.0.10', 80),
    want: ['accept'],
  },
];

for (const c of cases) {
  test(`nftables: ${c.name}`, async () => {
    const { nft } = await setup(c.objs);
    assert.deepEqual(outcomes(nft, c.packet), c.want);
  });
}

test('nftables: nodePortAddresses narrow the node addresses NodePorts answer on', async () => {
  const cfg: ProxyConfig = { ...config, nodeIPs: [nodeIP, '192.168.1.10', 'fd00:192::10'], nodePortAddresses: ['192.168.1.0/24'] };
  const { nft } = await setup([makeService('web', { type: 'NodePort', ...np() }), web], cfg);
  assert.deepEqual(outcomes(nft, tcp('198.51.100.1', '192.168.1.10', 30001)), ['DNAT 10.244.1.5:8080 masquerade', 'DNAT 10.244.2.7:8080 masquerade']);
  assert.deepEqual(outcomes(nft, tcp('198.51.100.1', nodeIP, 30001)), ['accept']);
});

test('nftables: masqueradeAll masquerades pod traffic to ClusterIPs too', async () => {
  const { nft } = await setup([makeService('web'), web], { ...config, masqueradeAll: true });
  assert.deepEqual(outcomes(nft, tcp('10.244.1.9', '10.96.0.10', 80)), ['DNAT 10.244.1.5:8080 masquerade', 'DNAT 10.244.2.7:8080 masquerade']);
});

test('nftables: without a local-traffic detector, pod traffic to ClusterIPs is not masqueraded', async () => {
  const { nft } = await setup([makeService('web'), web], { ...config, localTrafficCIDRs: [] });
  assert.deepEqual(outcomes(nft, tcp('198.51.100.1', '10.96.0.10', 80)), ['DNAT 10.244.1.5:8080', 'DNAT 10.244.2.7:8080']);
});

test('nftables: traffic to an unallocated IP of the service CIDRs is dropped, to an allocated one with an unknown port rejected', async () => {
  const { nft } = await setup([makeService('web'), web], { ...config, serviceCIDRs: ['10.96.0.0/16'] });
  assert.deepEqual(outcomes(nft, tcp('10.244.1.9', '10.96.0.99', 80)), ['drop']);
  assert.deepEqual(outcomes(nft, tcp('10.244.1.9', '10.96.0.10', 81)), ['reject']);
  assert.deepEqual(outcomes(nft, tcp('10.244.1.9', '10.97.0.1', 80)), ['accept']);
});

test('nftables: sessionAffinity ClientIP keeps a client on the endpoint it first reached', async () => {
  const { nft } = await setup([makeService('web', { affinityTimeout: 600 }), makeSlice('web', [R('10.244.2.7'), R('10.244.2.8'), R('10.244.2.9')])]);
  const p = tcp('10.244.1.9', '10.96.0.10', 80);
  const opts = { nodeIPs: config.nodeIPs, commitUpdates: true };
  const first = tracePacket(nft, p, opts, (_n, o) => o + 2);
  assert.equal(first.dnat, '10.244.2.9:8080');
  for (let i = 0; i < 3; i++) assert.equal(tracePacket(nft, p, opts, (_n, o) => o + i).dnat, '10.244.2.9:8080');
  // Another client is balanced as usual.
  assert.equal(tracePacket(nft, tcp('10.244.1.10', '10.96.0.10', 80), opts, (_n, o) => o).dnat, '10.244.2.7:8080');
  assert.match(nft.dump(), /add set ip svcnet affinity-600-2 \{ type ipv4_addr \. ipv4_addr \. inet_proto \. inet_service ; flags dynamic,timeout ; timeout 600s ; size 65535 ; \}/);
});

test('nftables: affinity survives another endpoint going away, and a removed endpoint’s clients move', async () => {
  // Slots are stable: only the endpoint that fills the freed slot (the last one) changes slot,
  // and its clients start afresh, as do the removed endpoint's.
  const eps = [R('10.244.2.7'), R('10.244.2.8'), R('10.244.2.9')];
  const { nft, backend } = await setup([makeService('web', { affinityTimeout: 600 }), makeSlice('web', eps)]);
  const opts = { nodeIPs: config.nodeIPs, commitUpdates: true };
  const a = tcp('10.244.1.9', '10.96.0.10', 80);
  const b = tcp('10.244.1.10', '10.96.0.10', 80);
  assert.equal(tracePacket(nft, a, opts, (_n, o) => o).dnat, '10.244.2.7:8080');
  assert.equal(tracePacket(nft, b, opts, (_n, o) => o + 1).dnat, '10.244.2.8:8080');
  await backend.sync(stateOf([makeService('web', { affinityTimeout: 600 }), makeSlice('web', [eps[0], eps[2]])]), new Set(['default/web']));
  assert.equal(tracePacket(nft, a, opts, (_n, o) => o + 1).dnat, '10.244.2.7:8080');
  assert.notEqual(tracePacket(nft, b, opts, (_n, o) => o).dnat, '10.244.2.8:8080');
});

test('nftables: the whole ruleset of a small cluster (golden)', async () => {
  // A NodePort Service with affinity, an ETP-Local LoadBalancer with source ranges, and a
  // Service without endpoints, IPv4 only. The number of chains does not depend on the number of
  // Services, only on the endpoint counts and affinity timeouts in use.
  const nft = new FakeNftables();
  const v4: ProxyConfig = { ...config, families: ['IPv4'], nodeIPs: [nodeIP], localTrafficCIDRs: ['10.244.0.0/16'] };
  const objs = [
    makeService('web', { type: 'NodePort', ...np(), affinityTimeout: 60 }),
    web,
    makeService('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.20', ...np(80, 30002), loadBalancerIngress: [{ ip: '203.0.113.1' }], loadBalancerSourceRanges: ['198.51.100.0/24'], externalTrafficPolicy: 'Local' }),
    makeSlice('lb', [L('10.244.1.6'), R('10.244.2.8')]),
    makeService('empty', { clusterIP: '10.96.0.30' }),
  ];
  const svcs = new Map<string, ServiceInfo>();
  const slices = new Map<string, Map<string, SliceInfo>>();
  for (const o of objs) {
    if (o.kind === 'Service') svcs.set(`default/${o.metadata!.name}`, toServiceInfo(o)!);
    else slices.set(`default/${o.metadata!.labels!['kubernetes.io/service-name']}`, new Map([['x', toSliceInfo(o as EndpointSlice)]]));
  }
  await new NftablesBackend({ nft, config: v4, node }).sync(computeState(svcs, slices, node, ['IPv4']), undefined);
  const golden = readFileSync(new URL('./testdata/small-cluster.nft', import.meta.url), 'utf8');
  assert.equal(nft.dump(), golden);
});

test('nftables: one endpoint change sends a handful of elements, not the ruleset', async () => {
  const svcs = Array.from({ length: 50 }, (_, i) => makeService(`s${i}`, { clusterIP: `10.96.1.${i}` }));
  const slices = svcs.map((s, i) => makeSlice(s.metadata!.name!, [R(`10.244.2.${i}`), R(`10.244.3.${i}`)]));
  const { nft, backend } = await setup([...svcs, ...slices]);
  const before = nft.scripts.length;
  slices[7] = makeSlice('s7', [R('10.244.2.7'), R('10.244.4.7')]);
  await backend.sync(stateOf([...svcs, ...slices]), new Set(['default/s7']));
  assert.equal(nft.scripts.length, before + 1);
  assert.equal(
    nft.lastScript,
    [
      'delete element ip svcnet slot-1 { 10.96.1.7 . tcp . 80 }',
      'delete element ip svcnet service-state { 10.96.1.7 . tcp . 80 }',
      'add element ip svcnet slot-1 { 10.96.1.7 . tcp . 80 : 10.244.4.7 . 8080 }',
      `add element ip svcnet service-state { 10.96.1.7 . tcp . 80 : ${/service-state \{ 10\.96\.1\.7 \. tcp \. 80 : (\S+ \. \S+) \}/.exec(nft.lastScript)![1]} }`,
      '',
    ].join('\n'),
  );
  assert.deepEqual(outcomes(nft, tcp('10.244.1.9', '10.96.1.7', 80)), ['DNAT 10.244.2.7:8080', 'DNAT 10.244.4.7:8080']);
});

test('nftables: a sync with no change sends nothing', async () => {
  const { nft, backend } = await setup([makeService('web'), web]);
  const n = nft.scripts.length;
  await backend.sync(stateOf([makeService('web'), web]), new Set());
  await backend.sync(stateOf([makeService('web'), web]), new Set(['default/web']));
  assert.equal(nft.scripts.length, n);
});

test('nftables: a deleted service leaves nothing behind, and its chains go one sync later', async () => {
  const { nft, backend } = await setup([makeService('web', { affinityTimeout: 60 }), web]);
  await backend.sync(stateOf([]), new Set(['default/web']));
  assert.deepEqual(outcomes(nft, tcp('10.244.1.9', '10.96.0.10', 80)), ['accept']);
  assert.match(nft.dump(), /chain ip svcnet internal-0-2-a60/);
  await backend.sync(stateOf([]), new Set());
  const fresh = new FakeNftables();
  await new NftablesBackend({ nft: fresh, config, node }).sync(stateOf([]), undefined);
  assert.equal(nft.dump(), fresh.dump());
});

test('nftables: a restarted backend adopts the table and sends only what changed meanwhile', async () => {
  const svcs = Array.from({ length: 20 }, (_, i) => makeService(`s${i}`, { clusterIP: `10.96.1.${i}` }));
  const slices = svcs.map((s, i) => makeSlice(s.metadata!.name!, [R(`10.244.2.${i}`), R(`10.244.3.${i}`)]));
  const { nft } = await setup([...svcs, ...slices]);
  const dumpBefore = nft.dump();
  // Unchanged: the new process sends base chains again but not one per-key element.
  const again = new NftablesBackend({ nft, config, node });
  await again.sync(stateOf([...svcs, ...slices]), undefined);
  assert.doesNotMatch(nft.lastScript, /element ip6? svcnet (slot|service-ips|service-state)/);
  assert.equal(nft.dump(), dumpBefore);
  // Changed while it was down: s3's endpoints moved and s19 went away.
  slices[3] = makeSlice('s3', [R('10.244.9.3')]);
  const third = new NftablesBackend({ nft, config, node });
  await third.sync(stateOf([...svcs.slice(0, 19), ...slices.slice(0, 19)]), undefined);
  assert.doesNotMatch(nft.lastScript, /10\.96\.1\.(?!3 |19 )\d+ \./);
  assert.deepEqual(outcomes(nft, tcp('10.244.1.9', '10.96.1.3', 80)), ['DNAT 10.244.9.3:8080']);
  assert.deepEqual(outcomes(nft, tcp('10.244.1.9', '10.96.1.19', 80)), ['accept']);
  const fresh = new FakeNftables();
  await new NftablesBackend({ nft: fresh, config, node }).sync(stateOf([...svcs.slice(0, 19), ...slices.slice(0, 19)]), undefined);
  const elems = (d: string): string[] => d.split('\n').filter((l) => l.includes(' element ') && !l.includes('service-state'));
  assert.deepEqual(elems(nft.dump()), elems(fresh.dump()));
});

test('nftables: after a failed sync the next one re-sends everything and repairs the table', async () => {
  const { nft, backend } = await setup([makeService('web'), web]);
  nft.failNext = 'Could not process rule: Cannot allocate memory';
  await assert.rejects(backend.sync(stateOf([makeService('web'), makeSlice('web', [R('10.244.2.7')])]), new Set(['default/web'])), /Cannot allocate memory/);
  // Someone removed an element behind our back meanwhile; the full sync puts it back.
  await nft.run('delete element ip svcnet service-ips { 10.96.0.10 . tcp . 80 }\n');
  const r = await backend.sync(stateOf([makeService('web'), makeSlice('web', [R('10.244.2.7')])]), new Set());
  assert.equal(r.mode, 'full');
  assert.match(nft.lastScript, /flush map ip svcnet service-ips/);
  assert.deepEqual(outcomes(nft, tcp('10.244.1.9', '10.96.0.10', 80)), ['DNAT 10.244.2.7:8080']);
});

test('nftables: UDP flows to a removed endpoint, and to a service that had none, are cleared', async () => {
  const dns = makeService('dns', { type: 'NodePort', ports: [{ name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' }] });
  const ports = [{ name: 'dns', port: 5353, protocol: 'UDP' as const }];
  const { backend, ct } = await setup([dns]);
  await backend.sync(stateOf([dns, makeSlice('dns', [R('10.244.2.7'), R('10.244.2.8')], { ports })]), new Set(['default/dns']));
  assert.deepEqual(
    ct.cleared.map((f) => `${f.origDst}:${f.origPortDst}${f.dstNat ? ` → ${f.dstNat}` : ''}`),
    ['10.96.0.10:53', '192.168.0.10:30053'],
  );
  ct.cleared.length = 0;
  await backend.sync(stateOf([dns, makeSlice('dns', [R('10.244.2.8')], { ports })]), new Set(['default/dns']));
  assert.deepEqual(
    ct.cleared.map((f) => `${f.protocol} ${f.origDst}:${f.origPortDst} → ${f.dstNat ?? ''}`),
    ['udp 10.96.0.10:53 → 10.244.2.7', 'udp 192.168.0.10:30053 → 10.244.2.7'],
  );
});

test('nftables: overlapping source ranges are merged before they reach the interval set', async () => {
  const { nft } = await setup([
    makeService('lb', { type: 'LoadBalancer', ...np(), loadBalancerIngress: [{ ip: '203.0.113.1' }], loadBalancerSourceRanges: ['198.51.100.0/24', '198.51.100.7/32', '198.51.100.9'] }),
    makeSlice('lb', [L('10.244.1.5')]),
  ]);
  assert.deepEqual(
    nft.dump().split('\n').filter((l) => l.startsWith('add element') && l.includes('firewall-allow {')),
    ['add element ip svcnet firewall-allow { 203.0.113.1 . tcp . 80 . 198.51.100.0/24 }'],
  );
});

test('nftables: a large first sync into an empty table preloads the inert maps while rendering, then switches on in one transaction', async () => {
  const svcs = Array.from({ length: 600 }, (_, i) => makeService(`s${i}`, { clusterIP: `10.96.${i >> 8}.${i & 255}` }));
  const slices = svcs.map((s, i) => makeSlice(s.metadata!.name!, [R(`10.244.2.${i & 255}`), R(`10.244.3.${i & 255}`)]));
  const state = stateOf([...svcs, ...slices]);
  const nft = new FakeNftables();
  const r = await new NftablesBackend({ nft, config, node, preloadChunkElements: 100 }).sync(state, undefined);
  assert.ok(nft.scripts.length >= 3, `${nft.scripts.length} scripts`);
  // Preloads: maps, sets and empty chains declared, then elements; no rule, no base chain.
  const inert = '(slot-\\d+|service-state|service-ips|no-endpoint-services|cluster-ips)';
  for (const s of nft.scripts.slice(0, -1)) {
    assert.match(s, new RegExp(`^add table ip svcnet\\n(add (map|set) ip svcnet ${inert} \\{[^\\n]*\\n)+((add|flush) chain ip svcnet [\\w-]+\\n)*(add element ip svcnet ${inert} [^\\n]*\\n)+$`));
    assert.doesNotMatch(s, /hook|add rule/);
  }
  assert.ok(nft.scripts.slice(0, -1).some((s) => s.includes('add element ip svcnet service-ips')));
  const last = nft.scripts.at(-1)!;
  assert.match(last, /add chain ip svcnet services/);
  assert.doesNotMatch(last, new RegExp(`add element ip svcnet ${inert} `));
  const once = new FakeNftables();
  const r1 = await new NftablesBackend({ nft: once, config, node }).sync(state, undefined);
  assert.equal(once.scripts.length, 1);
  assert.equal(nft.dump(), once.dump());
  assert.equal(r.elements, r1.elements);
});

test('nftables: a table left half-preloaded by a process that died is loaded again from scratch', async () => {
  const svcs = Array.from({ length: 600 }, (_, i) => makeService(`s${i}`, { clusterIP: `10.96.${i >> 8}.${i & 255}` }));
  const slices = svcs.map((s, i) => makeSlice(s.metadata!.name!, [R(`10.244.2.${i & 255}`), R(`10.244.3.${i & 255}`)]));
  const state = stateOf([...svcs, ...slices]);
  const first = new FakeNftables();
  await new NftablesBackend({ nft: first, config, node, preloadChunkElements: 100 }).sync(state, undefined);
  // Only the first preload reached the kernel; the one that changes a Service's endpoints is stale.
  const nft = new FakeNftables();
  await nft.run(first.scripts[0].replace(/10\.244\.2\.(\d+) \. 80/g, '10.244.9.$1 . 80'));
  const r = await new NftablesBackend({ nft, config, node }).sync(state, undefined);
  assert.equal(r.mode, 'adopt');
  assert.match(nft.scripts[1], /^delete table ip svcnet\n$/);
  const once = new FakeNftables();
  await new NftablesBackend({ nft: once, config, node }).sync(state, undefined);
  assert.equal(nft.dump(), once.dump());
});

test('nftables: two Services claiming one address and port: the first keeps it, the other takes over when it goes', async () => {
  // externalIPs are the user's to choose: two Services may name the same one, or another
  // Service's ClusterIP. One element per key: one claim applies, and the sync does not fail.
  const a = makeService('a', { clusterIP: '10.96.0.10', externalIPs: ['203.0.113.7'] });
  const b = makeService('b', { clusterIP: '10.96.0.11', externalIPs: ['203.0.113.7', '10.96.0.10'] });
  const aEps = makeSlice('a', [L('10.244.1.5')]);
  const bEps = makeSlice('b', [L('10.244.1.6')]);
  const { nft, backend } = await setup([a, aEps, b, bEps]);
  const from = (daddr: string): string[] => outcomes(nft, tcp('198.51.100.1', daddr, 80));
  assert.deepEqual(from('203.0.113.7'), ['DNAT 10.244.1.5:8080 masquerade']);
  assert.deepEqual(from('10.96.0.10'), ['DNAT 10.244.1.5:8080 masquerade'], "a's ClusterIP stays a's");
  assert.deepEqual(from('10.96.0.11'), ['DNAT 10.244.1.6:8080 masquerade']);
  // The waiting Service changes: nothing of its claim shows while a owns the key.
  const bEps2 = makeSlice('b', [L('10.244.1.8')]);
  await backend.sync(stateOf([a, aEps, b, bEps2]), new Set(['default/b']));
  assert.deepEqual(from('203.0.113.7'), ['DNAT 10.244.1.5:8080 masquerade']);
  assert.deepEqual(from('10.96.0.11'), ['DNAT 10.244.1.8:8080 masquerade']);
  // a goes: b takes over both keys it claimed, in the same incremental sync.
  await backend.sync(stateOf([b, bEps2]), new Set(['default/a']));
  assert.deepEqual(from('203.0.113.7'), ['DNAT 10.244.1.8:8080 masquerade']);
  assert.deepEqual(from('10.96.0.10'), ['DNAT 10.244.1.8:8080 masquerade']);
  // a comes back and b changes in the same sync: b, the owner now, keeps both keys.
  await backend.sync(stateOf([a, aEps, b, bEps]), new Set(['default/a', 'default/b']));
  assert.deepEqual(from('203.0.113.7'), ['DNAT 10.244.1.6:8080 masquerade']);
  // b drops the shared external IP and a changes in one sync: handed to a, once.
  const b2 = makeService('b', { clusterIP: '10.96.0.11' });
  await backend.sync(stateOf([a, makeSlice('a', [L('10.244.1.9')]), b2, bEps]), new Set(['default/b', 'default/a']));
  assert.deepEqual(from('203.0.113.7'), ['DNAT 10.244.1.9:8080 masquerade']);
  assert.deepEqual(from('10.96.0.10'), ['DNAT 10.244.1.9:8080 masquerade']);
  // A full sync agrees with what the incremental ones built.
  const before = nft.dump();
  backend.requestFullSync();
  await backend.sync(stateOf([a, makeSlice('a', [L('10.244.1.9')]), b2, bEps]), undefined);
  assert.equal(nft.dump(), before);
});
