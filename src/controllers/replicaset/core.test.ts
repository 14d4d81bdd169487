import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { calculateStatus, manageReplicas, nextAvailabilityCheck, podFromTemplate, podsToDelete, slowStartBatches, statusNeedsUpdate } from './core.ts';

const now = Date.parse('2024-01-02T00:00:00Z');

function rs(replicas: number, o: { minReadySeconds?: number; status?: ReplicaSet['status']; generation?: number } = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-abc', namespace: 'ns', uid: 'rs-uid', generation: o.generation ?? 1 },
    spec: {
      replicas,
      minReadySeconds: o.minReadySeconds ?? 0,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web', 'pod-template-hash': 'abc' }, annotations: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    },
    status: o.status ?? { replicas: 0 },
  };
}

function pod(name: string, o: { node?: string; ready?: boolean; readySince?: string; labels?: Record<string, string> } = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: name, creationTimestamp: '2024-01-01T00:00:00Z', labels: o.labels ?? { app: 'web', 'pod-template-hash': 'abc' } },
    spec: { containers: [], ...(o.node ? { nodeName: o.node } : {}) },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: o.readySince ?? '2024-01-01T00:00:00Z' }] },
  };
}

test('manageReplicas creates the shortfall, capped at the burst, and deletes the surplus', () => {
  const table: { name: string; want: number; pods: number; burst?: number; expect: string }[] = [
    { name: 'steady', want: 2, pods: 2, expect: 'none' },
    { name: 'scale up from zero', want: 3, pods: 0, expect: 'create 3' },
    { name: 'scale up capped by burst', want: 800, pods: 0, burst: 500, expect: 'create 500' },
    { name: 'scale down', want: 1, pods: 3, expect: 'delete 2' },
    { name: 'scale to zero', want: 0, pods: 3, expect: 'delete 3' },
  ];
  for (const c of table) {
    const pods = Array.from({ length: c.pods }, (_, i) => pod(`p${i}`, { node: 'n1' }));
    const d = manageReplicas(rs(c.want), pods, pods, now, c.burst);
    const got = d.kind === 'none' ? 'none' : d.kind === 'create' ? `create ${d.count}` : `delete ${d.pods.length}`;
    assert.equal(got, c.expect, c.name);
  }
});

test('scale-down deletes the pods on the most crowded node first when all else is equal', () => {
  const mine = [pod('a', { node: 'n1' }), pod('b', { node: 'n2' })];
  // Pods of a sibling ReplicaSet (same Deployment) crowd n2.
  const related = [...mine, pod('s1', { node: 'n2' }), pod('s2', { node: 'n2' })];
  assert.deepEqual(podsToDelete(mine, related, 1, now).map((p) => p.metadata?.name), ['b']);
  assert.deepEqual(podsToDelete(mine, related, 5, now).length, 2);
});

test('slow start creates in batches of 1, 2, 4 ...', () => {
  assert.deepEqual(slowStartBatches(0), []);
  assert.deepEqual(slowStartBatches(1), [1]);
  assert.deepEqual(slowStartBatches(5), [1, 2, 2]);
  assert.deepEqual(slowStartBatches(10), [1, 2, 4, 3]);
});

test('a pod from the template carries its labels, annotations and spec, a generated name and the controller reference', () => {
  const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'rs-uid', controller: true, blockOwnerDeletion: true };
  const p = podFromTemplate(rs(1), ref);
  assert.deepEqual(p.metadata, { generateName: 'web-abc-', ownerReferences: [ref], labels: { app: 'web', 'pod-template-hash': 'abc' }, annotations: { a: 'b' } });
  assert.deepEqual(p.spec, { containers: [{ name: 'c', image: 'x' }] });
});

test('status counts replicas, fully labeled, ready and available pods', () => {
  const pods = [
    pod('a'),
    pod('b', { ready: false }),
    pod('c', { readySince: '2024-01-01T23:59:55Z' }),
    pod('d', { labels: { app: 'web' } }),
  ];
  const st = calculateStatus(rs(4, { minReadySeconds: 10 }), pods, undefined, now);
  assert.deepEqual(st, { replicas: 4, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 2 });
  assert.equal(nextAvailabilityCheck(rs(4, { minReadySeconds: 10 }), pods, now), 5000);
  assert.equal(nextAvailabilityCheck(rs(4), pods, now), undefined);
});

test('a failed create sets ReplicaFailure (FailedCreate) and a clean sync removes it', () => {
  const failed = calculateStatus(rs(2), [pod('a')], 'pods "x" is forbidden: exceeded quota', now);
  assert.deepEqual(failed.conditions, [{ type: 'ReplicaFailure', status: 'True', lastTransitionTime: '2024-01-02T00:00:00Z', reason: 'FailedCreate', message: 'pods "x" is forbidden: exceeded quota' }]);
  const del = calculateStatus(rs(0), [pod('a')], 'boom', now);
  assert.equal(del.conditions?.[0]?.reason, 'FailedDelete');
  const healed = calculateStatus(rs(1, { status: failed }), [pod('a')], undefined, now);
  assert.equal(healed.conditions, undefined);
});

test('status is written only when counts, conditions or the observed generation change', () => {
  const cur = rs(1, { generation: 2, status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 2 } });
  assert.equal(statusNeedsUpdate(cur, { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1 }), false);
  assert.equal(statusNeedsUpdate(cur, { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 0, availableReplicas: 0 }), true);
  assert.equal(statusNeedsUpdate(rs(1, { generation: 3, status: cur.status }), { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1 }), true);
});
