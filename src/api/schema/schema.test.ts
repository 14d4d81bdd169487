import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allResources, gvkOf } from '../index.ts';
import { schemaFor, openApiDefinitions, type SchemaNode } from './index.ts';

function at(root: SchemaNode | undefined, path: string): SchemaNode {
  let node = root;
  for (const part of path.split('.')) {
    assert.ok(node, `no schema above ${part} in ${path}`);
    node = part === '[]' ? node.items : part === '{}' ? node.additionalProperties : node.properties?.[part];
  }
  assert.ok(node, `no schema at ${path}`);
  return node;
}

const core = (kind: string) => ({ group: '', version: 'v1', kind });

test('every served kind, its list kind and its subresource kinds have a schema', () => {
  for (const r of allResources) {
    const s = schemaFor(gvkOf(r));
    assert.ok(s, `${r.kind} has no schema`);
    assert.equal(s.type, 'object');
    assert.ok(s.properties?.metadata, `${r.kind} has no metadata`);
    assert.ok(schemaFor({ group: r.group, version: r.version, kind: r.listKind }), `${r.listKind} has no schema`);
    for (const sub of r.subresources) {
      if (sub.name === 'exec' || sub.name === 'log') continue; // connect operations take no body
      assert.ok(schemaFor(sub.kind), `${r.resource}/${sub.name} (${sub.kind.kind}) has no schema`);
    }
  }
  assert.ok(schemaFor(core('Status')));
  assert.ok(schemaFor({ group: 'apps', version: 'v1', kind: 'DeleteOptions' }));
  assert.equal(schemaFor(core('Nonsense')), undefined);
});

test('Service ports are a map keyed by port and protocol, merged by port', () => {
  const ports = at(schemaFor(core('Service')), 'spec.ports');
  assert.equal(ports.type, 'array');
  assert.equal(ports.listType, 'map');
  assert.deepEqual(ports.listMapKeys, ['port', 'protocol']);
  assert.equal(ports.patchMergeKey, 'port');
  assert.equal(ports.patchStrategy, 'merge');
  assert.equal(ports.items?.typeName, 'ServicePort');
  assert.equal(at(ports, '[].protocol').default, 'TCP');
  assert.deepEqual(at(ports, '[].protocol').enum, ['SCTP', 'TCP', 'UDP']);
  assert.deepEqual(at(ports, '[].port'), { ...at(ports, '[].port'), type: 'integer', format: 'int32' });
  assert.deepEqual(schemaFor(core('Service'))?.properties?.spec?.required, undefined);
  assert.deepEqual(at(ports, '[]').required, ['port']);
});

test('targetPort is an int-or-string and the selector an atomic map', () => {
  const spec = at(schemaFor(core('Service')), 'spec');
  assert.equal(at(spec, 'ports.[].targetPort').intOrString, true);
  assert.equal(at(spec, 'ports.[].targetPort').typeName, 'IntOrString');
  assert.match(at(spec, 'ports.[].targetPort').description ?? '', /^Number or name of the port/);
  assert.equal(at(spec, 'selector').mapType, 'atomic');
  assert.equal(at(spec, 'selector.{}').type, 'string');
  assert.equal(at(spec, 'clusterIPs').listType, 'atomic');
  assert.deepEqual(at(spec, 'type').enum, ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort']);
});

test('containers, env, volumes and container ports merge by their Kubernetes keys', () => {
  const pod = at(schemaFor({ group: 'apps', version: 'v1', kind: 'Deployment' }), 'spec.template.spec');
  assert.equal(pod.typeName, 'PodSpec');
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    assert.equal(at(pod, list).listType, 'map');
    assert.deepEqual(at(pod, list).listMapKeys, ['name']);
    assert.equal(at(pod, list).patchMergeKey, 'name');
    assert.equal(at(pod, list).patchStrategy, 'merge');
  }
  assert.equal(at(pod, 'volumes').patchStrategy, 'merge,retainKeys');
  assert.equal(at(pod, 'containers.[].env').patchMergeKey, 'name');
  assert.equal(at(pod, 'containers.[].volumeMounts').patchMergeKey, 'mountPath');
  assert.deepEqual(at(pod, 'containers.[].ports').listMapKeys, ['containerPort', 'protocol']);
  assert.equal(at(pod, 'containers.[].ports').patchMergeKey, 'containerPort');
  assert.equal(at(pod, 'containers.[].args').listType, 'atomic');
  assert.deepEqual(at(pod, 'topologySpreadConstraints').listMapKeys, ['topologyKey', 'whenUnsatisfiable']);
  assert.equal(at(pod, 'nodeSelector').mapType, 'atomic');
  assert.equal(at(pod, 'containers.[].resources.limits.{}').typeName, 'Quantity');
  assert.equal(at(pod, 'terminationGracePeriodSeconds').format, 'int64');
  assert.equal(at(pod, 'containers.[]').required?.includes('name'), true);
});

