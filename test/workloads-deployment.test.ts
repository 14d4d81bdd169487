// The Deployment and ReplicaSet controllers in-process against svcnet's API server, with a fake
// kubelet that runs (marks Running and Ready) every pod: rollouts (RollingUpdate within
// maxSurge/maxUnavailable, Recreate), revisions and rollback, history limits, proportional
// scaling mid-rollout, pausing, and the progress deadline.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { Deployments, Events, Namespaces, Pods, ReplicaSets } from '../src/api/index.ts';
import { SharedInformer } from '../src/client/index.ts';
import { DeploymentController } from '../src/controllers/deployment/index.ts';
import { ReplicaSetController } from '../src/controllers/replicaset/index.ts';
import { retryOnConflict, startCluster, waitFor, type Cluster } from './lib/workloads.ts';

let c: Cluster;
let nsSeq = 0;

before(async () => {
  c = await startCluster([new ReplicaSetController(), new DeploymentController()], { runUnscheduled: true, neverReady: /^stuck-/ });
});

after(async () => {
  await c?.stop();
});

async function namespace(): Promise<string> {
  const name = `deploy-${++nsSeq}`;
  await c.user.create(Namespaces, undefined, { metadata: { name } });
  return name;
}

function deployment(name: string, replicas: number, o: { image?: string; surge?: number | string; unavailable?: number | string; recreate?: boolean; history?: number; deadline?: number; minReadySeconds?: number } = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: o.recreate ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.surge ?? '25%', maxUnavailable: o.unavailable ?? '25%' } },
      revisionHistoryLimit: o.history,
      progressDeadlineSeconds: o.deadline,
      minReadySeconds: o.minReadySeconds,
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'agnhost', image: o.image ?? 'registry.k8s.io/e2e-test-images/agnhost:2.53' }] } },
    },
  };
}

async function get(ns: string, name: string): Promise<Deployment> {
  return c.user.get<Deployment>(Deployments, ns, name);
}

async function replicaSets(ns: string): Promise<ReplicaSet[]> {
  return (await c.user.list<ReplicaSet>(ReplicaSets, ns)).items;
}

/** kubectl rollout status's test: observed, and every replica updated and available. */
async function rolledOut(ns: string, name: string, timeoutMs = 15_000): Promise<Deployment> {
  return waitFor(`${name} rolled out`, async () => {
    const d = await get(ns, name);
    const s = d.status ?? {};
    const want = d.spec?.replicas ?? 1;
    return (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want && d;
  }, timeoutMs);
}

/** A user's patch (retried on Conflict: see retryOnConflict). */
async function patch(ns: string, name: string, type: 'json' | 'merge', body: unknown): Promise<void> {
  await retryOnConflict(() => c.user.patch(Deployments, ns, name, type, body));
}

async function setImage(ns: string, name: string, image: string): Promise<void> {
  await patch(ns, name, 'json', [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }]);
}

test('a Deployment gets a ReplicaSet named by its template hash, revision 1, and a complete status', async () => {
  const ns = await namespace();
  await c.user.create(Deployments, ns, deployment('web', 3));
  const d = await rolledOut(ns, 'web');
  const [rs] = await replicaSets(ns);
  const hash = rs.metadata?.labels?.['pod-template-hash'] ?? '';
  assert.equal(rs.metadata?.name, `web-${hash}`);
  assert.deepEqual(rs.spec?.selector?.matchLabels, { app: 'web', 'pod-template-hash': hash });
  assert.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
  assert.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
  assert.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/max-replicas'], '4');
  assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
  const pods = (await c.user.list<Pod>(Pods, ns)).items;
  assert.equal(pods.length, 3);
  for (const p of pods) assert.match(p.metadata?.name ?? '', new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
  const done = await waitFor('NewReplicaSetAvailable', async () => {
    const x = await get(ns, 'web');
    return x.status?.conditions?.find((k) => k.type === 'Progressing')?.reason === 'NewReplicaSetAvailable' && x;
  });
  const byType = Object.fromEntries((done.status?.conditions ?? []).map((k) => [k.type, [k.status, k.reason, k.message]]));
  assert.deepEqual(byType, {
    Available: ['True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'],
    Progressing: ['True', 'NewReplicaSetAvailable', `ReplicaSet "web-${hash}" has successfully progressed.`],
  });
  assert.deepEqual({ ...done.status, conditions: undefined }, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, conditions: undefined });
  const events = (await c.user.list<Event>(Events, ns)).items.filter((e) => e.reason === 'ScalingReplicaSet');
  assert.deepEqual(events.map((e) => e.message), [`Scaled up replica set web-${hash} from 0 to 3`]);
});

