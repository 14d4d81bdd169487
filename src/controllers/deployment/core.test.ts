import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  applyActions,
  calculateStatus,
  isScalingEvent,
  newReplicaSet,
  oldPodsRunning,
  pausedConditionsStatus,
  reconcileNewReplicaSet,
  reconcileOldReplicaSets,
  replicaSetsToCleanUp,
  rolloutStatus,
  scaleDownOldForRecreate,
  scalePlan,
} from './core.ts';
import { equalIgnoreHash, findNewReplicaSet, maxSurge, maxUnavailable, newRSNewReplicas, resolveFenceposts, setNewReplicaSetAnnotations } from './util.ts';

const now = Date.parse('2024-01-02T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function deployment(replicas: number, o: { surge?: number | string; unavailable?: number | string; type?: 'RollingUpdate' | 'Recreate'; image?: string; generation?: number; status?: Deployment['status']; history?: number; paused?: boolean } = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', uid: 'd-uid', generation: o.generation ?? 1, annotations: { 'kubernetes.io/change-cause': 'v1' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      strategy: o.type === 'Recreate' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.surge ?? '25%', maxUnavailable: o.unavailable ?? '25%' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: o.image ?? 'v1' }] } },
      revisionHistoryLimit: o.history ?? 10,
      progressDeadlineSeconds: 600,
      paused: o.paused,
    },
    status: o.status ?? {},
  };
}

let seq = 0;
function rs(name: string, replicas: number, o: { available?: number; image?: string; revision?: number; desired?: number; max?: number; created?: string; status?: number } = {}): ReplicaSet {
  const ann: Record<string, string> = {};
  if (o.revision !== undefined) ann['deployment.kubernetes.io/revision'] = String(o.revision);
  if (o.desired !== undefined) ann['deployment.kubernetes.io/desired-replicas'] = String(o.desired);
  if (o.max !== undefined) ann['deployment.kubernetes.io/max-replicas'] = String(o.max);
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'ns', uid: `${name}-uid`, generation: 1, creationTimestamp: o.created ?? iso(now - 100_000 + ++seq * 1000), annotations: ann, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true }] },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web', 'pod-template-hash': name } }, spec: { containers: [{ name: 'c', image: o.image ?? 'v1' }] } } },
    status: { replicas: o.status ?? replicas, readyReplicas: o.available ?? replicas, availableReplicas: o.available ?? replicas, observedGeneration: 1 },
  };
}

test('maxSurge rounds up and maxUnavailable down; both zero leaves one unavailable', () => {
  const table: [number | string, number | string, number, [number, number]][] = [
    ['25%', '25%', 4, [1, 1]],
    ['25%', '25%', 10, [3, 2]],
    ['25%', '25%', 3, [1, 0]],
    [0, 0, 5, [0, 1]],
    ['0%', '1%', 2, [0, 1]],
    [1, 0, 2, [1, 0]],
    ['50%', 3, 1, [1, 3]],
  ];
  for (const [s, u, n, want] of table) assert.deepEqual(resolveFenceposts(s, u, n), want, `${s}/${u} of ${n}`);
  assert.equal(maxUnavailable(deployment(1, { surge: '50%', unavailable: 3 })), 1, 'capped at replicas');
  assert.equal(maxUnavailable(deployment(0)), 0);
  assert.equal(maxSurge(deployment(3, { type: 'Recreate' })), 0);
});

test('the new ReplicaSet grows within the surge and never past the desired count', () => {
  const d = deployment(3, { surge: 1, unavailable: 0 });
  const n = rs('new', 0);
  assert.equal(newRSNewReplicas(d, [rs('old', 3), n], n), 1);
  assert.equal(newRSNewReplicas(d, [rs('old', 2), rs('new', 2)], rs('new', 2)), 2, 'at the surge cap');
  assert.equal(newRSNewReplicas(d, [rs('old', 0), rs('new', 2)], rs('new', 2)), 3);
  assert.equal(newRSNewReplicas(deployment(3, { type: 'Recreate' }), [n], n), 3);
});

test('a rolling update converges without ever breaking maxSurge or maxUnavailable', () => {
  for (const [surge, unavailable, replicas] of [
    [1, 0, 3],
    ['25%', '25%', 4],
    [0, 1, 3],
    ['50%', '50%', 5],
    [2, 2, 10],
  ] as const) {
    const d = deployment(replicas, { surge, unavailable, image: 'v2' });
    const [s, u] = resolveFenceposts(surge, unavailable, replicas);
    let all = [rs('old', replicas, { revision: 1 }), rs('new', 0, { image: 'v2', revision: 2 })];
    for (let step = 0; step < 50; step++) {
      const newRS = findNewReplicaSet(d, all)!;
      const olds = all.filter((r) => r !== newRS);
      let actions = reconcileNewReplicaSet(d, all, newRS);
      if (!actions.length) actions = reconcileOldReplicaSets(d, all, olds.filter((r) => (r.spec?.replicas ?? 0) > 0), newRS);
      all = applyActions(all, actions);
      const total = all.reduce((n, r) => n + (r.spec?.replicas ?? 0), 0);
      assert.ok(total <= replicas + s, `surge respected at step ${step} (${String(surge)}/${String(unavailable)})`);
      // The world catches up: every pod the specs ask for turns available.
      all = all.map((r) => ({ ...r, status: { replicas: r.spec?.replicas ?? 0, availableReplicas: r.spec?.replicas, readyReplicas: r.spec?.replicas } }));
      const available = all.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
      assert.ok(available >= replicas - u, `availability respected at step ${step}`);
    }
    assert.deepEqual(all.map((r) => r.spec?.replicas), [0, replicas], `converged for ${String(surge)}/${String(unavailable)} of ${replicas}`);
  }
});

