import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { Deployments, Pods, ReplicaSets, type KubeObject } from '../../api/index.ts';
import { Graph, decide, type OwnerState } from './graph.ts';

function obj(uid: string, o: { owners?: OwnerReference[]; deleting?: boolean; finalizers?: string[] } = {}): KubeObject {
  return {
    metadata: {
      uid,
      name: uid,
      namespace: 'ns',
      ...(o.owners ? { ownerReferences: o.owners } : {}),
      ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
    },
  };
}

const ref = (uid: string, block = true): OwnerReference => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: uid, uid, controller: true, blockOwnerDeletion: block });

test('a dependent whose owner the graph has not seen is checked at once', () => {
  const g = new Graph();
  assert.deepEqual(g.upsert(Pods, obj('p', { owners: [ref('rs')] })).attemptToDelete, ['p']);
  g.upsert(ReplicaSets, obj('rs'));
  assert.deepEqual(g.upsert(Pods, obj('p2', { owners: [ref('rs')] })).attemptToDelete, []);
  assert.deepEqual(g.dependents('rs').map((n) => n.uid).sort(), ['p', 'p2']);
});

test("an owner's deletion sends its dependents to attemptToDelete", () => {
  const g = new Graph();
  g.upsert(ReplicaSets, obj('rs'));
  g.upsert(Pods, obj('p', { owners: [ref('rs')] }));
  assert.deepEqual(g.remove(obj('rs')), { attemptToDelete: ['p'], attemptToOrphan: [] });
});

test('deleting with the orphan finalizer asks for orphaning; with foregroundDeletion, the owner and its dependents are attempted', () => {
  const g = new Graph();
  g.upsert(Deployments, obj('d'));
  g.upsert(ReplicaSets, obj('rs', { owners: [ref('d')] }));
  assert.deepEqual(g.upsert(Deployments, obj('d', { deleting: true, finalizers: ['orphan'] })).attemptToOrphan, ['d']);
  const g2 = new Graph();
  g2.upsert(Deployments, obj('d'));
  g2.upsert(ReplicaSets, obj('rs', { owners: [ref('d')] }));
  assert.deepEqual(g2.upsert(Deployments, obj('d', { deleting: true, finalizers: ['foregroundDeletion'] })).attemptToDelete, ['d', 'rs']);
  // Seen again unchanged: no new work.
  assert.deepEqual(g2.upsert(Deployments, obj('d', { deleting: true, finalizers: ['foregroundDeletion'] })).attemptToDelete, []);
  // The dependent goes: the waiting owner looks again.
  assert.deepEqual(g2.remove(obj('rs')).attemptToDelete, ['d']);
});

test('dropping or unblocking a reference to a foreground-deleting owner wakes the owner', () => {
  const g = new Graph();
  g.upsert(ReplicaSets, obj('rs', { deleting: true, finalizers: ['foregroundDeletion'] }));
  g.upsert(Pods, obj('p', { owners: [ref('rs')] }));
  assert.deepEqual(g.upsert(Pods, obj('p', { owners: [ref('rs', false)] })).attemptToDelete, ['rs']);
  g.upsert(Pods, obj('q', { owners: [ref('rs')] }));
  assert.deepEqual(g.upsert(Pods, obj('q')).attemptToDelete, ['rs']);
});

test('decide: what attemptToDeleteItem does for each kind of owner', () => {
  const g = new Graph();
  g.upsert(Pods, obj('leaf', { owners: [ref('a')] }));
  g.upsert(ReplicaSets, obj('mid', { owners: [ref('a')] }));
  g.upsert(Pods, obj('kid', { owners: [ref('mid')] }));
  const leaf = g.get('leaf')!;
  const mid = g.get('mid')!;
  const table: { name: string; node: typeof leaf; owners: Record<string, OwnerState>; want: string }[] = [
    { name: 'solid owner', node: leaf, owners: { a: 'solid' }, want: 'none' },
    { name: 'owner of a kind not served', node: leaf, owners: { a: 'unresolvable' }, want: 'none' },
    { name: 'owner gone', node: leaf, owners: { a: 'dangling' }, want: 'delete Background' },
    { name: 'owner waiting, no dependents', node: leaf, owners: { a: 'waiting' }, want: 'delete Background' },
    { name: 'owner waiting, with dependents', node: mid, owners: { a: 'waiting' }, want: 'delete Foreground' },
  ];
  for (const c of table) {
    const d = decide(g, c.node, new Map(Object.entries(c.owners)));
    const got = d.kind === 'delete' ? `delete ${d.policy}` : d.kind;
    assert.equal(got, c.want, c.name);
  }
  g.upsert(Pods, obj('two', { owners: [ref('a'), ref('b')] }));
  assert.deepEqual(decide(g, g.get('two')!, new Map<string, OwnerState>([['a', 'solid'], ['b', 'dangling']])), { kind: 'removeReferences', uids: ['b'] });
  g.upsert(Pods, obj('orph', { owners: [ref('gone')], finalizers: ['orphan'] }));
  assert.deepEqual(decide(g, g.get('orph')!, new Map<string, OwnerState>([['gone', 'dangling']])), { kind: 'delete', policy: 'Orphan', unblockFirst: false });
  g.upsert(Pods, obj('bye', { owners: [ref('a')], deleting: true }));
  assert.equal(decide(g, g.get('bye')!, new Map()).kind, 'none');
});

test('decide: a foreground-deleting owner waits for blocking dependents, then loses its finalizer', () => {
  const g = new Graph();
  g.upsert(ReplicaSets, obj('rs', { deleting: true, finalizers: ['foregroundDeletion'] }));
  g.upsert(Pods, obj('p1', { owners: [ref('rs')] }));
  g.upsert(Pods, obj('p2', { owners: [ref('rs', false)] }));
  assert.deepEqual(decide(g, g.get('rs')!, new Map()), { kind: 'attempt', uids: ['p1'] });
  g.remove(obj('p1'));
  assert.deepEqual(decide(g, g.get('rs')!, new Map()), { kind: 'removeFinalizer', finalizer: 'foregroundDeletion' });
});
