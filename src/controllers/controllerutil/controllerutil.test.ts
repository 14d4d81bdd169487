import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { parseLabelSelector } from '../../api/selectors/index.ts';
import {
  ControllerExpectations,
  adoptPatch,
  canonicalJson,
  claimAction,
  computeHash,
  deleteBefore,
  fnv32a,
  isPodAvailable,
  isPodActive,
  rankForDeletion,
  releasePatch,
  safeEncodeString,
  selects,
} from './index.ts';

const enc = (s: string) => new TextEncoder().encode(s);

test('fnv32a matches the FNV-1a reference vectors', () => {
  assert.equal(fnv32a(enc('')), 0x811c9dc5);
  assert.equal(fnv32a(enc('a')), 0xe40c292c);
  assert.equal(fnv32a(enc('foobar')), 0xbf9cf968);
});

test('safeEncodeString maps decimal digits onto the consonant-and-digit alphabet', () => {
  assert.equal(safeEncodeString('0123456789'), '456789bcdf');
});

test('computeHash is stable for equal templates whatever their key order, and changes with the template and collisionCount', () => {
  const a = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const b = { spec: { containers: [{ image: 'x', name: 'c' }] }, metadata: { labels: { app: 'web' } } };
  const h = computeHash(a);
  assert.match(h, /^[456789bcdf]{1,10}$/);
  assert.equal(computeHash(b), h);
  assert.notEqual(computeHash({ ...a, spec: { containers: [{ name: 'c', image: 'y' }] } }), h);
  assert.notEqual(computeHash(a, 1), h);
  assert.notEqual(computeHash(a, 1), computeHash(a, 2));
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] }), '{"a":[{"d":2}],"b":1}');
});

function pod(name: string, o: { node?: string; phase?: string; ready?: boolean; readySince?: string; created?: string; restarts?: number; uid?: string; deleting?: boolean; cost?: string } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: o.uid ?? name,
      creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
      ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
      ...(o.cost ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': o.cost } } : {}),
    },
    spec: { containers: [], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: o.readySince ?? '2024-01-01T00:00:00Z' }],
      containerStatuses: [{ name: 'c', image: 'x', imageID: '', ready: o.ready !== false, restartCount: o.restarts ?? 0 }],
    },
  };
}

const now = Date.parse('2024-01-02T00:00:00Z');

test('pods are deleted in kube order: unscheduled, pending, not ready, cheap, doubled up, ready briefly, restarted, new', () => {
  const cases: { name: string; first: Pod; then: Pod; rank?: [number, number] }[] = [
    { name: 'unassigned before assigned', first: pod('a'), then: pod('b', { node: 'n1' }) },
    { name: 'pending before running', first: pod('a', { node: 'n', phase: 'Pending' }), then: pod('b', { node: 'n' }) },
    { name: 'unknown before running', first: pod('a', { node: 'n', phase: 'Unknown' }), then: pod('b', { node: 'n' }) },
    { name: 'not ready before ready', first: pod('a', { node: 'n', ready: false }), then: pod('b', { node: 'n' }) },
    { name: 'lower deletion cost first', first: pod('a', { node: 'n', cost: '-5' }), then: pod('b', { node: 'n' }) },
    { name: 'more doubled-up first', first: pod('a', { node: 'n1' }), then: pod('b', { node: 'n2' }), rank: [3, 1] },
    { name: 'ready for less time first', first: pod('a', { node: 'n', readySince: '2024-01-01T23:59:00Z' }), then: pod('b', { node: 'n', readySince: '2024-01-01T00:00:00Z' }) },
    { name: 'more restarts first', first: pod('a', { node: 'n', restarts: 3 }), then: pod('b', { node: 'n' }) },
    { name: 'newer first', first: pod('a', { node: 'n', created: '2024-01-01T23:00:00Z' }), then: pod('b', { node: 'n', created: '2023-06-01T00:00:00Z' }) },
  ];
  for (const c of cases) {
    const [ra, rb] = c.rank ?? [0, 0];
    assert.equal(deleteBefore({ pod: c.first, rank: ra }, { pod: c.then, rank: rb }, now), true, c.name);
    assert.equal(deleteBefore({ pod: c.then, rank: rb }, { pod: c.first, rank: ra }, now), false, `${c.name} (reversed)`);
  }
  const ordered = rankForDeletion([{ pod: pod('ready', { node: 'n' }), rank: 0 }, { pod: pod('unscheduled'), rank: 0 }, { pod: pod('notready', { node: 'n', ready: false }), rank: 0 }], now);
  assert.deepEqual(ordered.map((r) => r.pod.metadata?.name), ['unscheduled', 'notready', 'ready']);
});

