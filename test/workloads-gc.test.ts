// The garbage collector in-process with the Deployment and ReplicaSet controllers: the three
// propagation policies, dangling references, an owner recreated under the same name, and a
// foreground deletion that waits for a pod's graceful termination.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { ConfigMaps, Deployments, Namespaces, Pods, ReplicaSets, isNotFound, type KubeObject, type ResourceInfo } from '../src/api/index.ts';
import { SharedInformer } from '../src/client/index.ts';
import { DeploymentController } from '../src/controllers/deployment/index.ts';
import { GarbageCollector } from '../src/controllers/garbagecollector/index.ts';
import { ReplicaSetController } from '../src/controllers/replicaset/index.ts';
import { startCluster, waitFor, type Cluster } from './lib/workloads.ts';

let c: Cluster;
let nsSeq = 0;

before(async () => {
  c = await startCluster([new ReplicaSetController(), new DeploymentController(), new GarbageCollector()], { runUnscheduled: true, terminateDelayMs: 400 });
  await c.kubelet.addNode('gc-node');
});

after(async () => {
  await c?.stop();
});

async function namespace(): Promise<string> {
  const name = `gc-${++nsSeq}`;
  await c.user.create(Namespaces, undefined, { metadata: { name } });
  return name;
}

function deployment(name: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  };
}

