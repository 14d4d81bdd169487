import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { desiredTaints, evictionFor, notReadyConditions, observeHealth, silentNodeConditions } from './core.ts';

const t0 = Date.parse('2024-01-02T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function node(o: { ready?: string; heartbeat?: string; taints?: NonNullable<Node['spec']>['taints']; unschedulable?: boolean; conditions?: NonNullable<Node['status']>['conditions'] } = {}): Node {
  return {
    metadata: { name: 'n1', creationTimestamp: iso(t0 - 3600_000) },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: { conditions: o.conditions ?? (o.ready ? [{ type: 'Ready', status: o.ready, reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: o.heartbeat ?? iso(t0), lastTransitionTime: iso(t0 - 3600_000) }] : []) },
  };
}

const lease = (renew: string): Lease => ({ metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { renewTime: renew } });

test('a renewed lease or a new Ready heartbeat moves the probe time to now; silence does not', () => {
  let h = observeHealth(undefined, node({ ready: 'True' }), lease('2024-01-02T00:00:00.000000Z'), t0);
  assert.equal(h.probeTimestamp, t0 - 3600_000, 'first seen: from its creation');
  h = observeHealth(h, node({ ready: 'True' }), lease('2024-01-02T00:00:10.000000Z'), t0 + 10_000);
  assert.equal(h.probeTimestamp, t0 + 10_000);
  h = observeHealth(h, node({ ready: 'True' }), lease('2024-01-02T00:00:10.000000Z'), t0 + 30_000);
  assert.equal(h.probeTimestamp, t0 + 10_000);
  h = observeHealth(h, node({ ready: 'True', heartbeat: iso(t0 + 31_000) }), lease('2024-01-02T00:00:10.000000Z'), t0 + 31_000);
  assert.equal(h.probeTimestamp, t0 + 31_000);
});

test('a node silent past its grace period turns Unknown in kube words; within it, nothing changes', () => {
  const n = node({ ready: 'True', conditions: [
    { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: iso(t0), lastTransitionTime: iso(t0) },
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'ok', lastHeartbeatTime: iso(t0), lastTransitionTime: iso(t0) },
  ] });
  const h = { probeTimestamp: t0, readyHeartbeat: iso(t0), leaseRenew: undefined };
  assert.equal(silentNodeConditions(n, h, t0 + 40_000, 40_000, 60_000), undefined);
  const conds = silentNodeConditions(n, h, t0 + 40_001, 40_000, 60_000)!;
  assert.deepEqual(conds.map((c) => [c.type, c.status, c.reason, c.message]), [
    ['Ready', 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'],
    ['MemoryPressure', 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'],
    ['DiskPressure', 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.'],
    ['PIDPressure', 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.'],
  ]);
  assert.equal(conds[0]?.lastHeartbeatTime, iso(t0), 'the last heartbeat stays what the kubelet posted');
  assert.equal(silentNodeConditions({ ...n, status: { conditions: conds } }, h, t0 + 50_000, 40_000, 60_000), undefined, 'already Unknown');
  assert.equal(silentNodeConditions(node(), { ...h, probeTimestamp: t0 }, t0 + 50_000, 40_000, 60_000), undefined, 'never posted: the startup grace applies');
});

test('taints follow the Ready condition and spec.unschedulable; others are kept', () => {
  const keep = { key: 'dedicated', value: 'db', effect: 'NoSchedule' as const };
  const unreachable = desiredTaints(node({ ready: 'Unknown', taints: [keep] }), t0);
  assert.deepEqual(unreachable, [keep, { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(t0) }]);
  const notReady = desiredTaints(node({ ready: 'False', taints: unreachable }), t0 + 1000);
  assert.deepEqual(notReady, [keep, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: iso(t0 + 1000) }]);
  assert.deepEqual(desiredTaints(node({ ready: 'True', taints: notReady }), t0), [keep], 'back: the lifecycle taints go');
  assert.deepEqual(desiredTaints(node({ ready: 'Unknown', taints: unreachable }), t0 + 9000), unreachable, 'kept taints keep their timeAdded');
  assert.deepEqual(desiredTaints(node({ ready: 'True', unschedulable: true }), t0), [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]);
});

test('pods on an unreachable node go when their tolerations run out', () => {
  const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(t0) }];
  const pod = (tolerations: NonNullable<Pod['spec']>['tolerations']): Pod => ({ spec: { containers: [], tolerations } });
  const def = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ];
  assert.deepEqual(evictionFor(pod(def), taints, t0 + 1000), { kind: 'at', at: t0 + 300_000 });
  assert.deepEqual(evictionFor(pod(def), taints, t0 + 300_000), { kind: 'now' });
  assert.deepEqual(evictionFor(pod([]), taints, t0), { kind: 'now' }, 'not tolerated at all');
  assert.deepEqual(evictionFor(pod([{ operator: 'Exists' }]), taints, t0), { kind: 'keep' }, 'tolerates everything forever');
  assert.deepEqual(evictionFor(pod([...def, { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }]), taints, t0), { kind: 'at', at: t0 + 2000 }, 'the shortest wins');
  assert.deepEqual(evictionFor(pod(def), [{ key: 'x', effect: 'NoSchedule' }], t0), { kind: 'keep' });
});

test('marking a pod not ready flips only its Ready condition', () => {
  const pod: Pod = { status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(t0) }, { type: 'ContainersReady', status: 'True' }] } };
  assert.deepEqual(notReadyConditions(pod, t0 + 1000), [{ type: 'Ready', status: 'False', lastTransitionTime: iso(t0 + 1000) }, { type: 'ContainersReady', status: 'True' }]);
  assert.equal(notReadyConditions({ status: { conditions: [{ type: 'Ready', status: 'False' }] } }, t0), undefined);
});
