// Watches against a running server: started from a list's resourceVersion, they see every later
// change exactly once and in order while several clients write at once (namespace, all
// namespaces, label selector, and a watch that starts late and replays); a watch from a
// revision the store has compacted is told 410 Expired, as kube-apiserver tells it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSvcnet, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient, type WatchEvent, type WatchStream } from './lib/apiserver.ts';

let s: Svcnet;
let api: ApiClient;

before(async () => {
  s = await startSvcnet();
  api = apiClient(s, { maxSockets: 16 });
});

after(async () => {
  api?.close();
  await s?.stop();
  s?.cleanup();
});

interface Write {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  name: string;
  writer: string;
  /** The resourceVersion the server acknowledged (unknown for deletes, which answer with a Status). */
  rv?: number;
}

interface ConfigMap {
  metadata: { name: string; resourceVersion: string; namespace?: string; labels?: Record<string, string> };
}

const ns = 'watched';

/** One writer: creates, updates (PUT with its resourceVersion, retried on 409) and deletes its own ConfigMaps. */
async function writer(id: string, objects: number, acked: Write[]): Promise<void> {
  for (let j = 0; j < objects; j++) {
    const name = `${id}-${j}`;
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const created = await api.json<ConfigMap>('POST', base, { metadata: { name, labels: { writer: id } }, data: { v: '0' } });
    acked.push({ type: 'ADDED', name, writer: id, rv: Number(created.metadata.resourceVersion) });
    let cur = created;
    for (let u = 1; u <= 2; u++) {
      cur = await api.json<ConfigMap>('PUT', `${base}/${name}`, { ...cur, data: { v: String(u) } });
      acked.push({ type: 'MODIFIED', name, writer: id, rv: Number(cur.metadata.resourceVersion) });
    }
    if (j % 2 === 0) {
      await api.json('DELETE', `${base}/${name}`);
      acked.push({ type: 'DELETED', name, writer: id });
    }
  }
}

/** The writers' events (the namespace also gets kube-root-ca.crt from the root CA publisher). */
function mine(events: WatchEvent[]): WatchEvent[] {
  return events.filter((e) => e.object.metadata?.namespace === ns && e.type !== 'BOOKMARK' && e.object.metadata?.labels?.writer !== undefined);
}

function checkExactlyOnceInOrder(what: string, events: WatchEvent[], expected: Write[]): void {
  const got = mine(events);
  const rvs = got.map((e) => Number(e.object.metadata?.resourceVersion));
  for (let i = 1; i < rvs.length; i++) assert.ok(rvs[i] > rvs[i - 1], `${what}: resourceVersions must increase (${rvs[i - 1]} then ${rvs[i]})`);
  assert.equal(got.length, expected.length, `${what}: ${got.length} events for ${expected.length} writes`);
  const key = (type: string, name: string, rv?: number) => (rv === undefined ? `${type} ${name}` : `${type} ${name} ${rv}`);
  const want = new Set(expected.map((w) => key(w.type, w.name, w.rv)));
  const seen = new Set<string>();
  for (const e of got) {
    const name = e.object.metadata?.name ?? '';
    const k = e.type === 'DELETED' ? key(e.type, name) : key(e.type, name, Number(e.object.metadata?.resourceVersion));
    assert.ok(want.has(k), `${what}: unexpected event ${k}`);
    assert.ok(!seen.has(k), `${what}: event seen twice: ${k}`);
    seen.add(k);
  }
  // Per object, the order is ADDED, MODIFIED, MODIFIED[, DELETED].
  const perObject = new Map<string, string[]>();
  for (const e of got) perObject.set(e.object.metadata!.name!, [...(perObject.get(e.object.metadata!.name!) ?? []), e.type]);
  for (const [name, types] of perObject) assert.deepEqual(types.slice(0, 3), ['ADDED', 'MODIFIED', 'MODIFIED'], `${what}: order for ${name}`);
}

