import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../api/index.ts';
import { decodeProtobufObject, supportsProtobuf } from './envelope.ts';
import { cat, envelope, pb } from './testing.ts';

const service = { group: '', version: 'v1', kind: 'Service' };
const magic = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

function rejects(body: Uint8Array, into: typeof service | undefined, code: number, message: string | RegExp): void {
  assert.throws(
    () => decodeProtobufObject(body, into),
    (e: unknown) => {
      assert.ok(e instanceof ApiError, `an ApiError, not ${String(e)}`);
      assert.equal(e.code, code);
      assert.equal(e.status.reason, code === 400 ? 'BadRequest' : 'UnsupportedMediaType');
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

test('an empty body is a 400 that says so', () => {
  rejects(new Uint8Array(), service, 400, 'the object provided is unrecognized (must be of type Service): empty data (<empty>)');
});

test('a JSON body sent as protobuf is a 400 naming the expected prefix', () => {
  rejects(
    new TextEncoder().encode('{"kind":"Service","apiVersion":"v1","metadata":{"name":"x"}}'),
    service,
    400,
    'the object provided is unrecognized (must be of type Service): provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] ({"kind":"Service","apiVersion" ...)',
  );
});

test('the magic alone is an empty body', () => {
  rejects(magic, undefined, 400, 'the object provided is unrecognized: empty body (6b387300)');
});

test('a truncated body is a 400 about an unexpected EOF', () => {
  const full = envelope('v1', 'Service', pb.msg(1, pb.str(1, 'web')));
  rejects(full.subarray(0, full.length - 3), service, 400, /^the object provided is unrecognized \(must be of type Service\): unexpected EOF \(6b387300/);
  const cut = cat(magic, pb.msg(1, pb.str(1, 'v1'), pb.str(2, 'Service')), pb.bytes(2, pb.msg(1, pb.str(1, 'web')).subarray(0, 4)));
  rejects(cut, service, 400, 'Service in version "v1" cannot be handled as a Service: unexpected EOF');
});

test('a field of the wrong wire type is a 400 that names the field', () => {
  const body = envelope('v1', 'Service', pb.msg(1, pb.varint(1, 7)));
  rejects(body, service, 400, 'Service in version "v1" cannot be handled as a Service: proto: wrong wireType = 0 for field metadata.name');
  const port = envelope('v1', 'Service', pb.msg(2, pb.msg(1, pb.str(3, '80'))));
  rejects(port, service, 400, /proto: wrong wireType = 2 for field spec\.ports\[0\]\.port$/);
});

test('an over-long varint and a zero field number are 400s', () => {
  const overflow = envelope('v1', 'Service', cat(Uint8Array.of(0x08), new Uint8Array(11).fill(0xff)));
  rejects(overflow, service, 400, /proto: integer overflow$/);
  const zero = envelope('v1', 'Service', Uint8Array.of(0x02, 0x00));
  rejects(zero, service, 400, /proto: illegal tag 0 \(wire type 2\)$/);
  const group = envelope('v1', 'Service', Uint8Array.of(0x0b));
  rejects(group, service, 400, /proto: wrong wireType = 3 for field 1$/);
});

test('an envelope without a kind or apiVersion is a 400 as apimachinery words it, unless the endpoint supplies them', () => {
  const noKind = cat(magic, pb.msg(1, pb.str(1, 'v1')), pb.bytes(2, pb.msg(1, pb.str(1, 'x'))));
  rejects(noKind, undefined, 400, /^the object provided is unrecognized: Object 'Kind' is missing in 'runtime.TypeMeta\{APIVersion:"v1", Kind:""\}' \(/);
  const noVersion = cat(magic, pb.msg(1, pb.str(2, 'Service')), pb.bytes(2, pb.msg(1, pb.str(1, 'x'))));
  rejects(noVersion, undefined, 400, /Object 'apiVersion' is missing in 'runtime.TypeMeta\{APIVersion:"", Kind:"Service"\}'/);
  const bare = cat(magic, pb.bytes(2, pb.msg(1, pb.str(1, 'x'))));
  const obj = decodeProtobufObject(bare, service);
  assert.equal(obj.kind, 'Service');
  assert.equal(obj.apiVersion, 'v1');
  assert.equal(obj.metadata?.name, 'x');
});

test('a kind with no protobuf form here is a 415 as for a custom resource', () => {
  const msg = 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml';
  rejects(envelope('metallb.io/v1beta1', 'IPAddressPool', pb.msg(1, pb.str(1, 'pool'))), undefined, 415, msg);
  rejects(envelope('v1', 'Service', pb.msg(1)), { group: 'metallb.io', version: 'v1beta1', kind: 'IPAddressPool' }, 415, msg);
});

test('an unregistered kind sent to a protobuf endpoint is a 400', () => {
  rejects(envelope('v1', 'Widget', pb.msg(1)), service, 400, 'Widget in version "v1" cannot be handled as a Service: no kind "Widget" is registered for version "v1"');
});

test('an envelope carrying another encoding is a 400', () => {
  const gz = cat(magic, pb.msg(1, pb.str(1, 'v1'), pb.str(2, 'Service')), pb.bytes(2, []), pb.str(3, 'gzip'));
  rejects(gz, service, 400, /unsupported content encoding "gzip"/);
  const json = cat(magic, pb.msg(1, pb.str(1, 'v1'), pb.str(2, 'Service')), pb.bytes(2, []), pb.str(4, 'application/json'));
  rejects(json, service, 400, /unsupported content type "application\/json"/);
});

test('a bad IntOrString type, Quantity or FieldsV1 is a 400, not a crash', () => {
  const port = envelope('v1', 'Service', pb.msg(2, pb.msg(1, pb.varint(3, 80), pb.msg(4, pb.varint(1, 7)))));
  rejects(port, service, 400, /impossible IntOrString.Type 7 for field spec.ports\[0\].targetPort$/);
  const q = envelope('v1', 'Pod', pb.msg(2, pb.msg(2, pb.str(1, 'c'), pb.msg(8, pb.entry(1, 'cpu', pb.msg(2, pb.str(1, 'lots')))))));
  rejects(q, undefined, 400, /^Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression/);
  const far = envelope('v1', 'Service', pb.msg(1, pb.msg(8, pb.varint(1, 400_000_000_000))));
  rejects(far, service, 400, /timestamp 400000000000s is out of range for field metadata.creationTimestamp$/);
  const mf = envelope('v1', 'Service', pb.msg(1, pb.msg(17, pb.msg(7, pb.str(1, '{not json')))));
  rejects(mf, service, 400, /field metadata.managedFields\[0\].fieldsV1 is not JSON/);
});

test('random bytes after the magic give a 400 or an object, never another error', () => {
  // A fixed linear congruential generator keeps the run repeatable.
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const valid = envelope('v1', 'Service', cat(pb.msg(1, pb.str(1, 'web'), pb.entry(11, 'app', 'web')), pb.msg(2, pb.msg(1, pb.str(1, 'http'), pb.varint(3, 80), pb.msg(4, pb.varint(2, 8080))))));
  for (let i = 0; i < 2000; i++) {
    const body = Uint8Array.from(valid);
    // Flip a few bytes past the magic, or cut the body short.
    for (let k = 0; k < 1 + (next() % 4); k++) body[4 + (next() % (body.length - 4))] = next() % 256;
    const input = i % 5 === 0 ? body.subarray(0, 4 + (next() % (body.length - 4))) : body;
    try {
      const obj = decodeProtobufObject(input, service);
      assert.equal(typeof obj, 'object');
    } catch (e) {
      assert.ok(e instanceof ApiError && (e.code === 400 || e.code === 415), `unexpected ${String(e)}`);
    }
  }
});

test('supportsProtobuf names the kinds with field tables', () => {
  assert.equal(supportsProtobuf({ group: '', version: 'v1', kind: 'Service' }), true);
  assert.equal(supportsProtobuf({ group: 'apps', version: 'v1', kind: 'Deployment' }), true);
  assert.equal(supportsProtobuf({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' }), true);
  assert.equal(supportsProtobuf({ group: 'metallb.io', version: 'v1beta1', kind: 'IPAddressPool' }), false);
  assert.equal(supportsProtobuf({ group: 'apps', version: 'v1', kind: 'Service' }), false);
});
