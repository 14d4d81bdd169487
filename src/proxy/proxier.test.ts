// The proxier end to end over fakes: informers → trackers → runner → nftables backend (fake
// nft), with metrics and health servers on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeInformer } from '../client/index.ts';
import { startProxier } from './proxier.ts';
import { FakeNftables, FakeConntrack, traceAll, describe } from './nftables/index.ts';
import { makeService, makeSlice } from './testing.ts';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

test('proxier: programs Services from informers, follows endpoint changes, serves health and metrics', async () => {
  process.env.SVCNET_LOG_LEVEL ??= 'silent';
  const hcPort = await freePort();
  const services = new FakeInformer<Service>([
    makeService('web', { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30001, protocol: 'TCP' }], loadBalancerIngress: [{ ip: '203.0.113.1' }], externalTrafficPolicy: 'Local', healthCheckNodePort: hcPort }),
  ]);
  const slice = makeSlice('web', [{ ip: '10.244.1.5', node: 'node-a' }, { ip: '10.244.2.7', node: 'node-b' }]);
  const slices = new FakeInformer<EndpointSlice>([
    { ...slice, metadata: { ...slice.metadata, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(Date.now() - 500).toISOString() } } },
  ]);
  services.start();
  slices.start();
  const nft = new FakeNftables();
  const registry = new Registry();
  const p = startProxier({
    services,
    endpointSlices: slices,
    nodeName: 'node-a',
    nodeIPs: ['192.168.0.10'],
    podCIDRs: ['10.244.1.0/24'],
    clusterCIDRs: ['10.244.0.0/16'],
    nftables: nft,
    conntrack: new FakeConntrack(),
    registry,
    healthz: { host: '127.0.0.1', port: 0 },
    serviceHealthHost: '127.0.0.1',
    minSyncPeriodMs: 0,
  });
  try {
    await p.synced();
    const trace = (daddr: string, dport: number, saddr = '198.51.100.1'): string[] => traceAll(nft, { proto: 'tcp', saddr, daddr, dport }, { nodeIPs: ['192.168.0.10'] }).map(describe);
    assert.deepEqual(trace('10.96.0.10', 80, '10.244.1.9'), ['DNAT 10.244.1.5:8080', 'DNAT 10.244.2.7:8080']);
    assert.deepEqual(trace('203.0.113.1', 80), ['DNAT 10.244.1.5:8080']);

    let r = await fetch(`http://127.0.0.1:${hcPort}/`);
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { localEndpoints: number }).localEndpoints, 1);
    r = await fetch(`http://127.0.0.1:${p.healthzPort}/healthz`);
    assert.equal(r.status, 200);

    // The local endpoint goes away: external traffic is dropped, the health check says 503.
    const scripts = nft.scripts.length;
    slices.upsert(makeSlice('web', [{ ip: '10.244.2.7', node: 'node-b' }]));
    await until(() => nft.scripts.length > scripts);
    await until(() => p.serviceHealthPorts().size === 1);
    assert.doesNotMatch(nft.lastScript, /add table/);
    assert.deepEqual(trace('203.0.113.1', 80), ['drop']);
    assert.deepEqual(trace('10.96.0.10', 80, '10.244.1.9'), ['DNAT 10.244.2.7:8080']);
    await until(() => p.state().get('default/web')?.localReadyEndpoints === 0);
    r = await fetch(`http://127.0.0.1:${hcPort}/`);
    assert.equal(r.status, 503);

    // An update that changes nothing the proxy uses queues nothing.
    const n = nft.scripts.length;
    const same = makeSlice('web', [{ ip: '10.244.2.7', node: 'node-b' }]);
    slices.upsert({ ...same, metadata: { ...same.metadata, resourceVersion: '99' } });
    await sleep(30);
    assert.equal(nft.scripts.length, n);

    // The Service goes: its rules and its health-check server go.
    services.remove('default/web');
    await until(() => trace('10.96.0.10', 80, '10.244.1.9')[0] === 'accept');
    await until(() => p.serviceHealthPorts().size === 0);

    const metrics = await registry.metrics();
    for (const name of [
      'kubeproxy_sync_proxy_rules_duration_seconds_count',
      'kubeproxy_network_programming_duration_seconds_count 1',
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      'kubeproxy_sync_proxy_rules_endpoint_changes_total 2',
      'kubeproxy_sync_proxy_rules_service_changes_total 2',
      'kubeproxy_sync_proxy_rules_nftables_sync_failures_total 0',
      'kubeproxy_proxy_healthz_total{code="200"} 1',
    ])
      assert.ok(metrics.includes(name), `metrics lack ${name}`);
  } finally {
    await p.stop();
  }
});

test('proxier: a failed sync is retried and counted', async () => {
  const services = new FakeInformer<Service>([makeService('web')]);
  const slices = new FakeInformer<EndpointSlice>([makeSlice('web', [{ ip: '10.244.2.7', node: 'node-b' }])]);
  services.start();
  slices.start();
  const nft = new FakeNftables();
  nft.failNext = 'Error: Could not process rule: Cannot allocate memory';
  const registry = new Registry();
  const p = startProxier({ services, endpointSlices: slices, nodeName: 'node-a', nodeIPs: ['192.168.0.10'], nftables: nft, conntrack: new FakeConntrack(), registry, healthz: false, serviceHealthHost: false, minSyncPeriodMs: 10 });
  try {
    await p.synced();
    assert.equal(nft.scripts.length, 2);
    assert.match(await registry.metrics(), /kubeproxy_sync_proxy_rules_nftables_sync_failures_total 1/);
  } finally {
    await p.stop();
  }
});
