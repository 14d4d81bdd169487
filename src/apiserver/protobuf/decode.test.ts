import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { checkSchema, decodeMessage } from './decode.ts';
import { decodeProtobufObject } from './envelope.ts';
import { kindTable, messageTable } from './schema.ts';
import { cat, envelope, pb } from './testing.ts';

const fixtures = new URL('../../../test/fixtures/protobuf/', import.meta.url).pathname;

test('every fixture body that kubectl 1.33 sent decodes to the JSON that kubectl 1.31 sent', () => {
  const names = readdirSync(fixtures).filter((f) => f.endsWith('.pb'));
  assert.ok(names.length >= 10, 'the fixtures are there');
  for (const f of names) {
    const body = readFileSync(fixtures + f);
    const json: unknown = JSON.parse(readFileSync(fixtures + f.replace(/\.pb$/, '.json'), 'utf8'));
    assert.deepStrictEqual(decodeProtobufObject(body), json, f);
  }
});

test('the field tables name only messages they define, and every kind has a table', () => {
  assert.ok(checkSchema() >= Object.keys(messageTable).length);
  for (const m of Object.values(kindTable)) assert.ok(m in messageTable, m);
});

test('apiVersion and kind come first, from the envelope', () => {
  const obj = decodeProtobufObject(envelope('v1', 'Namespace', pb.msg(1, pb.str(1, 'ns1'))));
  assert.deepStrictEqual(Object.keys(obj).slice(0, 2), ['kind', 'apiVersion']);
  assert.deepStrictEqual(obj, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'ns1', creationTimestamp: null }, spec: {}, status: {} });
});

test('zero values that gogo writes for plain fields come out absent, as omitempty drops them', () => {
  // ObjectMeta as client-go writes it: every plain field present, empty.
  const meta = pb.msg(1, pb.str(1, 'x'), pb.str(2, ''), pb.str(3, ''), pb.str(5, ''), pb.str(6, ''), pb.varint(7, 0), pb.msg(8));
  const svc = decodeMessage('core.Service', cat(meta, pb.msg(2, pb.str(3, ''), pb.str(4, ''), pb.varint(12, 0), pb.varint(13, false))));
  assert.deepStrictEqual(svc, { metadata: { name: 'x', creationTimestamp: null }, spec: {}, status: { loadBalancer: {} } });
});

test('pointer fields keep their zero values: replicas 0, immutable false, enableServiceLinks false', () => {
  const dep = decodeMessage('apps.Deployment', pb.msg(2, pb.varint(1, 0)));
  assert.equal((dep.spec as Record<string, unknown>).replicas, 0);
  const cm = decodeMessage('core.ConfigMap', pb.varint(4, false));
  assert.equal(cm.immutable, false);
  const pod = decodeMessage('core.PodSpec', pb.varint(30, false));
  assert.equal(pod.enableServiceLinks, false);
  // ... and are left out when not sent.
  assert.equal('replicas' in (decodeMessage('apps.Deployment', pb.msg(2)).spec as object), false);
});

test('fields without omitempty are written even when zero or absent', () => {
  // ServicePort.port is `json:"port"`; DeploymentSpec.selector is a pointer without omitempty.
  assert.deepStrictEqual(decodeMessage('core.ServicePort', new Uint8Array()), { port: 0, targetPort: 0 });
  const spec = decodeMessage('apps.DeploymentSpec', new Uint8Array());
  assert.equal(spec.selector, null);
  assert.deepStrictEqual(spec.template, { metadata: { creationTimestamp: null }, spec: { containers: null } });
});

test('Secret data is bytes and comes out base64; stringData stays text', () => {
  const s = decodeMessage('core.Secret', cat(pb.entry(2, 'bin', pb.bytes(2, [0, 255, 10])), pb.entry(2, 'empty', pb.bytes(2, [])), pb.entry(4, 'plain', 'text'), pb.str(3, 'Opaque')));
  assert.deepStrictEqual(s, { metadata: { creationTimestamp: null }, data: { bin: 'AP8K', empty: '' }, stringData: { plain: 'text' }, type: 'Opaque' });
});

test('map keys come out sorted, the last of a repeated key wins, and "__proto__" stays a key', () => {
  const cm = decodeMessage('core.ConfigMap', cat(pb.entry(2, 'b', '1'), pb.entry(2, 'a', '2'), pb.entry(2, 'b', '3'), pb.entry(2, '__proto__', 'x')));
  const data = cm.data as Record<string, unknown>;
  assert.deepStrictEqual(Object.keys(data), ['__proto__', 'a', 'b']);
  assert.equal(data.b, '3');
  assert.equal(Object.getPrototypeOf(data), Object.prototype);
  const roundTrip = JSON.parse(JSON.stringify(cm)) as { data: Record<string, unknown> };
  assert.equal(Object.getOwnPropertyDescriptor(roundTrip.data, '__proto__')?.value, 'x');
});

