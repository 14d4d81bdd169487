import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Pods } from '../api/index.ts';
import { FakeClient } from '../client/index.ts';
import { RequestGate } from './apigate.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('no more requests than the limit are in flight, and waiting ones go in order, low priority last', async () => {
  const gate = new RequestGate(2);
  const order: string[] = [];
  let active = 0;
  let most = 0;
  const blockers = new Map<string, ReturnType<typeof deferred>>();
  const req = (name: string, priority: 'normal' | 'low') => {
    const d = deferred();
    blockers.set(name, d);
    return gate.run(priority, async () => {
      active++;
      most = Math.max(most, active);
      order.push(name);
      await d.promise;
      active--;
      return name;
    });
  };
  const all = [req('a', 'normal'), req('b', 'low'), req('event', 'low'), req('status', 'normal'), req('c', 'normal')];
  assert.deepEqual(order, ['a', 'b']);
  assert.equal(gate.waiting, 3);
  blockers.get('a')!.resolve();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['a', 'b', 'status']);
  for (const d of blockers.values()) d.resolve();
  assert.deepEqual(await Promise.all(all), ['a', 'b', 'event', 'status', 'c']);
  assert.deepEqual(order, ['a', 'b', 'status', 'c', 'event']);
  assert.equal(most, 2);
});

test('a failing request frees its slot and rejects its caller only', async () => {
  const gate = new RequestGate(1);
  const bad = gate.run('normal', () => Promise.reject(new Error('boom')));
  const good = gate.run('normal', () => Promise.resolve(7));
  await assert.rejects(bad, /boom/);
  assert.equal(await good, 7);
  // A function that throws before returning a promise counts as a failed request too.
  await assert.rejects(gate.run('normal', () => { throw new Error('sync'); }), /sync/);
  assert.equal(await gate.run('low', () => Promise.resolve('next')), 'next');
});

test('the gated client passes requests through and watches straight by', async () => {
  const base = new FakeClient();
  const gate = new RequestGate(1);
  const c = gate.client(base);
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  await c.create(Pods, 'ns', pod);
  const got = await c.get<Pod>(Pods, 'ns', 'p');
  assert.equal(got.metadata?.name, 'p');
  // The watch stays open while the single slot serves the list.
  const w = c.watch<Pod>(Pods, 'ns', {}, () => undefined);
  assert.equal((await c.list<Pod>(Pods, 'ns')).items.length, 1);
  w.stop();
  assert.deepEqual(base.calls.map((x) => x.verb), ['create', 'get', 'watch', 'list']);
});

test('low-priority requests never take more than their own limit of the slots', async () => {
  const gate = new RequestGate(3, 1);
  const started: string[] = [];
  const release: (() => void)[] = [];
  const req = (name: string, priority: 'normal' | 'low') =>
    gate.run(priority, () => {
      started.push(name);
      return new Promise<void>((r) => release.push(r));
    });
  const all = [req('e1', 'low'), req('e2', 'low'), req('s1', 'normal'), req('s2', 'normal'), req('s3', 'normal')];
  // One Event in flight; the statuses take the other two slots; e2 and s3 wait.
  assert.deepEqual(started, ['e1', 's1', 's2']);
  release.shift()!();
  await new Promise((r) => setImmediate(r));
  // e1's slot goes to the waiting status first, then e2 once a low slot is free.
  assert.deepEqual(started, ['e1', 's1', 's2', 's3']);
  release.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['e1', 's1', 's2', 's3', 'e2']);
  for (const r of release) r();
  release.length = 0;
  await new Promise((r) => setImmediate(r));
  for (const r of release) r();
  await Promise.all(all);
});
