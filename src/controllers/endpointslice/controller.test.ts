// The EndpointSlice controller's shell over the fake client: failed writes become Events and
// retries, slices someone else changes or deletes are put back, a quiet Service is not
// rewritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Event, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { EndpointSlices, Events, Nodes, Pods, Services, conflict } from '../../api/index.ts';
import { FakeClient } from '../../client/index.ts';
import { startControllers } from '../manager.ts';
import { EndpointSliceController } from './controller.ts';
import { untilPasses } from '../../util/index.ts';

async function world(opts: { failFirstCreate?: boolean } = {}) {
  const client = new FakeClient();
  await client.create(Nodes, undefined, { metadata: { name: 'node-a' } });
  await client.create<Service>(Services, 'ns', {
    metadata: { name: 'web', namespace: 'ns' },
    spec: { clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  });
  await client.create<Pod>(Pods, 'ns', {
    metadata: { name: 'web-1', namespace: 'ns', labels: { app: 'web' } },
    spec: { nodeName: 'node-a', containers: [{ name: 'c' }] },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], conditions: [{ type: 'Ready', status: 'True' }] },
  });
  if (opts.failFirstCreate) client.failNext('create', conflict({ group: 'discovery.k8s.io', resource: 'endpointslices' }, 'web-x'), EndpointSlices);
  const controller = new EndpointSliceController({ sliceChangeDelayMs: 20 });
  const running = await startControllers(client, { serviceCIDRs: ['10.96.0.0/16'], clusterDomain: 'cluster.local', mode: 'host' }, [controller]);
  const slices = () => client.objects<EndpointSlice>(EndpointSlices).filter((s) => s.metadata?.labels?.['kubernetes.io/service-name'] === 'web');
  return { client, controller, running, slices };
}

test('a failed slice write is reported as a FailedToUpdateEndpointSlices Event on the Service and retried', async () => {
  const w = await world({ failFirstCreate: true });
  try {
    const ev = await untilPasses(() => {
      const e = w.client.objects<Event>(Events).find((x) => x.reason === 'FailedToUpdateEndpointSlices');
      assert.ok(e);
      return e;
    });
    assert.equal(ev.type, 'Warning');
    assert.deepEqual([ev.involvedObject.kind, ev.involvedObject.namespace, ev.involvedObject.name], ['Service', 'ns', 'web']);
    assert.match(ev.message ?? '', /^Error updating Endpoint Slices for Service ns\/web: failed to create EndpointSlice for Service ns\/web: /);
    // Retried after kube-controller-manager's first backoff (1 s).
    await untilPasses(() => assert.equal(w.slices().length, 1), 5000);
    assert.equal(w.controller.stats().failures, 1);
  } finally {
    await w.running.stop();
  }
});

test('a managed slice changed or deleted by someone else is put back', async () => {
  const w = await world();
  try {
    const first = await untilPasses(() => {
      const s = w.slices();
      assert.equal(s[0]?.endpoints.length, 1);
      return s[0];
    });
    await w.client.update(EndpointSlices, { ...structuredClone(first), endpoints: [] });
    await untilPasses(() => assert.deepEqual(w.slices()[0]?.endpoints.map((e) => e.addresses[0]), ['10.0.0.1']));
    await w.client.delete(EndpointSlices, 'ns', first.metadata!.name!);
    await untilPasses(() => assert.deepEqual(w.slices()[0]?.endpoints.map((e) => e.addresses[0]), ['10.0.0.1']));
  } finally {
    await w.running.stop();
  }
});

test('changes that do not touch endpoints write nothing', async () => {
  const w = await world();
  try {
    await untilPasses(() => assert.equal(w.slices()[0]?.endpoints.length, 1));
    await untilPasses(() => assert.equal(w.controller.pending(), 0));
    const before = w.controller.stats();
    const pod = await w.client.get<Pod>(Pods, 'ns', 'web-1');
    await w.client.update(Pods, { ...structuredClone(pod), metadata: { ...structuredClone(pod.metadata), annotations: { note: 'x' } } });
    const svc = await w.client.get<Service>(Services, 'ns', 'web');
    await w.client.update(Services, { ...structuredClone(svc), metadata: { ...structuredClone(svc.metadata), annotations: { note: 'y' } } });
    await sleep(100);
    await untilPasses(() => assert.equal(w.controller.pending(), 0));
    const after = w.controller.stats();
    assert.deepEqual([after.creates, after.updates, after.deletes], [before.creates, before.updates, before.deletes]);
    assert.ok(after.syncs > before.syncs, 'the Service change was synced');
  } finally {
    await w.running.stop();
  }
});
