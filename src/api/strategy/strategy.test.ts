// The registry strategies as pure functions: Service type changes, clusterIP bookkeeping,
// generations and status handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { ConfigMaps, Deployments, Pods, Services, type KubeObject } from '../index.ts';
import { dropTypeDependentFields, normalizeClusterIPs, patchAllocatedValues, podQOSClass, prepareForCreate, prepareForUpdate } from './index.ts';

function svc(spec: object, status?: object): Service {
  return { metadata: { name: 'web', namespace: 'default' }, spec: structuredClone(spec), ...(status ? { status: structuredClone(status) } : {}) };
}

const lb = {
  type: 'LoadBalancer',
  clusterIP: '10.96.0.10',
  clusterIPs: ['10.96.0.10'],
  ipFamilies: ['IPv4'],
  ipFamilyPolicy: 'SingleStack',
  ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30080 }],
  externalTrafficPolicy: 'Local',
  healthCheckNodePort: 30999,
  allocateLoadBalancerNodePorts: true,
  loadBalancerClass: 'example.com/lb',
  internalTrafficPolicy: 'Cluster',
  sessionAffinity: 'None',
};
const lbStatus = { loadBalancer: { ingress: [{ ip: '192.168.1.200', ipMode: 'VIP' }] } };

const transitions: { name: string; to: object; want: object }[] = [
  {
    name: 'LoadBalancer to NodePort',
    to: { type: 'NodePort' },
    want: { ...lb, type: 'NodePort', externalTrafficPolicy: 'Local', healthCheckNodePort: undefined, allocateLoadBalancerNodePorts: undefined, loadBalancerClass: undefined },
  },
  {
    name: 'LoadBalancer to ClusterIP',
    to: { type: 'ClusterIP' },
    want: {
      ...lb,
      type: 'ClusterIP',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }],
      externalTrafficPolicy: undefined,
      healthCheckNodePort: undefined,
      allocateLoadBalancerNodePorts: undefined,
      loadBalancerClass: undefined,
    },
  },
  {
    name: 'LoadBalancer to ExternalName',
    to: { type: 'ExternalName', externalName: 'db.example.com' },
    want: {
      ...lb,
      type: 'ExternalName',
      externalName: 'db.example.com',
      clusterIP: undefined,
      clusterIPs: undefined,
      ipFamilies: undefined,
      ipFamilyPolicy: undefined,
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }],
      externalTrafficPolicy: undefined,
      healthCheckNodePort: undefined,
      allocateLoadBalancerNodePorts: undefined,
      loadBalancerClass: undefined,
    },
  },
  {
    name: 'LoadBalancer to ClusterIP with a changed nodePort (kept for validation to refuse)',
    to: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 31000 }] },
    want: {
      ...lb,
      type: 'ClusterIP',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 31000 }],
      externalTrafficPolicy: undefined,
      healthCheckNodePort: undefined,
      allocateLoadBalancerNodePorts: undefined,
      loadBalancerClass: undefined,
    },
  },
  {
    name: 'LoadBalancer to ClusterIP with a changed class (kept for validation to refuse)',
    to: { type: 'ClusterIP', loadBalancerClass: 'example.com/other' },
    want: {
      ...lb,
      type: 'ClusterIP',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }],
      externalTrafficPolicy: undefined,
      healthCheckNodePort: undefined,
      allocateLoadBalancerNodePorts: undefined,
      loadBalancerClass: 'example.com/other',
    },
  },
];

function clean(o: object): object {
  return JSON.parse(JSON.stringify(o)) as object;
}

for (const t of transitions) {
  test(`dropTypeDependentFields: ${t.name}`, () => {
    const old = svc(lb, lbStatus);
    const next = svc({ ...lb, ...t.to }, lbStatus);
    dropTypeDependentFields(next, old);
    assert.deepEqual(clean(next.spec ?? {}), clean(t.want));
    assert.deepEqual(next.status?.loadBalancer, {});
  });
}

test('dropTypeDependentFields keeps the load-balancer status while the type stays LoadBalancer', () => {
  const old = svc(lb, lbStatus);
  const next = svc(lb, lbStatus);
  dropTypeDependentFields(next, old);
  assert.deepEqual(next.status, lbStatus);
  assert.deepEqual(clean(next.spec ?? {}), clean(lb));
});

test('dropTypeDependentFields drops externalTrafficPolicy when a ClusterIP service loses its external IPs', () => {
  const old = svc({ type: 'ClusterIP', externalIPs: ['192.168.1.10'], externalTrafficPolicy: 'Cluster', ports: [{ port: 80 }] });
  const next = svc({ type: 'ClusterIP', externalTrafficPolicy: 'Cluster', ports: [{ port: 80 }] });
  dropTypeDependentFields(next, old);
  assert.equal(next.spec?.externalTrafficPolicy, undefined);
});

