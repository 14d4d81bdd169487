// The other served types: what kube-apiserver 1.33 refuses, with its paths and words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigMaps,
  EndpointSlices,
  Endpoints,
  Events,
  Leases,
  Namespaces,
  Nodes,
  Secrets,
  ServiceAccounts,
  invalid,
  type KubeObject,
  type ResourceInfo,
} from '../index.ts';
import { defaultObject } from '../defaults/index.ts';
import { prepareForCreate, prepareForUpdate } from '../strategy/index.ts';
import { validateCreate, validateUpdate } from './index.ts';

function createMessage(r: ResourceInfo, obj: KubeObject): string | undefined {
  defaultObject(r, obj);
  prepareForCreate(r, obj);
  const errs = validateCreate(r, obj);
  return errs.length ? invalid({ group: r.group, kind: r.kind }, obj.metadata?.name ?? '', errs).message : undefined;
}

function stored(r: ResourceInfo, obj: KubeObject): KubeObject {
  assert.equal(createMessage(r, obj), undefined);
  obj.metadata = { ...obj.metadata, resourceVersion: '1', uid: 'u1' };
  return obj;
}

function updateMessage(r: ResourceInfo, next: KubeObject, old: KubeObject, sub?: string): string | undefined {
  defaultObject(r, next);
  prepareForUpdate(r, next, old, sub);
  const errs = validateUpdate(r, next, old, sub);
  return errs.length ? invalid({ group: r.group, kind: r.kind }, next.metadata?.name ?? '', errs).message : undefined;
}

const dns1123Label =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const configKey = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

