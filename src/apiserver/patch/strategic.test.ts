import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isApiError, type AnyObject } from '../../api/index.ts';
import { schemaFor } from '../../api/schema/index.ts';
import type { Json, JsonObject } from './go.ts';
import { patchObject, type PatchContext } from './index.ts';
import { SmpError, goSortStable, strategicMergePatch } from './strategic.ts';
import { deployment, mergeItem, service } from './testdata/schemas.ts';

// Cases from apimachinery's strategicpatch tests (MergeItem): original + patch → result.
const items = (...names: Array<string | JsonObject>): Json[] => names.map((n) => (typeof n === 'string' ? { name: n } : n));

const mergeItemCases: Array<{ name: string; original: JsonObject; patch: JsonObject; result: JsonObject }> = [
  { name: 'merging int lists keep each value once', original: { mergingIntList: [1, 2] }, patch: { mergingIntList: [2, 3] }, result: { mergingIntList: [1, 2, 3] } },
  {
    name: '$patch: delete in a map empties the map',
    original: { simpleMap: { key1: '1', key2: '1' } },
    patch: { simpleMap: { $patch: 'delete' } },
    result: { simpleMap: {} },
  },
  { name: '$patch: replace alone in a list empties it', original: { mergingList: items('1', '2') }, patch: { mergingList: [{ $patch: 'replace' }] }, result: { mergingList: [] } },
  { name: 'empty merging lists merge to an empty list', original: { mergingList: [] }, patch: { mergingList: [] }, result: { mergingList: [] } },
  { name: '$patch: replace at the top replaces the whole map', original: { name: '1', value: '1' }, patch: { $patch: 'replace' }, result: {} },
  { name: '$patch: replace keeps the keys the patch sets', original: { name: '1', value: '1' }, patch: { other: 'a', $patch: 'replace' }, result: { other: 'a' } },
  {
    name: '$patch: delete removes every item with the merge key',
    original: { mergingList: items('1', '1', { name: '2', value: 'a' }, '3', '3') },
    patch: { mergingList: [{ name: '1', $patch: 'delete' }, { name: '3', $patch: 'delete' }] },
    result: { mergingList: items({ name: '2', value: 'a' }) },
  },
  { name: 'a null deletes a key of a nested map', original: { simpleMap: { key1: '1', key2: '1', other: 'a' } }, patch: { simpleMap: { key2: null } }, result: { simpleMap: { key1: '1', other: 'a' } } },
  { name: 'a null for a key nobody set changes nothing', original: { name: 'a' }, patch: { value: null }, result: { name: 'a' } },
  { name: 'non-merging lists are replaced', original: { nonMergingIntList: [1, 2] }, patch: { nonMergingIntList: [2, 3] }, result: { nonMergingIntList: [2, 3] } },
  {
    name: 'items are merged by merge key, in the patch order',
    original: { mergingList: items('1', { name: '2', value: 'b' }, '3') },
    patch: { mergingList: items({ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', other: 'x' }) },
    result: { mergingList: items({ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', value: 'b', other: 'x' }) },
  },
  {
    name: 'items only the server has keep their place among the patched ones',
    original: { mergingList: items('1', { name: '2', value: 'b' }, '3') },
    patch: { mergingList: items({ name: '3', value: 'c' }, { name: '1', value: 'a' }) },
    result: { mergingList: items({ name: '2', value: 'b' }, { name: '3', value: 'c' }, { name: '1', value: 'a' }) },
  },
  { name: 'a merging int list takes the patch order', original: { mergingIntList: [1, 2, 3] }, patch: { mergingIntList: [3, 1, 2] }, result: { mergingIntList: [3, 1, 2] } },
  { name: 'server-only ints stay ahead of the patch ints', original: { mergingIntList: [1, 2, 3] }, patch: { mergingIntList: [3, 1] }, result: { mergingIntList: [2, 3, 1] } },
  {
    name: '$setElementOrder may name items the list does not have',
    original: { mergingList: items('1', '3') },
    patch: { '$setElementOrder/mergingList': items('3', '2', '1'), mergingList: items({ name: '3', value: '3' }, { name: '1', value: '1' }) },
    result: { mergingList: items({ name: '3', value: '3' }, { name: '1', value: '1' }) },
  },
  { name: '$setElementOrder alone reorders an int list', original: { mergingIntList: [1, 3] }, patch: { '$setElementOrder/mergingIntList': [3, 2, 1] }, result: { mergingIntList: [3, 1] } },
  {
    name: '$deleteFromPrimitiveList removes values and $setElementOrder orders the rest',
    original: { mergingIntList: [1, 2, 3, 4] },
    patch: { '$setElementOrder/mergingIntList': [1, 2], '$deleteFromPrimitiveList/mergingIntList': [3] },
    result: { mergingIntList: [1, 2, 4] },
  },
  {
    name: '$deleteFromPrimitiveList removes every copy of a value',
    original: { mergingIntList: [1, 2, 3, 3, 4] },
    patch: { '$setElementOrder/mergingIntList': [1, 2], '$deleteFromPrimitiveList/mergingIntList': [3] },
    result: { mergingIntList: [1, 2, 4] },
  },
  {
    name: 'new items go where $setElementOrder puts them',
    original: { mergingList: items({ name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }) },
    patch: { '$setElementOrder/mergingList': items('4', '1', '2', '3'), mergingList: items({ name: '4', value: '4' }, { name: '3', value: '3' }) },
    result: { mergingList: items({ name: '4', value: '4' }, { name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }, { name: '3', value: '3' }) },
  },
  {
    name: 'a patched item keeps the fields only the server set',
    original: { mergingList: items({ name: '1', other: 'a' }, { name: '2', value: '3', other: 'b' }) },
    patch: { '$setElementOrder/mergingList': items('1', '2', '3'), mergingList: items({ name: '2', value: '2' }, { name: '3', value: '3' }) },
    result: { mergingList: items({ name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }, { name: '3', value: '3' }) },
  },
  { name: 'retainKeys fields merge when no $retainKeys is sent', original: { retainKeysMap: { name: 'foo' } }, patch: { retainKeysMap: { value: 'bar' } }, result: { retainKeysMap: { name: 'foo', value: 'bar' } } },
  {
    name: '$retainKeys clears the fields it does not list',
    original: { retainKeysMap: { name: 'foo', value: 'a', other: 'b' } },
    patch: { retainKeysMap: { $retainKeys: ['name', 'value'], value: 'c' } },
    result: { retainKeysMap: { name: 'foo', value: 'c' } },
  },
  {
    name: '$retainKeys works inside list items',
    original: { retainKeysMergingList: items('bar', { name: 'foo', value: 'a', other: 'b' }) },
    patch: { retainKeysMergingList: [{ name: 'foo', $retainKeys: ['name', 'other'] }] },
    result: { retainKeysMergingList: items('bar', { name: 'foo', other: 'b' }) },
  },
  { name: 'a replace-strategy field is replaced whole', original: { replacingItem: { a: 1, b: 2 } }, patch: { replacingItem: { c: 3 } }, result: { replacingItem: { c: 3 } } },
  {
    name: 'a list the original lacks is merged into nothing, so directives are not stored',
    original: {},
    patch: { mergingList: [{ name: '1' }, { name: '2', $patch: 'delete' }], simpleMap: { a: 'x', b: null } },
    result: { mergingList: [{ name: '1' }], simpleMap: { a: 'x' } },
  },
  { name: 'deleting from a list the original lacks changes nothing', original: {}, patch: { '$deleteFromPrimitiveList/mergingIntList': [1] }, result: {} },
];

describe('strategic merge patch (strategicpatch test cases)', () => {
  for (const c of mergeItemCases) {
    test(c.name, () => {
      assert.deepEqual(strategicMergePatch(c.original, c.patch, mergeItem), c.result);
    });
  }

  test('the original is not modified', () => {
    const original = { mergingList: items('1') };
    strategicMergePatch(original, { mergingList: items({ name: '1', value: 'x' }) }, mergeItem);
    assert.deepEqual(original, { mergingList: items('1') });
  });
});

const smpErrors: Array<{ name: string; original: JsonObject; patch: JsonObject; kind: SmpError['kind']; message: string | RegExp }> = [
  {
    name: 'a patch list out of $setElementOrder order',
    original: { mergingList: items('1', '3', '2') },
    patch: { '$setElementOrder/mergingList': items('1', '2', '3'), mergingList: items({ name: '3', value: '3' }, { name: '1', value: '1' }) },
    kind: 'Internal',
    message: /^The order in patch list:\n\[map\[name:3 value:3\] map\[name:1 value:1\]\]\n doesn't match \$setElementOrder list:\n/,
  },
  {
    name: 'an item without its merge key',
    original: { mergingList: items({ name: '1', value: 'a' }) },
    patch: { mergingList: [{ value: 'b' }] },
    kind: 'Internal',
    message: 'map: map[value:b] does not contain declared merge key: name',
  },
  { name: '$patch: merge in a list', original: { mergingList: items('1') }, patch: { mergingList: [{ name: '1', $patch: 'merge' }] }, kind: 'Internal', message: 'merging lists cannot yet be specified in the patch' },
  { name: 'an unknown $patch in a map', original: { simpleMap: {} }, patch: { simpleMap: { $patch: 'merge', a: 'b' } }, kind: 'Internal', message: 'unknown patch type: merge in map: map[$patch:merge a:b]' },
  { name: 'a $retainKeys that is not a list', original: { retainKeysMap: {} }, patch: { retainKeysMap: { $retainKeys: 'name' } }, kind: 'BadRequest', message: 'invalid patch format of retainKeys' },
  {
    name: 'a field set but missing from $retainKeys',
    original: { retainKeysMap: { name: 'a' } },
    patch: { retainKeysMap: { $retainKeys: ['name'], value: 'b' } },
    kind: 'BadRequest',
    message: 'invalid patch format of retainKeys',
  },
  { name: 'a deletion list without a field name', original: { mergingIntList: [1] }, patch: { $deleteFromPrimitiveList: [1] }, kind: 'BadRequest', message: 'invalid patch format of primitive list' },
  { name: 'a deletion list that is not a list', original: { mergingIntList: [1] }, patch: { '$deleteFromPrimitiveList/mergingIntList': 1 }, kind: 'BadRequest', message: 'invalid patch format of primitive list' },
  { name: 'a $setElementOrder without a field name', original: { mergingIntList: [1] }, patch: { '$setElementOrderx/mergingIntList': [1] }, kind: 'BadRequest', message: 'invalid patch format of setElementOrder list' },
  { name: 'a list of lists', original: { mergingIntList: [[1]] }, patch: { mergingIntList: [[2]] }, kind: 'Unprocessable', message: 'lists of lists are not supported' },
  {
    name: 'a merge into a field the struct does not declare',
    original: { extra: { a: '1' } },
    patch: { extra: { b: '2' } },
    kind: 'Internal',
    message: 'unable to find api field in struct MergeItem for the json field "extra"',
  },
];

describe('strategic merge patch errors', () => {
  for (const c of smpErrors) {
    test(`${c.name} is refused`, () => {
      assert.throws(
        () => strategicMergePatch(c.original, c.patch, mergeItem),
        (e: unknown) => {
          assert.ok(e instanceof SmpError, String(e));
          assert.equal(e.kind, c.kind);
          if (typeof c.message === 'string') assert.equal(e.message, c.message);
          else assert.match(e.message, c.message);
          return true;
        },
      );
    });
  }
});

// ---- kubectl's patches against Services and Deployments ----

const svcTarget = { group: '', version: 'v1', kind: 'Service', resource: 'services', namespace: 'default', name: 'foo' };
const deployTarget = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: 'default', name: 'web' };
const now = new Date('2024-05-01T10:00:00Z');

function liveService(spec: JsonObject, metadata: JsonObject = {}): AnyObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'foo', namespace: 'default', ...metadata }, spec };
}

function liveDeployment(podSpec: JsonObject, spec: JsonObject = {}): AnyObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec }, ...spec },
  };
}