test('a rolling update with maxUnavailable 0 keeps every replica available and ends on a new revision', async () => {
  const ns = await namespace();
  await c.user.create(Deployments, ns, deployment('roll', 3, { surge: 1, unavailable: 0 }));
  await rolledOut(ns, 'roll');
  const watch = new SharedInformer<Deployment>(c.user, Deployments, { namespace: ns });
  const seen: number[] = [];
  watch.addEventHandler({ onUpdate: (_o, d) => seen.push(d.status?.availableReplicas ?? 0) });
  watch.start();
  await watch.waitForSync();
  try {
    await setImage(ns, 'roll', 'registry.k8s.io/e2e-test-images/agnhost:2.52');
    const d = await rolledOut(ns, 'roll');
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.ok(seen.length > 0 && seen.every((n) => n >= 3), `available never below 3: ${seen.join(',')}`);
    const rss = await replicaSets(ns);
    assert.equal(rss.length, 2);
    const byRev = Object.fromEntries(rss.map((r): [string, number] => [r.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '', r.spec?.replicas ?? 0]));
    assert.deepEqual(byRev, { '1': 0, '2': 3 });
    const pods = (await c.user.list<Pod>(Pods, ns)).items.filter((p) => !p.metadata?.deletionTimestamp);
    assert.ok(pods.every((p) => p.spec?.containers[0]?.image === 'registry.k8s.io/e2e-test-images/agnhost:2.52'));
  } finally {
    watch.stop();
  }
});

