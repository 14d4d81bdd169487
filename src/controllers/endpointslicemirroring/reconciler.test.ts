// The mirroring reconciler as a table: user-written Endpoints and the mirrored slices that exist
// in; slices to create, update and delete out.
//
// Address plan: outside addresses 192.0.2.0/24 and 2001:db8::/64; Endpoints "db" in "ns".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSubset, Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { reconcileMirror, type MirrorChanges } from './reconciler.ts';

function endpoints(subsets: EndpointSubset[], meta: Partial<NonNullable<Endpoints['metadata']>> = {}): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db', namespace: 'ns', uid: 'ep-uid', ...meta }, subsets };
}

const pg = [{ name: 'pg', port: 5432, protocol: 'TCP' }];
const mirroredLabels = { 'kubernetes.io/service-name': 'db', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' };

function summary(ch: MirrorChanges): string[] {
  const ips = (s: EndpointSlice) => s.endpoints.map((e) => `${e.addresses[0]}${e.conditions?.ready ? '' : '~'}`).join(',');
  return [
    ...ch.create.map((s) => `create ${s.addressType} [${ips(s)}]`),
    ...ch.update.map((s) => `update ${s.metadata?.name ?? ''} ${s.addressType} [${ips(s)}]`),
    ...ch.delete.map((s) => `delete ${s.metadata?.name ?? ''}`),
  ];
}

function stored(s: EndpointSlice, name: string): EndpointSlice {
  return { ...structuredClone(s), metadata: { ...structuredClone(s.metadata), name, uid: `uid-${name}`, resourceVersion: '4', generation: 1 } };
}

test('each subset is mirrored to one slice per address type, not-ready addresses as not ready', () => {
  const ch = reconcileMirror({
    endpoints: endpoints(
      [
        { addresses: [{ ip: '192.0.2.1', nodeName: 'n1', hostname: 'h1' }, { ip: '2001:db8::0001' }], notReadyAddresses: [{ ip: '192.0.2.2' }], ports: [{ name: 'pg', port: 5432 }] },
        { addresses: [{ ip: '192.0.2.3' }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      ],
      { labels: { team: 'data' }, annotations: { note: 'x', 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'endpoints.kubernetes.io/last-change-trigger-time': 't' } },
    ),
    existingSlices: [],
  });
  assert.deepEqual(summary(ch), ['create IPv4 [192.0.2.1,192.0.2.2~]', 'create IPv6 [2001:db8::1]', 'create IPv4 [192.0.2.3]']);
  const first = ch.create[0];
  assert.deepEqual(first.metadata, {
    namespace: 'ns',
    generateName: 'db-',
    labels: { team: 'data', ...mirroredLabels },
    annotations: { note: 'x' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: 'db', uid: 'ep-uid', controller: true, blockOwnerDeletion: true }],
  });
  assert.deepEqual(first.ports, pg);
  assert.deepEqual(first.endpoints[0], { addresses: ['192.0.2.1'], conditions: { ready: true }, nodeName: 'n1', hostname: 'h1' });
});

test('mirrored slices that match are left alone; a changed address rewrites the slice in place', () => {
  const ep = endpoints([{ addresses: [{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }], ports: pg }]);
  const existing = [stored(reconcileMirror({ endpoints: ep, existingSlices: [] }).create[0], 'db-aaaaa')];
  assert.deepEqual(summary(reconcileMirror({ endpoints: ep, existingSlices: existing })), []);
  const changed = endpoints([{ addresses: [{ ip: '192.0.2.1' }], notReadyAddresses: [{ ip: '192.0.2.2' }], ports: pg }]);
  const ch = reconcileMirror({ endpoints: changed, existingSlices: existing });
  assert.deepEqual(summary(ch), ['update db-aaaaa IPv4 [192.0.2.1,192.0.2.2~]']);
  assert.equal(ch.update[0].metadata?.resourceVersion, '4');
  // A label change of the Endpoints is mirrored too.
  assert.deepEqual(summary(reconcileMirror({ endpoints: endpoints(ep.subsets!, { labels: { a: 'b' } }), existingSlices: existing })), ['update db-aaaaa IPv4 [192.0.2.1,192.0.2.2]']);
});

test('a port change replaces the slice by recycling it; removed subsets delete theirs', () => {
  const ep = endpoints([{ addresses: [{ ip: '192.0.2.1' }], ports: pg }]);
  const existing = [stored(reconcileMirror({ endpoints: ep, existingSlices: [] }).create[0], 'db-aaaaa')];
  const moved = reconcileMirror({ endpoints: endpoints([{ addresses: [{ ip: '192.0.2.1' }], ports: [{ name: 'pg', port: 5433 }] }]), existingSlices: existing });
  assert.deepEqual(summary(moved), ['update db-aaaaa IPv4 [192.0.2.1]']);
  assert.deepEqual(moved.update[0].ports, [{ name: 'pg', port: 5433, protocol: 'TCP' }]);
  assert.deepEqual(summary(reconcileMirror({ endpoints: endpoints([]), existingSlices: existing })), ['delete db-aaaaa']);
});

test('duplicate mirrored slices are reduced to one', () => {
  const ep = endpoints([{ addresses: [{ ip: '192.0.2.1' }], ports: pg }]);
  const made = reconcileMirror({ endpoints: ep, existingSlices: [] }).create[0];
  assert.deepEqual(summary(reconcileMirror({ endpoints: ep, existingSlices: [stored(made, 'db-bbbbb'), stored(made, 'db-aaaaa')] })), ['delete db-bbbbb']);
});

test('invalid addresses and addresses beyond the per-subset maximum are counted and skipped', () => {
  const ch = reconcileMirror({
    endpoints: endpoints([{ addresses: [{ ip: 'not-an-ip' }, { ip: '192.0.2.1' }, { ip: '192.0.2.2' }], notReadyAddresses: [{ ip: '192.0.2.3' }], ports: pg }]),
    existingSlices: [],
    maxEndpointsPerSubset: 2,
  });
  assert.deepEqual(summary(ch), ['create IPv4 [192.0.2.1,192.0.2.2]']);
  assert.deepEqual([ch.invalidAddresses, ch.skippedAddresses], [1, 2]);
});