test('a map entry without a value gets the zero value', () => {
  const cm = decodeMessage('core.ConfigMap', pb.msg(2, pb.str(1, 'k')));
  assert.deepStrictEqual(cm.data, { k: '' });
  const rr = decodeMessage('core.ResourceRequirements', pb.msg(1, pb.str(1, 'cpu')));
  assert.deepStrictEqual(rr.limits, { cpu: '0' });
});

test('timestamps come out as RFC 3339 in UTC: Time in whole seconds, MicroTime in microseconds', () => {
  const t = pb.msg(8, pb.varint(1, 1_700_000_000), pb.varint(2, 123_456_789));
  assert.equal((decodeMessage('core.Namespace', pb.msg(1, t)).metadata as Record<string, unknown>).creationTimestamp, '2023-11-14T22:13:20Z');
  const lease = decodeMessage('coordination.LeaseSpec', pb.msg(3, pb.varint(1, 1_700_000_000), pb.varint(2, 123_456_789)));
  assert.equal(lease.acquireTime, '2023-11-14T22:13:20.123456Z');
  // The epoch itself is a time, not the zero time.
  const epoch = decodeMessage('meta.ObjectMeta', pb.msg(9, pb.varint(1, 0)));
  assert.equal(epoch.deletionTimestamp, '1970-01-01T00:00:00Z');
  // An empty Time message is the zero time: null, even for a pointer that is set.
  assert.equal(decodeMessage('meta.ObjectMeta', pb.msg(9)).deletionTimestamp, null);
  const before1970 = decodeMessage('meta.ObjectMeta', pb.msg(8, pb.varint(1, -86_400)));
  assert.equal(before1970.creationTimestamp, '1969-12-31T00:00:00Z');
});

test('IntOrString comes out as a number or a string by its type', () => {
  const num = decodeMessage('core.ServicePort', cat(pb.varint(3, 80), pb.msg(4, pb.varint(1, 0), pb.varint(2, 8080), pb.str(3, ''))));
  assert.equal(num.targetPort, 8080);
  const str = decodeMessage('core.ServicePort', cat(pb.varint(3, 80), pb.msg(4, pb.varint(1, 1), pb.varint(2, 0), pb.str(3, 'http'))));
  assert.equal(str.targetPort, 'http');
  const rolling = decodeMessage('apps.RollingUpdateDeployment', cat(pb.msg(1, pb.varint(1, 1), pb.str(3, '25%')), pb.msg(2, pb.varint(2, 1))));
  assert.deepStrictEqual(rolling, { maxUnavailable: '25%', maxSurge: 1 });
});

test('negative int32 values written as ten-byte varints come back negative', () => {
  const c = decodeMessage('core.ContainerPort', cat(pb.varint(3, 80), pb.varint(2, -1)));
  assert.equal(c.hostPort, -1);
});

