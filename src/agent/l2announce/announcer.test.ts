import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeInformer } from '../../client/index.ts';
import type { IPAddressPool, L2Advertisement } from '../../api/validation/index.ts';
import { l2Leader } from '../../controllers/loadbalancer/index.ts';
import { logger } from '../../util/index.ts';
import { L2Announcer } from './announcer.ts';
import { FakeL2Executor } from './executor.ts';
import { advertisement, lbService, node, pool, slice } from './testing.ts';

const names = ['master-node', 'worker1', 'worker2'];
const ips: Record<string, string> = { 'master-node': '192.168.1.100', worker1: '192.168.1.101', worker2: '192.168.1.102' };
const leader = l2Leader('192.168.1.200', names.map((name) => ({ name, ready: true })))!;
const second = l2Leader('192.168.1.200', names.filter((n) => n !== leader).map((name) => ({ name, ready: true })))!;

interface Rig {
  announcer: L2Announcer;
  executor: FakeL2Executor;
  events: { service: string; reason: string; message: string }[];
  services: FakeInformer<Service>;
  slices: FakeInformer<EndpointSlice>;
  nodes: FakeInformer<Node>;
  live: { set: Set<string> | undefined };
}

function rig(self: string, o: { start?: boolean; retryMs?: number } = {}): Rig {
  const services = new FakeInformer<Service>([lbService('monitoring', 'grafana-service', ['192.168.1.200'])]);
  const slices = new FakeInformer<EndpointSlice>([slice('monitoring', 'grafana-service', [{ node: 'worker1' }, { node: 'worker2' }])]);
  const nodes = new FakeInformer<Node>(names.map((n) => node(n, { ip: ips[n] })));
  const pools = new FakeInformer<IPAddressPool>([pool('default', ['192.168.1.200-192.168.1.250'])]);
  const ads = new FakeInformer<L2Advertisement>([advertisement('default', { ipAddressPools: ['default'] })]);
  const cms = new FakeInformer<ConfigMap>([]);
  const executor = new FakeL2Executor({ [ips[self]]: 'eth0' });
  const events: Rig['events'] = [];
  const live: Rig['live'] = { set: undefined };
  const announcer = new L2Announcer({
    nodeName: self,
    nodeIP: ips[self],
    services,
    endpointSlices: slices,
    nodes,
    ipAddressPools: pools,
    l2Advertisements: ads,
    configMaps: cms,
    executor,
    liveness: { alive: () => live.set },
    event: (svc, reason, message) => events.push({ service: `${svc.metadata?.namespace}/${svc.metadata?.name}`, reason, message }),
    log: logger('l2announce-test'),
    debounceMs: 1,
    retryMs: o.retryMs ?? 10,
  });
  announcer.start();
  if (o.start !== false) for (const i of [services, slices, nodes, pools, ads, cms]) i.start();
  return { announcer, executor, events, services, slices, nodes, live };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

/** Polls until `cond` holds (for outcomes that a loaded machine may delay past settle()). */
async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('the leader answers ARP for the address on its LAN interface, sends gratuitous ARP once and records nodeAssigned; the others stay quiet', async () => {
  for (const self of names) {
    const r = rig(self);
    await settle();
    await r.announcer.sync();
    if (self === leader) {
      assert.deepEqual([...r.executor.answering], [['eth0', ['192.168.1.200']]]);
      assert.deepEqual(r.executor.garps, [{ iface: 'eth0', address: '192.168.1.200' }]);
      assert.deepEqual(r.events, [{ service: 'monitoring/grafana-service', reason: 'nodeAssigned', message: `announcing from node "${self}" with protocol "layer2"` }]);
    } else {
      assert.deepEqual([...r.executor.answering], [], `${self} is quiet`);
      assert.deepEqual(r.executor.garps, []);
      assert.deepEqual(r.events, []);
    }
    // Syncing again changes nothing and says nothing new.
    await r.announcer.sync();
    assert.equal(r.executor.garps.length, self === leader ? 1 : 0);
    assert.equal(r.events.length, self === leader ? 1 : 0);
    await r.announcer.stop();
    assert.equal(r.executor.closed, true);
  }
});

test('nothing is announced before every informer has synced', async () => {
  const r = rig(leader, { start: false });
  await r.announcer.sync();
  assert.deepEqual([...r.executor.answering], []);
  await r.announcer.stop();
});

test('when the leader falls silent the next node takes the address over, and gives it back when the leader returns', async () => {
  const r = rig(second);
  await settle();
  assert.deepEqual([...r.executor.answering], []);
  r.live.set = new Set(names.filter((n) => n !== leader));
  r.announcer.trigger();
  await settle();
  assert.deepEqual([...r.executor.answering], [['eth0', ['192.168.1.200']]]);
  assert.deepEqual(r.executor.garps, [{ iface: 'eth0', address: '192.168.1.200' }]);
  assert.equal(r.events.length, 1);
  r.live.set = new Set(names);
  r.announcer.trigger();
  await settle();
  assert.deepEqual([...r.executor.answering], [], 'withdrawn');
  await r.announcer.stop();
});

test('the address is withdrawn when the Service loses its endpoints or goes, and announced again when they come back', async () => {
  const r = rig(leader);
  await settle();
  assert.deepEqual([...r.executor.answering], [['eth0', ['192.168.1.200']]]);
  const key = 'monitoring/grafana-service-a';
  r.slices.upsert(slice('monitoring', 'grafana-service', [{ node: 'worker1', ready: false, serving: false }]));
  await settle();
  assert.deepEqual([...r.executor.answering], []);
  r.slices.upsert(slice('monitoring', 'grafana-service', [{ node: 'worker2' }]));
  await settle();
  assert.deepEqual([...r.executor.answering], [['eth0', ['192.168.1.200']]]);
  assert.equal(r.executor.garps.length, 2, 'a new takeover, a new gratuitous ARP');
  assert.equal(r.events.length, 2);
  r.services.remove('monitoring/grafana-service');
  await settle();
  assert.deepEqual([...r.executor.answering], []);
  assert.ok(r.slices.get(key), 'its slice is still there: the Service going is enough');
  await r.announcer.stop();
});

test('a failed update of the ARP responder is retried, and the Event waits for it', async () => {
  const r = rig(leader, { retryMs: 300 });
  r.executor.failNext = new Error('arp responder: boom');
  await until('the failed attempt', () => r.executor.failNext === undefined);
  assert.deepEqual([...r.executor.answering], []);
  assert.deepEqual(r.events, [], 'no nodeAssigned Event while nothing answers');
  await until('the retry answering', () => r.executor.answering.size > 0);
  assert.deepEqual([...r.executor.answering], [['eth0', ['192.168.1.200']]]);
  await until('the nodeAssigned Event', () => r.events.length > 0);
  await settle();
  assert.equal(r.events.length, 1);
  await r.announcer.stop();
});

test('a node that does not know yet who is alive counts every Ready node', async () => {
  const r = rig(second);
  r.live.set = undefined;
  await settle();
  assert.deepEqual([...r.executor.answering], [], 'the leader is Ready, so it is counted');
  // Once it has heard from nobody else, it is the leader.
  r.live.set = new Set([second]);
  r.announcer.trigger();
  await settle();
  assert.deepEqual([...r.executor.answering], [['eth0', ['192.168.1.200']]]);
  await r.announcer.stop();
});

test('when a node is heard again after a silence (a healed cut), the addresses this node keeps are announced again', async () => {
  const r = rig(leader);
  r.live.set = new Set([leader]);
  await settle();
  assert.deepEqual(r.executor.garps.length, 1);
  r.live.set = new Set(names);
  r.announcer.trigger();
  await settle();
  assert.deepEqual([...r.executor.answering], [['eth0', ['192.168.1.200']]]);
  assert.deepEqual(r.executor.garps, [
    { iface: 'eth0', address: '192.168.1.200' },
    { iface: 'eth0', address: '192.168.1.200' },
  ]);
  assert.equal(r.events.length, 1, 'no new Event: it never stopped announcing');
  await r.announcer.stop();
});
