import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { ConfigMap, Namespace, Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/index.ts';
import type { IPAddressPool } from '../../api/validation/index.ts';
import type { PoolCounters } from './allocator.ts';
import { LoadBalancerReconciler, type Executor, type Lister } from './reconciler.ts';

const silent = pino({ level: 'silent' });

/** Informer caches and an API that applies status writes to them (defaulting ipMode as the server does). */
class FakeCluster implements Lister, Executor {
  svcs = new Map<string, Service>();
  pools: IPAddressPool[] = [];
  cm: ConfigMap | undefined;
  nss: Namespace[] = [];
  writes: Service[] = [];
  events: string[] = [];
  poolStatus: { pool: string; status: PoolCounters }[] = [];
  failWrites = 0;

  service(key: string) {
    return this.svcs.get(key);
  }
  services() {
    return [...this.svcs.values()];
  }
  ipAddressPools() {
    return this.pools;
  }
  configMap() {
    return this.cm;
  }
  namespaces() {
    return this.nss;
  }
  async updateServiceStatus(svc: Service) {
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new Error('conflict');
    }
    this.writes.push(svc);
    const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => ({ ...i, ipMode: 'VIP' }));
    this.svcs.set(`${svc.metadata?.namespace}/${svc.metadata?.name}`, { ...svc, status: { loadBalancer: ingress.length ? { ingress } : {} } });
  }
  async event(obj: KubeObject, type: string, reason: string, message: string) {
    this.events.push(`${obj.kind}/${obj.metadata?.name} ${type} ${reason}: ${message}`);
  }
  async updatePoolStatus(pool: IPAddressPool, status: PoolCounters) {
    this.poolStatus.push({ pool: pool.metadata?.name ?? '', status });
  }
  add(name: string, spec: Partial<ServiceSpec> = {}, status?: string[], annotations?: Record<string, string>) {
    const svc: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'ns', resourceVersion: '1', annotations },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'], ports: [{ port: 80, protocol: 'TCP' }], ...spec },
      status: status ? { loadBalancer: { ingress: status.map((ip) => ({ ip, ipMode: 'VIP' })) } } : {},
    };
    this.svcs.set(`ns/${name}`, svc);
    return svc;
  }
  ip(name: string): string[] {
    return (this.svcs.get(`ns/${name}`)?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
  }
}

function legacy(addresses: string): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: 'metallb-system' }, data: { config: `address-pools: [{name: default, protocol: layer2, addresses: [${addresses}]}]` } };
}

function crPool(name: string, addresses: string[]): IPAddressPool {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'metallb-system' }, spec: { addresses, autoAssign: true, avoidBuggyIPs: false } };
}

async function start(c: FakeCluster, mode: 'host' | 'netns' = 'netns') {
  const r = new LoadBalancerReconciler(c, c, mode, silent);
  await r.syncConfig();
  await r.reprocess(false);
  return r;
}

test('at start every Service keeps the address its status holds; waiting ones get free ones', async () => {
  const c = new FakeCluster();
  c.cm = legacy('192.168.1.200-192.168.1.202');
  // A pending Service sorts first by name, yet must not take b's address.
  c.add('a-pending');
  c.add('b', {}, ['192.168.1.200'], { 'metallb.io/ip-allocated-from-pool': 'default' });
  c.add('c', {}, ['192.168.1.202'], { 'metallb.io/ip-allocated-from-pool': 'default' });
  await start(c);
  assert.deepEqual([c.ip('a-pending'), c.ip('b'), c.ip('c')], [['192.168.1.201'], ['192.168.1.200'], ['192.168.1.202']]);
  assert.deepEqual(
    c.writes.map((w) => w.metadata?.name),
    ['a-pending'],
    'converged Services are not written',
  );
  assert.equal(c.writes[0].metadata?.annotations?.['metallb.io/ip-allocated-from-pool'], 'default');
  assert.deepEqual(c.events, ['Service/a-pending Normal IPAllocated: Assigned IP ["192.168.1.201"]']);
});

test('at start a Service with a stranded address cannot take the address another one holds', async () => {
  const c = new FakeCluster();
  c.cm = legacy('192.168.1.200-192.168.1.202');
  c.add('a-stranded', {}, ['10.0.0.99']);
  c.add('b', {}, ['192.168.1.200'], { 'metallb.io/ip-allocated-from-pool': 'default' });
  await start(c);
  assert.deepEqual([c.ip('a-stranded'), c.ip('b')], [['192.168.1.201'], ['192.168.1.200']]);
  assert.deepEqual(c.writes.map((w) => w.metadata?.name), ['a-stranded']);
});

test('a deleted Service frees its address for a waiting one', async () => {
  const c = new FakeCluster();
  c.cm = legacy('192.168.1.200/32');
  c.add('first');
  const r = await start(c);
  c.add('second');
  await r.syncService('ns/second');
  assert.deepEqual(c.ip('second'), []);
  assert.match(c.events.at(-1)!, /AllocationFailed: Failed to allocate IP for "ns\/second": no available IPs/);
  c.svcs.delete('ns/first');
  assert.deepEqual(await r.syncService('ns/first'), { freed: true });
  await r.reprocess(true);
  assert.deepEqual(c.ip('second'), ['192.168.1.200']);
});