test('old pods that are not available are scaled away first', () => {
  const d = deployment(3, { surge: 1, unavailable: 0, image: 'v2' });
  const old = rs('old', 3, { available: 1 });
  const n = rs('new', 1, { image: 'v2', available: 1 });
  const actions = reconcileOldReplicaSets(d, [old, n], [old], n);
  assert.deepEqual(actions, [{ name: 'old', from: 3, to: 2, operation: 'down' }]);
});

test('scaling a Deployment mid-rollout spreads the change over its ReplicaSets in proportion', () => {
  const d = deployment(10, { surge: 3, unavailable: 2, status: { replicas: 8 } });
  const old = rs('old', 4, { desired: 5, max: 8, image: 'v0', created: iso(now - 60_000) });
  const n = rs('new', 4, { desired: 5, max: 8, created: iso(now - 30_000) });
  assert.equal(isScalingEvent(d, n, [old]), true);
  assert.deepEqual(scalePlan(d, n, [old]), [
    { name: 'new', from: 4, to: 7, operation: 'up' },
    { name: 'old', from: 4, to: 6, operation: 'up' },
  ]);
  const down = deployment(2, { surge: 3, unavailable: 2, status: { replicas: 13 } });
  const plan = scalePlan(down, rs('new', 7, { max: 13 }), [rs('old', 6, { max: 13, image: 'v0' })]);
  assert.equal(plan.reduce((n, a) => n + a.to, 0), 5, 'scaled down to replicas + surge');
});

test('one active ReplicaSet simply takes the new count; a saturated new one empties the old', () => {
  assert.deepEqual(scalePlan(deployment(5), rs('new', 2), [rs('old', 0, { image: 'v0' })]), [{ name: 'new', from: 2, to: 5, operation: 'up' }]);
  assert.deepEqual(scalePlan(deployment(2), rs('new', 2), []), []);
  const sat = rs('new', 3, { desired: 3, available: 3 });
  assert.deepEqual(scalePlan(deployment(3), sat, [rs('old', 1, { image: 'v0' }), rs('old2', 1, { image: 'v0' })]), [
    { name: 'old', from: 1, to: 0, operation: 'down' },
    { name: 'old2', from: 1, to: 0, operation: 'down' },
  ]);
});

test('Recreate scales old ReplicaSets to zero and waits for their pods to finish', () => {
  assert.deepEqual(scaleDownOldForRecreate([rs('a', 2), rs('b', 0)]), [{ name: 'a', from: 2, to: 0, operation: 'down' }]);
  const pod = (phase: string): Pod => ({ metadata: { name: 'p' }, status: { phase } });
  const old = rs('old', 0, { status: 0 });
  assert.equal(oldPodsRunning(undefined, [old], new Map([['old-uid', [pod('Running')]]])), true);
  assert.equal(oldPodsRunning(undefined, [old], new Map([['old-uid', [pod('Succeeded'), pod('Failed')]]])), false);
  assert.equal(oldPodsRunning(undefined, [rs('old', 0, { status: 1 })], new Map()), true, 'the ReplicaSet still counts a pod');
  assert.equal(oldPodsRunning(rs('new', 1), [old], new Map([['new-uid', [pod('Running')]]])), false, 'new pods do not count');
});

test('the new ReplicaSet is named after the template hash, labeled, selected and annotated', () => {
  const d = deployment(3, { surge: 1, unavailable: 0 });
  const n = newReplicaSet(d, [], '1');
  const hash = n.metadata?.labels?.['pod-template-hash'] ?? '';
  assert.match(hash, /^[456789bcdf]+$/);
  assert.equal(n.metadata?.name, `web-${hash}`);
  assert.deepEqual(n.spec?.selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
  assert.deepEqual(n.spec?.template?.metadata?.labels, { app: 'web', 'pod-template-hash': hash });
  assert.equal(n.spec?.replicas, 3, 'nothing old: the full count within the surge');
  assert.deepEqual(n.metadata?.annotations, {
    'kubernetes.io/change-cause': 'v1',
    'deployment.kubernetes.io/revision': '1',
    'deployment.kubernetes.io/desired-replicas': '3',
    'deployment.kubernetes.io/max-replicas': '4',
  });
  assert.deepEqual(n.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true, blockOwnerDeletion: true }]);
  assert.equal(equalIgnoreHash(n.spec?.template, d.spec?.template), true);
  assert.notEqual(newReplicaSet({ ...d, status: { collisionCount: 1 } }, [], '1').metadata?.name, n.metadata?.name, 'a collision count changes the name');
});

