// @kubernetes/client-node 1.4.0, the official JavaScript client, against a running svcnet
// server with the kubeconfig it wrote: create, get, list (with a label selector and paging),
// watch from the list's resourceVersion, patch and delete, and its errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startSvcnet, type Svcnet } from './lib/svcnet.ts';

let s: Svcnet;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

before(async () => {
  s = await startSvcnet();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
});

after(async () => {
  await s?.stop();
  s?.cleanup();
});

const ns = 'default';

function service(name: string, labels: Record<string, string> = {}): k8s.V1Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { ports: [{ port: 80, targetPort: 8080 }], selector: { app: name } } };
}

test('client-node creates Services and reads back what the server defaulted', async () => {
  const created = await core.createNamespacedService({ namespace: ns, body: service('cn-one', { suite: 'client-node' }) });
  assert.equal(created.metadata?.name, 'cn-one');
  assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
  assert.ok(Number(created.metadata?.resourceVersion) > 0);
  assert.ok(created.metadata?.creationTimestamp instanceof Date);
  assert.equal(created.spec?.type, 'ClusterIP');
  assert.match(created.spec?.clusterIP ?? '', /^127\.\d+\.\d+\.\d+$/);
  assert.deepEqual({ ...created.spec?.ports?.[0] }, { port: 80, protocol: 'TCP', targetPort: 8080 });
  const got = await core.readNamespacedService({ name: 'cn-one', namespace: ns });
  assert.equal(got.metadata?.uid, created.metadata?.uid);
});

test('client-node lists with a label selector and pages with limit and continue', async () => {
  for (let i = 0; i < 5; i++) await core.createNamespacedService({ namespace: ns, body: service(`cn-page-${i}`, { suite: 'client-node', page: 'yes' }) });
  const all = await core.listNamespacedService({ namespace: ns, labelSelector: 'page=yes' });
  assert.deepEqual(
    all.items.map((i) => i.metadata?.name),
    ['cn-page-0', 'cn-page-1', 'cn-page-2', 'cn-page-3', 'cn-page-4'],
  );
  const names: string[] = [];
  let cont: string | undefined;
  let pages = 0;
  do {
    const page = await core.listNamespacedService({ namespace: ns, labelSelector: 'suite=client-node', limit: 2, _continue: cont });
    names.push(...page.items.map((i) => i.metadata?.name ?? ''));
    cont = page.metadata?._continue;
    pages++;
  } while (cont);
  assert.equal(pages, 3);
  assert.deepEqual(names, ['cn-one', 'cn-page-0', 'cn-page-1', 'cn-page-2', 'cn-page-3', 'cn-page-4']);
  const everywhere = await core.listServiceForAllNamespaces({ fieldSelector: 'metadata.namespace=default' });
  assert.ok(everywhere.items.some((i) => i.metadata?.name === 'kubernetes'));
});

test('client-node watches from a list\'s resourceVersion and sees ADDED, MODIFIED and DELETED in order', async () => {
  const list = await core.listNamespacedService({ namespace: ns });
  const events: { type: string; name: string; rv: string }[] = [];
  const watch = new k8s.Watch(kc);
  let done: (err?: unknown) => void = () => {};
  const ended = new Promise<unknown>((resolve) => (done = resolve));
  const req = await watch.watch(
    `/api/v1/namespaces/${ns}/services`,
    { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
    (type: string, obj: k8s.V1Service) => {
      if (type !== 'BOOKMARK') events.push({ type, name: obj.metadata?.name ?? '', rv: obj.metadata?.resourceVersion ?? '' });
    },
    (err: unknown) => done(err),
  );
  try {
    await core.createNamespacedService({ namespace: ns, body: service('cn-watched') });
    await core.patchNamespacedService({ name: 'cn-watched', namespace: ns, body: { metadata: { labels: { seen: 'yes' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await core.deleteNamespacedService({ name: 'cn-watched', namespace: ns });
    const deadline = Date.now() + 15_000;
    while (events.filter((e) => e.name === 'cn-watched').length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const mine = events.filter((e) => e.name === 'cn-watched');
    assert.deepEqual(
      mine.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    const rvs = mine.map((e) => Number(e.rv));
    assert.ok(rvs[0] > Number(list.metadata?.resourceVersion) && rvs[0] < rvs[1] && rvs[1] < rvs[2], `increasing resourceVersions ${rvs.join(' ')}`);
  } finally {
    req.abort();
    await Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]);
  }
});

test('client-node deletes, and a second delete or a get is a 404 ApiException', async () => {
  // A Service delete answers with the deleted Service (as the client's types say).
  const gone = await core.deleteNamespacedService({ name: 'cn-one', namespace: ns });
  assert.equal(gone.metadata?.name, 'cn-one');
  assert.equal(gone.kind, 'Service');
  const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cn-cm' }, data: { a: 'b' } } });
  const st = await core.deleteNamespacedConfigMap({ name: 'cn-cm', namespace: ns });
  assert.equal(st.status, 'Success');
  assert.equal(st.details?.uid, cm.metadata?.uid);
  await assert.rejects(
    () => core.readNamespacedService({ name: 'cn-one', namespace: ns }),
    (e: unknown) => e instanceof k8s.ApiException && e.code === 404 && String(e.body).includes('services \\"cn-one\\" not found'),
  );
  await assert.rejects(
    () => core.deleteNamespacedService({ name: 'cn-one', namespace: ns }),
    (e: unknown) => e instanceof k8s.ApiException && e.code === 404,
  );
  await assert.rejects(
    () => core.createNamespacedService({ namespace: ns, body: service('cn-page-0') }),
    (e: unknown) => e instanceof k8s.ApiException && e.code === 409,
  );
});