async function exists(r: ResourceInfo, ns: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await c.user.get(r, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function count(r: ResourceInfo, ns: string): Promise<number> {
  return (await c.user.list(r, ns)).items.length;
}

async function deploymentWithPods(ns: string, name: string, replicas: number): Promise<void> {
  await c.user.create(Deployments, ns, deployment(name, replicas));
  await waitFor('pods running', async () => (await c.user.get<Deployment>(Deployments, ns, name)).status?.availableReplicas === replicas);
}

function ownerRef(o: KubeObject, block = false): OwnerReference {
  return { apiVersion: o.apiVersion ?? 'v1', kind: o.kind ?? '', name: o.metadata?.name ?? '', uid: o.metadata?.uid ?? '', ...(block ? { blockOwnerDeletion: true } : {}) };
}

test('background deletion: the Deployment goes at once, its ReplicaSet and pods after it', async () => {
  const ns = await namespace();
  await deploymentWithPods(ns, 'bg', 2);
  await c.user.delete(Deployments, ns, 'bg', { propagationPolicy: 'Background' });
  assert.equal(await exists(Deployments, ns, 'bg'), undefined);
  await waitFor('ReplicaSet and pods gone', async () => (await count(ReplicaSets, ns)) === 0 && (await count(Pods, ns)) === 0);
});

test('foreground deletion: pods, then the ReplicaSet, then the Deployment', async () => {
  const ns = await namespace();
  await deploymentWithPods(ns, 'fg', 2);
  const order: string[] = [];
  const watches = [Pods, ReplicaSets, Deployments].map((r) => {
    const inf = new SharedInformer<KubeObject>(c.user, r, { namespace: ns });
    inf.addEventHandler({ onDelete: () => order.push(r.kind) });
    inf.start();
    return inf;
  });
  try {
    await Promise.all(watches.map((w) => w.waitForSync()));
    const d = await c.user.delete(Deployments, ns, 'fg', { propagationPolicy: 'Foreground' });
    assert.deepEqual(d.metadata?.finalizers, ['foregroundDeletion']);
    assert.ok(d.metadata?.deletionTimestamp);
    await waitFor('Deployment gone', async () => (await exists(Deployments, ns, 'fg')) === undefined);
    await waitFor('every deletion seen by the watches', () => order.length >= 4);
    assert.deepEqual(order, ['Pod', 'Pod', 'ReplicaSet', 'Deployment']);
  } finally {
    for (const w of watches) w.stop();
  }
});

test('orphan deletion: the Deployment goes, its ReplicaSet and pods stay without the reference', async () => {
  const ns = await namespace();
  await deploymentWithPods(ns, 'or', 2);
  await c.user.delete(Deployments, ns, 'or', { propagationPolicy: 'Orphan' });
  await waitFor('Deployment gone', async () => (await exists(Deployments, ns, 'or')) === undefined);
  await sleep(300);
  const rss = (await c.user.list<ReplicaSet>(ReplicaSets, ns)).items;
  assert.equal(rss.length, 1);
  assert.equal(rss[0].metadata?.ownerReferences, undefined);
  assert.equal(await count(Pods, ns), 2, 'the ReplicaSet keeps its pods');
});

test('an object whose owner does not exist is collected; one with a live owner is kept', async () => {
  const ns = await namespace();
  const owner = await c.user.create<ConfigMap>(ConfigMaps, ns, { metadata: { name: 'owner' } });
  await c.user.create(ConfigMaps, ns, { metadata: { name: 'kept', ownerReferences: [ownerRef(owner)] } });
  await c.user.create(ConfigMaps, ns, { metadata: { name: 'dangling', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nobody', uid: '6d1a3e0c-0000-4000-8000-000000000001' }] } });
  await waitFor('dangling collected', async () => (await exists(ConfigMaps, ns, 'dangling')) === undefined);
  assert.ok(await exists(ConfigMaps, ns, 'kept'));
});

test('an owner recreated under the same name does not keep the old dependents, and its own are kept', async () => {
  const ns = await namespace();
  const first = await c.user.create<ConfigMap>(ConfigMaps, ns, { metadata: { name: 'o' } });
  await c.user.create(ConfigMaps, ns, { metadata: { name: 'old-dep', ownerReferences: [ownerRef(first)] } });
  await c.user.delete(ConfigMaps, ns, 'o');
  const second = await c.user.create<ConfigMap>(ConfigMaps, ns, { metadata: { name: 'o' } });
  await c.user.create(ConfigMaps, ns, { metadata: { name: 'new-dep', ownerReferences: [ownerRef(second)] } });
  await waitFor('old dependent collected', async () => (await exists(ConfigMaps, ns, 'old-dep')) === undefined);
  await sleep(300);
  assert.ok(await exists(ConfigMaps, ns, 'new-dep'));
  assert.ok(await exists(ConfigMaps, ns, 'o'));
});

test('a foreground deletion waits for a dependent pod to finish terminating', async () => {
  const ns = await namespace();
  const owner = await c.user.create<ConfigMap>(ConfigMaps, ns, { metadata: { name: 'app' } });
  await c.user.create<Pod>(Pods, ns, { metadata: { name: 'p', ownerReferences: [ownerRef(owner, true)] }, spec: { nodeName: 'gc-node', containers: [{ name: 'c', image: 'x' }] } });
  await waitFor('pod running', async () => (await c.user.get<Pod>(Pods, ns, 'p')).status?.phase === 'Running');
  await c.user.delete(ConfigMaps, ns, 'app', { propagationPolicy: 'Foreground' });
  await waitFor('pod terminating', async () => !!(await exists(Pods, ns, 'p'))?.metadata?.deletionTimestamp);
  assert.ok(await exists(ConfigMaps, ns, 'app'), 'the owner waits while its pod terminates');
  await waitFor('pod gone', async () => (await exists(Pods, ns, 'p')) === undefined);
  await waitFor('owner gone', async () => (await exists(ConfigMaps, ns, 'app')) === undefined);
});

test('a dependent without blockOwnerDeletion does not hold a foreground deletion', async () => {
  const ns = await namespace();
  const owner = await c.user.create<ConfigMap>(ConfigMaps, ns, { metadata: { name: 'app' } });
  await c.user.create<ConfigMap>(ConfigMaps, ns, { metadata: { name: 'loose', finalizers: ['svcnet.io/hold'], ownerReferences: [ownerRef(owner)] } });
  await c.user.delete(ConfigMaps, ns, 'app', { propagationPolicy: 'Foreground' });
  await waitFor('owner gone', async () => (await exists(ConfigMaps, ns, 'app')) === undefined);
  const loose = await exists(ConfigMaps, ns, 'loose');
  assert.ok(loose?.metadata?.deletionTimestamp, 'the dependent was deleted too (it waits on its own finalizer)');
  await c.user.patch(ConfigMaps, ns, 'loose', 'merge', { metadata: { finalizers: null } });
});