function ctx(target: PatchContext['target'], schema: PatchContext['schema']): PatchContext {
  return { target, schema, manager: 'kubectl-patch', now };
}

function smp(live: AnyObject, patch: Json, c: PatchContext): AnyObject {
  const { object } = patchObject('strategic', live, JSON.stringify(patch), c);
  const meta = { ...(object.metadata ?? {}) };
  delete meta.managedFields;
  return { ...object, metadata: meta };
}

const fivek = { name: 'http', port: 5000, protocol: 'TCP', targetPort: 5000 };
const sixk = { name: 'extra', port: 6000, protocol: 'TCP', targetPort: 6000 };

const schemas: Array<[string, { service: PatchContext['schema']; deployment: PatchContext['schema'] }]> = [
  ['hand-built schemas', { service, deployment }],
  [
    'generated schemas (schemaFor)',
    { service: schemaFor({ group: '', version: 'v1', kind: 'Service' }), deployment: schemaFor({ group: 'apps', version: 'v1', kind: 'Deployment' }) },
  ],
];

for (const [label, s] of schemas) {
  describe(`kubectl strategic merge patches with ${label}`, () => {
    const sc = ctx(svcTarget, s.service);
    const dc = ctx(deployTarget, s.deployment);

    test('kubectl apply adds a port with $setElementOrder/ports', () => {
      const out = smp(liveService({ ports: [fivek] }), { spec: { '$setElementOrder/ports': [{ port: 5000 }, { port: 6000 }], ports: [{ name: 'extra', port: 6000 }] } }, sc);
      assert.deepEqual(out.spec, { ports: [fivek, { name: 'extra', port: 6000 }] });
    });

    test('$setElementOrder/ports reorders the ports', () => {
      const out = smp(liveService({ ports: [fivek, sixk] }), { spec: { '$setElementOrder/ports': [{ port: 6000 }, { port: 5000 }] } }, sc);
      assert.deepEqual(out.spec, { ports: [sixk, fivek] });
    });

    test('{"$patch":"delete","port":6000} removes the port', () => {
      const out = smp(liveService({ ports: [fivek, sixk] }), { spec: { '$setElementOrder/ports': [{ port: 5000 }], ports: [{ $patch: 'delete', port: 6000 }] } }, sc);
      assert.deepEqual(out.spec, { ports: [fivek] });
    });

    test('a port is merged by its port number', () => {
      const out = smp(liveService({ ports: [fivek, sixk] }), { spec: { ports: [{ port: 6000, targetPort: 'web' }] } }, sc);
      assert.deepEqual(out.spec, { ports: [fivek, { ...sixk, targetPort: 'web' }] });
    });

    test('labels and annotations merge and a null removes one', () => {
      const live = liveService({ ports: [fivek] }, { labels: { app: 'foo', tier: 'web' }, annotations: { a: '1' } });
      const out = smp(live, { metadata: { labels: { tier: null, env: 'prod' }, annotations: { b: '2' } } }, sc);
      assert.deepEqual(out.metadata, { name: 'foo', namespace: 'default', labels: { app: 'foo', env: 'prod' }, annotations: { a: '1', b: '2' } });
    });

    test('an atomic selector is merged key by key, as strategic merge ignores map types', () => {
      const out = smp(liveService({ selector: { app: 'foo', tier: 'web' } }), { spec: { selector: { tier: null, env: 'x' } } }, sc);
      assert.deepEqual(out.spec, { selector: { app: 'foo', env: 'x' } });
    });

    test('a list without a merge strategy is replaced', () => {
      const out = smp(liveService({ externalIPs: ['192.0.2.1', '192.0.2.2'] }), { spec: { externalIPs: ['192.0.2.3'] } }, sc);
      assert.deepEqual(out.spec, { externalIPs: ['192.0.2.3'] });
    });

    test('finalizers merge as a set and $deleteFromPrimitiveList removes one', () => {
      const live = liveService({}, { finalizers: ['a', 'b'] });
      assert.deepEqual(smp(live, { metadata: { finalizers: ['b', 'c'] } }, sc).metadata?.finalizers, ['a', 'b', 'c']);
      assert.deepEqual(smp(live, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, sc).metadata?.finalizers, ['b']);
    });

    test('ownerReferences merge by uid', () => {
      const ref = (uid: string, name: string): JsonObject => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid });
      const live = liveService({}, { ownerReferences: [ref('u1', 'a')] });
      const out = smp(live, { metadata: { ownerReferences: [{ ...ref('u1', 'a'), controller: true }, ref('u2', 'b')] } }, sc);
      assert.deepEqual(out.metadata?.ownerReferences, [{ ...ref('u1', 'a'), controller: true }, ref('u2', 'b')]);
    });

    test('a container patch (kubernetes.io "kubectl patch" example) merges containers by name, new ones first', () => {
      const live = liveDeployment({ containers: [{ name: 'patch-demo-ctr', image: 'nginx' }], tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }] });
      const out = smp(live, { spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }] } } } }, dc);
      assert.deepEqual((out.spec as JsonObject)['template'], {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'patch-demo-ctr-2', image: 'redis' },
            { name: 'patch-demo-ctr', image: 'nginx' },
          ],
          tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }],
        },
      });
    });

    test('tolerations have no merge strategy, so a patch replaces them (kubernetes.io example)', () => {
      const live = liveDeployment({ containers: [{ name: 'c', image: 'nginx' }], tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }] });
      const out = smp(live, { spec: { template: { spec: { tolerations: [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }] } } } }, dc);
      assert.deepEqual(((out.spec as JsonObject)['template'] as JsonObject)['spec'], {
        containers: [{ name: 'c', image: 'nginx' }],
        tolerations: [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }],
      });
    });

    test('$retainKeys switches a Deployment to Recreate and drops rollingUpdate (kubernetes.io example)', () => {
      const live = liveDeployment({ containers: [{ name: 'c', image: 'nginx' }] }, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } });
      const out = smp(live, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, dc);
      assert.deepEqual((out.spec as JsonObject)['strategy'], { type: 'Recreate' });
    });

    test('env, ports and volumeMounts of a container merge by their keys', () => {
      const live = liveDeployment({
        containers: [
          {
            name: 'c',
            image: 'nginx',
            env: [{ name: 'A', value: '1' }],
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            volumeMounts: [{ name: 'v', mountPath: '/a' }],
          },
        ],
      });
      const out = smp(
        live,
        {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    name: 'c',
                    env: [{ name: 'B', value: '2' }, { name: 'A', value: '3' }],
                    ports: [{ containerPort: 443 }],
                    volumeMounts: [{ name: 'w', mountPath: '/a', readOnly: true }],
                  },
                ],
              },
            },
          },
        },
        dc,
      );
      const c = (((out.spec as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)['containers'] as JsonObject[];
      assert.deepEqual(c[0], {
        name: 'c',
        image: 'nginx',
        env: [{ name: 'B', value: '2' }, { name: 'A', value: '3' }],
        ports: [{ containerPort: 443 }, { containerPort: 80, protocol: 'TCP' }],
        volumeMounts: [{ name: 'w', mountPath: '/a', readOnly: true }],
      });
    });

    test('$patch: replace in the containers list replaces them', () => {
      const live = liveDeployment({ containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] });
      const out = smp(live, { spec: { template: { spec: { containers: [{ name: 'c', image: 'z' }, { $patch: 'replace' }] } } } }, dc);
      assert.deepEqual((((out.spec as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)['containers'], [{ name: 'c', image: 'z' }]);
    });

    test('$patch: delete on the template labels map empties it', () => {
      const live = liveDeployment({ containers: [{ name: 'a', image: 'x' }] });
      const out = smp(live, { spec: { template: { metadata: { labels: { $patch: 'delete' } } } } }, dc);
      assert.deepEqual(((out.spec as JsonObject)['template'] as JsonObject)['metadata'], { labels: {} });
    });
  });
}

