import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { allResources, resourceApiVersion } from '../index.ts';
import { openapiV3Document, openapiV3DocumentJson, openapiV3Root, type OpenApiDocument, type Operation } from './index.ts';

function doc(path: string): OpenApiDocument {
  const d = openapiV3Document(path);
  assert.ok(d, `no document ${path}`);
  return d;
}

function operations(d: OpenApiDocument): [string, string, Operation][] {
  const out: [string, string, Operation][] = [];
  for (const [path, item] of Object.entries(d.paths)) {
    for (const m of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const o = item[m];
      if (o) out.push([path, m, o]);
    }
  }
  return out;
}

test('the root lists every served group-version with a hash-addressed URL', () => {
  const root = openapiV3Root();
  assert.deepEqual(Object.keys(root.paths).sort(), [
    'api/v1',
    'apis/apps/v1',
    'apis/coordination.k8s.io/v1',
    'apis/discovery.k8s.io/v1',
    'apis/metallb.io/v1beta1',
  ]);
  for (const [path, { serverRelativeURL }] of Object.entries(root.paths)) {
    const body = openapiV3DocumentJson(path);
    assert.ok(body);
    assert.equal(serverRelativeURL, `/openapi/v3/${path}?hash=${body.hash}`);
    // The hash is the SHA-512 of the served text, so it changes whenever the content does.
    assert.equal(body.hash, createHash('sha512').update(body.json).digest('hex').toUpperCase());
    assert.deepEqual(JSON.parse(body.json), openapiV3Document(path));
  }
  assert.equal(openapiV3Document('/openapi/v3/apis/apps/v1'), openapiV3Document('apis/apps/v1'));
  assert.equal(openapiV3Document('apis/batch/v1'), undefined);
});

test('documents are built once and kept', () => {
  assert.equal(openapiV3Document('api/v1'), openapiV3Document('api/v1'));
  assert.ok(Object.isFrozen(openapiV3Document('api/v1')));
});

test('every $ref in every document resolves within its components', () => {
  for (const path of Object.keys(openapiV3Root().paths)) {
    const d = doc(path);
    const refs = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.add(x);
          else walk(x);
        }
      }
    };
    walk(d);
    for (const r of refs) {
      assert.ok(r.startsWith('#/components/schemas/'), r);
      assert.ok(d.components.schemas[r.slice('#/components/schemas/'.length)], `${path}: dangling ${r}`);
    }
  }
});

