// The kube-dns controller over the fake client: the Service as kubeadm makes it (netns mode only),
// Endpoints following the nodes whose DNS serves and their readiness, a Service with a selector left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoints, Node, Service } from 'kubernetes-types/core/v1.js';
import { Endpoints as EndpointsResource, Nodes, Services } from '../../api/index.ts';
import { FakeClient } from '../../client/index.ts';
import { servingAddressAnnotation } from '../../dns/index.ts';
import { startControllers } from '../manager.ts';
import { KubeDnsController } from './controller.ts';
import { kubeDnsSubsets } from './core.ts';
import { untilPasses } from '../../util/index.ts';

function node(name: string, ip: string | undefined, ready: boolean): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, annotations: ip ? { [servingAddressAnnotation]: ip } : {} },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], addresses: [{ type: 'InternalIP', address: ip ?? '192.168.1.200' }] },
  };
}

test('the endpoints are the Ready nodes whose DNS serves, by address; marked nodes not Ready are notReadyAddresses', () => {
  const subsets = kubeDnsSubsets([node('worker2', '192.168.1.102', true), node('master-node', '192.168.1.100', true), node('worker1', '192.168.1.101', false), node('bare', undefined, true)]);
  assert.equal(subsets.length, 1);
  assert.deepEqual(
    subsets[0].addresses?.map((a) => [a.ip, a.nodeName, a.targetRef?.kind, a.targetRef?.name]),
    [
      ['192.168.1.100', 'master-node', 'Node', 'master-node'],
      ['192.168.1.102', 'worker2', 'Node', 'worker2'],
    ],
  );
  assert.deepEqual(subsets[0].notReadyAddresses?.map((a) => a.ip), ['192.168.1.101']);
  assert.deepEqual(subsets[0].ports, [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    { name: 'metrics', port: 9153, protocol: 'TCP' },
  ]);
  assert.deepEqual(kubeDnsSubsets([node('bare', undefined, true)]), [], 'no serving node: no subsets');
});

async function world(mode: 'host' | 'netns', opts: { selector?: boolean } = {}) {
  const client = new FakeClient();
  await client.create(Nodes, undefined, node('master-node', '192.168.1.100', true));
  await client.create(Nodes, undefined, node('worker1', undefined, true));
  if (opts.selector) {
    await client.create<Service>(Services, 'kube-system', { metadata: { name: 'kube-dns', namespace: 'kube-system' }, spec: { clusterIP: '10.96.0.10', selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } });
  }
  const running = await startControllers(client, { serviceCIDRs: ['10.96.0.0/12'], clusterDomain: 'cluster.local', mode }, [new KubeDnsController()]);
  const endpoints = () => client.objects<Endpoints>(EndpointsResource).find((e) => e.metadata?.namespace === 'kube-system' && e.metadata.name === 'kube-dns');
  return { client, running, endpoints };
}

test('in netns mode, kube-system/kube-dns is created as kubeadm makes it, at the tenth Service address, without a selector', async () => {
  const w = await world('netns');
  try {
    const svc = await untilPasses(() => {
      const s = w.client.objects<Service>(Services).find((x) => x.metadata?.name === 'kube-dns');
      assert.ok(s);
      return s;
    });
    assert.equal(svc.metadata?.namespace, 'kube-system');
    assert.equal(svc.metadata?.labels?.['k8s-app'], 'kube-dns');
    assert.equal(svc.spec?.clusterIP, '10.96.0.10');
    assert.equal(svc.spec?.selector, undefined);
    assert.deepEqual(
      svc.spec?.ports?.map((p) => `${p.name}/${p.port}/${p.protocol}`),
      ['dns/53/UDP', 'dns-tcp/53/TCP', 'metrics/9153/TCP'],
    );
  } finally {
    await w.running.stop();
  }
});

test('the Endpoints follow the nodes: a node starting to serve is added, one turning NotReady moves to notReadyAddresses, one stopping is removed', async () => {
  const w = await world('netns');
  try {
    await untilPasses(() => assert.deepEqual(w.endpoints()?.subsets?.[0]?.addresses?.map((a) => a.ip), ['192.168.1.100']));
    assert.equal(w.endpoints()?.metadata?.labels?.['k8s-app'], 'kube-dns');
    // worker1's DNS starts serving.
    await w.client.patch(Nodes, undefined, 'worker1', 'merge', { metadata: { annotations: { [servingAddressAnnotation]: '192.168.1.101' } } });
    await untilPasses(() => assert.deepEqual(w.endpoints()?.subsets?.[0]?.addresses?.map((a) => a.ip), ['192.168.1.100', '192.168.1.101']));
    // master-node turns NotReady.
    await w.client.patch(Nodes, undefined, 'master-node', 'merge', { status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }, {}, 'status');
    await untilPasses(() => {
      assert.deepEqual(w.endpoints()?.subsets?.[0]?.addresses?.map((a) => a.ip), ['192.168.1.101']);
      assert.deepEqual(w.endpoints()?.subsets?.[0]?.notReadyAddresses?.map((a) => a.ip), ['192.168.1.100']);
    });
    // worker1's DNS stops (the plugin removes the annotation).
    await w.client.patch(Nodes, undefined, 'worker1', 'merge', { metadata: { annotations: { [servingAddressAnnotation]: null } } });
    await untilPasses(() => assert.equal(w.endpoints()?.subsets?.[0]?.addresses, undefined));
  } finally {
    await w.running.stop();
  }
});

test('a kube-dns Service with a selector (DNS pods of someone\'s) is left alone, and host mode makes none', async () => {
  const w = await world('netns', { selector: true });
  try {
    await sleep(200);
    assert.equal(w.endpoints(), undefined);
    assert.deepEqual(w.client.objects<Service>(Services).find((x) => x.metadata?.name === 'kube-dns')?.spec?.selector, { 'k8s-app': 'kube-dns' });
  } finally {
    await w.running.stop();
  }
  const h = await world('host');
  try {
    await sleep(200);
    assert.equal(h.client.objects<Service>(Services).find((x) => x.metadata?.name === 'kube-dns'), undefined);
    assert.equal(h.endpoints(), undefined);
  } finally {
    await h.running.stop();
  }
});