test('normalizeClusterIPs on create copies clusterIP into clusterIPs', () => {
  const s = svc({ clusterIP: '10.96.0.10' });
  normalizeClusterIPs(s);
  assert.deepEqual(s.spec?.clusterIPs, ['10.96.0.10']);
  const both = svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::a'] });
  normalizeClusterIPs(both);
  assert.deepEqual(both.spec?.clusterIPs, ['10.96.0.10', 'fd00::a']);
});

test('normalizeClusterIPs on update follows the singular field as old clients use it', () => {
  const old = svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::a'] });
  const dropped = svc({ clusterIP: '10.96.0.10' });
  normalizeClusterIPs(dropped, old);
  assert.deepEqual(dropped.spec?.clusterIPs, ['10.96.0.10', 'fd00::a']);
  const cleared = svc({ clusterIP: '', clusterIPs: ['10.96.0.10', 'fd00::a'] });
  normalizeClusterIPs(cleared, old);
  assert.equal(cleared.spec?.clusterIPs, undefined);
  const changed = svc({ clusterIP: '10.96.0.11', clusterIPs: ['10.96.0.10', 'fd00::a'] });
  normalizeClusterIPs(changed, old);
  assert.deepEqual(changed.spec?.clusterIPs, ['10.96.0.11']);
});

test('patchAllocatedValues fills allocated values a resubmitted manifest leaves out', () => {
  const old = svc(lb);
  const next = svc({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80 }] });
  patchAllocatedValues(next, old);
  assert.equal(next.spec?.clusterIP, '10.96.0.10');
  assert.deepEqual(next.spec?.clusterIPs, ['10.96.0.10']);
  assert.equal(next.spec?.ports?.[0]?.nodePort, 30080);
  assert.equal(next.spec?.healthCheckNodePort, 30999);
  const toExternal = svc({ type: 'ExternalName', externalName: 'x.example.com', ports: [{ name: 'http', port: 80 }] });
  patchAllocatedValues(toExternal, old);
  assert.equal(toExternal.spec?.clusterIP, undefined);
  assert.equal(toExternal.spec?.ports?.[0]?.nodePort, undefined);
});

test('a Service create clears any status the client sent', () => {
  const s = svc(lb, lbStatus);
  prepareForCreate(Services, s);
  assert.deepEqual(s.status, { loadBalancer: {} });
});

test('a Service update keeps the stored status; a status update keeps the stored spec', () => {
  const old = svc(lb, lbStatus);
  const next = svc(lb, { loadBalancer: {} });
  prepareForUpdate(Services, next, old);
  assert.deepEqual(next.status, lbStatus);
  const st = svc({ ...lb, type: 'ClusterIP' }, { loadBalancer: { ingress: [{ ip: '192.168.1.201', ipMode: 'VIP' }] } });
  prepareForUpdate(Services, st, old, 'status');
  assert.equal(st.spec?.type, 'LoadBalancer');
  assert.equal(st.status?.loadBalancer?.ingress?.[0]?.ip, '192.168.1.201');
});

test('Pod QoS classes: BestEffort, Burstable, Guaranteed', () => {
  const p = (resources: object): Pod => ({ spec: { containers: [{ name: 'a', image: 'a', resources }] } });
  assert.equal(podQOSClass(p({})), 'BestEffort');
  assert.equal(podQOSClass(p({ requests: { cpu: '100m' } })), 'Burstable');
  assert.equal(podQOSClass(p({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } })), 'Guaranteed');
  assert.equal(podQOSClass(p({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } })), 'Burstable');
});

test('a gated Pod is created with a SchedulingGated condition', () => {
  const pod: Pod = { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'a', image: 'a' }], schedulingGates: [{ name: 'example.com/wait' }] } };
  prepareForCreate(Pods, pod);
  assert.equal(pod.status?.conditions?.[0]?.reason, 'SchedulingGated');
});

test('a client cannot set or lower the generation on update', () => {
  const old: KubeObject = { metadata: { name: 'd', generation: 4, resourceVersion: '9' }, spec: { replicas: 1 } } as KubeObject;
  const next: KubeObject = { metadata: { name: 'd', generation: 1, resourceVersion: '9' }, spec: { replicas: 1 } } as KubeObject;
  prepareForUpdate(Deployments, next, old);
  assert.equal(next.metadata?.generation, 4);
  const cm: KubeObject = { metadata: { name: 'c', generation: 7 } };
  prepareForUpdate(ConfigMaps, cm, { metadata: { name: 'c' } });
  assert.equal(cm.metadata?.generation, undefined);
});

test('a Deployment annotation change bumps the generation', () => {
  const old: KubeObject = { metadata: { name: 'd', generation: 2 }, spec: { replicas: 1 } } as KubeObject;
  const next: KubeObject = { metadata: { name: 'd', annotations: { 'kubernetes.io/change-cause': 'x' } }, spec: { replicas: 1 } } as KubeObject;
  prepareForUpdate(Deployments, next, old);
  assert.equal(next.metadata?.generation, 3);
});