test('metadata lists: finalizers are a set, owner references a map by uid, managed fields atomic', () => {
  const meta = at(schemaFor(core('Pod')), 'metadata');
  assert.equal(meta.typeName, 'ObjectMeta');
  assert.equal(at(meta, 'finalizers').listType, 'set');
  assert.equal(at(meta, 'finalizers').patchStrategy, 'merge');
  assert.equal(at(meta, 'ownerReferences').listType, 'map');
  assert.deepEqual(at(meta, 'ownerReferences').listMapKeys, ['uid']);
  assert.equal(at(meta, 'ownerReferences').patchMergeKey, 'uid');
  assert.equal(at(meta, 'ownerReferences.[]').mapType, 'atomic');
  assert.equal(at(meta, 'managedFields').listType, 'atomic');
  assert.equal(at(meta, 'managedFields.[].fieldsV1').preserveUnknownFields, true);
  assert.equal(at(meta, 'creationTimestamp').format, 'date-time');
  assert.equal(at(meta, 'generation').format, 'int64');
  assert.equal(at(meta, 'labels.{}').type, 'string');
});

test('conditions merge by type; EndpointSlice endpoints are atomic and addresses a set', () => {
  for (const [gvk, path] of [
    [core('Pod'), 'status.conditions'],
    [core('Node'), 'status.conditions'],
    [core('Node'), 'status.addresses'],
    [core('Service'), 'status.conditions'],
    [core('Namespace'), 'status.conditions'],
    [{ group: 'apps', version: 'v1', kind: 'Deployment' }, 'status.conditions'],
    [{ group: 'apps', version: 'v1', kind: 'ReplicaSet' }, 'status.conditions'],
  ] as const) {
    const list = at(schemaFor(gvk), path);
    assert.equal(list.listType, 'map', `${gvk.kind} ${path}`);
    assert.deepEqual(list.listMapKeys, ['type']);
    assert.equal(list.patchMergeKey, 'type');
  }
  const slice = schemaFor({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' });
  assert.equal(at(slice, 'endpoints').listType, 'atomic');
  assert.equal(at(slice, 'ports').listType, 'atomic');
  assert.equal(at(slice, 'endpoints.[].addresses').listType, 'set');
  assert.equal(at(slice, 'ports.[]').mapType, 'atomic');
  assert.deepEqual(slice?.required, ['addressType', 'endpoints']);
  assert.equal(at(schemaFor(core('Pod')), 'status.podIPs').patchMergeKey, 'ip');
  assert.equal(at(schemaFor(core('ServiceAccount')), 'secrets').patchMergeKey, 'name');
  assert.equal(at(schemaFor({ group: 'apps', version: 'v1', kind: 'Deployment' }), 'spec.strategy').patchStrategy, 'retainKeys');
});

test('Scale, Lease and Secret data have Kubernetes types', () => {
  const scale = schemaFor({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
  assert.equal(at(scale, 'spec.replicas').format, 'int32');
  assert.equal(at(scale, 'status.selector').type, 'string');
  const lease = schemaFor({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' });
  assert.equal(at(lease, 'spec.renewTime').format, 'date-time');
  assert.equal(at(schemaFor(core('Secret')), 'data.{}').format, 'byte');
  assert.equal(at(schemaFor(core('Event')), 'involvedObject').typeName, 'ObjectReference');
});

test('field nodes carry the field description, type nodes the type description', () => {
  const svc = schemaFor(core('Service'));
  assert.match(svc?.description ?? '', /^Service is a named abstraction/);
  assert.match(at(svc, 'spec').description ?? '', /^Spec defines the behavior of a service/);
  assert.match(at(svc, 'spec.ports').description ?? '', /^The list of ports that are exposed by this service/);
  assert.match(at(svc, 'spec.ports.[]').description ?? '', /^ServicePort contains information on service's port/);
});

test('MetalLB IPAddressPool and L2Advertisement have their CRD schemas', () => {
  const pool = schemaFor({ group: 'metallb.io', version: 'v1beta1', kind: 'IPAddressPool' });
  assert.deepEqual(at(pool, 'spec').required, ['addresses']);
  assert.equal(at(pool, 'spec.addresses.[]').type, 'string');
  assert.equal(at(pool, 'spec.autoAssign').default, true);
  assert.equal(at(pool, 'spec.avoidBuggyIPs').type, 'boolean');
  assert.equal(at(pool, 'spec.serviceAllocation.priority').type, 'integer');
  assert.equal(at(pool, 'spec.serviceAllocation.namespaceSelectors.[].matchLabels.{}').type, 'string');
  assert.equal(at(pool, 'spec.serviceAllocation.serviceSelectors.[]').mapType, 'atomic');
  assert.equal(at(pool, 'status.availableIPv4').format, 'int64');
  assert.equal(at(pool, 'metadata').typeName, 'ObjectMeta');
  assert.ok(pool?.description);
  const l2 = schemaFor({ group: 'metallb.io', version: 'v1beta1', kind: 'L2Advertisement' });
  for (const f of ['ipAddressPools', 'ipAddressPoolSelectors', 'nodeSelectors', 'interfaces']) {
    assert.equal(at(l2, `spec.${f}`).type, 'array');
    assert.ok(at(l2, `spec.${f}`).description);
  }
});

test('every $ref in the definitions resolves', () => {
  const defs = openApiDefinitions();
  const refs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') refs.push(x);
        else walk(x);
      }
    }
  };
  walk(defs);
  assert.ok(refs.length > 300);
  for (const r of refs) assert.ok(defs[r.replace('#/components/schemas/', '')], `dangling ${r}`);
});
