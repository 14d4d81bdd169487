import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrorString, invalid } from '../index.ts';
import {
  customResourceErrors,
  jsonTypeError,
  schemaFor,
  strictDecodingError,
  typeErrors,
  unknownFields,
  unknownFieldWarnings,
  type SchemaNode,
} from './index.ts';

const serviceGvk = { group: '', version: 'v1', kind: 'Service' };
const deploymentGvk = { group: 'apps', version: 'v1', kind: 'Deployment' };
const podGvk = { group: '', version: 'v1', kind: 'Pod' };
const poolGvk = { group: 'metallb.io', version: 'v1beta1', kind: 'IPAddressPool' };

function schema(gvk: { group: string; version: string; kind: string }): SchemaNode {
  const s = schemaFor(gvk);
  assert.ok(s);
  return s;
}

const service = (spec: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'mlflow-service', namespace: 'mlflow', labels: { app: 'mlflow' } },
  spec,
  ...extra,
});

test('a valid manifest has no unknown fields and no type errors', () => {
  const svc = service({ selector: { app: 'mlflow' }, ports: [{ protocol: 'TCP', port: 5000, targetPort: 5000, nodePort: 30001 }], type: 'NodePort' });
  assert.deepEqual(unknownFields(svc, schema(serviceGvk)), []);
  assert.equal(typeErrors(svc, schema(serviceGvk), serviceGvk), undefined);
});

test('unknown fields are reported with their paths, list indices and map keys, in document order', () => {
  const svc = service(
    { foo: 1, ports: [{ port: 80 }, { port: 81, targetPot: 8080 }], selector: { app: 'x' } },
    { metadata: { name: 'x', labelz: {} }, Spec: {} },
  );
  assert.deepEqual(unknownFields(svc, schema(serviceGvk)), ['metadata.labelz', 'spec.foo', 'spec.ports[1].targetPot', 'Spec']);
  const deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    spec: { replicass: 2, template: { spec: { containers: [{ name: 'a', imagee: 'x', resources: { limits: { cpu: '1' } } }] } } },
  };
  assert.deepEqual(unknownFields(deploy, schema(deploymentGvk)), ['spec.replicass', 'spec.template.spec.containers[0].imagee']);
});