describe('strategic merge patch bodies and errors through patchObject', () => {
  const sc = ctx(svcTarget, service);
  const live = liveService({ ports: [fivek] });

  const cases: Array<{ name: string; body: string; code: number; reason: string; message: string }> = [
    { name: 'a body that is not JSON', body: '{"spec":', code: 400, reason: 'BadRequest', message: 'unexpected end of JSON input' },
    { name: 'a body with a bad character', body: "{'spec':{}}", code: 400, reason: 'BadRequest', message: "invalid character '\\'' looking for beginning of object key string" },
    { name: 'a list body', body: '[{"op":"add"}]', code: 400, reason: 'BadRequest', message: 'json: cannot unmarshal array into Go value of type map[string]interface {}' },
    { name: 'a string body', body: '"spec"', code: 400, reason: 'BadRequest', message: 'json: cannot unmarshal string into Go value of type map[string]interface {}' },
    {
      name: 'a port without its merge key',
      body: '{"spec":{"ports":[{"name":"x"}]}}',
      code: 500,
      reason: '',
      message: 'map: map[name:x] does not contain declared merge key: port',
    },
    {
      name: 'a list whose items differ in type from the live ones',
      body: '{"spec":{"ports":[[1]]}}',
      code: 500,
      reason: '',
      message: 'list element types are not identical: [[map[name:http port:5000 protocol:TCP targetPort:5000]] [[1]]]',
    },
    { name: 'a list of lists', body: '{"metadata":{"finalizers":[["a"]]}}', code: 422, reason: 'Invalid', message: 'the server rejected our request due to an error in our request' },
  ];
  for (const c of cases) {
    test(`${c.name} answers ${c.code}`, () => {
      assert.throws(
        () => patchObject('strategic', live, c.body, sc),
        (e: unknown) => {
          assert.ok(isApiError(e), String(e));
          assert.equal(e.code, c.code);
          assert.equal(e.reason, c.reason);
          assert.equal(e.message, c.message);
          return true;
        },
      );
    });
  }

  test('a null body changes nothing', () => {
    assert.deepEqual(patchObject('strategic', live, 'null', sc).object.spec, live['spec']);
  });

  test('kind and apiVersion in the patch are ignored, as decoding into the type ignores them', () => {
    const { object } = patchObject('strategic', live, '{"kind":"ConfigMap","apiVersion":"v2","metadata":{"labels":{"a":"b"}}}', sc);
    assert.equal(object.kind, 'Service');
    assert.equal(object.apiVersion, 'v1');
    assert.deepEqual(object.metadata?.labels, { a: 'b' });
  });

  test('the patched object keeps no "$" keys when the live object lacks the list', () => {
    const { object } = patchObject('strategic', liveService({}), JSON.stringify({ spec: { '$setElementOrder/ports': [{ port: 6000 }], ports: [{ $patch: 'delete', port: 5000 }, { port: 6000 }] } }), sc);
    assert.deepEqual(object.spec, { ports: [{ port: 6000 }] });
  });
});

describe('goSortStable', () => {
  test('sorts stably like Go for a consistent order, also past one insertion block', () => {
    const data = Array.from({ length: 57 }, (_, i) => ({ k: (i * 7) % 5, i }));
    const expected = [...data].sort((a, b) => a.k - b.k);
    goSortStable(data, (a, b) => a.k < b.k);
    assert.deepEqual(data, expected);
  });

  test('reproduces insertion sort on a less that is not an order', () => {
    // Items missing from the order list compare "less" both ways, as in strategicpatch.
    const order = ['b', 'a'];
    const data = ['x', 'a', 'y', 'b'];
    goSortStable(data, (p, q) => {
      const ip = order.indexOf(p);
      const iq = order.indexOf(q);
      return ip >= 0 && iq >= 0 ? ip < iq : true;
    });
    assert.deepEqual(data, ['b', 'y', 'a', 'x']);
  });
});
