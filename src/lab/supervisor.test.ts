import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { FakeRunner } from './exec.ts';
import { syncRoutes } from './supervisor.ts';
import { labTopology } from './topology.ts';

const node = (name: string, podCIDR?: string): Node => ({ metadata: { name }, spec: podCIDR ? { podCIDR } : {} });

test('the route controller gives each node routes to the others\' pod CIDRs, only inside the lab', async () => {
  const t = labTopology('rt');
  // worker1 already has its route to master-node's CIDR, and a stale one to a node gone since.
  const runner = new FakeRunner((argv) =>
    argv.join(' ') === 'ip -n svcnet-rt-worker1 -j route show proto static'
      ? { stdout: JSON.stringify([{ dst: '10.244.0.0/24', gateway: '192.168.1.100' }, { dst: '10.244.7.0/24', gateway: '192.168.1.107' }]) }
      : undefined,
  );
  const ran = await syncRoutes(t, [node('master-node', '10.244.0.0/24'), node('worker1', '10.244.1.0/24'), node('worker2', '10.244.2.0/24'), node('elsewhere', '10.244.9.0/24')], runner);
  assert.deepEqual(ran.map((c) => c.join(' ')), [
    'ip -n svcnet-rt-master-node route replace 10.244.1.0/24 via 192.168.1.101 dev eth0 proto static',
    'ip -n svcnet-rt-master-node route replace 10.244.2.0/24 via 192.168.1.102 dev eth0 proto static',
    'ip -n svcnet-rt-worker1 route del 10.244.7.0/24 via 192.168.1.107 proto static',
    'ip -n svcnet-rt-worker1 route replace 10.244.2.0/24 via 192.168.1.102 dev eth0 proto static',
    'ip -n svcnet-rt-worker2 route replace 10.244.0.0/24 via 192.168.1.100 dev eth0 proto static',
    'ip -n svcnet-rt-worker2 route replace 10.244.1.0/24 via 192.168.1.101 dev eth0 proto static',
  ]);
  for (const c of runner.calls) assert.equal(c[1] === '-n' && c[2]?.startsWith('svcnet-rt-'), true, c.join(' '));
});

test('a node without a pod CIDR yet gets no route, and nobody gets one to it', async () => {
  const t = labTopology('rt', 2);
  const runner = new FakeRunner();
  const ran = await syncRoutes(t, [node('master-node', '10.244.0.0/24'), node('worker1')], runner);
  assert.deepEqual(ran.map((c) => c.join(' ')), ['ip -n svcnet-rt-worker1 route replace 10.244.0.0/24 via 192.168.1.100 dev eth0 proto static']);
});
