import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import { deletionConditions, estimatePods, finalizedSpecFinalizers, groupResource, isFinalized, namespacedResources } from './core.ts';
import { Deployments, Pods } from '../../api/index.ts';

const now = Date.parse('2024-01-02T00:00:00Z');

test('content is every namespaced resource, named as kube names group-resources', () => {
  const names = namespacedResources().map(groupResource);
  for (const n of ['pods.', 'services.', 'configmaps.', 'secrets.', 'events.', 'serviceaccounts.', 'endpoints.', 'endpointslices.discovery.k8s.io', 'deployments.apps', 'replicasets.apps', 'leases.coordination.k8s.io']) assert.ok(names.includes(n), n);
  assert.ok(!names.includes('namespaces.') && !names.includes('nodes.'));
  assert.equal(groupResource(Deployments), 'deployments.apps');
  assert.equal(groupResource(Pods), 'pods.');
});

test('the estimate is the longest grace period of unfinished pods, less the time since deletion began', () => {
  const pod = (grace: number | undefined, phase = 'Running'): Pod => ({ spec: { containers: [], terminationGracePeriodSeconds: grace }, status: { phase } });
  assert.equal(estimatePods([pod(10), pod(45), pod(90, 'Succeeded')], '2024-01-01T23:59:50Z', now), 45);
  assert.equal(estimatePods([pod(undefined)], '2024-01-01T23:59:50Z', now), 30);
  assert.equal(estimatePods([pod(5)], '2024-01-01T23:59:50Z', now), 0, 'the grace period has passed');
  assert.equal(estimatePods([], undefined, now), 0);
});

test('deletion conditions say what remains in kube words, and all is well otherwise', () => {
  const ns: Namespace = { metadata: { name: 'x' }, status: { phase: 'Terminating' } };
  const conds = deletionConditions(ns, { remaining: new Map([['pods.', 2], ['configmaps.', 1]]), finalizers: new Map([['example.com/hold', 1]]), errors: [] }, now)!;
  assert.deepEqual(
    conds.map((c) => [c.type, c.status, c.reason, c.message]),
    [
      ['NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered', 'All resources successfully discovered'],
      ['NamespaceDeletionGroupVersionParsingFailure', 'False', 'ParsedGroupVersions', 'All legacy kube types successfully parsed'],
      ['NamespaceDeletionContentFailure', 'False', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization'],
      ['NamespaceContentRemaining', 'True', 'SomeResourcesRemain', 'Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances'],
      ['NamespaceFinalizersRemaining', 'True', 'SomeFinalizersRemain', 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances'],
    ],
  );
  assert.equal(conds[0]?.lastTransitionTime, '2024-01-02T00:00:00Z');
  const later = deletionConditions({ ...ns, status: { conditions: conds } }, { remaining: new Map(), finalizers: new Map(), errors: [] }, now + 5000)!;
  const remaining = later.find((c) => c.type === 'NamespaceContentRemaining');
  assert.deepEqual([remaining?.status, remaining?.reason, remaining?.message, remaining?.lastTransitionTime], ['False', 'ContentRemoved', 'All content successfully removed', '2024-01-02T00:00:05Z']);
  assert.equal(later[0]?.lastTransitionTime, '2024-01-02T00:00:00Z', 'unchanged conditions keep their time');
  assert.equal(deletionConditions({ ...ns, status: { conditions: later } }, { remaining: new Map(), finalizers: new Map(), errors: [] }, now + 9000), undefined);
  const failed = deletionConditions(ns, { remaining: new Map(), finalizers: new Map(), errors: ['b failed', 'a failed'] }, now)!;
  assert.equal(failed.find((c) => c.type === 'NamespaceDeletionContentFailure')?.message, 'Failed to delete all resource types, 2 remaining: a failed, b failed');
});

test('finalizing drops only the kubernetes finalizer', () => {
  const ns: Namespace = { spec: { finalizers: ['kubernetes', 'example.com/x'] } };
  assert.deepEqual(finalizedSpecFinalizers(ns), ['example.com/x']);
  assert.equal(isFinalized(ns), false);
  assert.equal(isFinalized({ spec: { finalizers: ['example.com/x'] } }), true);
});