test('a rollback raises the old ReplicaSet to the next revision and keeps the old number in revision-history', () => {
  const d = deployment(1);
  const back = rs('old', 0, { revision: 1 });
  assert.equal(setNewReplicaSetAnnotations(d, back, '3', true), true);
  assert.equal(back.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
  assert.equal(back.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  setNewReplicaSetAnnotations(d, back, '5', true);
  assert.equal(back.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1,3');
  assert.equal(setNewReplicaSetAnnotations(d, back, '4', true), false, 'never lowered');
});

test('history beyond revisionHistoryLimit is deleted oldest revision first, only when empty', () => {
  const d = deployment(1, { history: 1 });
  const olds = [rs('r3', 0, { revision: 3 }), rs('r1', 0, { revision: 1 }), rs('r2', 1, { revision: 2 })];
  assert.deepEqual(replicaSetsToCleanUp(d, olds).map((r) => r.metadata?.name), ['r1'], 'r2 still has a replica');
  assert.deepEqual(replicaSetsToCleanUp(deployment(1, { history: 5 }), olds), []);
});

test('status adds up the ReplicaSets, with Available as kube words it', () => {
  const d = deployment(3, { generation: 4, surge: 1, unavailable: 1 });
  const s = calculateStatus([rs('old', 1, { available: 1, image: 'v0' }), rs('new', 2, { available: 1 })], rs('new', 2, { available: 1 }), d, now);
  assert.deepEqual({ ...s, conditions: undefined }, { observedGeneration: 4, replicas: 3, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1, conditions: undefined });
  assert.deepEqual(s.conditions, [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: iso(now), lastTransitionTime: iso(now) }]);
  const low = calculateStatus([rs('new', 3, { available: 0 })], rs('new', 3, { available: 0 }), d, now);
  assert.equal(low.conditions?.[0]?.reason, 'MinimumReplicasUnavailable');
  assert.equal(low.conditions?.[0]?.message, 'Deployment does not have minimum availability.');
});

test('Progressing reports progress, completion and a missed deadline', () => {
  const d = deployment(2, { status: { replicas: 2, updatedReplicas: 1, availableReplicas: 1, conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', lastUpdateTime: iso(now - 10_000), lastTransitionTime: iso(now - 10_000) }] } });
  const n = rs('web-abc', 2, { available: 2 });
  const done = rolloutStatus([n], n, d, now).status;
  const p = done.conditions?.find((c) => c.type === 'Progressing');
  assert.equal(p?.reason, 'NewReplicaSetAvailable');
  assert.equal(p?.message, 'ReplicaSet "web-abc" has successfully progressed.');
  assert.equal(p?.lastTransitionTime, iso(now - 10_000), 'still True: the transition time stays');
  const half = rs('web-abc', 2, { available: 2, status: 2 });
  const progressing = rolloutStatus([rs('old', 1, { image: 'v0' }), half], half, d, now).status;
  assert.equal(progressing.conditions?.find((c) => c.type === 'Progressing')?.message, 'ReplicaSet "web-abc" is progressing.');
  const stuck = deployment(2, { status: { replicas: 3, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastUpdateTime: iso(now - 601_000), lastTransitionTime: iso(now - 700_000) }] } });
  const slow = rs('web-abc', 1, { available: 0 });
  const timedOut = rolloutStatus([rs('old', 2, { image: 'v0', available: 1 }), slow], slow, stuck, now).status;
  const t = timedOut.conditions?.find((c) => c.type === 'Progressing');
  assert.deepEqual([t?.status, t?.reason, t?.message], ['False', 'ProgressDeadlineExceeded', 'ReplicaSet "web-abc" has timed out progressing.']);
});

test('a stuck rollout with nothing to write asks to be looked at again at its deadline', () => {
  const cond = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: 'ReplicaSet "n" is progressing.', lastUpdateTime: iso(now - 100_000), lastTransitionTime: iso(now - 100_000) };
  const avail = { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: iso(now), lastTransitionTime: iso(now) };
  const n = rs('n', 1, { available: 0 });
  const old = rs('old', 2, { image: 'v0' });
  const d = deployment(2, { surge: 1, unavailable: 0, status: { observedGeneration: 1, replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1, conditions: [avail, cond] } });
  const r = rolloutStatus([old, n], n, d, now);
  assert.equal(r.requeueAfterMs, 500_000 + 1000);
});

test('pausing and resuming set Progressing Unknown', () => {
  const paused = pausedConditionsStatus(deployment(1, { paused: true }), now);
  assert.deepEqual(paused?.conditions?.map((c) => [c.status, c.reason, c.message]), [['Unknown', 'DeploymentPaused', 'Deployment is paused']]);
  const resumed = pausedConditionsStatus(deployment(1, { status: paused }), now);
  assert.deepEqual(resumed?.conditions?.map((c) => [c.status, c.reason, c.message]), [['Unknown', 'DeploymentResumed', 'Deployment is resumed']]);
  assert.equal(pausedConditionsStatus(deployment(1), now), undefined);
});
