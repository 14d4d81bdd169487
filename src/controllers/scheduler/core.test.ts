import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { fitError, needsScheduling, parseQuantity, schedule } from './core.ts';

function node(name: string, o: { ready?: 'True' | 'False' | 'Unknown'; labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints']; unschedulable?: boolean; pods?: string; cpu?: string } = {}): Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: { conditions: [{ type: 'Ready', status: o.ready ?? 'True' }], allocatable: { pods: o.pods ?? '110', cpu: o.cpu ?? '2', memory: '4Gi' } },
  };
}

function pod(name: string, o: { owner?: string; node?: string; selector?: Record<string, string>; tolerations?: NonNullable<Pod['spec']>['tolerations']; cpu?: string; hostPort?: number; affinityIn?: [string, string[]] } = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: o.owner, controller: true }] } : {}) },
    spec: {
      nodeName: o.node,
      nodeSelector: o.selector,
      tolerations: o.tolerations,
      ...(o.affinityIn ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: o.affinityIn[0], operator: 'In', values: o.affinityIn[1] }] }] } } } } : {}),
      containers: [{ name: 'c', image: 'x', ...(o.cpu ? { resources: { requests: { cpu: o.cpu } } } : {}), ...(o.hostPort ? { ports: [{ containerPort: 80, hostPort: o.hostPort }] } : {}) }],
    },
    status: { phase: 'Pending' },
  };
}

test('only unbound, live, default-scheduler pods without gates are scheduled', () => {
  assert.equal(needsScheduling(pod('a')), true);
  assert.equal(needsScheduling(pod('a', { node: 'n1' })), false);
  assert.equal(needsScheduling({ ...pod('a'), spec: { ...pod('a').spec!, schedulerName: 'other' } }), false);
  assert.equal(needsScheduling({ ...pod('a'), metadata: { name: 'a', deletionTimestamp: 'x' } }), false);
  assert.equal(needsScheduling({ ...pod('a'), spec: { ...pod('a').spec!, schedulingGates: [{ name: 'g' }] } }), false);
});

test('replicas of one owner spread over nodes, then by how busy each node is', () => {
  const nodes = [node('n1'), node('n2'), node('n3')];
  const by = new Map<string, Pod[]>([
    ['n1', [pod('x1', { owner: 'rs' })]],
    ['n2', [pod('o1', { owner: 'other' }), pod('o2', { owner: 'other' })]],
    ['n3', [pod('o3', { owner: 'other' })]],
  ]);
  assert.deepEqual(schedule(pod('new', { owner: 'rs' }), nodes, by), { node: 'n3' });
  assert.deepEqual(schedule(pod('lone'), nodes, by), { node: 'n1' });
  assert.deepEqual(schedule(pod('new', { owner: 'rs' }), nodes, new Map()), { node: 'n1' }, 'ties go by name');
});

test('filters: unschedulable, taints, selector, affinity, host ports, pod count and cpu', () => {
  const table: { name: string; node: Node; pod: Pod; on?: Pod[]; fits: boolean }[] = [
    { name: 'cordoned', node: node('n', { unschedulable: true }), pod: pod('p'), fits: false },
    { name: 'cordoned, tolerated', node: node('n', { unschedulable: true }), pod: pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }), fits: true },
    { name: 'NoSchedule taint', node: node('n', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), pod: pod('p'), fits: false },
    { name: 'taint tolerated by value', node: node('n', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), pod: pod('p', { tolerations: [{ key: 'dedicated', value: 'db' }] }), fits: true },
    { name: 'PreferNoSchedule ignored', node: node('n', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }), pod: pod('p'), fits: true },
    { name: 'not ready', node: node('n', { ready: 'False' }), pod: pod('p'), fits: false },
    { name: 'nodeSelector match', node: node('n', { labels: { disk: 'ssd' } }), pod: pod('p', { selector: { disk: 'ssd' } }), fits: true },
    { name: 'nodeSelector miss', node: node('n'), pod: pod('p', { selector: { disk: 'ssd' } }), fits: false },
    { name: 'affinity In', node: node('n', { labels: { zone: 'a' } }), pod: pod('p', { affinityIn: ['zone', ['a', 'b']] }), fits: true },
    { name: 'affinity miss', node: node('n', { labels: { zone: 'c' } }), pod: pod('p', { affinityIn: ['zone', ['a', 'b']] }), fits: false },
    { name: 'host port taken', node: node('n'), pod: pod('p', { hostPort: 8080 }), on: [pod('q', { hostPort: 8080 })], fits: false },
    { name: 'pods full', node: node('n', { pods: '1' }), pod: pod('p'), on: [pod('q')], fits: false },
    { name: 'cpu full', node: node('n', { cpu: '500m' }), pod: pod('p', { cpu: '300m' }), on: [pod('q', { cpu: '0.3' })], fits: false },
    { name: 'cpu fits', node: node('n', { cpu: '1' }), pod: pod('p', { cpu: '300m' }), on: [pod('q', { cpu: '0.3' })], fits: true },
  ];
  for (const c of table) {
    const r = schedule(c.pod, [c.node], new Map([['n', c.on ?? []]]));
    assert.equal('node' in r, c.fits, `${c.name}: ${JSON.stringify(r)}`);
  }
});

test('a pod that fits nowhere gets kube FitError text, reasons counted and sorted', () => {
  const nodes = [
    node('a', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
    node('b', { ready: 'Unknown' }),
    node('c', { labels: { disk: 'hdd' } }),
    node('d', { labels: { disk: 'hdd' } }),
  ];
  const r = schedule(pod('p', { selector: { disk: 'ssd' } }), nodes, new Map());
  assert.deepEqual(r, {
    error:
      "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
  });
  assert.deepEqual(schedule(pod('p'), [], new Map()), { error: 'no nodes available to schedule pods' });
  assert.equal(
    fitError(3, [
      { reason: 'Insufficient cpu', unresolvable: false },
      { reason: 'Insufficient cpu', unresolvable: false },
      { reason: 'node(s) had untolerated taint {machine-check-exception: memory}', unresolvable: true },
    ]),
    '0/3 nodes are available: 1 node(s) had untolerated taint {machine-check-exception: memory}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
  );
});

test('quantities parse as kube writes them', () => {
  assert.equal(parseQuantity('500m', true), 500);
  assert.equal(parseQuantity('2', true), 2000);
  assert.equal(parseQuantity('0.25', true), 250);
  assert.equal(parseQuantity('128Mi'), 128 * 1024 * 1024);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('110'), 110);
});
