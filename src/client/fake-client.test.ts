import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { Nodes, Pods, Services, isAlreadyExists, isConflict, isExpired, isNotFound, type KubeObject } from '../api/index.ts';
import { FakeClient, parseLabelSelector } from './fake-client.ts';
import type { WatchEvent } from './types.ts';

const svc = (name: string, labels: Record<string, string> = {}): Service => ({ metadata: { name, namespace: 'default', labels }, spec: { ports: [{ port: 80 }] } });

test('the fake stamps identity and resourceVersions and refuses duplicates, stale updates and unknown names', async () => {
  const c = new FakeClient();
  const a = await c.create(Services, 'default', svc('a'));
  assert.equal(a.metadata?.resourceVersion, '1');
  assert.equal(a.kind, 'Service');
  assert.ok(a.metadata?.uid);
  await assert.rejects(c.create(Services, 'default', svc('a')), isAlreadyExists);
  const upd = await c.update(Services, { ...a, spec: { ports: [{ port: 81 }] } });
  assert.equal(upd.metadata?.resourceVersion, '2');
  assert.equal(upd.metadata?.generation, 2);
  await assert.rejects(c.update(Services, a), isConflict);
  await assert.rejects(c.get(Services, 'default', 'zz'), isNotFound);
  const gen = await c.create<Service>(Services, 'default', { metadata: { generateName: 'web-' } });
  assert.match(gen.metadata?.name ?? '', /^web-[a-z0-9]{5}$/);
  await c.create(Nodes, undefined, { metadata: { name: 'n1' } });
  assert.equal((await c.get(Nodes, undefined, 'n1')).metadata?.namespace, undefined);
});

test('main and status writes each change only their part', async () => {
  const c = new FakeClient();
  await c.create(Pods, 'default', { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [] } } satisfies Pod);
  await c.patch(Pods, 'default', 'p', 'merge', { status: { phase: 'Running' } }, {}, 'status');
  await c.patch(Pods, 'default', 'p', 'merge', { status: { phase: 'Failed' }, metadata: { labels: { a: 'b' } } });
  const p = await c.get<Pod>(Pods, 'default', 'p');
  assert.equal(p.status?.phase, 'Running');
  assert.equal(p.metadata?.labels?.a, 'b');
  const j = await c.patch<Pod>(Pods, 'default', 'p', 'json', [{ op: 'add', path: '/metadata/labels/c', value: 'd' }]);
  assert.deepEqual(j.metadata?.labels, { a: 'b', c: 'd' });
  const before = c.resourceVersion;
  await c.patch(Pods, 'default', 'p', 'merge', { metadata: { labels: { a: 'b' } } });
  assert.equal(c.resourceVersion, before, 'a no-op write changes nothing');
});

test('an object with finalizers is only marked terminating until they go', async () => {
  const c = new FakeClient();
  await c.create(Services, 'default', { ...svc('a'), metadata: { name: 'a', finalizers: ['x/y'] } });
  const t = await c.delete(Services, 'default', 'a');
  assert.ok(t.metadata?.deletionTimestamp);
  assert.equal(c.objects(Services).length, 1);
  await c.patch(Services, 'default', 'a', 'merge', { metadata: { finalizers: null } });
  assert.equal(c.objects(Services).length, 0);
});

test('lists page with continue tokens that expire when the fake compacts', async () => {
  const c = new FakeClient();
  for (const n of ['a', 'b', 'c']) await c.create(Services, 'default', svc(n));
  const p1 = await c.list(Services, 'default', { limit: 2 });
  assert.deepEqual(p1.items.map((s) => s.metadata?.name), ['a', 'b']);
  assert.equal(p1.metadata.remainingItemCount, 1);
  await c.create(Services, 'default', svc('d')); // not in the snapshot being paged
  const p2 = await c.list(Services, 'default', { limit: 2, continue: p1.metadata.continue! });
  assert.deepEqual(p2.items.map((s) => s.metadata?.name), ['c']);
  assert.equal(p2.metadata.resourceVersion, '3');
  assert.equal(p2.metadata.continue, undefined);
  const q1 = await c.list(Services, 'default', { limit: 1 });
  c.compact();
  await assert.rejects(c.list(Services, 'default', { limit: 1, continue: q1.metadata.continue! }), isExpired);
});

test('label and field selectors filter lists as Kubernetes parses them', async () => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('a', { app: 'web', tier: 'fe' }));
  await c.create(Services, 'default', svc('b', { app: 'db' }));
  await c.create(Services, 'other', { ...svc('c', { app: 'web' }), metadata: { name: 'c', labels: { app: 'web' } } });
  const names = async (opts: { labelSelector?: string; fieldSelector?: string }, ns?: string): Promise<string[]> =>
    (await c.list(Services, ns, opts)).items.map((s) => s.metadata?.name ?? '');
  assert.deepEqual(await names({ labelSelector: 'app=web' }), ['a', 'c']);
  assert.deepEqual(await names({ labelSelector: 'app=web' }, 'default'), ['a']);
  assert.deepEqual(await names({ labelSelector: 'app in (web,db),!tier' }), ['b', 'c']);
  assert.deepEqual(await names({ labelSelector: 'tier' }), ['a']);
  assert.deepEqual(await names({ labelSelector: 'app!=web' }), ['b']);
  assert.deepEqual(await names({ fieldSelector: 'metadata.name=b' }), ['b']);
  assert.deepEqual(await names({ fieldSelector: 'metadata.namespace!=default' }), ['c']);
  assert.deepEqual(parseLabelSelector('a notin (x, y)'), [{ key: 'a', op: 'notin', values: ['x', 'y'] }]);
});

test('a watch replays history after its resourceVersion, turns selector moves into adds and deletes, and gets 410 once compacted', async () => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('a', { app: 'web' }));
  await c.create(Services, 'default', svc('b'));
  const events: string[] = [];
  const h = c.watch<KubeObject>(Services, 'default', { resourceVersion: '1', labelSelector: 'app=web' }, (e: WatchEvent) => events.push(`${e.type} ${e.object.metadata?.name ?? ''}`));
  await c.patch(Services, 'default', 'b', 'merge', { metadata: { labels: { app: 'web' } } });
  await c.patch(Services, 'default', 'a', 'merge', { metadata: { labels: { app: 'x' } } });
  await sleep(5);
  assert.deepEqual(events, ['ADDED b', 'DELETED a']);
  h.stop();
  await h.done;

  c.compact();
  const old = c.watch(Services, undefined, { resourceVersion: '1' }, () => {});
  await assert.rejects(old.done, isExpired);
});