test('times within the same power-of-two bucket fall back to the uid', () => {
  const a = pod('a', { node: 'n', uid: 'b-uid', created: '2024-01-01T00:00:00Z' });
  const b = pod('b', { node: 'n', uid: 'a-uid', created: '2024-01-01T00:00:01Z' });
  assert.equal(deleteBefore({ pod: b, rank: 0 }, { pod: a, rank: 0 }, now), true);
});

test('availability waits minReadySeconds after the Ready transition', () => {
  const p = pod('a', { readySince: '2024-01-01T23:59:50Z' });
  assert.equal(isPodAvailable(p, 0, now), true);
  assert.equal(isPodAvailable(p, 5, now), true);
  assert.equal(isPodAvailable(p, 30, now), false);
  assert.equal(isPodAvailable(pod('b', { ready: false }), 0, now), false);
  assert.equal(isPodActive(pod('c', { deleting: true })), false);
  assert.equal(isPodActive(pod('d', { phase: 'Succeeded' })), false);
});

test('claims adopt matching orphans, keep owned matches, release owned strays and ignore others', () => {
  const ctl = { uid: 'rs-1', namespace: 'ns', deleting: false };
  const owned = { metadata: { namespace: 'ns', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-1', controller: true }] } };
  const other = { metadata: { namespace: 'ns', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: 'rs-2', controller: true }] } };
  const orphan = { metadata: { namespace: 'ns' } };
  const table: { name: string; obj: object; ctl?: typeof ctl; selected: boolean; want: string }[] = [
    { name: 'owned and selected', obj: owned, selected: true, want: 'owned' },
    { name: 'owned, no longer selected', obj: owned, selected: false, want: 'release' },
    { name: 'owned, not selected, controller deleting', obj: owned, ctl: { ...ctl, deleting: true }, selected: false, want: 'ignore' },
    { name: 'owned by another', obj: other, selected: true, want: 'ignore' },
    { name: 'orphan selected', obj: orphan, selected: true, want: 'adopt' },
    { name: 'orphan not selected', obj: orphan, selected: false, want: 'ignore' },
    { name: 'orphan, controller deleting', obj: orphan, ctl: { ...ctl, deleting: true }, selected: true, want: 'ignore' },
    { name: 'orphan being deleted', obj: { metadata: { namespace: 'ns', deletionTimestamp: 'x' } }, selected: true, want: 'ignore' },
    { name: 'orphan in another namespace', obj: { metadata: { namespace: 'other' } }, selected: true, want: 'ignore' },
  ];
  for (const c of table) assert.equal(claimAction(c.obj, c.ctl ?? ctl, c.selected), c.want, c.name);
  assert.equal(selects(parseLabelSelector('app=web'), { metadata: { labels: { app: 'web', x: 'y' } } }), true);
});

test('adopt and release patches are conditional on the uid and the references they were computed from', () => {
  const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true, blockOwnerDeletion: true };
  assert.deepEqual(adoptPatch({ metadata: { uid: 'p1' } }, ref), [
    { op: 'test', path: '/metadata/uid', value: 'p1' },
    { op: 'add', path: '/metadata/ownerReferences', value: [ref] },
  ]);
  const other = { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u9' };
  assert.deepEqual(releasePatch({ metadata: { uid: 'p1', ownerReferences: [other, ref] } }, 'u1'), [
    { op: 'test', path: '/metadata/uid', value: 'p1' },
    { op: 'test', path: '/metadata/ownerReferences', value: [other, ref] },
    { op: 'replace', path: '/metadata/ownerReferences', value: [other] },
  ]);
  assert.deepEqual(releasePatch({ metadata: { uid: 'p1', ownerReferences: [ref] } }, 'u1').at(-1), { op: 'remove', path: '/metadata/ownerReferences' });
});

test('expectations hold a controller back until its creations and deletions are observed, or expire', () => {
  let t = 0;
  const e = new ControllerExpectations(() => t);
  assert.equal(e.satisfied('ns/rs'), true);
  e.expectCreations('ns/rs', 2);
  assert.equal(e.satisfied('ns/rs'), false);
  e.creationObserved('ns/rs');
  assert.equal(e.satisfied('ns/rs'), false);
  e.creationObserved('ns/rs');
  assert.equal(e.satisfied('ns/rs'), true);
  e.expectDeletions('ns/rs', ['ns/p1', 'ns/p2']);
  e.deletionObserved('ns/rs', 'ns/p1');
  e.deletionObserved('ns/rs', 'ns/p1');
  assert.deepEqual(e.pending('ns/rs'), { add: 0, del: 1 });
  assert.equal(e.satisfied('ns/rs'), false);
  t += 5 * 60 * 1000 + 1;
  assert.equal(e.satisfied('ns/rs'), true, 'expired');
});
