import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { IPAddressPoolSpec } from '../../api/validation/index.ts';
import { Allocator } from './allocator.ts';
import { emptyPools, poolsFromIPAddressPools } from './config.ts';
import { convergeService, desiredIPs, type ConvergeResult } from './converge.ts';

function allocator(specs: Record<string, IPAddressPoolSpec>): Allocator {
  const a = new Allocator();
  a.setPools(poolsFromIPAddressPools(Object.entries(specs).map(([name, spec]) => ({ metadata: { name, namespace: 'metallb-system' }, spec })), []));
  return a;
}

interface SvcOpts {
  annotations?: Record<string, string>;
  spec?: Partial<ServiceSpec>;
  status?: string[];
  labels?: Record<string, string>;
}

function svc(name: string, o: SvcOpts = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'ns', annotations: o.annotations, labels: o.labels },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', ports: [{ port: 80, protocol: 'TCP' }], selector: { app: name }, ...o.spec },
    status: o.status ? { loadBalancer: { ingress: o.status.map((ip) => ({ ip, ipMode: 'VIP' })) } } : {},
  };
}

function brief(r: ConvergeResult): { ips: string[]; pool: string | undefined; events: string[]; ok: boolean } {
  return { ips: r.ips, pool: r.pool, ok: r.ok, events: r.events.map((e) => `${e.type} ${e.reason}: ${e.message}`) };
}

test('a new LoadBalancer gets the first free address and an IPAllocated event', () => {
  const a = allocator({ default: { addresses: ['192.168.1.200-192.168.1.250'] } });
  assert.deepEqual(brief(convergeService(a, svc('grafana'))), { ips: ['192.168.1.200'], pool: 'default', ok: true, events: ['Normal IPAllocated: Assigned IP ["192.168.1.200"]'] });
});

test('without any pool the Service stays pending with AllocationFailed', () => {
  const a = new Allocator();
  a.setPools(emptyPools());
  assert.deepEqual(brief(convergeService(a, svc('grafana'))), { ips: [], pool: undefined, ok: false, events: ['Warning AllocationFailed: Failed to allocate IP for "ns/grafana": no available IPs'] });
});

test('a full pool leaves the next Service pending with AllocationFailed', () => {
  const a = allocator({ tiny: { addresses: ['10.0.0.1/32'] } });
  convergeService(a, svc('one'));
  assert.deepEqual(brief(convergeService(a, svc('two'))).events, ['Warning AllocationFailed: Failed to allocate IP for "ns/two": no available IPs']);
});

test('an address already in the status is kept, without an event (restart)', () => {
  const a = allocator({ default: { addresses: ['192.168.1.200-192.168.1.250'] } });
  assert.deepEqual(brief(convergeService(a, svc('kept', { status: ['192.168.1.240'] }))), { ips: ['192.168.1.240'], pool: 'default', ok: true, events: [] });
  assert.deepEqual(brief(convergeService(a, svc('other', { status: ['192.168.1.240'] }))).events, [
    'Normal ClearAssignment: current IP for "ns/other" not allowed by config, will attempt for new IP assignment: can\'t change sharing key for "ns/other", address also in use by ns/kept',
    'Normal IPAllocated: Assigned IP ["192.168.1.200"]',
  ]);
});

test('requested addresses: annotation, deprecated annotation and spec.loadBalancerIP are honoured', () => {
  const a = allocator({ default: { addresses: ['192.168.1.200-192.168.1.250'] } });
  assert.deepEqual(convergeService(a, svc('a', { annotations: { 'metallb.io/loadBalancerIPs': '192.168.1.210' } })).ips, ['192.168.1.210']);
  assert.deepEqual(convergeService(a, svc('b', { annotations: { 'metallb.universe.tf/loadBalancerIPs': '192.168.1.211' } })).ips, ['192.168.1.211']);
  assert.deepEqual(convergeService(a, svc('c', { spec: { loadBalancerIP: '192.168.1.212' } })).ips, ['192.168.1.212']);
  // Changing the request moves the Service.
  assert.deepEqual(convergeService(a, svc('c', { spec: { loadBalancerIP: '192.168.1.213' }, status: ['192.168.1.212'] })).ips, ['192.168.1.213']);
  assert.deepEqual(a.ips('ns/c').length, 1);
});

