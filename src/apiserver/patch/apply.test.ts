import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isApiError, type AnyObject } from '../../api/index.ts';
import { schemaFor, type SchemaNode } from '../../api/schema/index.ts';
import { patchObject, updateManagedFields, type PatchContext } from './index.ts';
import { service } from './testdata/schemas.ts';

const svcTarget = { group: '', version: 'v1', kind: 'Service', resource: 'services', namespace: 'default', name: 'foo' };
const t0 = new Date('2024-05-01T10:00:00Z');
const t1 = new Date('2024-05-01T11:00:00Z');
const t2 = new Date('2024-05-01T12:00:00Z');

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsType: string;
  fieldsV1: unknown;
  subresource?: string;
}

const entries = (o: AnyObject): Entry[] => (o.metadata?.managedFields ?? []) as Entry[];
const entry = (o: AnyObject, manager: string, operation = 'Apply'): Entry | undefined => entries(o).find((e) => e.manager === manager && e.operation === operation);
const fields = (o: AnyObject, manager: string, operation = 'Apply'): string => JSON.stringify(entry(o, manager, operation)?.fieldsV1);

function applyCtx(schema: SchemaNode | undefined, over: Partial<PatchContext> = {}): PatchContext {
  return { target: svcTarget, schema, manager: 'kubectl', now: t0, ...over };
}

function manifest(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'foo', labels: { app: 'foo' }, ...metadata }, spec });
}

function apply(live: AnyObject | undefined, body: string, c: PatchContext): AnyObject {
  return patchObject('apply', live, body, c).object;
}

function applyError(live: AnyObject | undefined, body: string, c: PatchContext): { code: number; reason: string; message: string; details: unknown } {
  try {
    apply(live, body, c);
  } catch (e) {
    if (!isApiError(e)) throw e;
    return { code: e.code, reason: e.reason, message: e.message, details: e.status.details };
  }
  assert.fail('expected the apply to fail');
}

/** A Service as `kubectl apply` (client-side) creates it: an Update entry by kubectl-client-side-apply. */
function createdClientSide(schema: SchemaNode | undefined, lastApplied?: string): AnyObject {
  const metadata: Record<string, unknown> = { name: 'foo', namespace: 'default', uid: 'u1', resourceVersion: '6', labels: { app: 'foo' } };
  if (lastApplied) metadata['annotations'] = { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied };
  const obj = { apiVersion: 'v1', kind: 'Service', metadata, spec: { ports: [{ port: 5000, protocol: 'TCP', targetPort: 5000 }], selector: { app: 'foo' }, type: 'NodePort' } };
  return updateManagedFields(undefined, obj, { schema, manager: 'kubectl-client-side-apply', now: t0 });
}

const port5000 = { port: 5000, targetPort: 5000 };

