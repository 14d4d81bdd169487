import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { Nodes, Pods, Services, resourceExpired, type KubeObject } from '../api/index.ts';
import { FakeClient } from './fake-client.ts';
import { InformerFactory, SharedInformer, type SharedInformerOptions } from './informer.ts';
import type { ListOptions, ObjectList, ResourceEventHandler } from './types.ts';

const silent = pino({ level: 'silent' });
const fast: SharedInformerOptions = { log: silent, initialBackoffMs: 10, maxBackoffMs: 40 };

function svc(name: string, ns = 'default', labels: Record<string, string> = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels }, spec: { ports: [{ port: 80 }] } };
}

/** A handler that writes what it hears as "add ns/name@rv" lines. */
function recorder<T extends KubeObject>(): { events: string[]; handler: ResourceEventHandler<T> } {
  const events: string[] = [];
  const id = (o: T): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}@${o.metadata?.resourceVersion ?? ''}`;
  return {
    events,
    handler: {
      onAdd: (o) => events.push(`add ${id(o)}`),
      onUpdate: (a, b) => events.push(`update ${id(a)} -> ${id(b)}`),
      onDelete: (o) => events.push(`delete ${id(o)}`),
    },
  };
}

async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

test('an informer lists in pages, delivers every object as an add, syncs, then watches from the list resourceVersion', async (t) => {
  const c = new FakeClient();
  for (const n of ['a', 'b', 'c', 'd', 'e']) await c.create(Services, 'default', svc(n));
  const inf = new SharedInformer<Service>(c, Services, { ...fast, pageSize: 2 });
  t.after(() => inf.stopped());
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  assert.equal(inf.hasSynced(), false);
  inf.start();
  await inf.waitForSync();
  assert.equal(inf.hasSynced(), true);
  assert.deepEqual(rec.events, ['add default/a@1', 'add default/b@2', 'add default/c@3', 'add default/d@4', 'add default/e@5']);
  assert.deepEqual(
    inf.list().map((s) => s.metadata?.name),
    ['a', 'b', 'c', 'd', 'e'],
  );
  assert.equal(inf.get('default/c')?.metadata?.resourceVersion, '3');
  assert.equal(inf.lastResourceVersion(), '5');

  const lists = c.calls.filter((x) => x.verb === 'list');
  assert.equal(lists.length, 3, 'five objects in pages of two');
  assert.deepEqual((lists[0].opts as ListOptions).limit, 2);
  assert.ok((lists[1].opts as ListOptions).continue, 'the second page continues the first');
  await until('the watch', () => c.watchCount(Services) === 1);
  const w = c.calls.find((x) => x.verb === 'watch')!.opts as { resourceVersion: string; allowWatchBookmarks: boolean; timeoutSeconds: number };
  assert.equal(w.resourceVersion, '5');
  assert.equal(w.allowWatchBookmarks, true);
  assert.ok(w.timeoutSeconds >= 300 && w.timeoutSeconds < 600);
});

test('watch events reach the handlers in order as adds, updates and deletes', async (t) => {
  const c = new FakeClient();
  const inf = new SharedInformer<Service>(c, Services, fast);
  t.after(() => inf.stopped());
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  inf.start();
  await inf.waitForSync();
  await until('the watch', () => c.watchCount() === 1);

  await c.create(Services, 'default', svc('a'));
  await c.patch(Services, 'default', 'a', 'merge', { metadata: { labels: { x: 'y' } } });
  await c.create(Services, 'other', svc('b', 'other'));
  await c.delete(Services, 'default', 'a');
  await c.patch(Services, 'other', 'b', 'merge', { spec: { ports: [{ port: 81 }] } });
  await until('five events', () => rec.events.length === 5);
  assert.deepEqual(rec.events, [
    'add default/a@1',
    'update default/a@1 -> default/a@2',
    'add other/b@3',
    'delete default/a@4',
    'update other/b@3 -> other/b@5',
  ]);
  assert.equal(inf.get('default/a'), undefined);
  assert.equal(inf.get('other/b')?.spec?.ports?.[0]?.port, 81);
  assert.equal(inf.lastResourceVersion(), '5');
});

test('after 410 Expired the informer relists and delivers what changed meanwhile, deletes with the last known state', async (t) => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('keep'));
  await c.create(Services, 'default', svc('change'));
  await c.create(Services, 'default', svc('gone'));
  const inf = new SharedInformer<Service>(c, Services, fast);
  t.after(() => inf.stopped());
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  inf.start();
  await inf.waitForSync();
  await until('the watch', () => c.watchCount() === 1);
  rec.events.length = 0;

  // The watch ends with 410; what happens before the relist is seen only through the list.
  c.expireWatches();
  await c.patch(Services, 'default', 'change', 'merge', { metadata: { labels: { v: '2' } } });
  await c.delete(Services, 'default', 'gone');
  await c.create(Services, 'default', svc('new'));
  await until('three differences', () => rec.events.length === 3);
  assert.deepEqual(rec.events, ['update default/change@2 -> default/change@4', 'add default/new@6', 'delete default/gone@3']);
  assert.deepEqual(
    inf.list().map((s) => s.metadata?.name).sort(),
    ['change', 'keep', 'new'],
  );
  await until('a new watch', () => c.watchCount() === 1);
  const lastWatch = c.calls.filter((x) => x.verb === 'watch').at(-1)!.opts as { resourceVersion: string };
  assert.equal(lastWatch.resourceVersion, '6');
  await c.delete(Services, 'default', 'keep');
  await until('the delete', () => rec.events.length === 4);
  assert.equal(rec.events[3], 'delete default/keep@7');
});

test('a watch that ends cleanly resumes from the last resourceVersion without a relist, and relists when that is compacted', async (t) => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('a'));
  const inf = new SharedInformer<Service>(c, Services, fast);
  t.after(() => inf.stopped());
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  inf.start();
  await inf.waitForSync();
  await until('the watch', () => c.watchCount() === 1);
  const lists = (): number => c.calls.filter((x) => x.verb === 'list').length;

  c.closeWatches();
  await until('a second watch', () => c.calls.filter((x) => x.verb === 'watch').length === 2);
  assert.equal(lists(), 1, 'no relist after a clean end');
  await c.create(Services, 'default', svc('b'));
  await until('the add', () => rec.events.length === 2);

  // Ended, then everything it could resume from is compacted: the rewatch gets 410 and relists.
  c.closeWatches();
  c.compact();
  await c.create(Services, 'default', svc('c'));
  c.compact();
  await until('a relist', () => lists() === 2);
  await until('the add', () => rec.events.length === 3);
  assert.deepEqual(rec.events, ['add default/a@1', 'add default/b@2', 'add default/c@3']);
});

test('a broken watch stream leads to a relist, and repeated failures back off', async (t) => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('a'));
  const inf = new SharedInformer<Service>(c, Services, { ...fast, initialBackoffMs: 40, maxBackoffMs: 80 });
  t.after(() => inf.stopped());
  inf.start();
  await inf.waitForSync();
  await until('the watch', () => c.watchCount() === 1);
  const listTimes = (): number[] => c.calls.flatMap((x, i) => (x.verb === 'list' ? [i] : []));

  c.breakWatches();
  await until('a relist', () => listTimes().length === 2);

  // The server now fails lists: the informer retries them, waiting longer and longer.
  const boom = new Error('connection refused');
  c.failNext('list', boom);
  c.failNext('list', boom);
  c.failNext('list', boom);
  await until('the watch again', () => c.watchCount() === 1);
  const t0 = Date.now();
  c.breakWatches();
  await until('lists succeed again', () => listTimes().length === 6 && c.watchCount() === 1);
  const took = Date.now() - t0;
  // Failures 2..5 since the last long-lived watch: 20-40 ms, then 40-80 ms each (jittered).
  assert.ok(took >= 100, `retried after ${took} ms, expected backoff`);
  await c.create(Services, 'default', svc('b'));
  await until('the cache to follow again', () => inf.get('default/b') !== undefined);
});

test('a handler that throws does not stop other handlers nor the informer', async (t) => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('a'));
  const inf = new SharedInformer<Service>(c, Services, fast);
  t.after(() => inf.stopped());
  let thrown = 0;
  inf.addEventHandler({
    onAdd: () => {
      thrown++;
      throw new Error('handler bug');
    },
    onUpdate: () => {
      thrown++;
      throw new TypeError('another');
    },
  });
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  inf.start();
  await inf.waitForSync();
  await until('the watch', () => c.watchCount() === 1);
  await c.create(Services, 'default', svc('b'));
  await c.patch(Services, 'default', 'b', 'merge', { metadata: { labels: { a: 'b' } } });
  await until('three events', () => rec.events.length === 3);
  assert.equal(thrown, 3);
  assert.equal(c.calls.filter((x) => x.verb === 'list').length, 1, 'no relist because of the handler');
  assert.equal(inf.get('default/b')?.metadata?.labels?.a, 'b');
});

test('indexes find objects by value and follow updates and deletes', async (t) => {
  const c = new FakeClient();
  const pod = (name: string, node: string): Pod => ({ metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers: [] } });
  await c.create(Pods, 'default', pod('p1', 'n1'));
  await c.create(Pods, 'default', pod('p2', 'n1'));
  await c.create(Pods, 'default', pod('p3', 'n2'));
  const inf = new SharedInformer<Pod>(c, Pods, fast);
  t.after(() => inf.stopped());
  inf.addIndex('node', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  inf.start();
  await inf.waitForSync();
  const names = (node: string): string[] => inf.byIndex('node', node).map((p) => p.metadata?.name ?? '').sort();
  assert.deepEqual(names('n1'), ['p1', 'p2']);
  assert.deepEqual(names('n2'), ['p3']);
  assert.deepEqual(names('n3'), []);
  await until('the watch', () => c.watchCount() === 1);

  await c.patch(Pods, 'default', 'p2', 'merge', { spec: { nodeName: 'n2' } });
  await c.delete(Pods, 'default', 'p3');
  await until('the move', () => names('n2').join() === 'p2');
  assert.deepEqual(names('n1'), ['p1']);
  assert.deepEqual(inf.indexKeys('node', 'n2'), ['default/p2']);
  assert.throws(() => inf.byIndex('nope', 'x'), /no index named "nope"/);

  // An index added late is built from the cache.
  inf.addIndex('name', (p) => [p.metadata?.name ?? '']);
  assert.deepEqual(inf.byIndex('name', 'p1').length, 1);
});

test('a handler added after sync first hears of every cached object', async (t) => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('a'));
  await c.create(Services, 'default', svc('b'));
  const inf = new SharedInformer<Service>(c, Services, fast);
  t.after(() => inf.stopped());
  inf.start();
  await inf.waitForSync();
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  assert.deepEqual(rec.events, ['add default/a@1', 'add default/b@2']);
});

test('namespace and selectors narrow what the informer lists and watches', async (t) => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('a', 'default', { app: 'x' }));
  await c.create(Services, 'default', svc('b', 'default', { app: 'y' }));
  await c.create(Services, 'other', svc('c', 'other', { app: 'x' }));
  const inf = new SharedInformer<Service>(c, Services, { ...fast, namespace: 'default', labelSelector: 'app=x' });
  t.after(() => inf.stopped());
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  inf.start();
  await inf.waitForSync();
  assert.deepEqual(rec.events, ['add default/a@1']);
  await until('the watch', () => c.watchCount() === 1);
  // b starts matching (an add), a stops matching (a delete), c is in another namespace.
  await c.patch(Services, 'default', 'b', 'merge', { metadata: { labels: { app: 'x' } } });
  await c.patch(Services, 'default', 'a', 'merge', { metadata: { labels: { app: 'z' } } });
  await c.patch(Services, 'other', 'c', 'merge', { metadata: { labels: { v: '1' } } });
  await until('two events', () => rec.events.length === 3);
  await sleep(10);
  assert.deepEqual(rec.events, ['add default/a@1', 'add default/b@4', 'delete default/a@5']);
  const listCall = c.calls.find((x) => x.verb === 'list')!;
  assert.equal(listCall.namespace, 'default');
  assert.equal((listCall.opts as ListOptions).labelSelector, 'app=x');
});

test('bookmarks advance the last resourceVersion without calling handlers', async (t) => {
  const c = new FakeClient();
  const inf = new SharedInformer<Service>(c, Services, fast);
  t.after(() => inf.stopped());
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  inf.start();
  await inf.waitForSync();
  await until('the watch', () => c.watchCount() === 1);
  await c.create(Nodes, undefined, { metadata: { name: 'n1' } });
  await c.create(Nodes, undefined, { metadata: { name: 'n2' } });
  c.bookmark(Services);
  await until('the bookmark', () => inf.lastResourceVersion() === '2');
  assert.deepEqual(rec.events, []);
});

test('an expired continue token makes the informer list again without pages', async (t) => {
  class CompactingClient extends FakeClient {
    override async list<T extends KubeObject>(r: Parameters<FakeClient['list']>[0], ns: string | undefined, opts: ListOptions = {}): Promise<ObjectList<T>> {
      const page = await super.list<T>(r, ns, opts);
      if (!opts.continue && opts.limit) this.compact(); // between the first and second page
      return page;
    }
  }
  const c = new CompactingClient();
  for (const n of ['a', 'b', 'c']) await c.create(Services, 'default', svc(n));
  const inf = new SharedInformer<Service>(c, Services, { ...fast, pageSize: 1 });
  t.after(() => inf.stopped());
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  inf.start();
  await inf.waitForSync();
  assert.deepEqual(rec.events, ['add default/a@1', 'add default/b@2', 'add default/c@3']);
  const lists = c.calls.filter((x) => x.verb === 'list').map((x) => x.opts as ListOptions);
  assert.equal(lists.length, 3);
  assert.equal(lists[2].limit, undefined, 'the last list is unpaged');
});

test('stop() ends the watch, quiets the handlers, and fails waitForSync of an informer that never synced', async () => {
  const c = new FakeClient();
  const inf = new SharedInformer<Service>(c, Services, fast);
  const rec = recorder<Service>();
  inf.addEventHandler(rec.handler);
  inf.start();
  await inf.waitForSync();
  await until('the watch', () => c.watchCount() === 1);
  await inf.stopped();
  assert.equal(c.watchCount(), 0);
  await c.create(Services, 'default', svc('a'));
  await sleep(10);
  assert.deepEqual(rec.events, []);

  const never = new FakeClient();
  never.failNext('list', new Error('down'));
  never.failNext('list', new Error('down')); // the second failure waits 5-10 s
  const inf2 = new SharedInformer<Service>(never, Services, { ...fast, initialBackoffMs: 10_000 });
  inf2.start();
  const waiting = inf2.waitForSync();
  await sleep(5);
  inf2.stop();
  await assert.rejects(waiting, /stopped before it synced/);
  await inf2.stopped();
});

test('the factory shares one informer per resource, namespace and selectors, and starts, syncs and stops them all', async () => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('a'));
  await c.create(Pods, 'default', { metadata: { name: 'p', namespace: 'default' } });
  const f = new InformerFactory(c, { defaults: fast });
  const s1 = f.informerFor<Service>(Services);
  const s2 = f.informerFor<Service>(Services);
  const s3 = f.informerFor<Service>(Services, { namespace: 'default' });
  const p = f.informerFor<Pod>(Pods);
  assert.equal(s1, s2);
  assert.notEqual(s1, s3);
  f.start();
  await f.waitForSync();
  assert.ok(s1.hasSynced() && s3.hasSynced() && p.hasSynced());
  assert.equal(p.get('default/p')?.metadata?.name, 'p');
  assert.equal(c.calls.filter((x) => x.verb === 'list').length, 3);

  // Made after start(): starts by itself.
  const n = f.informerFor(Nodes);
  await n.waitForSync();
  await until('four watches', () => c.watchCount() === 4);
  await f.stopped();
  assert.equal(c.watchCount(), 0);
});

test('a list failing with 410 is retried like any failure', async (t) => {
  const c = new FakeClient();
  await c.create(Services, 'default', svc('a'));
  c.failNext('list', resourceExpired('too old resource version: 1 (2)'));
  const inf = new SharedInformer<Service>(c, Services, fast);
  t.after(() => inf.stopped());
  inf.start();
  await inf.waitForSync();
  assert.equal(inf.list().length, 1);
});