test('embedded inline structs merge into their parent, as a probe handler does', () => {
  const probe = pb.msg(10, pb.msg(1, pb.msg(2, pb.str(1, '/healthz'), pb.msg(2, pb.varint(1, 1), pb.str(3, 'http')), pb.str(4, 'HTTP'))), pb.varint(2, 5), pb.varint(3, 0));
  const c = decodeMessage('core.Container', cat(pb.str(1, 'app'), probe));
  assert.deepStrictEqual(c.livenessProbe, { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' }, initialDelaySeconds: 5 });
  // LocalObjectReference is inline in SecretKeySelector: name sits beside key.
  const env = decodeMessage('core.EnvVar', cat(pb.str(1, 'PW'), pb.msg(3, pb.msg(4, pb.msg(1, pb.str(1, 'creds')), pb.str(2, 'password')))));
  assert.deepStrictEqual(env, { name: 'PW', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } });
});

test('a pod with volumes, env, resources and security context decodes field by field', () => {
  const container = cat(
    pb.str(1, 'web'),
    pb.str(2, 'nginx'),
    pb.str(4, '-g'),
    pb.str(4, 'daemon off;'),
    pb.msg(6, pb.str(1, 'http'), pb.varint(2, 0), pb.varint(3, 80), pb.str(4, 'TCP')),
    pb.msg(7, pb.str(1, 'MODE'), pb.str(2, 'prod')),
    pb.msg(8, pb.entry(1, 'cpu', pb.msg(2, pb.str(1, '500m'))), pb.entry(2, 'memory', pb.msg(2, pb.str(1, '64Mi')))),
    pb.msg(9, pb.str(1, 'data'), pb.varint(2, true), pb.str(3, '/data')),
    pb.msg(15, pb.varint(5, true), pb.varint(4, 1000)),
  );
  const volume = pb.msg(1, pb.str(1, 'data'), pb.msg(2, pb.msg(2, pb.str(1, 'Memory'), pb.msg(2, pb.str(1, '1Gi')))));
  const spec = cat(volume, pb.msg(2, container), pb.str(3, 'Always'), pb.varint(4, 30), pb.msg(14, pb.packed(4, [1000, 2000])), pb.str(8, 'robot'));
  const pod = decodeProtobufObject(envelope('v1', 'Pod', cat(pb.msg(1, pb.str(1, 'p'), pb.str(3, 'default')), pb.msg(2, spec), pb.msg(3, pb.str(1, 'Pending'), pb.str(6, '10.0.0.5')))));
  assert.deepStrictEqual(pod, {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: null },
    spec: {
      volumes: [{ name: 'data', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
      containers: [
        {
          name: 'web',
          image: 'nginx',
          args: ['-g', 'daemon off;'],
          ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
          env: [{ name: 'MODE', value: 'prod' }],
          resources: { limits: { cpu: '500m' }, requests: { memory: '64Mi' } },
          volumeMounts: [{ name: 'data', readOnly: true, mountPath: '/data' }],
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      securityContext: { supplementalGroups: [1000, 2000] },
      serviceAccountName: 'robot',
    },
    status: { phase: 'Pending', podIP: '10.0.0.5' },
  });
});

test('repeated numbers are read packed or one by one', () => {
  const packed = decodeMessage('core.PodSecurityContext', pb.packed(4, [1, 2, 300]));
  const loose = decodeMessage('core.PodSecurityContext', cat(pb.varint(4, 1), pb.varint(4, 2), pb.varint(4, 300)));
  assert.deepStrictEqual(packed.supplementalGroups, [1, 2, 300]);
  assert.deepStrictEqual(loose.supplementalGroups, [1, 2, 300]);
});

test('a message field sent twice merges, as protobuf says', () => {
  const meta = decodeMessage('core.Service', cat(pb.msg(1, pb.str(1, 'a')), pb.msg(1, pb.entry(11, 'app', 'a'))));
  assert.deepStrictEqual(meta.metadata, { name: 'a', creationTimestamp: null, labels: { app: 'a' } });
});

test('fields this version does not know are skipped', () => {
  const ns = decodeMessage('core.Namespace', cat(pb.msg(1, pb.str(1, 'n'), pb.str(99, 'future'), pb.fixed32(98, 7), pb.fixed64(97, 9n)), pb.msg(42)));
  assert.deepStrictEqual(ns, { metadata: { name: 'n', creationTimestamp: null }, spec: {}, status: {} });
});

test('owner references, finalizers and managed fields decode with their JSON forms', () => {
  const meta = decodeMessage(
    'meta.ObjectMeta',
    cat(
      pb.msg(13, pb.str(1, 'ReplicaSet'), pb.str(3, 'rs'), pb.str(4, 'u-1'), pb.str(5, 'apps/v1'), pb.varint(6, true), pb.varint(7, true)),
      pb.str(14, 'example.com/f'),
      pb.msg(17, pb.str(1, 'kubectl'), pb.str(2, 'Update'), pb.str(3, 'v1'), pb.msg(4, pb.varint(1, 1)), pb.str(6, 'FieldsV1'), pb.msg(7, pb.str(1, '{"f:metadata":{}}'))),
      pb.entry(12, 'note', 'hi'),
    ),
  );
  assert.deepStrictEqual(meta, {
    creationTimestamp: null,
    annotations: { note: 'hi' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u-1', controller: true, blockOwnerDeletion: true }],
    finalizers: ['example.com/f'],
    managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '1970-01-01T00:00:01Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }],
  });
});

test('an EndpointSlice, an Endpoints and an Event decode', () => {
  const slice = decodeProtobufObject(
    envelope('discovery.k8s.io/v1', 'EndpointSlice', cat(pb.msg(1, pb.str(1, 's')), pb.msg(2, pb.str(1, '10.0.0.1'), pb.msg(2, pb.varint(1, true))), pb.msg(3, pb.str(1, 'http'), pb.str(2, 'TCP'), pb.varint(3, 80)), pb.str(4, 'IPv4'))),
  );
  assert.deepStrictEqual(slice, {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: { name: 's', creationTimestamp: null },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }],
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
  });
  const ep = decodeMessage('core.Endpoints', pb.msg(2, pb.msg(1, pb.str(1, '10.0.0.1')), pb.msg(3, pb.str(1, ''), pb.varint(2, 80), pb.str(3, 'TCP'))));
  assert.deepStrictEqual(ep.subsets, [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80, protocol: 'TCP' }] }]);
  const ev = decodeMessage('core.Event', cat(pb.msg(2, pb.str(1, 'Service'), pb.str(3, 'web')), pb.str(3, 'Created'), pb.msg(10)));
  assert.deepStrictEqual(ev, {
    metadata: { creationTimestamp: null },
    involvedObject: { kind: 'Service', name: 'web' },
    reason: 'Created',
    source: {},
    firstTimestamp: null,
    lastTimestamp: null,
    eventTime: null,
    reportingComponent: '',
    reportingInstance: '',
  });
});