for (const [label, schema] of [
  ['hand-built schema', service],
  ['generated schema (schemaFor)', schemaFor({ group: '', version: 'v1', kind: 'Service' })],
] as const) {
  describe(`server-side apply of a Service (${label})`, () => {
    test('an apply to a missing object creates it, owned by the applier', () => {
      const created = apply(undefined, manifest({ ports: [port5000], selector: { app: 'foo' }, type: 'NodePort' }), applyCtx(schema));
      assert.deepEqual(created.metadata?.namespace, 'default');
      assert.deepEqual(created['spec'], { ports: [port5000], selector: { app: 'foo' }, type: 'NodePort' });
      assert.deepEqual(entries(created), [
        {
          manager: 'kubectl',
          operation: 'Apply',
          apiVersion: 'v1',
          time: '2024-05-01T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': { 'f:app': {} } },
            'f:spec': { 'f:ports': { 'k:{"port":5000,"protocol":"TCP"}': { '.': {}, 'f:port': {}, 'f:targetPort': {} } }, 'f:selector': {}, 'f:type': {} },
          },
        },
      ]);
    });

    test('applying the same manifest twice changes nothing, not even the time', () => {
      const body = manifest({ ports: [port5000], selector: { app: 'foo' }, type: 'NodePort' });
      const first = apply(undefined, body, applyCtx(schema));
      const second = apply(first, body, applyCtx(schema, { now: t1 }));
      assert.deepEqual(second, first);
      assert.equal(JSON.stringify(second), JSON.stringify(first));
    });

    test('a changed value of its own is taken, with a new time', () => {
      const first = apply(undefined, manifest({ ports: [port5000], type: 'NodePort' }), applyCtx(schema));
      const second = apply(first, manifest({ ports: [{ port: 5000, targetPort: 8080 }], type: 'NodePort' }), applyCtx(schema, { now: t1 }));
      assert.deepEqual((second['spec'] as { ports: unknown[] }).ports, [{ port: 5000, targetPort: 8080 }]);
      assert.equal(entry(second, 'kubectl')?.time, '2024-05-01T11:00:00Z');
    });

    test('a field the applier no longer applies is removed when nobody else owns it', () => {
      const first = apply(undefined, manifest({ ports: [port5000, { port: 6000, targetPort: 6000 }], type: 'NodePort' }), applyCtx(schema));
      const second = apply(first, manifest({ ports: [port5000] }), applyCtx(schema, { now: t1 }));
      assert.deepEqual(second['spec'], { ports: [port5000] });
      assert.equal(fields(second, 'kubectl'), '{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:ports":{"k:{\\"port\\":5000,\\"protocol\\":\\"TCP\\"}":{".":{},"f:port":{},"f:targetPort":{}}}}}');
    });

    test('a field another applier also owns stays when one applier drops it', () => {
      const both = { ports: [port5000], type: 'NodePort' };
      const a = apply(undefined, manifest(both), applyCtx(schema, { manager: 'a' }));
      const b = apply(a, manifest(both), applyCtx(schema, { manager: 'b' }));
      const dropped = apply(b, manifest({ ports: [port5000] }), applyCtx(schema, { manager: 'a', now: t1 }));
      assert.equal((dropped['spec'] as { type: string }).type, 'NodePort');
      assert.ok(fields(dropped, 'b').includes('"f:type"'));
      assert.ok(!fields(dropped, 'a').includes('"f:type"'));
    });

    test('two appliers may set the same value without a conflict', () => {
      const a = apply(undefined, manifest({ type: 'NodePort' }), applyCtx(schema, { manager: 'a' }));
      const b = apply(a, manifest({ type: 'NodePort' }), applyCtx(schema, { manager: 'b' }));
      assert.ok(fields(b, 'a').includes('"f:type"') && fields(b, 'b').includes('"f:type"'));
    });

    test('changing a value another applier owns is a conflict naming it without a version', () => {
      const a = apply(undefined, manifest({ type: 'NodePort' }), applyCtx(schema, { manager: 'a' }));
      const err = applyError(a, manifest({ type: 'ClusterIP' }), applyCtx(schema, { manager: 'b' }));
      assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "a": .spec.type');
    });

    test('changing a value an Update manager owns is a 409 in kube-apiserver\'s words', () => {
      const live = createdClientSide(schema);
      const err = applyError(live, manifest({ ports: [{ port: 5000, targetPort: 5001 }] }), applyCtx(schema, { manager: 'my-apply' }));
      assert.equal(err.code, 409);
      assert.equal(err.reason, 'Conflict');
      assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.ports[port=5000,protocol="TCP"].targetPort');
      assert.deepEqual(err.details, {
        causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using v1', field: '.spec.ports[port=5000,protocol="TCP"].targetPort' }],
      });
    });

    test('several conflicts are listed by manager', () => {
      const live = createdClientSide(schema);
      const err = applyError(live, manifest({ ports: [{ port: 5000, targetPort: 5001 }], type: 'ClusterIP' }), applyCtx(schema, { manager: 'my-apply' }));
      assert.equal(
        err.message,
        'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using v1:\n- .spec.type\n- .spec.ports[port=5000,protocol="TCP"].targetPort',
      );
    });

    test('force takes the conflicting fields over', () => {
      const live = createdClientSide(schema);
      const forced = apply(live, manifest({ ports: [{ port: 5000, targetPort: 5001 }] }), applyCtx(schema, { manager: 'my-apply', force: true, now: t1 }));
      assert.equal((forced['spec'] as { ports: Array<{ targetPort: number }> }).ports[0]?.targetPort, 5001);
      assert.ok(fields(forced, 'my-apply').includes('"f:targetPort"'));
      assert.ok(!fields(forced, 'kubectl-client-side-apply', 'Update').includes('"f:targetPort"'));
      // What the Update manager still owns stays with it.
      assert.ok(fields(forced, 'kubectl-client-side-apply', 'Update').includes('"f:selector"'));
    });

    test('an existing object without managedFields is owned by "before-first-apply" on the first apply', () => {
      const live = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'foo', namespace: 'default', uid: 'u1' }, spec: { type: 'NodePort' } } as AnyObject;
      const err = applyError(live, manifest({ type: 'ClusterIP' }), applyCtx(schema, { manager: 'ctrl' }));
      assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .spec.type');
      const ok = apply(live, manifest({ type: 'NodePort' }), applyCtx(schema, { manager: 'ctrl' }));
      assert.deepEqual(
        entries(ok).map((e) => [e.manager, e.operation]),
        [
          ['ctrl', 'Apply'],
          ['before-first-apply', 'Update'],
        ],
      );
    });

    test('kubectl migrates client-side apply ownership with a JSON patch, then applies without conflicts', () => {
      const live = createdClientSide(schema);
      const csa = entry(live, 'kubectl-client-side-apply', 'Update');
      assert.ok(csa);
      // What client-go's csaupgrade sends: the client-side-apply entry renamed to kubectl's Apply entry.
      const migration = JSON.stringify([
        { op: 'replace', path: '/metadata/managedFields', value: [{ ...csa, manager: 'kubectl', operation: 'Apply' }] },
        { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
      ]);
      const migrated = patchObject('json', live, migration, applyCtx(schema, { now: t1 })).object;
      assert.deepEqual(
        entries(migrated).map((e) => [e.manager, e.operation]),
        [['kubectl', 'Apply']],
      );
      const applied = apply(migrated, manifest({ ports: [{ port: 5000, targetPort: 5001 }], selector: { app: 'foo' }, type: 'NodePort' }), applyCtx(schema, { now: t2 }));
      assert.equal((applied['spec'] as { ports: Array<{ targetPort: number }> }).ports[0]?.targetPort, 5001);
      assert.deepEqual(
        entries(applied).map((e) => [e.manager, e.operation, e.time]),
        [['kubectl', 'Apply', '2024-05-01T12:00:00Z']],
      );
    });

    test("kubectl's first server-side apply takes over what the last-applied annotation still describes", () => {
      const last = '{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"labels":{"app":"foo"},"name":"foo","namespace":"default"},"spec":{"ports":[{"port":5000,"targetPort":5000}],"selector":{"app":"foo"},"type":"NodePort"}}\n';
      const live = createdClientSide(schema, last);
      const body = manifest({ ports: [{ port: 5000, targetPort: 5001 }], selector: { app: 'foo' }, type: 'NodePort' });
      const applied = apply(live, body, applyCtx(schema, { now: t1 }));
      assert.equal((applied['spec'] as { ports: Array<{ targetPort: number }> }).ports[0]?.targetPort, 5001);
      // The annotation now records the server-side applied configuration, as Go encodes it.
      assert.equal(
        applied.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'],
        '{"apiVersion":"v1","kind":"Service","metadata":{"labels":{"app":"foo"},"name":"foo"},"spec":{"ports":[{"port":5000,"targetPort":5001}],"selector":{"app":"foo"},"type":"NodePort"}}\n',
      );
      // Another field manager gets no such pass.
      assert.equal(applyError(live, body, applyCtx(schema, { manager: 'other' })).code, 409);
    });

    test('a field changed since the last client-side apply still conflicts for kubectl', () => {
      const last = '{"apiVersion":"v1","kind":"Service","metadata":{"name":"foo"},"spec":{"type":"ClusterIP"}}';
      const live = createdClientSide(schema, last);
      const err = applyError(live, manifest({ type: 'LoadBalancer' }), applyCtx(schema));
      assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.type');
    });

    test('the defaulter runs on the merged object, and defaults are not owned', () => {
      const created = patchObject('apply', undefined, manifest({ ports: [{ port: 5000 }] }), {
        ...applyCtx(schema),
        defaulter: (o) => ({ ...o, spec: { ...(o['spec'] as object), sessionAffinity: 'None' } }),
      }).object;
      assert.equal((created['spec'] as { sessionAffinity: string }).sessionAffinity, 'None');
      assert.ok(!fields(created, 'kubectl').includes('sessionAffinity'));
    });
  });
}

