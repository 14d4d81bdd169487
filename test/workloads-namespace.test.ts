// The namespace and ServiceAccounts controllers in-process: a Terminating namespace is emptied
// (pods terminate gracefully through the fake kubelet) and then finalized away; content held by
// a finalizer holds the namespace; every active namespace has its default ServiceAccount.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Namespace, Pod, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { ConfigMaps, Deployments, Namespaces, Pods, ReplicaSets, ServiceAccounts, Services, isNotFound, type ApiError, type KubeObject, type ResourceInfo } from '../src/api/index.ts';
import { DeploymentController } from '../src/controllers/deployment/index.ts';
import { GarbageCollector } from '../src/controllers/garbagecollector/index.ts';
import { NamespaceController } from '../src/controllers/namespace/index.ts';
import { ReplicaSetController } from '../src/controllers/replicaset/index.ts';
import { ServiceAccountsController } from '../src/controllers/serviceaccount/index.ts';
import { startCluster, waitFor, type Cluster } from './lib/workloads.ts';

let c: Cluster;
let nsSeq = 0;

before(async () => {
  c = await startCluster([new ReplicaSetController(), new DeploymentController(), new GarbageCollector(), new NamespaceController(), new ServiceAccountsController()], { runUnscheduled: true, terminateDelayMs: 300 });
  await c.kubelet.addNode('ns-node');
});

after(async () => {
  await c?.stop();
});

async function namespace(): Promise<string> {
  const name = `nsctl-${++nsSeq}`;
  await c.user.create(Namespaces, undefined, { metadata: { name } });
  return name;
}

async function gone(r: ResourceInfo, ns: string | undefined, name: string): Promise<boolean> {
  try {
    await c.user.get(r, ns, name);
    return false;
  } catch (e) {
    if (isNotFound(e)) return true;
    throw e;
  }
}

test('a deleted namespace is emptied of every kind of content and then removed', async () => {
  const ns = await namespace();
  await c.user.create(Deployments, ns, {
    metadata: { name: 'web' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  });
  await c.user.create(ConfigMaps, ns, { metadata: { name: 'cm' } });
  await c.user.create(Services, ns, { metadata: { name: 'svc' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  await c.user.create<Pod>(Pods, ns, { metadata: { name: 'bound' }, spec: { nodeName: 'ns-node', containers: [{ name: 'c', image: 'x' }] } });
  await waitFor('pods running', async () => (await c.user.list<Pod>(Pods, ns)).items.filter((p) => p.status?.phase === 'Running').length === 3);
  const deleted = await c.user.delete(Namespaces, undefined, ns);
  assert.equal((deleted as Namespace).status?.phase, 'Terminating');
  // The bound pod terminates gracefully: the namespace waits for it.
  await waitFor('bound pod terminating', async () => !!(await c.user.get<Pod>(Pods, ns, 'bound')).metadata?.deletionTimestamp);
  assert.equal(await gone(Namespaces, undefined, ns), false);
  await waitFor('namespace gone', () => gone(Namespaces, undefined, ns), 15_000);
  for (const r of [Pods, ConfigMaps, Services, Deployments, ReplicaSets, ServiceAccounts]) {
    assert.deepEqual((await c.user.list<KubeObject>(r, ns)).items.map((o) => o.metadata?.name), [], r.resource);
  }
});

test('content held by a finalizer keeps the namespace Terminating until it is released', async () => {
  const ns = await namespace();
  await c.user.create(ConfigMaps, ns, { metadata: { name: 'held', finalizers: ['example.com/hold'] } });
  await c.user.delete(Namespaces, undefined, ns);
  await waitFor('held configmap terminating', async () => !!(await c.user.get(ConfigMaps, ns, 'held')).metadata?.deletionTimestamp);
  await sleep(500);
  const cur = await c.user.get<Namespace>(Namespaces, undefined, ns);
  assert.equal(cur.status?.phase, 'Terminating');
  assert.deepEqual(cur.spec?.finalizers, ['kubernetes']);
  // Nothing new goes into it: 403 with kube's message and NamespaceTerminating cause (which
  // controllers look for to stop retrying).
  await assert.rejects(c.user.create(ConfigMaps, ns, { metadata: { name: 'late' } }), (e: ApiError) => {
    assert.equal(e.status.code, 403);
    assert.equal(e.status.message, `configmaps "late" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`);
    assert.deepEqual(e.status.details?.causes, [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }]);
    return true;
  });
  await c.user.patch(ConfigMaps, ns, 'held', 'merge', { metadata: { finalizers: null } });
  await waitFor('namespace gone', () => gone(Namespaces, undefined, ns), 20_000);
});

test('every active namespace gets a default ServiceAccount, made again when deleted', async () => {
  const ns = await namespace();
  const sa = await waitFor('default ServiceAccount', async () => (await c.user.list<ServiceAccount>(ServiceAccounts, ns)).items.find((s) => s.metadata?.name === 'default'));
  await c.user.delete(ServiceAccounts, ns, 'default');
  const again = await waitFor('made again', async () => (await c.user.list<ServiceAccount>(ServiceAccounts, ns)).items.find((s) => s.metadata?.name === 'default'));
  assert.notEqual(again.metadata?.uid, sa.metadata?.uid);
  for (const sys of ['default', 'kube-system']) await waitFor(`${sys} has one`, async () => !(await gone(ServiceAccounts, sys, 'default')));
});