test('every served kind has its operations with operationId, action and GVK', () => {
  for (const r of allResources) {
    const path = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
    const d = doc(path);
    const prefix = `/${path}`;
    const coll = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.resource}` : `${prefix}/${r.resource}`;
    const gvk = { group: r.group, kind: r.kind, version: r.version };
    const expect: [string, string, string][] = [
      [coll, 'get', 'list'],
      [coll, 'post', 'post'],
      [`${coll}/{name}`, 'get', 'get'],
      [`${coll}/{name}`, 'put', 'put'],
      [`${coll}/{name}`, 'patch', 'patch'],
      [`${coll}/{name}`, 'delete', 'delete'],
      [`${prefix}/watch/${r.namespaced ? `namespaces/{namespace}/` : ''}${r.resource}/{name}`, 'get', 'watch'],
    ];
    if (r.verbs.includes('deletecollection')) expect.push([coll, 'delete', 'deletecollection']);
    if (r.namespaced) expect.push([`${prefix}/${r.resource}`, 'get', 'list']);
    for (const [p, m, action] of expect) {
      const o = d.paths[p]?.[m as 'get'];
      assert.ok(o, `${r.resource}: no ${m.toUpperCase()} ${p}`);
      assert.equal(o['x-kubernetes-action'], action, `${m} ${p}`);
      assert.deepEqual(o['x-kubernetes-group-version-kind'], gvk, `${m} ${p}`);
      assert.ok(o.operationId);
    }
    // kubectl explain finds a kind's schema by the GVK its paths name.
    const kinds = Object.values(d.components.schemas).filter((s) => s['x-kubernetes-group-version-kind']?.some((g) => g.kind === r.kind && g.group === r.group));
    assert.equal(kinds.length, 1, `${resourceApiVersion(r)} ${r.kind}`);
  }
});

test('operationIds are unique and named as kube-apiserver names them', () => {
  const ids = new Set<string>();
  for (const path of Object.keys(openapiV3Root().paths)) {
    for (const [, , o] of operations(doc(path))) {
      assert.ok(!ids.has(o.operationId), `duplicate ${o.operationId}`);
      ids.add(o.operationId);
    }
  }
  for (const id of [
    'listCoreV1NamespacedService',
    'listCoreV1ServiceForAllNamespaces',
    'createCoreV1NamespacedService',
    'readCoreV1NamespacedService',
    'patchCoreV1NamespacedServiceStatus',
    'deleteCoreV1CollectionNamespacedPod',
    'watchCoreV1NamespacedServiceList',
    'listCoreV1Node',
    'readCoreV1Namespace',
    'replaceCoreV1NamespaceFinalize',
    'createCoreV1NamespacedPodBinding',
    'connectCoreV1GetNamespacedPodExec',
    'readCoreV1NamespacedPodLog',
    'patchAppsV1NamespacedDeploymentScale',
    'listDiscoveryV1NamespacedEndpointSlice',
    'readCoordinationV1NamespacedLease',
    'createMetallbIoV1beta1NamespacedIPAddressPool',
  ]) {
    assert.ok(ids.has(id), id);
  }
});

test('PATCH operations take fieldValidation, fieldManager, dryRun and force, and the patch content types', () => {
  const p = doc('api/v1').paths['/api/v1/namespaces/{namespace}/services/{name}']?.patch;
  assert.ok(p);
  assert.deepEqual(p.parameters?.map((x) => x.name).sort(), ['dryRun', 'fieldManager', 'fieldValidation', 'force']);
  assert.deepEqual(Object.keys(p.requestBody?.content ?? {}).sort(), [
    'application/apply-patch+yaml',
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
  ]);
  // Custom resources take no strategic merge patch.
  const crd = doc('apis/metallb.io/v1beta1').paths['/apis/metallb.io/v1beta1/namespaces/{namespace}/ipaddresspools/{name}']?.patch;
  assert.ok(crd);
  assert.ok(!('application/strategic-merge-patch+json' in (crd.requestBody?.content ?? {})));
  const post = doc('api/v1').paths['/api/v1/namespaces/{namespace}/services']?.post;
  assert.deepEqual(post?.parameters?.map((x) => x.name).sort(), ['dryRun', 'fieldManager', 'fieldValidation']);
  const list = doc('api/v1').paths['/api/v1/namespaces/{namespace}/services']?.get;
  assert.ok(list?.parameters?.some((x) => x.name === 'watch' && x.schema.type === 'boolean'));
});

test('subresources: status, scale (autoscaling/v1 Scale), binding, exec and log', () => {
  const apps = doc('apis/apps/v1');
  const scale = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
  assert.deepEqual(scale?.get?.['x-kubernetes-group-version-kind'], { group: 'autoscaling', kind: 'Scale', version: 'v1' });
  assert.deepEqual(scale?.patch?.responses['200']?.content?.['application/json']?.schema, { $ref: '#/components/schemas/io.k8s.api.autoscaling.v1.Scale' });
  assert.ok(apps.components.schemas['io.k8s.api.autoscaling.v1.Scale']);
  const core = doc('api/v1');
  assert.equal(core.paths['/api/v1/namespaces/{namespace}/services/{name}/status']?.put?.['x-kubernetes-action'], 'put');
  assert.equal(core.paths['/api/v1/namespaces/{namespace}/pods/{name}/exec']?.post?.['x-kubernetes-action'], 'connect');
  assert.equal(core.paths['/api/v1/namespaces/{namespace}/pods/{name}/log']?.get?.['x-kubernetes-action'], 'get');
  assert.equal(core.paths['/api/v1/namespaces/{namespace}/pods/{name}/binding']?.post?.['x-kubernetes-group-version-kind']?.kind, 'Binding');
});

test('component schemas keep Kubernetes names, allOf-wrapped refs and the list markers', () => {
  const s = doc('api/v1').components.schemas;
  assert.ok(s['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
  assert.deepEqual(s['io.k8s.api.core.v1.Service']?.['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Service', version: 'v1' }]);
  const meta = s['io.k8s.api.core.v1.Service']?.properties?.metadata;
  assert.deepEqual(meta?.allOf, [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }]);
  assert.deepEqual(meta?.default, {});
  const ports = s['io.k8s.api.core.v1.ServiceSpec']?.properties?.ports;
  assert.equal(ports?.['x-kubernetes-list-type'], 'map');
  assert.deepEqual(ports?.['x-kubernetes-list-map-keys'], ['port', 'protocol']);
  assert.equal(ports?.['x-kubernetes-patch-merge-key'], 'port');
  assert.equal(ports?.['x-kubernetes-patch-strategy'], 'merge');
  assert.deepEqual(s['io.k8s.apimachinery.pkg.util.intstr.IntOrString']?.oneOf, [{ type: 'integer' }, { type: 'string' }]);
  // Only what a group-version's operations reach: no Pod in coordination.k8s.io's document.
  assert.equal(doc('apis/coordination.k8s.io/v1').components.schemas['io.k8s.api.core.v1.Pod'], undefined);
  assert.ok(doc('apis/apps/v1').components.schemas['io.k8s.api.core.v1.PodSpec']);
});
