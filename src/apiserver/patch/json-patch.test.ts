import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isApiError, type AnyObject } from '../../api/index.ts';
import { schemaFor } from '../../api/schema/index.ts';
import { patchObject, type PatchContext, type PatchType } from './index.ts';
import { service } from './testdata/schemas.ts';

const target = { group: '', version: 'v1', kind: 'Service', resource: 'services', namespace: 'default', name: 'foo' };
const now = new Date('2024-05-01T10:00:00Z');
const ctx = (over: Partial<PatchContext> = {}): PatchContext => ({ target, schema: service, manager: 'kubectl-patch', now, ...over });

function live(): AnyObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'foo', namespace: 'default', labels: { app: 'foo' } },
    spec: { ports: [{ name: 'http', port: 5000, protocol: 'TCP', targetPort: 5000 }], selector: { app: 'foo' }, externalIPs: ['192.0.2.1'], type: 'ClusterIP' },
  };
}

function patched(type: PatchType, body: unknown, c: PatchContext = ctx()): AnyObject {
  const { object } = patchObject(type, live(), typeof body === 'string' ? body : JSON.stringify(body), c);
  const meta = { ...(object.metadata ?? {}) };
  delete meta.managedFields;
  return { ...object, metadata: meta };
}

function failure(type: PatchType, body: unknown, c: PatchContext = ctx(), obj: AnyObject | null = live()): { code: number; reason: string; message: string; details: unknown } {
  try {
    patchObject(type, obj ?? undefined, typeof body === 'string' ? body : JSON.stringify(body), c);
  } catch (e) {
    if (!isApiError(e)) throw e;
    return { code: e.code, reason: e.reason, message: e.message, details: e.status.details };
  }
  assert.fail('expected the patch to fail');
}