test('requests that cannot be met are refused with MetalLB’s messages and leave the Service pending', () => {
  const a = allocator({ default: { addresses: ['192.168.1.200-192.168.1.250'] }, other: { addresses: ['10.5.0.0/30'] } });
  convergeService(a, svc('holder', { spec: { loadBalancerIP: '192.168.1.220' } }));
  const rows: [string, SvcOpts, string][] = [
    ['outside every pool', { spec: { loadBalancerIP: '10.0.0.1' } }, '["10.0.0.1"] is not allowed in config'],
    ['taken', { spec: { loadBalancerIP: '192.168.1.220' } }, 'can\'t change sharing key for "ns/x", address also in use by ns/holder'],
    ['both ways', { spec: { loadBalancerIP: '192.168.1.221' }, annotations: { 'metallb.io/loadBalancerIPs': '192.168.1.221' } }, 'service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP'],
    ['not an address', { annotations: { 'metallb.io/loadBalancerIPs': '192.168.1.x' } }, 'invalid metallb.io/loadBalancerIPs: "192.168.1.x"'],
    ['bad spec address', { spec: { loadBalancerIP: 'nope' } }, 'invalid spec.loadBalancerIP "nope"'],
    ['wrong family', { annotations: { 'metallb.io/loadBalancerIPs': 'fc00::1' } }, 'requested loadBalancer IP(s) ["fc00::1"] does not match the ipFamily of the service'],
    ['two of one family', { annotations: { 'metallb.io/loadBalancerIPs': '192.168.1.230,192.168.1.231' } }, 'IPFamilyForAddresses: same address family ["192.168.1.230" "192.168.1.231"]'],
    ['pool mismatch', { spec: { loadBalancerIP: '192.168.1.222' }, annotations: { 'metallb.io/address-pool': 'other' } }, 'requested loadBalancer IP(s) ["192.168.1.222"] is not compatible with requested address pool other'],
    ['unknown pool', { annotations: { 'metallb.io/address-pool': 'nope' } }, 'unknown pool "nope"'],
  ];
  for (const [name, o, msg] of rows) {
    const r = convergeService(a, svc('x', o));
    assert.deepEqual(brief(r), { ips: [], pool: undefined, ok: false, events: [`Warning AllocationFailed: Failed to allocate IP for "ns/x": ${msg}`] }, name);
    assert.equal(a.pool('ns/x'), '', name);
  }
});

test('the address-pool annotation picks the pool, and a change of it moves the Service', () => {
  const a = allocator({ a: { addresses: ['10.0.0.0/30'] }, b: { addresses: ['10.1.0.0/30'] } });
  assert.deepEqual(brief(convergeService(a, svc('s', { annotations: { 'metallb.io/address-pool': 'b' } }))), { ips: ['10.1.0.0'], pool: 'b', ok: true, events: ['Normal IPAllocated: Assigned IP ["10.1.0.0"]'] });
  const r = convergeService(a, svc('s', { annotations: { 'metallb.io/address-pool': 'a' }, status: ['10.1.0.0'] }));
  assert.deepEqual([r.ips, r.pool], [['10.0.0.0'], 'a']);
});

test('sharing through allow-shared-ip and a requested address', () => {
  const a = allocator({ p: { addresses: ['10.0.0.1-10.0.0.5'] } });
  const dnsTCP = svc('dns-tcp', { annotations: { 'metallb.io/allow-shared-ip': 'dns' }, spec: { loadBalancerIP: '10.0.0.5', ports: [{ port: 53, protocol: 'TCP' }] } });
  const dnsUDP = svc('dns-udp', { annotations: { 'metallb.io/allow-shared-ip': 'dns' }, spec: { loadBalancerIP: '10.0.0.5', ports: [{ port: 53, protocol: 'UDP' }] } });
  assert.deepEqual(convergeService(a, dnsTCP).ips, ['10.0.0.5']);
  assert.deepEqual(convergeService(a, dnsUDP).ips, ['10.0.0.5']);
  const clash = svc('dns-tcp2', { annotations: { 'metallb.io/allow-shared-ip': 'dns' }, spec: { loadBalancerIP: '10.0.0.5', ports: [{ port: 53, protocol: 'TCP' }] } });
  assert.deepEqual(brief(convergeService(a, clash)).events, ['Warning AllocationFailed: Failed to allocate IP for "ns/dns-tcp2": port TCP/53 is already in use on "10.0.0.5"']);
  // ETP Local: only with the same selector.
  const local = (name: string, app: string) => svc(name, { annotations: { 'metallb.io/allow-shared-ip': 'web' }, spec: { loadBalancerIP: '10.0.0.4', externalTrafficPolicy: 'Local', selector: { app }, ports: [{ port: name.length, protocol: 'TCP' }] } });
  assert.deepEqual(convergeService(a, local('w1', 'web')).ips, ['10.0.0.4']);
  assert.deepEqual(convergeService(a, local('w22', 'web')).ips, ['10.0.0.4']);
  assert.equal(convergeService(a, local('w333', 'api')).ok, false);
});