test('watches from a list\'s resourceVersion see every change of concurrent writers exactly once, in order', async () => {
  await api.json('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  const list = await api.json<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${ns}/configmaps`);
  const rv = list.metadata.resourceVersion;
  const watches: Record<string, WatchStream> = {
    namespace: await api.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${rv}`),
    all: await api.watch(`/api/v1/configmaps?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`),
    selector: await api.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${rv}&labelSelector=${encodeURIComponent('writer in (w0,w3)')}`),
  };
  try {
    for (const w of Object.values(watches)) assert.equal(w.status, 200);
    const acked: Write[] = [];
    const writers = Array.from({ length: 8 }, (_, i) => writer(`w${i}`, 12, acked));
    await Promise.all(writers);
    // 8 writers × 12 objects × (create + 2 updates) + 6 deletes each.
    assert.equal(acked.length, 8 * 12 * 3 + 8 * 6);
    // A watch started only now from the same resourceVersion replays the same history.
    watches.late = await api.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${rv}`);
    const selected = acked.filter((w) => w.writer === 'w0' || w.writer === 'w3');
    const expectCount: Record<string, number> = { namespace: acked.length, all: acked.length, selector: selected.length, late: acked.length };
    for (const [what, w] of Object.entries(watches)) {
      const deadline = Date.now() + 30_000;
      while (mine(w.events).length < expectCount[what] && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300)); // anything extra would arrive now
    checkExactlyOnceInOrder('namespace watch', watches.namespace.events, acked);
    checkExactlyOnceInOrder('all-namespaces watch', watches.all.events, acked);
    checkExactlyOnceInOrder('label-selector watch', watches.selector.events, selected);
    checkExactlyOnceInOrder('late watch', watches.late.events, acked);
  } finally {
    for (const w of Object.values(watches)) w.close();
  }
});

test('a watch from a compacted revision is told 410 Expired in an ERROR event; from the current one it works', async (t) => {
  // A server of its own that compacts every second (to the revision it saw a second before).
  const s2 = await startSvcnet({ args: ['--compaction-interval', '1s'] });
  const api2 = apiClient(s2);
  t.after(async () => {
    api2.close();
    await s2.stop();
    s2.cleanup();
  });
  await api2.json('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  const list = await api2.json<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${ns}/configmaps`);
  const old = Number(list.metadata.resourceVersion);
  await api2.json('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'after-old' } });
  // The compactor compacts each second to the revision it saw a second before.
  const deadline = Date.now() + 15_000;
  let w: WatchStream;
  for (;;) {
    await api2.json('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { generateName: 'tick-' } });
    w = await api2.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${old}`);
    await w.waitFor(1);
    if (w.events[0].type === 'ERROR') break;
    w.close();
    assert.ok(Date.now() < deadline, 'the revision was never compacted');
    await new Promise((r) => setTimeout(r, 500));
  }
  await w.ended;
  assert.equal(w.status, 200);
  assert.equal(w.events.length, 1);
  const st = w.events[0].object as unknown as { kind: string; status: string; reason: string; code: number; message: string };
  assert.equal(st.kind, 'Status');
  assert.equal(st.status, 'Failure');
  assert.equal(st.reason, 'Expired');
  assert.equal(st.code, 410);
  assert.match(st.message, new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));

  // Relisting and watching from the new resourceVersion works.
  const relist = await api2.json<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${ns}/configmaps`);
  const fresh = await api2.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${relist.metadata.resourceVersion}`);
  try {
    await api2.json('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'after-relist' } });
    await fresh.waitFor(1);
    assert.equal(fresh.events[0].type, 'ADDED');
    assert.equal(fresh.events[0].object.metadata?.name, 'after-relist');
  } finally {
    fresh.close();
  }
});

test('a watch honours timeoutSeconds, replays current state for resourceVersion=0, and sends bookmarks when asked', async () => {
  const t0 = Date.now();
  const w = await api.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1&allowWatchBookmarks=true`);
  await w.ended;
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 900 && elapsed < 5000, `ended after ${elapsed} ms`);
  const names = w.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata?.name);
  // resourceVersion=0 starts with the current objects as ADDED (the first test left some).
  const list = await api.json<{ items: { metadata: { name: string } }[] }>('GET', `/api/v1/namespaces/${ns}/configmaps`);
  assert.ok(list.items.length > 0);
  assert.deepEqual([...names].sort(), list.items.map((i) => i.metadata.name).sort());

  const since = await api.json<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${ns}/configmaps`);
  const initial = await api.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=${since.metadata.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=2`);
  await initial.ended;
  const bookmark = initial.events.find((e) => e.type === 'BOOKMARK');
  assert.ok(bookmark, 'the end of the initial events is a bookmark');
  assert.equal(bookmark.object.kind, 'ConfigMap');
  assert.equal((bookmark.object.metadata as { annotations?: Record<string, string> }).annotations?.['k8s.io/initial-events-end'], 'true');
});