describe('JSON patch', () => {
  const cases: Array<{ name: string; ops: unknown; check: (o: AnyObject) => void }> = [
    {
      name: 'adds a label (kubectl patch --type=json)',
      ops: [{ op: 'add', path: '/metadata/labels/env', value: 'prod' }],
      check: (o) => assert.deepEqual(o.metadata?.labels, { app: 'foo', env: 'prod' }),
    },
    {
      name: 'replaces a port number',
      ops: [{ op: 'replace', path: '/spec/ports/0/port', value: 8080 }],
      check: (o) => assert.equal((o['spec'] as { ports: Array<{ port: number }> }).ports[0]?.port, 8080),
    },
    {
      name: 'appends a port with /-',
      ops: [{ op: 'add', path: '/spec/ports/-', value: { name: 'extra', port: 6000 } }],
      check: (o) => assert.deepEqual((o['spec'] as { ports: unknown[] }).ports[1], { name: 'extra', port: 6000 }),
    },
    { name: 'removes a field', ops: [{ op: 'remove', path: '/spec/externalIPs' }], check: (o) => assert.equal((o['spec'] as Record<string, unknown>)['externalIPs'], undefined) },
    {
      name: 'applies a passing test, then the rest',
      ops: [
        { op: 'test', path: '/spec/type', value: 'ClusterIP' },
        { op: 'replace', path: '/spec/type', value: 'NodePort' },
      ],
      check: (o) => assert.equal((o['spec'] as Record<string, unknown>)['type'], 'NodePort'),
    },
    {
      name: 'copies and moves',
      ops: [
        { op: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copy' },
        { op: 'move', from: '/metadata/labels/app', path: '/metadata/labels/moved' },
      ],
      check: (o) => assert.deepEqual(o.metadata?.labels, { copy: 'foo', moved: 'foo' }),
    },
    { name: 'takes an empty list as no change', ops: [], check: (o) => assert.deepEqual(o['spec'], live()['spec']) },
    { name: 'takes null as no change', ops: 'null', check: (o) => assert.deepEqual(o['spec'], live()['spec']) },
    {
      name: 'restores a removed kind from the type',
      ops: [{ op: 'remove', path: '/kind' }],
      check: (o) => assert.equal(o.kind, 'Service'),
    },
    {
      name: 'restores a removed namespace from the request',
      ops: [{ op: 'remove', path: '/metadata/namespace' }],
      check: (o) => assert.equal(o.metadata?.namespace, 'default'),
    },
  ];
  for (const c of cases) test(c.name, () => c.check(patched('json', c.ops)));

  test('does not modify the live object', () => {
    const l = live();
    patchObject('json', l, JSON.stringify([{ op: 'replace', path: '/spec/type', value: 'NodePort' }]), ctx());
    assert.deepEqual(l, live());
  });

  const generic422 = { code: 422, reason: 'Invalid', message: 'the server rejected our request due to an error in our request', details: {} };
  const errors: Array<{ name: string; body: unknown; want: Partial<ReturnType<typeof failure>> }> = [
    { name: 'a failed test operation', body: [{ op: 'test', path: '/spec/type', value: 'NodePort' }], want: generic422 },
    { name: 'removing a path that does not exist', body: [{ op: 'remove', path: '/spec/nope' }], want: generic422 },
    { name: 'replacing a path that does not exist', body: [{ op: 'replace', path: '/metadata/annotations/a', value: 'b' }], want: generic422 },
    { name: 'adding below a missing parent', body: [{ op: 'add', path: '/metadata/annotations/a', value: 'b' }], want: generic422 },
    { name: 'an unknown operation', body: [{ op: 'frobnicate', path: '/spec' }], want: generic422 },
    { name: 'an operation without a path', body: [{ op: 'add', value: 1 }], want: generic422 },
    { name: 'a body that is not JSON', body: 'nope', want: { code: 400, reason: 'BadRequest', message: "error decoding patch: invalid character 'o' in literal null (expecting 'u')" } },
    { name: 'a truncated body', body: '[{"op":', want: { code: 400, reason: 'BadRequest', message: 'error decoding patch: unexpected end of JSON input' } },
    {
      name: 'an object instead of a list',
      body: { op: 'add', path: '/a', value: 1 },
      want: { code: 400, reason: 'BadRequest', message: 'error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp' },
    },
    {
      name: 'a list of strings',
      body: ['add'],
      want: { code: 400, reason: 'BadRequest', message: 'error decoding patch: json: cannot unmarshal string into Go value of type handlers.jsonPatchOp' },
    },
    {
      name: 'an op that is not a string',
      body: [{ op: 1, path: '/a' }],
      want: { code: 400, reason: 'BadRequest', message: 'error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string' },
    },
    {
      name: 'more than 10000 operations',
      body: Array.from({ length: 10001 }, () => ({ op: 'test', path: '/kind', value: 'Service' })),
      want: { code: 413, reason: 'RequestEntityTooLarge', message: 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001' },
    },
    {
      name: 'a rename',
      body: [{ op: 'replace', path: '/metadata/name', value: 'bar' }],
      want: { code: 400, reason: 'BadRequest', message: 'the name of the object (bar) does not match the name on the URL (foo)' },
    },
    {
      name: 'a move to another namespace',
      body: [{ op: 'replace', path: '/metadata/namespace', value: 'other' }],
      want: { code: 400, reason: 'BadRequest', message: 'the namespace of the provided object does not match the namespace sent on the request' },
    },
  ];
  for (const c of errors) {
    test(`answers ${c.want.code} for ${c.name}`, () => {
      const got = failure('json', c.body);
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k as keyof typeof got], v, k);
    });
  }

  test('answers 422 Invalid naming the patched object when the object becomes a number', () => {
    const got = failure('json', [{ op: 'replace', path: '', value: 5 }]);
    assert.equal(got.code, 422);
    assert.equal(
      got.message,
      ' "" is invalid: patch: Invalid value: "5": couldn\'t get version/kind; json parse error: json: cannot unmarshal number into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }',
    );
  });

  test('answers 422 Invalid when the kind changes', () => {
    const got = failure('json', [{ op: 'replace', path: '/kind', value: 'Pod2' }]);
    assert.equal(got.code, 422);
    assert.match(got.message, /^ "" is invalid: patch: Invalid value: "\{\\"apiVersion\\":\\"v1\\",\\"kind\\":\\"Pod2\\",.*\}": no kind "Pod2" is registered for version "v1" in scheme /);
  });

  test('answers 422 Invalid with Go\'s decode error for a value of the wrong type', () => {
    const got = failure('json', [{ op: 'replace', path: '/spec/ports/0/port', value: 'abc' }], ctx({ schema: schemaFor({ group: '', version: 'v1', kind: 'Service' }) }));
    assert.equal(got.code, 422);
    assert.match(got.message, /: json: cannot unmarshal string into Go struct field ServicePort\.spec\.ports\.port of type int32$/);
  });

  test('answers 404 when there is no object to patch', () => {
    const got = failure('json', [], ctx(), null);
    assert.deepEqual([got.code, got.message], [404, 'services "foo" not found']);
  });

  test('reports unknown fields as warnings and drops them (fieldValidation=Warn, the default)', () => {
    const { object, warnings } = patchObject('json', live(), JSON.stringify([{ op: 'add', path: '/spec/bogus', value: 1 }]), ctx());
    assert.deepEqual(warnings, ['unknown field "spec.bogus"']);
    assert.equal((object['spec'] as Record<string, unknown>)['bogus'], undefined);
  });

  test('refuses unknown fields under fieldValidation=Strict', () => {
    const got = failure('json', [{ op: 'add', path: '/spec/bogus', value: 1 }], ctx({ fieldValidation: 'Strict' }));
    assert.equal(got.code, 422);
    assert.match(got.message, /: strict decoding error: unknown field "spec.bogus"$/);
  });

  test('ignores unknown fields silently under fieldValidation=Ignore', () => {
    const { warnings } = patchObject('json', live(), JSON.stringify([{ op: 'add', path: '/spec/bogus', value: 1 }]), ctx({ fieldValidation: 'Ignore' }));
    assert.deepEqual(warnings, []);
  });
});

