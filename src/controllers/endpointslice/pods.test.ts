// Which Services a pod change concerns, the index lookups behind it, the tracker of the
// controller's own writes, and trigger times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeInformer } from '../../client/index.ts';
import { addEndpointIndexes, podsForService, serviceKeysForPod } from './indexes.ts';
import { findPort, servicesToUpdateOnPodChange } from './pods.ts';
import { SliceTracker } from './tracker.ts';
import { TriggerTimeTracker, formatTriggerTime } from './triggertime.ts';

function svc(name: string, selector: Record<string, string> | undefined, ns = 'ns'): Service {
  return { metadata: { name, namespace: ns }, spec: { ...(selector ? { selector } : {}), ports: [{ port: 80 }] } };
}

function pod(name: string, labels: Record<string, string>, o: { ready?: boolean; rv?: string; ns?: string; ips?: string[] } = {}): Pod {
  const ips = o.ips ?? ['10.0.0.1'];
  return {
    metadata: { name, namespace: o.ns ?? 'ns', labels, resourceVersion: o.rv ?? '1' },
    spec: { containers: [] },
    status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })), conditions: [{ type: 'Ready', status: (o.ready ?? true) ? 'True' : 'False' }] },
  };
}

function informers(services: Service[], pods: Pod[]) {
  const s = new FakeInformer<Service>(services);
  const p = new FakeInformer<Pod>(pods);
  addEndpointIndexes(s, p);
  s.start();
  p.start();
  return { s, p };
}

test('a pod belongs to the Services of its namespace whose whole selector it matches', () => {
  const { s } = informers(
    [svc('web', { app: 'web' }), svc('web-blue', { app: 'web', color: 'blue' }), svc('any', {}), svc('none', undefined), svc('other-ns', { app: 'web' }, 'elsewhere')],
    [],
  );
  assert.deepEqual([...serviceKeysForPod(s, pod('p', { app: 'web', color: 'blue' }))].sort(), ['ns/web', 'ns/web-blue']);
  assert.deepEqual([...serviceKeysForPod(s, pod('p', { app: 'web', color: 'green' }))], ['ns/web']);
  assert.deepEqual([...serviceKeysForPod(s, pod('p', {}))], []);
});

test('a Service finds its pods through the label index', () => {
  const pods = [pod('a', { app: 'web', color: 'blue' }), pod('b', { app: 'web', color: 'green' }), pod('c', { app: 'db' }), pod('d', { app: 'web', color: 'blue' }, { ns: 'x' })];
  const { p } = informers([], pods);
  assert.deepEqual(podsForService(p, svc('s', { app: 'web', color: 'blue' })).map((x) => x.metadata?.name), ['a']);
  assert.deepEqual(podsForService(p, svc('s', { app: 'web' })).map((x) => x.metadata?.name).sort(), ['a', 'b']);
  assert.deepEqual(podsForService(p, svc('s', undefined)), []);
});

test('pod updates concern the Services whose endpoints they change', () => {
  const { s } = informers([svc('web', { app: 'web' }), svc('api', { app: 'api' })], []);
  const servicesFor = (x: Pod) => serviceKeysForPod(s, x);
  const keys = (o: Pod, n: Pod) => [...servicesToUpdateOnPodChange(servicesFor, o, n)].sort();
  const base = pod('p', { app: 'web' });
  assert.deepEqual(keys(base, base), [], 'same resourceVersion: a resync');
  assert.deepEqual(keys(base, { ...base, metadata: { ...base.metadata, resourceVersion: '2', annotations: { a: 'b' } } }), [], 'nothing an endpoint shows');
  assert.deepEqual(keys(base, pod('p', { app: 'web' }, { rv: '2', ready: false })), ['ns/web']);
  assert.deepEqual(keys(base, pod('p', { app: 'web' }, { rv: '2', ips: ['10.0.0.2'] })), ['ns/web']);
  assert.deepEqual(keys(base, pod('p', { app: 'api' }, { rv: '2' })), ['ns/api', 'ns/web'], 'relabelled: the one left and the one joined');
  assert.deepEqual(keys(base, pod('p', { app: 'web', extra: 'x' }, { rv: '2' })), [], 'relabelled within the same Services');
  assert.deepEqual(keys(base, pod('p', { app: 'web', extra: 'x' }, { rv: '2', ready: false })), ['ns/web'], 'relabelled and changed: all of them');
});

test('findPort resolves named ports by name and protocol, sidecar init containers included', () => {
  const p: Pod = {
    spec: {
      containers: [{ name: 'c', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 5353 }] }],
      initContainers: [
        { name: 'plain', ports: [{ name: 'side', containerPort: 1 }] },
        { name: 'sidecar', restartPolicy: 'Always', ports: [{ name: 'side', containerPort: 2 }] },
      ],
    },
  };
  assert.equal(findPort(p, { port: 53, targetPort: 'dns', protocol: 'UDP' }), 53);
  assert.equal(findPort(p, { port: 53, targetPort: 'dns', protocol: 'TCP' }), undefined);
  assert.equal(findPort(p, { port: 53, targetPort: 'dns-tcp' }), 5353);
  assert.equal(findPort(p, { port: 80, targetPort: 'side' }), 2);
  assert.equal(findPort(p, { port: 80, targetPort: 8080 }), 8080);
  assert.equal(findPort(p, { port: 80 }), 80);
});

function slice(uid: string, generation: number): EndpointSlice {
  return { metadata: { name: uid, namespace: 'ns', uid, generation }, addressType: 'IPv4', endpoints: [] };
}

test('the tracker serves the controller\'s own writes until the informer shows them', () => {
  const t = new SliceTracker();
  const informerView = [slice('a', 1), slice('b', 3)];
  t.wrote('ns/web', slice('a', 2));
  t.wrote('ns/web', slice('c', 1));
  t.expectDeletion('ns/web', slice('b', 3));
  assert.deepEqual(
    t.current('ns/web', informerView).map((s) => `${s.metadata?.uid}@${s.metadata?.generation}`),
    ['a@2', 'c@1'],
  );
  assert.equal(t.expected('ns/web', slice('a', 1)), true, 'an older state of a write');
  assert.equal(t.expected('ns/web', slice('a', 2)), true, 'the write itself');
  assert.equal(t.expected('ns/web', slice('a', 2)), false, 'caught up: later events are news');
  assert.equal(t.expected('ns/web', slice('c', 2)), false, 'someone else changed it');
  assert.equal(t.deleted('ns/web', slice('b', 3)), true);
  assert.equal(t.deleted('ns/web', slice('x', 1)), false);
  assert.deepEqual(t.current('ns/web', [slice('a', 2)]).map((s) => s.metadata?.uid), ['a']);
});

test('the trigger time is the Service\'s creation first, then the earliest pod readiness change since the last sync', () => {
  const t = new TriggerTimeTracker();
  const s: Service = { metadata: { name: 'web', namespace: 'ns', creationTimestamp: '2026-01-01T00:00:00Z' } };
  const p = (name: string, at: string): Pod => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at }] } });
  assert.equal(t.compute('ns/web', s, [p('a', '2026-01-01T00:00:10Z')]), '2026-01-01T00:00:00Z');
  assert.equal(t.compute('ns/web', s, [p('a', '2026-01-01T00:00:10Z')]), '');
  assert.equal(t.compute('ns/web', s, [p('a', '2026-01-01T00:00:30Z'), p('b', '2026-01-01T00:00:20Z')]), '2026-01-01T00:00:20Z');
  assert.equal(formatTriggerTime(Date.parse('2026-01-01T00:00:00.120Z')), '2026-01-01T00:00:00.12Z');
});
