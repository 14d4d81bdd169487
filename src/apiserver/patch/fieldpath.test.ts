import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Json } from './go.ts';
import { FieldSet, FieldsV1Error, deserializePathElement, pathString, serializePathElement, type Path, type PathElement } from './fieldpath.ts';

const f = (field: string): PathElement => ({ field });
const portKey = (port: number, protocol = 'TCP'): PathElement => ({
  key: [
    ['port', port],
    ['protocol', protocol],
  ],
});

describe('FieldsV1 encoding', () => {
  // structured-merge-diff's serialize_test.go golden data: elements of every kind, in order.
  const golden = [
    '{"f:aaa":{},"f:aab":{},"f:aac":{},"f:aad":{},"f:aae":{},"f:aaf":{},"k:{\\"name\\":\\"first\\"}":{},"k:{\\"name\\":\\"second\\"}":{},"k:{\\"port\\":443,\\"protocol\\":\\"tcp\\"}":{},"k:{\\"port\\":443,\\"protocol\\":\\"udp\\"}":{},"v:1":{},"v:2":{},"v:3":{},"v:\\"aa\\"":{},"v:\\"ab\\"":{},"v:true":{},"i:1":{},"i:2":{},"i:3":{},"i:4":{}}',
    '{"f:aaa":{"k:{\\"name\\":\\"second\\"}":{"v:3":{"f:aab":{}}},"v:3":{},"v:true":{}},"f:aab":{"f:aaa":{},"f:aaf":{"k:{\\"port\\":443,\\"protocol\\":\\"udp\\"}":{"k:{\\"port\\":443,\\"protocol\\":\\"tcp\\"}":{}}},"k:{\\"name\\":\\"first\\"}":{}},"i:1":{"i:3":{"f:aaf":{}}}}',
  ];
  for (const [i, text] of golden.entries()) {
    test(`golden set ${i} round-trips byte for byte`, () => {
      const set = FieldSet.fromFieldsV1(JSON.parse(text) as Json);
      assert.equal(JSON.stringify(set.toFieldsV1()), text);
    });
  }

  test('a member with children is marked "." first, as kube-apiserver writes it', () => {
    const set = FieldSet.of(
      [f('metadata'), f('labels')],
      [f('metadata'), f('labels'), f('app')],
      [f('spec'), f('ports'), portKey(5000)],
      [f('spec'), f('ports'), portKey(5000), f('port')],
      [f('spec'), f('ports'), portKey(5000), f('targetPort')],
      [f('spec'), f('type')],
    );
    assert.equal(
      JSON.stringify(set.toFieldsV1()),
      '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:ports":{"k:{\\"port\\":5000,\\"protocol\\":\\"TCP\\"}":{".":{},"f:port":{},"f:targetPort":{}}},"f:type":{}}}',
    );
  });

  test('keys are written with their fields sorted and values as Go encodes them', () => {
    assert.equal(serializePathElement({ key: [['name', 'a<b&c']] }), 'k:{"name":"a\\u003cb\\u0026c"}');
    assert.equal(serializePathElement({ value: 'x' }), 'v:"x"');
    assert.equal(serializePathElement({ index: 3 }), 'i:3');
  });

  test('decoding sorts key fields, so any written order reads the same', () => {
    assert.deepEqual(deserializePathElement('k:{"protocol":"TCP","port":80}'), portKey(80));
  });

  test('unknown element kinds are dropped and their parent stays a member', () => {
    const set = FieldSet.fromFieldsV1({ 'f:a': { 'r:future': {} }, 'x:y': {} });
    assert.deepEqual(set.paths(), [[f('a')]]);
  });

  test('malformed keys are errors', () => {
    assert.throws(() => FieldSet.fromFieldsV1({ f: {} }), FieldsV1Error);
    assert.throws(() => FieldSet.fromFieldsV1({ fx: {} }), /missing colon: fx/);
    assert.throws(() => FieldSet.fromFieldsV1({ 'i:x': {} }), FieldsV1Error);
    assert.throws(() => FieldSet.fromFieldsV1({ 'k:{': {} }), FieldsV1Error);
  });

  test('an empty set encodes as {}', () => {
    assert.deepEqual(new FieldSet().toFieldsV1(), {});
  });
});

describe('paths', () => {
  test('print as kube-apiserver names them in conflicts', () => {
    const p: Path = [f('spec'), f('ports'), portKey(5000), f('targetPort')];
    assert.equal(pathString(p), '.spec.ports[port=5000,protocol="TCP"].targetPort');
    assert.equal(pathString([f('metadata'), f('finalizers'), { value: 'a' }]), '.metadata.finalizers[=\"a\"]');
    assert.equal(pathString([f('spec'), f('args'), { index: 0 }]), '.spec.args[0]');
  });
});

describe('FieldSet', () => {
  const a = FieldSet.of([f('spec'), f('type')], [f('spec'), f('ports'), portKey(80)], [f('spec'), f('ports'), portKey(80), f('port')]);
  const b = FieldSet.of([f('spec'), f('type')], [f('spec'), f('selector')]);

  test('lists its paths members first, then children, each in order', () => {
    assert.deepEqual(a.paths().map(pathString), ['.spec.type', '.spec.ports[port=80,protocol="TCP"]', '.spec.ports[port=80,protocol="TCP"].port']);
  });

  test('union, intersection and difference work member by member', () => {
    assert.deepEqual(a.union(b).paths().map(pathString), ['.spec.selector', '.spec.type', '.spec.ports[port=80,protocol="TCP"]', '.spec.ports[port=80,protocol="TCP"].port']);
    assert.deepEqual(a.intersection(b).paths().map(pathString), ['.spec.type']);
    assert.deepEqual(a.difference(b).paths().map(pathString), ['.spec.ports[port=80,protocol="TCP"]', '.spec.ports[port=80,protocol="TCP"].port']);
  });

  test('difference keeps children of a removed member; recursiveDifference removes them', () => {
    const item = FieldSet.of([f('spec'), f('ports'), portKey(80)]);
    assert.deepEqual(a.difference(item).paths().map(pathString), ['.spec.type', '.spec.ports[port=80,protocol="TCP"].port']);
    assert.deepEqual(a.recursiveDifference(FieldSet.of([f('spec'), f('ports')])).paths().map(pathString), ['.spec.type']);
  });

  test('has and withPrefix look paths up', () => {
    assert.ok(a.has([f('spec'), f('ports'), portKey(80)]));
    assert.ok(!a.has([f('spec'), f('ports')]));
    assert.deepEqual(a.withPrefix(f('spec')).paths().map(pathString), ['.type', '.ports[port=80,protocol="TCP"]', '.ports[port=80,protocol="TCP"].port']);
  });

  test('a round trip through FieldsV1 gives an equal set', () => {
    assert.ok(FieldSet.fromFieldsV1(a.toFieldsV1()).equals(a));
  });
});
