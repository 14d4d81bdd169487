// Verbs and semantics of svcnet's API server that the other apiserver tests leave out, each
// against the real `bin/svcnet server` (no node agent: nodes here are API objects nobody runs)
// and the real kubectl where a user would use kubectl, with kube-apiserver's answers:
// deletecollection, dryRun=All on update, patch and delete, field selectors on pods
// (status.phase, unknown fields), pod deletion with grace periods (--now, --force), the status
// subresource of Services and Deployments, and the ReplicaSet scale subresource. Periodic watch
// bookmarks are tested on the server in-process, as `svcnet server` has no flag for their interval.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSvcnet, kubectl, type RunResult, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient, type ApiResponse } from './lib/apiserver.ts';
import { parseTable } from './lib/kubectl-output.ts';
import { waitFor } from './lib/workloads.ts';

let s: Svcnet;
let api: ApiClient;

/** A node that exists as an API object only: no agent runs it, so nothing confirms its pods' deletions. */
const quietNode = 'quiet';
const image = 'registry.k8s.io/e2e-test-images/agnhost:2.53';

before(async () => {
  s = await startSvcnet({ args: ['--no-agent'] });
  api = apiClient(s);
  await api.json('POST', '/api/v1/nodes', { metadata: { name: quietNode, labels: { 'kubernetes.io/hostname': quietNode } } });
});

after(async () => {
  api?.close();
  await s?.stop();
  s?.cleanup();
});

interface Meta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  labels?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
}