test('rolling back to the previous template reuses its ReplicaSet with the next revision', async () => {
  const ns = await namespace();
  await c.user.create(Deployments, ns, deployment('back', 2));
  await rolledOut(ns, 'back');
  await setImage(ns, 'back', 'v2');
  await rolledOut(ns, 'back');
  await setImage(ns, 'back', 'registry.k8s.io/e2e-test-images/agnhost:2.53');
  const d = await rolledOut(ns, 'back');
  const rss = await replicaSets(ns);
  assert.equal(rss.length, 2, 'no third ReplicaSet');
  const first = rss.find((r) => r.spec?.template?.spec?.containers[0]?.image !== 'v2')!;
  assert.equal(first.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
  assert.equal(first.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  assert.equal(first.spec?.replicas, 2);
  assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
});

test('Recreate stops every old pod before the new ReplicaSet starts', async () => {
  const ns = await namespace();
  await c.user.create(Deployments, ns, deployment('re', 2, { recreate: true }));
  await rolledOut(ns, 're');
  const pods = new SharedInformer<Pod>(c.user, Pods, { namespace: ns });
  const overlap: string[] = [];
  const image = (p: Pod) => p.spec?.containers[0]?.image;
  pods.addEventHandler({
    onAdd: (p) => {
      if (image(p) !== 'v2') return;
      const old = pods.list().filter((x) => image(x) !== 'v2');
      if (old.length) overlap.push(`${p.metadata?.name ?? ''} created while ${old.length} old pods exist`);
    },
  });
  pods.start();
  await pods.waitForSync();
  try {
    await setImage(ns, 're', 'v2');
    await rolledOut(ns, 're');
    assert.deepEqual(overlap, []);
  } finally {
    pods.stop();
  }
});

test('revisionHistoryLimit keeps only that many old ReplicaSets', async () => {
  const ns = await namespace();
  await c.user.create(Deployments, ns, deployment('hist', 1, { history: 1 }));
  await rolledOut(ns, 'hist');
  for (const v of ['v2', 'v3', 'v4']) {
    await setImage(ns, 'hist', v);
    await rolledOut(ns, 'hist');
  }
  await waitFor('2 ReplicaSets', async () => (await replicaSets(ns)).length === 2);
  const revs = (await replicaSets(ns)).map((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision']).sort();
  assert.deepEqual(revs, ['3', '4']);
});

test('scaling a Deployment scales its ReplicaSet and records the events', async () => {
  const ns = await namespace();
  await c.user.create(Deployments, ns, deployment('sc', 2));
  await rolledOut(ns, 'sc');
  await patch(ns, 'sc', 'merge', { spec: { replicas: 5 } });
  await rolledOut(ns, 'sc');
  assert.equal((await c.user.list<Pod>(Pods, ns)).items.filter((p) => !p.metadata?.deletionTimestamp).length, 5);
  await patch(ns, 'sc', 'merge', { spec: { replicas: 1 } });
  await rolledOut(ns, 'sc');
  await waitFor('1 pod', async () => (await c.user.list<Pod>(Pods, ns)).items.length === 1);
  const [rs] = await replicaSets(ns);
  assert.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'], '1');
  const msgs = (await c.user.list<Event>(Events, ns)).items.filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message);
  const name = rs.metadata?.name ?? '';
  assert.deepEqual(msgs, [`Scaled up replica set ${name} from 0 to 2`, `Scaled up replica set ${name} from 2 to 5`, `Scaled down replica set ${name} from 5 to 1`]);
});

test('a paused Deployment does not roll out a template change until resumed', async () => {
  const ns = await namespace();
  await c.user.create(Deployments, ns, deployment('pause', 1));
  await rolledOut(ns, 'pause');
  await patch(ns, 'pause', 'merge', { spec: { paused: true } });
  await waitFor('DeploymentPaused', async () => (await get(ns, 'pause')).status?.conditions?.find((k) => k.type === 'Progressing')?.reason === 'DeploymentPaused');
  await setImage(ns, 'pause', 'v2');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await replicaSets(ns)).length, 1);
  await patch(ns, 'pause', 'merge', { spec: { paused: false } });
  const d = await rolledOut(ns, 'pause');
  assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
});

test('a rollout that makes no progress within progressDeadlineSeconds reports ProgressDeadlineExceeded', async () => {
  const ns = await namespace();
  // The fake kubelet never makes pods named stuck-* ready.
  await c.user.create(Deployments, ns, deployment('stuck', 1, { deadline: 2 }));
  const d = await waitFor('ProgressDeadlineExceeded', async () => {
    const x = await get(ns, 'stuck');
    const p = x.status?.conditions?.find((k) => k.type === 'Progressing');
    return p?.reason === 'ProgressDeadlineExceeded' && p;
  }, 10_000);
  assert.equal(d.status, 'False');
  assert.match(d.message ?? '', /^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
  const x = await get(ns, 'stuck');
  assert.equal(x.status?.conditions?.find((k) => k.type === 'Available')?.reason, 'MinimumReplicasUnavailable');
});

test('scaling in the middle of a rollout spreads the new replicas over both ReplicaSets', async () => {
  const ns = await namespace();
  await c.user.create(Deployments, ns, { ...deployment('stuck-mid', 4, { surge: 2, unavailable: 0 }) });
  await waitFor('4 old pods', async () => (await replicaSets(ns))[0]?.status?.replicas === 4);
  // Pods never get ready here, so a rollout stalls with both ReplicaSets active.
  await setImage(ns, 'stuck-mid', 'v2');
  await waitFor('2 ReplicaSets active', async () => (await replicaSets(ns)).filter((r) => (r.spec?.replicas ?? 0) > 0).length === 2);
  await patch(ns, 'stuck-mid', 'merge', { spec: { replicas: 8 } });
  await waitFor('8 + surge 2 = 10 replicas across both', async () => {
    const rss = await replicaSets(ns);
    return rss.reduce((n, r) => n + (r.spec?.replicas ?? 0), 0) === 10 && rss.every((r) => r.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'] === '8');
  });
  const sizes = (await replicaSets(ns)).map((r) => r.spec?.replicas ?? 0).sort((a, b) => a - b);
  assert.ok((sizes[0] ?? 0) > 2, `both grew: ${sizes.join(',')}`);
});