test('a Service that is no longer a LoadBalancer releases its address and clears its status', () => {
  const a = allocator({ p: { addresses: ['10.0.0.1/32'] } });
  convergeService(a, svc('s'));
  const r = convergeService(a, svc('s', { spec: { type: 'ClusterIP' }, status: ['10.0.0.1'] }));
  assert.deepEqual(brief(r), { ips: [], pool: undefined, ok: true, events: [] });
  assert.deepEqual(convergeService(a, svc('t')).ips, ['10.0.0.1']);
});

test('an address stranded by a pool change is cleared and replaced from the new pools', () => {
  const a = allocator({ old: { addresses: ['10.0.0.1/32'] } });
  convergeService(a, svc('s'));
  a.setPools(poolsFromIPAddressPools([{ metadata: { name: 'new' }, spec: { addresses: ['10.9.0.1/32'] } }], []));
  assert.deepEqual(brief(convergeService(a, svc('s', { status: ['10.0.0.1'] }))), {
    ips: ['10.9.0.1'],
    pool: 'new',
    ok: true,
    events: ['Normal ClearAssignment: current IP for "ns/s" not allowed by config, will attempt for new IP assignment: ["10.0.0.1"] is not allowed in config', 'Normal IPAllocated: Assigned IP ["10.9.0.1"]'],
  });
});

test('dual-stack Services get one address per family; PreferDualStack adds the missing family later', () => {
  const a = allocator({ dual: { addresses: ['10.0.0.1/32', 'fc00::1/128'] }, v4: { addresses: ['10.1.0.1/32'] } });
  const dual = (name: string, policy: 'RequireDualStack' | 'PreferDualStack', status?: string[]) =>
    svc(name, { spec: { clusterIPs: ['10.96.0.9', 'fd00::9'], clusterIP: '10.96.0.9', ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: policy }, status });
  assert.deepEqual(brief(convergeService(a, dual('req', 'RequireDualStack'))), { ips: ['10.0.0.1', 'fc00::1'], pool: 'dual', ok: true, events: ['Normal IPAllocated: Assigned IP ["10.0.0.1" "fc00::1"]'] });
  // No pool has both left: PreferDualStack settles for IPv4 ...
  assert.deepEqual(convergeService(a, dual('pref', 'PreferDualStack')).ips, ['10.1.0.1']);
  // ... and asks for IPv6 from its pool on each pass, said with AdditionalAssignFailed.
  assert.deepEqual(brief(convergeService(a, dual('pref', 'PreferDualStack', ['10.1.0.1']))).events, ['Normal AdditionalAssignFailed: cannot assign additional IP in PreferDualStack: no available IPs in pool v4 for ipv6 IPFamily']);
  // Where its pool has the other family free, it is added to the address it holds.
  const b = allocator({ dual: { addresses: ['10.0.0.1/32', 'fc00::1/128'] } });
  assert.deepEqual(brief(convergeService(b, dual('pref', 'PreferDualStack', ['10.0.0.1']))), { ips: ['10.0.0.1', 'fc00::1'], pool: 'dual', ok: true, events: ['Normal IPAllocated: Assigned additional IP "fc00::1"'] });
});

test('RequireDualStack without two cluster IPs is reported and not allocated', () => {
  const a = allocator({ p: { addresses: ['10.0.0.1/32'] } });
  const r = convergeService(a, svc('s', { spec: { ipFamilyPolicy: 'RequireDualStack' } }));
  assert.deepEqual(brief(r), { ips: [], pool: undefined, ok: false, events: ['Warning not enough clusterips: Service requires dual stack but not enough clusterips [10.96.0.5]'] });
});

test('an invalid request on a Service that holds an address keeps it and says so', () => {
  const a = allocator({ p: { addresses: ['10.0.0.1/32'] } });
  convergeService(a, svc('s'));
  const r = convergeService(a, svc('s', { status: ['10.0.0.1'], annotations: { 'metallb.io/loadBalancerIPs': 'bogus' } }));
  assert.deepEqual(brief(r), { ips: ['10.0.0.1'], pool: 'p', ok: false, events: ['Warning LoadBalancerFailed: invalid requested loadbalancer IPs: invalid metallb.io/loadBalancerIPs: "bogus"'] });
});

test('the stable annotation wins over the deprecated one, even when empty', () => {
  assert.deepEqual(desiredIPs(svc('s', { annotations: { 'metallb.io/loadBalancerIPs': '', 'metallb.universe.tf/loadBalancerIPs': '10.0.0.1' } })).ips, []);
  assert.equal(desiredIPs(svc('s', { annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.1, fc00::1' } })).family, 'dual');
});
