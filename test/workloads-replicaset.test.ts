// The ReplicaSet controller in-process against svcnet's API server: pods from the template,
// scale up and down in kube's deletion order, adoption and release by selector, status counts
// with minReadySeconds, and expectations that keep it from over-creating.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { Events, Namespaces, Pods, ReplicaSets } from '../src/api/index.ts';
import { ReplicaSetController } from '../src/controllers/replicaset/index.ts';
import { retryOnConflict, startCluster, waitFor, type Cluster } from './lib/workloads.ts';

let c: Cluster;
let nsSeq = 0;

before(async () => {
  c = await startCluster([new ReplicaSetController()]);
});

after(async () => {
  await c?.stop();
});

async function namespace(): Promise<string> {
  const name = `rs-${++nsSeq}`;
  await c.user.create(Namespaces, undefined, { metadata: { name } });
  return name;
}

function replicaSet(name: string, replicas: number, o: { minReadySeconds?: number } = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: {
      replicas,
      minReadySeconds: o.minReadySeconds,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name, tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53' }] } },
    },
  };
}

async function pods(ns: string, active = true): Promise<Pod[]> {
  const list = await c.user.list<Pod>(Pods, ns);
  return list.items.filter((p) => !active || !p.metadata?.deletionTimestamp);
}

async function markReady(p: Pod, ready = true): Promise<void> {
  const t = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await c.user.patch(Pods, p.metadata?.namespace, p.metadata?.name ?? '', 'merge', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: t }] } }, {}, 'status');
}

async function rsStatus(ns: string, name: string): Promise<NonNullable<ReplicaSet['status']>> {
  return (await c.user.get<ReplicaSet>(ReplicaSets, ns, name)).status ?? { replicas: 0 };
}

test('a ReplicaSet creates its pods from the template, named after it and owned by it', async () => {
  const ns = await namespace();
  const rs = await c.user.create<ReplicaSet>(ReplicaSets, ns, replicaSet('web', 3));
  const ps = await waitFor('3 pods', async () => {
    const l = await pods(ns);
    return l.length === 3 && l;
  });
  for (const p of ps) {
    assert.match(p.metadata?.name ?? '', /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(p.metadata?.labels, { app: 'web', tier: 'web' });
    assert.deepEqual(p.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata?.uid, controller: true, blockOwnerDeletion: true }]);
  }
  const st = await waitFor('status replicas 3', async () => {
    const s = await rsStatus(ns, 'web');
    return s.replicas === 3 && s.observedGeneration === 1 && s;
  });
  assert.deepEqual({ ...st }, { replicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1 });
  const events = await waitFor('3 SuccessfulCreate events', async () => {
    const l = (await c.user.list<Event>(Events, ns)).items.filter((e) => e.reason === 'SuccessfulCreate');
    return l.length === 3 && l;
  });
  assert.deepEqual(new Set(events.map((e) => e.message)), new Set(ps.map((p) => `Created pod: ${p.metadata?.name ?? ''}`)));
  assert.equal(events[0]?.source?.component, 'replicaset-controller');
});

test('ready and available counts follow pod readiness and minReadySeconds', async () => {
  const ns = await namespace();
  await c.user.create(ReplicaSets, ns, replicaSet('slow', 2, { minReadySeconds: 2 }));
  const ps = await waitFor('2 pods', async () => {
    const l = await pods(ns);
    return l.length === 2 && l;
  });
  for (const p of ps) await markReady(p);
  await waitFor('ready 2, available 0', async () => {
    const s = await rsStatus(ns, 'slow');
    return s.readyReplicas === 2 && (s.availableReplicas ?? 0) === 0;
  });
  // The controller requeues itself for the moment the pods have been ready for 2 s.
  await waitFor('available 2', async () => (await rsStatus(ns, 'slow')).availableReplicas === 2, 6000);
});