interface Obj {
  kind?: string;
  apiVersion?: string;
  metadata: Meta;
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

interface Status {
  kind: string;
  status: string;
  reason?: string;
  message?: string;
  code?: number;
  details?: Record<string, unknown>;
}

async function k(args: string[]): Promise<RunResult> {
  return kubectl(s, args);
}

/** kubectl that must succeed without complaint; its stdout. */
async function ok(args: string[]): Promise<string> {
  const r = await k(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr, '', `kubectl ${args.join(' ')}`);
  return r.stdout;
}

async function namespace(name: string): Promise<string> {
  await api.json('POST', '/api/v1/namespaces', { metadata: { name } });
  return name;
}

function body(res: ApiResponse): Obj & Status {
  return JSON.parse(res.body) as Obj & Status;
}

async function get(path: string): Promise<Obj> {
  return api.json<Obj>('GET', path);
}

async function names(path: string): Promise<string[]> {
  return (await api.json<{ items: Obj[] }>('GET', path)).items.map((o) => o.metadata.name).sort();
}

/** The ConfigMaps a test made in `ns`: every namespace also holds kube-root-ca.crt, which the root CA publisher keeps there. */
async function userConfigMaps(ns: string): Promise<string[]> {
  return (await names(`/api/v1/namespaces/${ns}/configmaps`)).filter((n) => n !== 'kube-root-ca.crt');
}

const json = { 'Content-Type': 'application/json', Accept: 'application/json' };
const mergePatch = { 'Content-Type': 'application/merge-patch+json', Accept: 'application/json' };

// ---------------------------------------------------------------- deletecollection

test('kubectl delete configmaps --all empties the namespace and leaves other namespaces alone', async () => {
  const ns = await namespace('dc-all');
  const other = await namespace('dc-other');
  for (const n of ['a', 'b', 'c']) await ok(['create', 'configmap', n, `--from-literal=k=${n}`, '-n', ns]);
  await ok(['create', 'configmap', 'keep', '-n', other]);
  await waitFor(`kube-root-ca.crt in ${ns}`, async () => (await names(`/api/v1/namespaces/${ns}/configmaps`)).includes('kube-root-ca.crt'));
  // kubectl lists the collection and deletes each object (it sends no DELETE on the collection);
  // as in Kubernetes, that includes the root CA ConfigMap, which its publisher then makes again.
  assert.equal(await ok(['delete', 'configmaps', '--all', '-n', ns]), 'configmap "a" deleted\nconfigmap "b" deleted\nconfigmap "c" deleted\nconfigmap "kube-root-ca.crt" deleted\n');
  assert.deepEqual(await userConfigMaps(ns), []);
  await waitFor('only kube-root-ca.crt, made again', async () => (await ok(['get', 'configmaps', '-n', ns, '-o', 'name'])) === 'configmap/kube-root-ca.crt\n');
  assert.deepEqual(await userConfigMaps(other), ['keep']);
});

test('a DELETE on a collection URL with a labelSelector deletes the matching objects and answers with them', async () => {
  const ns = await namespace('dc-sel');
  const other = await namespace('dc-sel-other');
  const cm = (name: string, labels: Record<string, string>) => api.json<Obj>('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name, labels }, data: { n: name } });
  const listed = [await cm('cache-1', { tier: 'cache' }), await cm('cache-2', { tier: 'cache', extra: 'x' })];
  await cm('web-1', { tier: 'web' });
  await cm('plain', {});
  await api.json('POST', `/api/v1/namespaces/${other}/configmaps`, { metadata: { name: 'cache-elsewhere', labels: { tier: 'cache' } } });

  const res = await api.request('DELETE', `/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent('tier=cache')}`, { headers: { Accept: 'application/json' } });
  assert.equal(res.status, 200, res.body);
  const list = JSON.parse(res.body) as { kind: string; apiVersion: string; metadata: { resourceVersion?: string }; items: Obj[] };
  assert.equal(list.kind, 'ConfigMapList');
  assert.equal(list.apiVersion, 'v1');
  // As kube's registry answers: the list it deleted from, the items as they were listed.
  assert.match(list.metadata.resourceVersion ?? '', /^\d+$/, 'the list carries its resourceVersion');
  assert.deepEqual(
    list.items.map((o) => [o.metadata.name, o.metadata.uid, o.metadata.resourceVersion, o.data]),
    listed.map((o) => [o.metadata.name, o.metadata.uid, o.metadata.resourceVersion, o.data]),
  );
  assert.deepEqual(await userConfigMaps(ns), ['plain', 'web-1']);
  assert.deepEqual(await userConfigMaps(other), ['cache-elsewhere'], 'a namespaced collection URL stays in its namespace');

  // Set-based selectors and field selectors narrow it the same way; nothing matching is an empty list.
  const notWeb = await api.request('DELETE', `/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent('tier notin (web)')}&fieldSelector=metadata.name%3Dplain`);
  assert.equal(notWeb.status, 200, notWeb.body);
  assert.deepEqual((JSON.parse(notWeb.body) as { items: Obj[] }).items.map((o) => o.metadata.name), ['plain']);
  const none = await api.request('DELETE', `/api/v1/namespaces/${ns}/configmaps?labelSelector=tier%3Dnothing`);
  assert.equal(none.status, 200);
  assert.deepEqual((JSON.parse(none.body) as { items: Obj[] }).items, []);
  assert.deepEqual(await userConfigMaps(ns), ['web-1']);
});

// ---------------------------------------------------------------- dryRun

test('dryRun=All on PUT, PATCH and DELETE answers with the would-be result and changes nothing', async () => {
  const ns = await namespace('dry');
  const path = `/api/v1/namespaces/${ns}/configmaps/cfg`;
  const created = await api.json<Obj>('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'cfg', labels: { v: '1' } }, data: { k: 'original' } });
  const rv = created.metadata.resourceVersion;
  const unchanged = async (what: string) => {
    const cur = await get(path);
    assert.deepEqual(cur.data, { k: 'original' }, `${what}: data unchanged`);
    assert.deepEqual(cur.metadata.labels, { v: '1' }, `${what}: labels unchanged`);
    assert.equal(cur.metadata.resourceVersion, rv, `${what}: nothing was written`);
  };

  let res = await api.request('PUT', `${path}?dryRun=All`, { body: JSON.stringify({ ...created, data: { k: 'put' } }), headers: json });
  assert.equal(res.status, 200, res.body);
  let o = body(res);
  assert.deepEqual(o.data, { k: 'put' });
  assert.equal(o.metadata.uid, created.metadata.uid);
  assert.equal(o.metadata.resourceVersion, rv, 'a dry run stores nothing, so the resourceVersion stays');
  await unchanged('PUT');
  // A dry run still checks what a real write would: a stale resourceVersion is a conflict.
  res = await api.request('PUT', `${path}?dryRun=All`, { body: JSON.stringify({ ...created, metadata: { ...created.metadata, resourceVersion: '1' }, data: { k: 'put' } }), headers: json });
  assert.equal(res.status, 409);
  assert.equal(body(res).message, 'Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again');

  res = await api.request('PATCH', `${path}?dryRun=All`, { body: JSON.stringify({ metadata: { labels: { v: '2' } }, data: { k: 'patched' } }), headers: mergePatch });
  assert.equal(res.status, 200, res.body);
  o = body(res);
  assert.deepEqual(o.data, { k: 'patched' });
  assert.deepEqual(o.metadata.labels, { v: '2' });
  await unchanged('PATCH');
  res = await api.request('PATCH', `${path}?dryRun=All`, { body: JSON.stringify([{ op: 'replace', path: '/data/k', value: 'json-patched' }]), headers: { 'Content-Type': 'application/json-patch+json' } });
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(body(res).data, { k: 'json-patched' });
  await unchanged('JSON patch');

  res = await api.request('DELETE', `${path}?dryRun=All`, { headers: { Accept: 'application/json' } });
  assert.equal(res.status, 200, res.body);
  const st = body(res);
  assert.equal(st.kind, 'Status');
  assert.equal(st.status, 'Success');
  assert.deepEqual(st.details, { name: 'cfg', kind: 'configmaps', uid: created.metadata.uid });
  await unchanged('DELETE');
  // dryRun in the DeleteOptions body counts as well; an unknown value is refused.
  res = await api.request('DELETE', path, { body: JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] }), headers: json });
  assert.equal(res.status, 200, res.body);
  await unchanged('DELETE with DeleteOptions.dryRun');
  res = await api.request('DELETE', `${path}?dryRun=Some`);
  assert.equal(res.status, 400);
  assert.equal(body(res).message, 'Invalid dryRun value: "Some": supported values: "All"');
  await unchanged('DELETE with a bad dryRun');
});