describe('server-side apply requests that fail', () => {
  const c = applyCtx(service);
  const cases: Array<{ name: string; body: string; code: number; reason: string; message: string | RegExp; live?: AnyObject }> = [
    { name: 'another kind', body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"foo"}}', code: 400, reason: 'BadRequest', message: 'invalid object type: /v1, Kind=ConfigMap' },
    { name: 'another group', body: '{"apiVersion":"apps/v1","kind":"Service","metadata":{"name":"foo"}}', code: 400, reason: 'BadRequest', message: 'invalid object type: apps/v1, Kind=Service' },
    { name: 'no apiVersion or kind', body: '{"metadata":{"name":"foo"}}', code: 400, reason: 'BadRequest', message: 'invalid object type: /, Kind=' },
    {
      name: 'managedFields in the configuration',
      body: '{"apiVersion":"v1","kind":"Service","metadata":{"name":"foo","managedFields":[]}}',
      code: 400,
      reason: 'BadRequest',
      message: 'metadata.managedFields must be nil',
    },
    {
      name: 'a field the schema does not declare',
      body: '{"apiVersion":"v1","kind":"Service","metadata":{"name":"foo","namespace":"default"},"spec":{"topologyKeys":["a"]}}',
      code: 500,
      reason: '',
      message: 'failed to create typed patch object (default/foo; /v1, Kind=Service): .spec.topologyKeys: field not declared in schema',
    },
    {
      name: 'a port without its key',
      body: '{"apiVersion":"v1","kind":"Service","metadata":{"name":"foo"},"spec":{"ports":[{"name":"x"}]}}',
      code: 500,
      reason: '',
      message: 'failed to create typed patch object (/foo; /v1, Kind=Service): .spec.ports: element 0: associative list with keys has an element that omits key field "port" (and doesn\'t have default value)',
    },
    {
      name: 'two errors',
      body: '{"apiVersion":"v1","kind":"Service","metadata":{"name":"foo"},"spec":{"a":1,"b":2}}',
      code: 500,
      reason: '',
      message: 'failed to create typed patch object (/foo; /v1, Kind=Service): errors:\n  .spec.a: field not declared in schema\n  .spec.b: field not declared in schema',
    },
    { name: 'a YAML list', body: '- a\n- b\n', code: 400, reason: 'BadRequest', message: /^error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map\[string\]interface \{\}$/ },
    { name: 'broken YAML', body: 'apiVersion: v1\nkind: [Service\n', code: 400, reason: 'BadRequest', message: /^error decoding YAML: / },
    { name: 'a rename', body: manifest({}, { name: 'bar' }), code: 400, reason: 'BadRequest', message: 'the name of the object (bar) does not match the name on the URL (foo)' },
    {
      name: 'a uid for an object that does not exist',
      body: manifest({}, { uid: 'abc' }),
      code: 409,
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on services "foo": uid mismatch: the provided object specified uid abc, and no existing object was found',
    },
  ];
  for (const k of cases) {
    test(`${k.name} answers ${k.code}`, () => {
      const err = applyError(k.live, k.body, c);
      assert.equal(err.code, k.code);
      assert.equal(err.reason, k.reason);
      if (typeof k.message === 'string') assert.equal(err.message, k.message);
      else assert.match(err.message, k.message);
    });
  }

  test('a YAML manifest applies like its JSON', () => {
    const yaml = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: foo\n  labels:\n    app: foo\nspec:\n  ports:\n  - port: 5000\n    targetPort: 5000\n  selector:\n    app: foo\n  type: NodePort\n';
    const fromYaml = apply(undefined, yaml, c);
    const fromJson = apply(undefined, manifest({ ports: [port5000], selector: { app: 'foo' }, type: 'NodePort' }), c);
    assert.deepEqual(fromYaml, fromJson);
  });

  test('system fields of a configuration do not survive a create', () => {
    const created = apply(undefined, manifest({}, { creationTimestamp: '2020-01-01T00:00:00Z', resourceVersion: '5' }), c);
    assert.equal(created.metadata?.creationTimestamp, undefined);
  });
});