test('scaling down deletes not-ready pods before ready ones', async () => {
  const ns = await namespace();
  await c.user.create(ReplicaSets, ns, replicaSet('down', 4));
  const ps = await waitFor('4 pods', async () => {
    const l = await pods(ns);
    return l.length === 4 && l;
  });
  const [notReady, ...ready] = ps;
  for (const p of ready) await markReady(p);
  await markReady(notReady, false);
  await waitFor('3 ready', async () => (await rsStatus(ns, 'down')).readyReplicas === 3);
  await retryOnConflict(() => c.user.patch(ReplicaSets, ns, 'down', 'merge', { spec: { replicas: 3 } }));
  await waitFor('3 pods left', async () => (await pods(ns)).length === 3);
  const left = new Set((await pods(ns)).map((p) => p.metadata?.name));
  assert.equal(left.has(notReady.metadata?.name), false, 'the not-ready pod went first');
  await retryOnConflict(() => c.user.patch(ReplicaSets, ns, 'down', 'merge', { spec: { replicas: 0 } }));
  await waitFor('no pods', async () => (await pods(ns)).length === 0);
  await waitFor('status 0', async () => (await rsStatus(ns, 'down')).replicas === 0);
});

test('a ReplicaSet adopts a matching orphan and releases a pod whose labels stop matching', async () => {
  const ns = await namespace();
  const orphan = await c.user.create<Pod>(Pods, ns, { metadata: { name: 'orphan', labels: { app: 'adopt', tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  const rs = await c.user.create<ReplicaSet>(ReplicaSets, ns, replicaSet('adopt', 2));
  await waitFor('2 pods', async () => (await pods(ns)).length === 2);
  await sleep(300);
  const all = await pods(ns);
  assert.equal(all.length, 2, 'the orphan counts as one replica: only one pod created');
  const adopted = await c.user.get<Pod>(Pods, ns, 'orphan');
  assert.equal(adopted.metadata?.uid, orphan.metadata?.uid);
  assert.equal(adopted.metadata?.ownerReferences?.[0]?.uid, rs.metadata?.uid);
  // Relabel: the ReplicaSet releases it and makes a replacement.
  await c.user.patch(Pods, ns, 'orphan', 'merge', { metadata: { labels: { app: 'elsewhere' } } });
  await waitFor('released', async () => (await c.user.get<Pod>(Pods, ns, 'orphan')).metadata?.ownerReferences === undefined);
  await waitFor('replacement', async () => (await pods(ns)).filter((p) => p.metadata?.labels?.app === 'adopt').length === 2);
});

test('a pod owned by another controller is left alone', async () => {
  const ns = await namespace();
  await c.user.create<Pod>(Pods, ns, {
    metadata: { name: 'theirs', labels: { app: 'shy', tier: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'other', uid: '00000000-0000-0000-0000-000000000001', controller: true }] },
    spec: { containers: [{ name: 'c', image: 'x' }] },
  });
  await c.user.create(ReplicaSets, ns, replicaSet('shy', 1));
  await waitFor('its own pod', async () => (await pods(ns)).filter((p) => p.metadata?.name !== 'theirs').length === 1);
  const theirs = await c.user.get<Pod>(Pods, ns, 'theirs');
  assert.equal(theirs.metadata?.ownerReferences?.[0]?.name, 'other');
});

test('a terminating pod is replaced at once and not counted', async () => {
  const ns = await namespace();
  await c.user.create(ReplicaSets, ns, replicaSet('grace', 1));
  const [p] = await waitFor('a pod', async () => {
    const l = await pods(ns);
    return l.length === 1 && l;
  });
  // Bound pods wait for their kubelet on delete; a pod with a finalizer waits too.
  await c.user.patch(Pods, ns, p.metadata?.name ?? '', 'merge', { metadata: { finalizers: ['svcnet.io/test'] } });
  await c.user.delete(Pods, ns, p.metadata?.name ?? '');
  await waitFor('a replacement', async () => (await pods(ns)).length === 1 && (await pods(ns, false)).length === 2);
  await c.user.patch(Pods, ns, p.metadata?.name ?? '', 'merge', { metadata: { finalizers: null } });
  await waitFor('status 1', async () => (await rsStatus(ns, 'grace')).replicas === 1);
});

test('expectations keep many resyncs during a scale-up from creating extra pods', async () => {
  const ns = await namespace();
  await c.user.create(ReplicaSets, ns, replicaSet('burst', 30));
  // Annotation churn makes the ReplicaSet resync again and again while creations are in flight.
  for (let i = 0; i < 20; i++) await retryOnConflict(() => c.user.patch(ReplicaSets, ns, 'burst', 'merge', { metadata: { annotations: { churn: String(i) } } }));
  await waitFor('30 pods', async () => (await pods(ns, false)).length >= 30);
  await sleep(500);
  assert.equal((await pods(ns, false)).length, 30);
  await waitFor('status 30', async () => (await rsStatus(ns, 'burst')).replicas === 30);
});