const cases: { name: string; r: ResourceInfo; obj: object; message: string }[] = [
  { name: 'a Namespace named with capitals', r: Namespaces, obj: { metadata: { name: 'MLflow' } }, message: `Namespace "MLflow" is invalid: metadata.name: Invalid value: "MLflow": ${dns1123Label}` },
  {
    name: 'a Namespace named with a dot',
    r: Namespaces,
    obj: { metadata: { name: 'ml.flow' } },
    message: 'Namespace "ml.flow" is invalid: metadata.name: Invalid value: "ml.flow": must not contain dots',
  },
  {
    name: 'a Namespace with a namespace',
    r: Namespaces,
    obj: { metadata: { name: 'mlflow', namespace: 'default' } },
    message: 'Namespace "mlflow" is invalid: metadata.namespace: Forbidden: not allowed on this type',
  },
  {
    name: 'a Namespace finalizer that is not qualified',
    r: Namespaces,
    obj: { metadata: { name: 'mlflow' }, spec: { finalizers: ['mine'] } },
    message: 'Namespace "mlflow" is invalid: spec.finalizers: Invalid value: "mine": name is neither a standard finalizer name nor is it fully qualified',
  },
  {
    name: 'a ConfigMap key with a slash',
    r: ConfigMaps,
    obj: { metadata: { name: 'config', namespace: 'metallb-system' }, data: { 'a/b': 'x' } },
    message: `ConfigMap "config" is invalid: data[a/b]: Invalid value: "a/b": ${configKey}`,
  },
  {
    name: 'a ConfigMap key in both data and binaryData',
    r: ConfigMaps,
    obj: { metadata: { name: 'c', namespace: 'default' }, data: { k: 'x' }, binaryData: { k: 'eA==' } },
    message: 'ConfigMap "c" is invalid: data[k]: Invalid value: "k": duplicate of key present in binaryData',
  },
  {
    name: 'a ConfigMap key ..',
    r: ConfigMaps,
    obj: { metadata: { name: 'c', namespace: 'default' }, data: { '..': 'x' } },
    message: "ConfigMap \"c\" is invalid: data[..]: Invalid value: \"..\": must not be '..'",
  },
  {
    name: 'a TLS Secret without its key',
    r: Secrets,
    obj: { metadata: { name: 's', namespace: 'default' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==' } },
    message: 'Secret "s" is invalid: data[tls.key]: Required value',
  },
  {
    name: 'a Secret over 1 MiB',
    r: Secrets,
    obj: { metadata: { name: 's', namespace: 'default' }, stringData: { big: 'x'.repeat(1024 * 1024 + 1) } },
    message: 'Secret "s" is invalid: data: Too long: may not be more than 1048576 bytes',
  },
  {
    name: 'Endpoints with a subset without addresses',
    r: Endpoints,
    obj: { metadata: { name: 'web', namespace: 'default' }, subsets: [{ ports: [{ port: 80 }] }] },
    message: 'Endpoints "web" is invalid: subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`',
  },
  {
    name: 'Endpoints with a loopback address',
    r: Endpoints,
    obj: { metadata: { name: 'web', namespace: 'default' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: 80 }] }] },
    message: 'Endpoints "web" is invalid: subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
  },
  {
    name: 'Endpoints with two unnamed ports',
    r: Endpoints,
    obj: { metadata: { name: 'web', namespace: 'default' }, subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 80 }, { port: 443 }] }] },
    message: 'Endpoints "web" is invalid: [subsets[0].ports[0].name: Required value, subsets[0].ports[1].name: Required value]',
  },
  {
    name: 'an EndpointSlice without addressType',
    r: EndpointSlices,
    obj: { metadata: { name: 'web-abc', namespace: 'default' }, endpoints: [], ports: [] },
    message: 'EndpointSlice.discovery.k8s.io "web-abc" is invalid: addressType: Required value',
  },
  {
    name: 'an EndpointSlice with addressType IP',
    r: EndpointSlices,
    obj: { metadata: { name: 'web-abc', namespace: 'default' }, addressType: 'IP', endpoints: [] },
    message: 'EndpointSlice.discovery.k8s.io "web-abc" is invalid: addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"',
  },
  {
    name: 'an IPv4 EndpointSlice holding an IPv6 address',
    r: EndpointSlices,
    obj: { metadata: { name: 'web-abc', namespace: 'default' }, addressType: 'IPv4', endpoints: [{ addresses: ['fd00::5'] }] },
    message: 'EndpointSlice.discovery.k8s.io "web-abc" is invalid: endpoints[0].addresses[0]: Invalid value: "fd00::5": must be a valid IPv4 address',
  },
  {
    name: 'an endpoint without addresses',
    r: EndpointSlices,
    obj: { metadata: { name: 'web-abc', namespace: 'default' }, addressType: 'IPv4', endpoints: [{ addresses: [] }] },
    message: 'EndpointSlice.discovery.k8s.io "web-abc" is invalid: endpoints[0].addresses: Required value: must contain at least 1 address',
  },
  {
    name: 'an EndpointSlice with 1001 endpoints',
    r: EndpointSlices,
    obj: { metadata: { name: 'web-abc', namespace: 'default' }, addressType: 'IPv4', endpoints: Array.from({ length: 1001 }, (_, i) => ({ addresses: [`10.244.${i >> 8}.${(i & 255) + 1}`] })) },
    message: 'EndpointSlice.discovery.k8s.io "web-abc" is invalid: endpoints: Too many: 1001: must have at most 1000 items',
  },
  {
    name: 'an EndpointSlice with 101 ports',
    r: EndpointSlices,
    obj: { metadata: { name: 'web-abc', namespace: 'default' }, addressType: 'IPv4', endpoints: [], ports: Array.from({ length: 101 }, (_, i) => ({ name: `p${i}`, port: 1000 + i })) },
    message: 'EndpointSlice.discovery.k8s.io "web-abc" is invalid: ports: Too many: 101: must have at most 100 items',
  },
  {
    name: 'an EndpointSlice with two unnamed ports',
    r: EndpointSlices,
    obj: { metadata: { name: 'web-abc', namespace: 'default' }, addressType: 'IPv4', endpoints: [], ports: [{ port: 80 }, { port: 81 }] },
    message: 'EndpointSlice.discovery.k8s.io "web-abc" is invalid: ports[1].name: Duplicate value: ""',
  },
  {
    name: 'a Node with a namespace',
    r: Nodes,
    obj: { metadata: { name: 'worker1', namespace: 'default' } },
    message: 'Node "worker1" is invalid: metadata.namespace: Forbidden: not allowed on this type',
  },
  {
    name: 'a Node with two IPv4 pod CIDRs',
    r: Nodes,
    obj: { metadata: { name: 'worker1' }, spec: { podCIDRs: ['10.244.1.0/24', '10.244.2.0/24'] } },
    message: 'Node "worker1" is invalid: spec.podCIDRs: Invalid value: []string{"10.244.1.0/24", "10.244.2.0/24"}: may specify no more than one CIDR for each IP family',
  },
  {
    name: 'a Node taint with a bad effect',
    r: Nodes,
    obj: { metadata: { name: 'worker1' }, spec: { taints: [{ key: 'dedicated', effect: 'Never' }] } },
    message: 'Node "worker1" is invalid: metadata.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
  },
  {
    name: 'an Event about an object in another namespace',
    r: Events,
    obj: { metadata: { name: 'web.17a', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'web', namespace: 'mlflow' }, reason: 'Started' },
    message: 'Event "web.17a" is invalid: involvedObject.namespace: Invalid value: "mlflow": does not match event.namespace',
  },
  {
    name: 'an Event name with a slash',
    r: Events,
    obj: { metadata: { name: 'a/b', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' } },
    message: "Event \"a/b\" is invalid: metadata.name: Invalid value: \"a/b\": may not contain '/'",
  },
  {
    name: 'a Lease with a zero duration',
    r: Leases,
    obj: { metadata: { name: 'worker1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'worker1', leaseDurationSeconds: 0 } },
    message: 'Lease.coordination.k8s.io "worker1" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
  },
  {
    name: 'a ServiceAccount named with capitals',
    r: ServiceAccounts,
    obj: { metadata: { name: 'Builder', namespace: 'default' } },
    message:
      "ServiceAccount \"Builder\" is invalid: metadata.name: Invalid value: \"Builder\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  },
];

for (const c of cases) {
  test(`${c.name} is refused with Kubernetes' message`, () => {
    assert.equal(createMessage(c.r, structuredClone(c.obj) as KubeObject), c.message);
  });
}

test('a new Namespace gets the kubernetes finalizer and phase Active', () => {
  const ns = stored(Namespaces, { metadata: { name: 'mlflow' } }) as KubeObject & { spec?: { finalizers?: string[] }; status?: { phase?: string } };
  assert.deepEqual(ns.spec?.finalizers, ['kubernetes']);
  assert.deepEqual(ns.status, { phase: 'Active' });
});

test('a Namespace update keeps finalizers and status; finalize changes the finalizers', () => {
  const old = stored(Namespaces, { metadata: { name: 'mlflow' } });
  const next = structuredClone(old) as KubeObject & { spec?: { finalizers?: string[] }; status?: { phase?: string } };
  next.spec = { finalizers: [] };
  next.status = { phase: 'Terminating' };
  assert.equal(updateMessage(Namespaces, next, old), undefined);
  assert.deepEqual(next.spec.finalizers, ['kubernetes']);
  assert.equal(next.status.phase, 'Active');
  const fin = structuredClone(old) as KubeObject & { spec?: { finalizers?: string[] } };
  fin.spec = { finalizers: [] };
  assert.equal(updateMessage(Namespaces, fin, old, 'finalize'), undefined);
  assert.deepEqual(fin.spec.finalizers, []);
});

test('a Namespace status of Terminating without deletionTimestamp is refused', () => {
  const old = stored(Namespaces, { metadata: { name: 'mlflow' } });
  const next = structuredClone(old) as KubeObject & { status?: { phase?: string } };
  next.status = { phase: 'Terminating' };
  assert.equal(updateMessage(Namespaces, next, old, 'status'), 'Namespace "mlflow" is invalid: status.Phase: Invalid value: "Terminating": may only be \'Active\' if `deletionTimestamp` is empty');
});

test('an immutable ConfigMap may not change its data', () => {
  const old = stored(ConfigMaps, { metadata: { name: 'c', namespace: 'default' }, data: { a: '1' }, immutable: true } as KubeObject);
  const next = structuredClone(old) as KubeObject & { data?: Record<string, string> };
  next.data = { a: '2' };
  assert.equal(updateMessage(ConfigMaps, next, old), 'ConfigMap "c" is invalid: data: Forbidden: field is immutable when `immutable` is set');
});

test('a Secret may not change its type', () => {
  const old = stored(Secrets, { metadata: { name: 's', namespace: 'default' } });
  const next = structuredClone(old) as KubeObject & { type?: string; data?: Record<string, string> };
  next.type = 'kubernetes.io/basic-auth';
  next.data = { username: 'dQ==' };
  assert.equal(updateMessage(Secrets, next, old), 'Secret "s" is invalid: type: Invalid value: "kubernetes.io/basic-auth": field is immutable');
});

test('an EndpointSlice may not change its addressType, and its generation counts changes', () => {
  const old = stored(EndpointSlices, { metadata: { name: 'web-abc', namespace: 'default' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'] }], ports: [{ port: 5000 }] } as KubeObject);
  assert.equal(old.metadata?.generation, 1);
  const same = structuredClone(old);
  assert.equal(updateMessage(EndpointSlices, same, old), undefined);
  assert.equal(same.metadata?.generation, 1);
  const moved = structuredClone(old) as KubeObject & { endpoints?: { addresses: string[] }[] };
  moved.endpoints = [{ addresses: ['10.244.1.6'] }];
  assert.equal(updateMessage(EndpointSlices, moved, old), undefined);
  assert.equal(moved.metadata?.generation, 2);
  const v6 = structuredClone(old) as KubeObject & { addressType?: string; endpoints?: unknown[] };
  v6.addressType = 'IPv6';
  v6.endpoints = [];
  assert.equal(updateMessage(EndpointSlices, v6, old), 'EndpointSlice.discovery.k8s.io "web-abc" is invalid: addressType: Invalid value: "IPv6": field is immutable');
});

test('a Node registers with its status, which its main resource may not change afterwards', () => {
  const old = stored(Nodes, { metadata: { name: 'worker1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.101' }] } } as KubeObject) as KubeObject & {
    status?: { addresses?: { type: string; address: string }[] };
  };
  assert.equal(old.status?.addresses?.[0]?.address, '192.168.1.101');
  const next = structuredClone(old);
  next.status = { addresses: [] };
  assert.equal(updateMessage(Nodes, next, old), undefined);
  assert.equal(next.status.addresses?.length, 1);
});

test('a Node podCIDR may not change once set', () => {
  const old = stored(Nodes, { metadata: { name: 'worker1' }, spec: { podCIDRs: ['10.244.1.0/24'] } } as KubeObject);
  const next = structuredClone(old) as KubeObject & { spec?: { podCIDRs?: string[] } };
  next.spec = { podCIDRs: ['10.244.2.0/24'] };
  assert.equal(updateMessage(Nodes, next, old), 'Node "worker1" is invalid: spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid');
});

test('an Event of a cluster-scoped object may live in default', () => {
  assert.equal(createMessage(Events, { metadata: { name: 'worker1.1', namespace: 'default' }, involvedObject: { kind: 'Node', name: 'worker1' } } as KubeObject), undefined);
});