describe('server-side apply of a Deployment', () => {
  const schema = schemaFor({ group: 'apps', version: 'v1', kind: 'Deployment' });
  const target = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: 'default', name: 'web' };
  const c = (over: Partial<PatchContext> = {}): PatchContext => ({ target, schema, manager: 'kubectl', now: t0, ...over });
  const deploy = (container: Record<string, unknown>): string =>
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } } },
    });

  test('containers are owned by name and their ports by containerPort and protocol', () => {
    const created = apply(undefined, deploy({ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }), c());
    assert.equal(
      fields(created, 'kubectl'),
      '{"f:spec":{"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\\"name\\":\\"web\\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}',
    );
  });

  test('an env var added by another manager survives the applier\'s next apply', () => {
    const created = apply(undefined, deploy({ name: 'web', image: 'nginx' }), c());
    const edited = patchObject(
      'strategic',
      created,
      JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'A', value: '1' }] }] } } } }),
      c({ manager: 'kubectl-edit', now: t1 }),
    ).object;
    const again = apply(edited, deploy({ name: 'web', image: 'nginx:2' }), c({ now: t2 }));
    const container = ((((again['spec'] as Record<string, unknown>)['template'] as Record<string, unknown>)['spec'] as Record<string, unknown>)['containers'] as Array<Record<string, unknown>>)[0];
    assert.deepEqual(container, { name: 'web', image: 'nginx:2', env: [{ name: 'A', value: '1' }] });
  });

  test('a container the applier drops goes with everything in it', () => {
    const two = JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }, { name: 'sidecar', image: 'busybox' }] } },
      },
    });
    const created = apply(undefined, two, c());
    const after = apply(created, deploy({ name: 'web', image: 'nginx' }), c({ now: t1 }));
    const containers = (((after['spec'] as Record<string, unknown>)['template'] as Record<string, unknown>)['spec'] as Record<string, unknown>)['containers'];
    assert.deepEqual(containers, [{ name: 'web', image: 'nginx' }]);
  });
});

describe('server-side apply bodies', () => {
  test('a YAML alias bomb is refused with 400, not expanded', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    const err = applyError(undefined, `apiVersion: v1\nkind: Service\n${bomb}\n`, applyCtx(service));
    assert.equal(err.code, 400);
    assert.match(err.message, /^error decoding YAML: /);
  });
});

describe('server-side apply over stored objects that do not fit the schema', () => {
  test('a stored list item without its key is kept, not dropped', () => {
    const live = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'foo', namespace: 'default', uid: 'u1' },
      spec: { ports: [{ name: 'keyless' }, { port: 5000, targetPort: 5000 }] },
    } as AnyObject;
    const applied = apply(live, manifest({ type: 'NodePort' }), applyCtx(service, { manager: 'ctrl' }));
    assert.deepEqual((applied['spec'] as { ports: unknown[] }).ports, [{ name: 'keyless' }, { port: 5000, targetPort: 5000 }]);
  });
});