test('a type change to ClusterIP releases the address and removes the pool annotation', async () => {
  const c = new FakeCluster();
  c.cm = legacy('192.168.1.200/32');
  c.add('s', {}, undefined, { keep: 'me' });
  const r = await start(c);
  assert.equal(c.svcs.get('ns/s')?.metadata?.annotations?.['metallb.io/ip-allocated-from-pool'], 'default');
  // The API server clears status.loadBalancer on the type change itself.
  const cur = c.svcs.get('ns/s')!;
  c.svcs.set('ns/s', { ...cur, spec: { ...cur.spec, type: 'ClusterIP' }, status: { loadBalancer: {} } });
  assert.deepEqual(await r.syncService('ns/s'), { freed: true });
  assert.deepEqual(c.svcs.get('ns/s')?.metadata?.annotations, { keep: 'me' });
  assert.equal(r.allocator.pool('ns/s'), '');
});

test('Services of another loadBalancerClass are left alone', async () => {
  const c = new FakeCluster();
  c.cm = legacy('192.168.1.200/32');
  c.add('other', { loadBalancerClass: 'example.com/lb' });
  await start(c);
  assert.deepEqual([c.writes, c.events], [[], []]);
});

test('a failed write is thrown for the caller to retry, and the retry converges', async () => {
  const c = new FakeCluster();
  c.cm = legacy('192.168.1.200/32');
  const r = await start(c);
  c.add('s');
  c.failWrites = 1;
  await assert.rejects(r.syncService('ns/s'), /conflict/);
  await r.syncService('ns/s');
  assert.deepEqual(c.ip('s'), ['192.168.1.200']);
});

test('a bad configuration keeps the last good one and is reported once on the ConfigMap', async () => {
  const c = new FakeCluster();
  c.cm = legacy('192.168.1.200/32');
  c.add('s');
  const r = await start(c);
  c.cm = { ...c.cm, data: { config: 'address-pools: [{name: default, addresses: [10.0.0.0/24]}]' } };
  assert.equal(await r.syncConfig(), false);
  assert.equal(await r.syncConfig(), false);
  assert.deepEqual(
    c.events.filter((e) => e.includes('ConfigStale')),
    ['ConfigMap/config Warning ConfigStale: config (re)load failed, config marked stale: parsing address pool #1: address pool is missing the protocol field'],
  );
  assert.deepEqual(c.ip('s'), ['192.168.1.200']);
  assert.equal(r.allocator.pool('ns/s'), 'default');
});

test('with no valid configuration ever read, Services are not touched', async () => {
  const c = new FakeCluster();
  c.cm = { ...legacy(''), data: { config: 'address-pools: [{name: x}]' } };
  c.add('s', {}, ['192.168.1.200']);
  await start(c, 'host');
  assert.deepEqual(c.writes, []);
  assert.deepEqual(c.ip('s'), ['192.168.1.200']);
});

test('IPAddressPools replace the ConfigMap, which is reported ignored; stranded Services move', async () => {
  const c = new FakeCluster();
  c.cm = legacy('192.168.1.200/32');
  c.add('s');
  const r = await start(c);
  c.pools = [crPool('new', ['10.20.0.0/30'])];
  assert.equal(await r.syncConfig(), true);
  await r.reprocess(false);
  assert.deepEqual(c.ip('s'), ['10.20.0.0']);
  assert.equal(c.svcs.get('ns/s')?.metadata?.annotations?.['metallb.io/ip-allocated-from-pool'], 'new');
  assert.ok(c.events.some((e) => e.startsWith('ConfigMap/config Warning ConfigIgnored: the legacy ConfigMap metallb-system/config is ignored')));
  assert.ok(c.events.includes('Service/s Normal ClearAssignment: current IP for "ns/s" not allowed by config, will attempt for new IP assignment: ["192.168.1.200"] is not allowed in config'));
});

test('host mode without any pool serves from 127.240.0.0/24; netns mode leaves the Service pending', async () => {
  const host = new FakeCluster();
  host.add('grafana');
  await start(host, 'host');
  assert.deepEqual(host.ip('grafana'), ['127.240.0.1']);
  assert.equal(host.svcs.get('ns/grafana')?.metadata?.annotations?.['metallb.io/ip-allocated-from-pool'], 'svcnet-loopback');
  const netns = new FakeCluster();
  netns.add('grafana');
  await start(netns, 'netns');
  assert.deepEqual(netns.ip('grafana'), []);
  assert.deepEqual(netns.events, ['Service/grafana Warning AllocationFailed: Failed to allocate IP for "ns/grafana": no available IPs']);
});

test('pool statuses are written for IPAddressPools when their figures change', async () => {
  const c = new FakeCluster();
  c.pools = [crPool('p', ['10.0.0.0/30', 'fc00::/126'])];
  c.add('s');
  const r = await start(c);
  assert.equal(r.hasDirtyPools(), true);
  await r.syncPoolStatus();
  assert.deepEqual(c.poolStatus, [{ pool: 'p', status: { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 3, availableIPv6: 4 } }]);
  c.pools = [{ ...c.pools[0], status: c.poolStatus[0].status }];
  await r.syncService('ns/s');
  await r.syncPoolStatus();
  assert.equal(c.poolStatus.length, 1, 'nothing changed, nothing written');
});

test('deprecated annotations are honoured and warned about when the Service is written', async () => {
  const c = new FakeCluster();
  c.cm = legacy('192.168.1.200/29');
  c.add('old', {}, undefined, { 'metallb.universe.tf/loadBalancerIPs': '192.168.1.203' });
  await start(c);
  assert.deepEqual(c.ip('old'), ['192.168.1.203']);
  assert.ok(c.events.includes('Service/old Warning deprecatedAnnotation: Service uses deprecated annotation metallb.universe.tf/loadBalancerIPs'));
  assert.equal(c.svcs.get('ns/old')?.metadata?.annotations?.['metallb.universe.tf/loadBalancerIPs'], '192.168.1.203');
});