test('kubectl delete --dry-run=server says what it would delete and deletes nothing', async () => {
  const ns = await namespace('dry-kubectl');
  await ok(['create', 'configmap', 'cfg', '-n', ns]);
  await ok(['create', 'service', 'clusterip', 'svc', '--tcp=80:8080', '-n', ns]);
  assert.equal(await ok(['delete', 'configmap', 'cfg', '-n', ns, '--dry-run=server']), 'configmap "cfg" deleted (server dry run)\n');
  assert.equal(await ok(['delete', 'service', 'svc', '-n', ns, '--dry-run=server']), 'service "svc" deleted (server dry run)\n');
  assert.equal(await ok(['delete', 'namespace', ns, '--dry-run=server']), `namespace "${ns}" deleted (server dry run)\n`);
  assert.deepEqual(await userConfigMaps(ns), ['cfg']);
  assert.deepEqual(await names(`/api/v1/namespaces/${ns}/services`), ['svc']);
  assert.equal(((await get(`/api/v1/namespaces/${ns}`)).status as { phase: string }).phase, 'Active');
  const missing = await k(['delete', 'configmap', 'nope', '-n', ns, '--dry-run=server']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error from server (NotFound): configmaps "nope" not found\n');
});

// ---------------------------------------------------------------- field selectors

async function boundPod(ns: string, name: string, extra: Record<string, unknown> = {}): Promise<Obj> {
  return api.json<Obj>('POST', `/api/v1/namespaces/${ns}/pods`, {
    metadata: { name },
    spec: { nodeName: quietNode, containers: [{ name: 'c', image }], ...extra },
  });
}

test('kubectl get pods --field-selector status.phase selects by phase; an unknown field is a 400 with kube\'s message', async () => {
  const ns = await namespace('phase');
  for (const n of ['run-1', 'run-2', 'wait-1', 'done-1']) await boundPod(ns, n);
  // What a kubelet writes through pods/status.
  const phase = (name: string, p: string) => api.json('PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, { status: { phase: p } });
  await phase('run-1', 'Running');
  await phase('run-2', 'Running');
  await phase('done-1', 'Succeeded');

  assert.equal(await ok(['get', 'pods', '-n', ns, '--field-selector', 'status.phase=Running', '-o', 'name']), 'pod/run-1\npod/run-2\n');
  assert.equal(await ok(['get', 'pods', '-n', ns, '--field-selector', 'status.phase!=Running', '-o', 'name']), 'pod/done-1\npod/wait-1\n');
  assert.equal(await ok(['get', 'pods', '-A', '--field-selector', `status.phase=Succeeded,metadata.namespace=${ns}`, '-o', 'name']), 'pod/done-1\n');
  assert.equal(await ok(['get', 'pods', '-n', ns, '--field-selector', `status.phase=Pending,spec.nodeName=${quietNode}`, '-o', 'name']), 'pod/wait-1\n');
  const table = parseTable(await ok(['get', 'pods', '-n', ns, '--field-selector', 'status.phase=Running']));
  assert.deepEqual(table.rows.map((r) => [r[0], r[2]]), [['run-1', 'Running'], ['run-2', 'Running']]);
  const none = await k(['get', 'pods', '-n', ns, '--field-selector', 'status.phase=Failed']);
  assert.equal(none.code, 0);
  assert.equal(none.stderr, `No resources found in ${ns} namespace.\n`);

  // kube-apiserver's conversion refuses labels a type does not know (pkg/apis/core/v1/conversion.go);
  // kubectl puts its own words in front of the server's message.
  const bad = await k(['get', 'pods', '-n', ns, '--field-selector', 'status.nope=x']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr, 'Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "", field selector "status.nope=x": field label not supported: status.nope\n');
  for (const path of [`/api/v1/namespaces/${ns}/pods?fieldSelector=status.nope%3Dx`, '/api/v1/pods?fieldSelector=status.nope%3Dx', `/api/v1/namespaces/${ns}/pods?watch=true&fieldSelector=status.nope%3Dx`]) {
    const res = await api.request('GET', path);
    assert.equal(res.status, 400, path);
    const st = body(res);
    assert.equal(st.reason, 'BadRequest', path);
    assert.equal(st.message, 'field label not supported: status.nope', path);
  }
  // Types without their own conversion use runtime.DefaultMetaV1FieldSelectorConversion.
  const cm = await api.request('GET', `/api/v1/namespaces/${ns}/configmaps?fieldSelector=status.phase%3DRunning`);
  assert.equal(cm.status, 400);
  assert.equal(body(cm).message, '"status.phase" is not a known field selector: only "metadata.name", "metadata.namespace"');
  const cmKubectl = await k(['get', 'configmaps', '-n', ns, '--field-selector', 'data=x']);
  assert.equal(cmKubectl.code, 1);
  assert.equal(cmKubectl.stderr, 'Error from server (BadRequest): Unable to find "/v1, Resource=configmaps" that match label selector "", field selector "data=x": "data" is not a known field selector: only "metadata.name", "metadata.namespace"\n');
});

// ---------------------------------------------------------------- pod deletion and grace periods

/** RFC 3339 seconds → ms. */
const ms = (t: string | undefined) => {
  assert.ok(t, 'a timestamp');
  return Date.parse(t);
};

test('deleting a pod bound to a node: deletionTimestamp and deletionGracePeriodSeconds as kube sets them, and it stays until confirmed', async () => {
  const ns = await namespace('grace');
  const path = (n: string) => `/api/v1/namespaces/${ns}/pods/${n}`;
  await boundPod(ns, 'slow');

  // A dry run shows the would-be Terminating pod and changes nothing.
  const dry = await api.request('DELETE', `${path('slow')}?dryRun=All`, { headers: { Accept: 'application/json' } });
  assert.equal(dry.status, 200, dry.body);
  assert.equal(body(dry).metadata.deletionGracePeriodSeconds, 30);
  assert.ok(body(dry).metadata.deletionTimestamp);
  assert.equal((await get(path('slow'))).metadata.deletionTimestamp, undefined);

  // The default grace period is the pod's terminationGracePeriodSeconds (defaulted to 30).
  const t0 = Date.now();
  assert.equal(await ok(['delete', 'pod', 'slow', '-n', ns, '--wait=false']), 'pod "slow" deleted\n');
  const t1 = Date.now();
  let p = await get(path('slow'));
  assert.equal(p.metadata.deletionGracePeriodSeconds, 30);
  const first = ms(p.metadata.deletionTimestamp);
  assert.ok(first >= Math.floor(t0 / 1000) * 1000 + 30_000 && first <= t1 + 30_000, `deletionTimestamp ${p.metadata.deletionTimestamp} is now + 30 s`);
  const row = parseTable(await ok(['get', 'pod', 'slow', '-n', ns])).rows[0];
  assert.equal(row[2], 'Terminating');

  // A longer grace period does not extend it (kube answers with the pod as it is).
  let res = await api.request('DELETE', `${path('slow')}?gracePeriodSeconds=60`, { headers: { Accept: 'application/json' } });
  assert.equal(res.status, 200, res.body);
  p = await get(path('slow'));
  assert.equal(p.metadata.deletionGracePeriodSeconds, 30);
  assert.equal(ms(p.metadata.deletionTimestamp), first);

  // --now is --grace-period=1: it shortens the grace period, counted from when deletion began
  // (kube's rest.BeforeDelete: old deletionTimestamp - old grace + new grace).
  await waitFor('a second to pass', () => Date.now() >= first - 30_000 + 1500);
  assert.equal(await ok(['delete', 'pod', 'slow', '-n', ns, '--now', '--wait=false']), 'pod "slow" deleted\n');
  p = await get(path('slow'));
  assert.equal(p.metadata.deletionGracePeriodSeconds, 1);
  assert.equal(ms(p.metadata.deletionTimestamp), first - 29_000, `deletionTimestamp ${p.metadata.deletionTimestamp}`);

  // No kubelet confirms (no agent runs this node): the pod stays Terminating past its deadline,
  // as in Kubernetes, where only the kubelet (or a forced delete) removes a pod bound to a node.
  await waitFor('the grace period to end', () => Date.now() > first - 29_000 + 2000);
  p = await get(path('slow'));
  assert.equal(p.metadata.deletionGracePeriodSeconds, 1);

  // --grace-period=0 --force removes it at once, with kubectl's warning.
  const forced = await k(['delete', 'pod', 'slow', '-n', ns, '--grace-period=0', '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.stdout, 'pod "slow" force deleted\n');
  assert.equal(forced.stderr, 'Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n');
  res = await api.request('GET', path('slow'));
  assert.equal(res.status, 404);
  assert.equal(body(res).message, 'pods "slow" not found');
});

test('kubectl delete pod --now asks for 1 s, --force needs --grace-period=0, a negative grace period is 1 s, an unscheduled pod goes at once', async () => {
  const ns = await namespace('grace-now');
  const path = (n: string) => `/api/v1/namespaces/${ns}/pods/${n}`;
  await boundPod(ns, 'now', { terminationGracePeriodSeconds: 120 });
  const t0 = Date.now();
  assert.equal(await ok(['delete', 'pod', 'now', '-n', ns, '--now', '--wait=false']), 'pod "now" deleted\n');
  let p = await get(path('now'));
  assert.equal(p.metadata.deletionGracePeriodSeconds, 1, '--now asks for 1 s, whatever the pod says');
  const ts = ms(p.metadata.deletionTimestamp);
  assert.ok(ts >= Math.floor(t0 / 1000) * 1000 + 1000 && ts <= Date.now() + 1000, p.metadata.deletionTimestamp);

  // --force without a grace period is refused by kubectl itself; with 0 it goes at once.
  await boundPod(ns, 'forced');
  const refused = await k(['delete', 'pod', 'forced', '-n', ns, '--force', '--grace-period=5']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: --force and --grace-period greater than 0 cannot be specified together\n$/);
  const forced = await k(['delete', 'pod', 'forced', '-n', ns, '--grace-period=0', '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.stdout, 'pod "forced" force deleted\n');
  assert.equal((await api.request('GET', path('forced'))).status, 404);

  // A negative grace period counts as 1 s on the delete path (kube's rest.BeforeDelete).
  await boundPod(ns, 'negative');
  const res = await api.request('DELETE', `${path('negative')}?gracePeriodSeconds=-1`, { headers: { Accept: 'application/json' } });
  assert.equal(res.status, 200, res.body);
  p = await get(path('negative'));
  assert.equal(p.metadata.deletionGracePeriodSeconds, 1);

  // A pod no node took has nothing to stop: it goes at once, whatever the grace period.
  await api.json('POST', `/api/v1/namespaces/${ns}/pods`, { metadata: { name: 'unscheduled' }, spec: { schedulerName: 'nobody', containers: [{ name: 'c', image }] } });
  assert.equal(await ok(['delete', 'pod', 'unscheduled', '-n', ns, '--grace-period=60']), 'pod "unscheduled" deleted\n');
  assert.equal((await api.request('GET', path('unscheduled'))).status, 404);
});

// ---------------------------------------------------------------- status subresources

test('services/status: PUT and PATCH change only the status; a write to the Service ignores status', async () => {
  const ns = await namespace('svc-status');
  const path = `/api/v1/namespaces/${ns}/services/lb`;
  // A load-balancer class nobody here implements: svcnet's own LoadBalancer controller leaves it alone.
  const created = await api.json<Obj>('POST', `/api/v1/namespaces/${ns}/services`, {
    metadata: { name: 'lb' },
    spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/none', selector: { app: 'lb' }, ports: [{ port: 80 }] },
  });
  const spec = created.spec;

  // What a load-balancer controller does: kubectl patch --subresource=status.
  assert.equal(
    await ok(['patch', 'service', 'lb', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"spec":{"selector":{"app":"other"}},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}']),
    'service/lb patched\n',
  );
  let svc = await get(path);
  assert.deepEqual(svc.spec, spec, 'a status patch leaves the spec');
  assert.deepEqual(svc.status, { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }] } });
  const row = parseTable(await ok(['get', 'service', 'lb', '-n', ns])).rows[0];
  assert.equal(row[3], '192.0.2.10', 'EXTERNAL-IP shows the status');

  // PUT on /status: the spec in the body is ignored.
  let res = await api.request('PUT', `${path}/status`, {
    body: JSON.stringify({ ...svc, spec: { ...svc.spec, selector: { app: 'put' } }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.11', ipMode: 'VIP' }] } } }),
    headers: json,
  });
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(body(res).spec, spec);
  assert.deepEqual(body(res).status, { loadBalancer: { ingress: [{ ip: '192.0.2.11', ipMode: 'VIP' }] } });
  svc = await get(path);
  assert.deepEqual(svc.spec, spec);

  // PUT and PATCH on the Service itself: the status in the body is ignored.
  res = await api.request('PUT', path, { body: JSON.stringify({ ...svc, spec: { ...svc.spec, selector: { app: 'new' } }, status: { loadBalancer: {} } }), headers: json });
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(body(res).spec?.selector, { app: 'new' });
  assert.deepEqual(body(res).status, { loadBalancer: { ingress: [{ ip: '192.0.2.11', ipMode: 'VIP' }] } });
  res = await api.request('PATCH', path, { body: JSON.stringify({ spec: { selector: { app: 'patched' } }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.99' }] } } }), headers: mergePatch });
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(body(res).spec?.selector, { app: 'patched' });
  svc = await get(path);
  assert.deepEqual(svc.status, { loadBalancer: { ingress: [{ ip: '192.0.2.11', ipMode: 'VIP' }] } });
  assert.deepEqual(svc.spec?.selector, { app: 'patched' });

  // Status verbs are get, update and patch only.
  res = await api.request('DELETE', `${path}/status`);
  assert.equal(res.status, 405);
});

/** PUT of fn(current) to path, again on 409 (the Deployment controller writes status meanwhile). */
async function putFresh(path: string, fn: (cur: Obj) => Obj): Promise<Obj> {
  const base = path.replace(/\/status$/, '');
  for (let i = 0; ; i++) {
    const cur = await get(base);
    const res = await api.request('PUT', path, { body: JSON.stringify(fn(cur)), headers: json });
    if (res.status === 409 && i < 20) continue;
    assert.equal(res.status, 200, res.body);
    return body(res);
  }
}

test('deployments/status: a status write keeps spec and labels, a spec write keeps status', async () => {
  const ns = await namespace('deploy-status');
  const path = `/apis/apps/v1/namespaces/${ns}/deployments/web`;
  await ok(['create', 'deployment', 'web', `--image=${image}`, '--replicas=1', '-n', ns]);
  const before = await get(path);

  const written = await putFresh(`${path}/status`, (cur) => ({
    ...cur,
    metadata: { ...cur.metadata, labels: { app: 'changed' } },
    spec: { ...cur.spec, replicas: 5 },
    status: { ...cur.status, observedGeneration: cur.metadata.generation, replicas: 1, conditions: [{ type: 'Progressing', status: 'True', reason: 'ByHand', message: 'written through /status' }] },
  }));
  assert.equal(written.spec?.replicas, 1, 'a status write ignores the spec');
  assert.deepEqual(written.metadata.labels, before.metadata.labels, 'and the labels, as kube\'s deployment status strategy');
  assert.equal(written.metadata.generation, before.metadata.generation, 'and does not bump the generation');
  assert.deepEqual((written.status as { conditions: { reason: string }[] }).conditions.map((c) => c.reason), ['ByHand']);
  let cur = await get(path);
  assert.equal(cur.spec?.replicas, 1);
  assert.deepEqual(cur.metadata.labels, before.metadata.labels);

  // kubectl patch --subresource=status with a spec in it: the spec part is dropped.
  await ok(['patch', 'deployment', 'web', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"spec":{"replicas":7},"status":{"observedGeneration":1}}']);
  cur = await get(path);
  assert.equal(cur.spec?.replicas, 1);

  // A spec write carrying a status: the spec changes (and the generation with it), the status is kept.
  const spec = await putFresh(path, (c) => ({ ...c, spec: { ...c.spec, replicas: 2 }, status: { ...c.status, replicas: 42, conditions: [] } }));
  assert.equal(spec.spec?.replicas, 2);
  assert.equal(spec.metadata.generation, (before.metadata.generation ?? 0) + 1);
  assert.notEqual((spec.status as { replicas?: number }).replicas, 42, 'a spec write ignores the status');
  assert.notDeepEqual((spec.status as { conditions?: unknown[] }).conditions, [], 'a spec write ignores the status');
});

// ---------------------------------------------------------------- scale subresource

test('kubectl scale rs/X --replicas=3, and replicasets/X/scale as an autoscaling/v1 Scale', async () => {
  const ns = await namespace('rs-scale');
  const manifest = `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
  namespace: ${ns}
  labels: {app: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [front]}]
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      schedulerName: nobody
      containers: [{name: c, image: ${image}}]
`;
  const applied = await kubectl(s, ['apply', '-f', '-'], { input: manifest });
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal(await ok(['scale', 'rs/web', '-n', ns, '--replicas=3']), 'replicaset.apps/web scaled\n');
  const path = `/apis/apps/v1/namespaces/${ns}/replicasets/web`;
  const rs = await get(path);
  assert.equal(rs.spec?.replicas, 3);

  // status.replicas follows the ReplicaSet's status, which its controller brings to 3 pods.
  await waitFor('Scale status.replicas 3', async () => ((await get(`${path}/scale`)).status as { replicas?: number }).replicas === 3, 30_000);
  // The Scale is the ReplicaSet's view: its name, uid and resourceVersion (read while the
  // controller leaves the ReplicaSet alone for a moment).
  const [scale, of] = await waitFor('a Scale read between two equal reads of its ReplicaSet', async () => {
    const a = await get(path);
    const sc = await get(`${path}/scale`);
    const b = await get(path);
    return a.metadata.resourceVersion === b.metadata.resourceVersion && ([sc, b] as const);
  });
  assert.equal(scale.kind, 'Scale');
  assert.equal(scale.apiVersion, 'autoscaling/v1');
  assert.deepEqual(scale.metadata, { name: 'web', namespace: ns, uid: of.metadata.uid, resourceVersion: of.metadata.resourceVersion, creationTimestamp: of.metadata.creationTimestamp });
  assert.deepEqual(scale.spec, { replicas: 3 });
  assert.deepEqual(scale.status, { replicas: 3, selector: 'app=web,tier in (front)' });
  const pods = await ok(['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'name']);
  assert.equal(pods.trim().split('\n').length, 3);

  // Writes through the Scale: PUT with optimistic concurrency, and merge patch.
  let res = await api.request('PUT', `${path}/scale`, { body: JSON.stringify({ kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web', namespace: ns, resourceVersion: '1' }, spec: { replicas: 5 } }), headers: json });
  assert.equal(res.status, 409, res.body);
  assert.equal(body(res).message, 'Operation cannot be fulfilled on replicasets.apps "web": the object has been modified; please apply your changes to the latest version and try again');
  res = await api.request('PATCH', `${path}/scale`, { body: JSON.stringify({ spec: { replicas: 2 } }), headers: mergePatch });
  assert.equal(res.status, 200, res.body);
  assert.equal(body(res).kind, 'Scale');
  assert.deepEqual(body(res).spec, { replicas: 2 });
  assert.equal((await get(path)).spec?.replicas, 2);
  const neg = await k(['scale', 'rs/web', '-n', ns, '--replicas=-1']);
  assert.equal(neg.code, 1);
  assert.equal(neg.stderr, 'error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0\n');
  res = await api.request('PATCH', `${path}/scale`, { body: JSON.stringify({ spec: { replicas: -1 } }), headers: mergePatch });
  assert.equal(res.status, 422, res.body);
  assert.equal(body(res).message, 'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
});

// ---------------------------------------------------------------- watch bookmarks (in-process)

test('a watch with allowWatchBookmarks=true gets periodic BOOKMARK events carrying the current resourceVersion; one without gets none', async (t) => {
  process.env.SVCNET_LOG_LEVEL ??= 'warn';
  const { startServer } = await import('../src/apiserver/index.ts');
  const { MemoryStore } = await import('../src/store/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-bookmarks-'));
  const server = await startServer({ dataDir: dir, listen: '127.0.0.1:0', store: new MemoryStore(), serviceCIDRs: ['127.96.0.0/16'], loopbackAddresses: true, bookmarkIntervalMs: 200 });
  const c = apiClient({ url: server.url, kubeconfig: server.kubeconfigPath, dataDir: dir });
  t.after(async () => {
    c.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const base = '/api/v1/namespaces/default/configmaps';
  const list = await c.json<{ metadata: { resourceVersion: string } }>('GET', base);
  const start = Number(list.metadata.resourceVersion);
  const marked = await c.watch(`${base}?watch=true&allowWatchBookmarks=true&resourceVersion=${start}`);
  const plain = await c.watch(`${base}?watch=true&resourceVersion=${start}`);
  t.after(() => {
    marked.close();
    plain.close();
  });
  assert.equal(marked.status, 200);
  const bookmarks = () => marked.events.filter((e) => e.type === 'BOOKMARK');
  await waitFor('two bookmarks', () => bookmarks().length >= 2, 15_000);
  for (const b of bookmarks()) {
    assert.deepEqual(Object.keys(b.object).sort(), ['apiVersion', 'kind', 'metadata']);
    assert.equal(b.object.kind, 'ConfigMap');
    assert.equal(b.object.apiVersion, 'v1');
    assert.match(b.object.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.ok(Number(b.object.metadata?.resourceVersion) >= start);
  }
  // After a write, a later bookmark carries at least its resourceVersion (clients resume from it).
  const cm = await c.json<{ metadata: { resourceVersion: string } }>('POST', base, { metadata: { name: 'marked' } });
  const written = Number(cm.metadata.resourceVersion);
  await waitFor('a bookmark past the write', () => bookmarks().some((b) => Number(b.object.metadata?.resourceVersion) >= written), 15_000);
  const seen = marked.events.filter((e) => e.type !== 'BOOKMARK');
  assert.deepEqual(seen.map((e) => [e.type, e.object.metadata?.name]), [['ADDED', 'marked']]);
  const rvs = bookmarks().map((b) => Number(b.object.metadata?.resourceVersion));
  for (let i = 1; i < rvs.length; i++) assert.ok(rvs[i] >= rvs[i - 1], `bookmark resourceVersions never go back: ${rvs.join(',')}`);
  // The watch that did not ask got the same event and not one bookmark in all that time.
  await waitFor('the plain watch to see the write', () => plain.events.length >= 1);
  assert.deepEqual(plain.events.map((e) => [e.type, e.object.metadata?.name]), [['ADDED', 'marked']]);
});