describe('merge patch', () => {
  const cases: Array<{ name: string; patch: unknown; check: (o: AnyObject) => void }> = [
    { name: 'adds a label (kubectl label)', patch: { metadata: { labels: { a: 'b' } } }, check: (o) => assert.deepEqual(o.metadata?.labels, { app: 'foo', a: 'b' }) },
    { name: 'deletes a label with null', patch: { metadata: { labels: { app: null } } }, check: (o) => assert.deepEqual(o.metadata?.labels, {}) },
    {
      name: 'replaces lists whole',
      patch: { spec: { ports: [{ name: 'x', port: 7000 }] } },
      check: (o) => assert.deepEqual((o['spec'] as Record<string, unknown>)['ports'], [{ name: 'x', port: 7000 }]),
    },
    {
      name: 'drops nulls inside a new object',
      patch: { metadata: { annotations: { a: 'x', b: null } } },
      check: (o) => assert.deepEqual(o.metadata?.annotations, { a: 'x' }),
    },
    {
      name: 'replaces a scalar with an object',
      patch: { spec: { type: { nested: 'x', gone: null } } },
      check: (o) => assert.deepEqual((o['spec'] as Record<string, unknown>)['type'], { nested: 'x' }),
    },
    { name: 'takes an empty object as no change', patch: {}, check: (o) => assert.deepEqual(o['spec'], live()['spec']) },
  ];
  for (const c of cases) test(c.name, () => c.check(patched('merge', c.patch, ctx({ schema: undefined }))));

  test('scales a Deployment (kubectl scale sends {"spec":{"replicas":3}})', () => {
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1 } } as AnyObject;
    const { object } = patchObject('merge', d, '{"spec":{"replicas":3}}', {
      target: { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: 'default', name: 'web' },
      schema: schemaFor({ group: 'apps', version: 'v1', kind: 'Deployment' }),
      manager: 'kubectl',
      now,
    });
    assert.deepEqual(object['spec'], { replicas: 3 });
  });

  const errors: Array<{ name: string; body: string; code: number; message: string }> = [
    { name: 'a body that is not JSON', body: '{"metadata":', code: 400, message: 'error decoding patch: unexpected end of JSON input' },
    { name: 'a list body', body: '[]', code: 400, message: 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}' },
    { name: 'a number body', body: '5', code: 400, message: 'error decoding patch: json: cannot unmarshal number into Go value of type map[string]interface {}' },
    { name: 'a null body', body: 'null', code: 400, message: 'Invalid JSON Patch' },
    { name: 'a trailing comma', body: '{"a":1,}', code: 400, message: "error decoding patch: invalid character '}' looking for beginning of object key string" },
  ];
  for (const c of errors) {
    test(`answers ${c.code} for ${c.name}`, () => {
      const got = failure('merge', c.body);
      assert.deepEqual([got.code, got.message], [c.code, c.message]);
    });
  }
});

describe('patches of stored objects without apiVersion and kind', () => {
  test('take the type from the request', () => {
    const bare = { metadata: { name: 'foo', namespace: 'default' }, spec: { type: 'ClusterIP' } } as AnyObject;
    const { object } = patchObject('merge', bare, '{"spec":{"type":"NodePort"}}', ctx());
    assert.deepEqual([object.apiVersion, object.kind], ['v1', 'Service']);
  });
});