test('opaque fields (managedFields fieldsV1) are not looked into', () => {
  const svc = service({}, { metadata: { name: 'x', managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': { 'f:ports': {} } } }] } });
  assert.deepEqual(unknownFields(svc, schema(serviceGvk)), []);
});

test('strict decoding errors read as kube-apiserver words them, for one field and for several', () => {
  const one = strictDecodingError(serviceGvk, ['spec.foo']);
  assert.equal(one.code, 400);
  assert.equal(one.reason, 'BadRequest');
  assert.equal(one.message, 'Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.foo"');
  assert.equal(
    strictDecodingError(deploymentGvk, ['spec.replicass', 'spec.template.spec.containers[0].imagee']).message,
    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass", unknown field "spec.template.spec.containers[0].imagee"',
  );
  assert.deepEqual(unknownFieldWarnings(['spec.foo', 'spec.bar']), ['unknown field "spec.foo"', 'unknown field "spec.bar"']);
});

test('a string where an int32 belongs is a Go unmarshal error naming the struct and field path', () => {
  const svc = service({ ports: [{ port: '80' }] });
  assert.equal(
    typeErrors(svc, schema(serviceGvk), serviceGvk),
    'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32',
  );
});

test('Go type names and value kinds follow encoding/json', () => {
  const s = schema(serviceGvk);
  const cases: [unknown, string][] = [
    [service({ ports: 'x' }), 'json: cannot unmarshal string into Go struct field ServiceSpec.spec.ports of type []v1.ServicePort'],
    [service({ type: 5 }), 'json: cannot unmarshal number into Go struct field ServiceSpec.spec.type of type v1.ServiceType'],
    [service({ selector: { app: 1 } }), 'json: cannot unmarshal number into Go struct field ServiceSpec.spec.selector of type string'],
    [service({ selector: ['a'] }), 'json: cannot unmarshal array into Go struct field ServiceSpec.spec.selector of type map[string]string'],
    [service({ ports: [{ port: 1.5 }] }), 'json: cannot unmarshal number 1.5 into Go struct field ServicePort.spec.ports.port of type int32'],
    [service({ ports: [{ port: 3000000000 }] }), 'json: cannot unmarshal number 3000000000 into Go struct field ServicePort.spec.ports.port of type int32'],
    [service({ publishNotReadyAddresses: 'yes' }), 'json: cannot unmarshal string into Go struct field ServiceSpec.spec.publishNotReadyAddresses of type bool'],
    [service('x'), 'json: cannot unmarshal string into Go struct field Service.spec of type v1.ServiceSpec'],
    [service({}, { metadata: { name: 'x', uid: 7 } }), 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.uid of type types.UID'],
    [service({}, { metadata: { name: { a: 1 } } }), 'json: cannot unmarshal object into Go struct field ObjectMeta.metadata.name of type string'],
    [[1], 'json: cannot unmarshal array into Go value of type v1.Service'],
  ];
  for (const [obj, want] of cases) assert.equal(jsonTypeError(obj, s), want);
});

test('the first mismatch in document order is reported', () => {
  const svc = service({ clusterIP: 1, ports: [{ port: 'a' }] });
  assert.equal(jsonTypeError(svc, schema(serviceGvk)), 'json: cannot unmarshal number into Go struct field ServiceSpec.spec.clusterIP of type string');
});

test('int-or-string takes numbers and strings; other values fail inside IntOrString and win', () => {
  const s = schema(serviceGvk);
  assert.equal(jsonTypeError(service({ ports: [{ port: 80, targetPort: 'http' }] }), s), undefined);
  assert.equal(jsonTypeError(service({ ports: [{ port: 80, targetPort: 8080 }] }), s), undefined);
  assert.equal(
    jsonTypeError(service({ ports: [{ port: 80, targetPort: true }] }), s),
    'json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32',
  );
  // A saved mismatch earlier in the document loses to IntOrString's own error, as in Go.
  assert.equal(
    jsonTypeError(service({ clusterIP: 1, ports: [{ port: 80, targetPort: 1.5 }] }), s),
    'json: cannot unmarshal number 1.5 into Go struct field ServicePort.spec.ports.targetPort of type int32',
  );
});

test('quantities, times and base64 data fail with their own parsers\' messages', () => {
  const pod = (container: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', ...extra },
    spec: { containers: [{ name: 'c', image: 'i', ...container }] },
  });
  const s = schema(podGvk);
  assert.equal(jsonTypeError(pod({ resources: { limits: { cpu: '500m', memory: 128974848 } } }), s), undefined);
  assert.equal(
    typeErrors(pod({ resources: { limits: { cpu: 'lots' } } }), s, podGvk),
    "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
  );
  assert.equal(jsonTypeError(pod({ resources: { limits: 'x' } }), s), 'json: cannot unmarshal string into Go struct field ResourceRequirements.spec.containers.resources.limits of type v1.ResourceList');
  assert.equal(jsonTypeError(pod({}, { creationTimestamp: '2024-05-01T10:00:00Z' }), s), undefined);
  assert.equal(jsonTypeError(pod({}, { creationTimestamp: null }), s), undefined);
  assert.equal(jsonTypeError(pod({}, { creationTimestamp: 5 }), s), 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string');
  assert.equal(jsonTypeError(pod({}, { creationTimestamp: 'yesterday' }), s), 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"');
  assert.equal(jsonTypeError(pod({}, { creationTimestamp: '2024-13-01T00:00:00Z' }), s), 'parsing time "2024-13-01T00:00:00Z": month out of range');
  const secret = (data: unknown) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data });
  const ss = schema({ group: '', version: 'v1', kind: 'Secret' });
  assert.equal(jsonTypeError(secret({ a: 'aGVsbG8=' }), ss), undefined);
  assert.equal(jsonTypeError(secret({ a: 'hello!' }), ss), 'illegal base64 data at input byte 5');
  assert.equal(jsonTypeError(secret({ a: 'abc' }), ss), 'illegal base64 data at input byte 0');
  assert.equal(jsonTypeError(secret({ a: 1 }), ss), 'json: cannot unmarshal number into Go struct field Secret.data of type []uint8');
});

test('custom resources are validated against their schema as field errors for a 422', () => {
  const s = schema(poolGvk);
  const ok = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'default' }, spec: { addresses: ['192.168.1.200-192.168.1.250'] } };
  assert.deepEqual(customResourceErrors(ok, s), []);
  assert.equal(typeErrors(ok, s, poolGvk), undefined);
  // A custom resource body always decodes; its types are a schema validation matter.
  assert.equal(typeErrors({ ...ok, spec: { addresses: 'x', autoAssign: 'yes' } }, s, poolGvk), undefined);
  const bad = { ...ok, spec: { addresses: ['192.168.1.200/30', 5], autoAssign: 'yes' } };
  const errs = customResourceErrors(bad, s);
  assert.deepEqual(errs.map(fieldErrorString), [
    'spec.addresses[1]: Invalid value: "integer": spec.addresses[1] in body must be of type string: "integer"',
    'spec.autoAssign: Invalid value: "string": spec.autoAssign in body must be of type boolean: "string"',
  ]);
  assert.equal(
    invalid({ group: 'metallb.io', kind: 'IPAddressPool' }, 'default', customResourceErrors({ ...ok, spec: {} }, s)).message,
    'IPAddressPool.metallb.io "default" is invalid: spec.addresses: Required value',
  );
  assert.deepEqual(unknownFields({ ...ok, spec: { addresses: [], autoassign: true } }, s), ['spec.autoassign']);
});
