import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeTracker, ProxyInputs, toServiceInfo, toSliceInfo } from './index.ts';
import { makeService, makeSlice } from '../testing.ts';
import type { ServiceInfo, SliceInfo } from '../types.ts';

test('tracker: an update that changes nothing the proxy uses records no change', () => {
  let queued = 0;
  const t = new ChangeTracker<ServiceInfo>(() => queued++);
  const a = makeService('web');
  const b = { ...a, metadata: { ...a.metadata, resourceVersion: '42', annotations: { unrelated: 'x' } } };
  assert.equal(t.update('default/web', toServiceInfo(a), toServiceInfo(b)), false);
  assert.equal(t.pending, 0);
  assert.equal(queued, 0);
});

test('tracker: changes are merged per key and checked out in one go', () => {
  const t = new ChangeTracker<ServiceInfo>();
  const v1 = toServiceInfo(makeService('web'))!;
  const v2 = toServiceInfo(makeService('web', { clusterIP: '10.96.0.11' }))!;
  const v3 = toServiceInfo(makeService('web', { clusterIP: '10.96.0.12' }))!;
  t.update('default/web', undefined, v1);
  t.update('default/web', v1, v2);
  t.update('default/web', v2, v3);
  const c = t.checkout();
  assert.deepEqual([...c.keys()], ['default/web']);
  assert.equal(c.get('default/web')!.previous, undefined);
  assert.equal(c.get('default/web')!.current, v3);
  assert.equal(t.pending, 0);
});

test('tracker: an add then delete before a sync cancels out', () => {
  const t = new ChangeTracker<ServiceInfo>();
  const v1 = toServiceInfo(makeService('web'))!;
  t.update('default/web', undefined, v1);
  assert.equal(t.update('default/web', v1, undefined), false);
  assert.equal(t.pending, 0);
});

test('inputs: slice changes mark their service changed, also when the slice moves between services', () => {
  const inputs = new ProxyInputs();
  const t = new ChangeTracker<SliceInfo>();
  const s1 = toSliceInfo(makeSlice('web', [{ ip: '10.244.1.5' }], { name: 's' }));
  t.update('default/s', undefined, s1);
  const changed = new Set<string>();
  inputs.applySlices(t.checkout(), changed);
  assert.deepEqual([...changed], ['default/web']);
  const s2 = toSliceInfo(makeSlice('api', [{ ip: '10.244.1.5' }], { name: 's' }));
  t.update('default/s', s1, s2);
  const changed2 = new Set<string>();
  inputs.applySlices(t.checkout(), changed2);
  assert.deepEqual([...changed2].sort(), ['default/api', 'default/web']);
  assert.equal(inputs.slices.has('default/web'), false);
  assert.equal(inputs.slices.get('default/api')?.size, 1);
});
