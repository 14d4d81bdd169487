// Defaults as kube-apiserver 1.33 applies them: what `kubectl get -o yaml` shows after a create.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoints, Event, Namespace, Node, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { Deployments, EndpointSlices, Endpoints as EndpointsR, Events, IPAddressPools, Namespaces, Nodes, Pods, ReplicaSets, Secrets, Services } from '../index.ts';
import { defaultObject, imageTag } from './index.ts';
import type { IPAddressPool } from '../validation/index.ts';

test('a Service defaults to ClusterIP, affinity None, TCP, targetPort = port and internalTrafficPolicy Cluster', () => {
  const s = defaultObject<Service>(Services, { metadata: { name: 'a' }, spec: { ports: [{ port: 5000 }] } });
  assert.deepEqual(s.spec, {
    type: 'ClusterIP',
    sessionAffinity: 'None',
    ports: [{ port: 5000, protocol: 'TCP', targetPort: 5000 }],
    internalTrafficPolicy: 'Cluster',
  });
  assert.deepEqual(s.status, { loadBalancer: {} });
});

test('a NodePort Service gets externalTrafficPolicy Cluster; a LoadBalancer also allocateLoadBalancerNodePorts', () => {
  const np = defaultObject<Service>(Services, { spec: { type: 'NodePort', ports: [{ port: 80 }] } });
  assert.equal(np.spec?.externalTrafficPolicy, 'Cluster');
  assert.equal(np.spec?.allocateLoadBalancerNodePorts, undefined);
  const lb = defaultObject<Service>(Services, { spec: { type: 'LoadBalancer', ports: [{ port: 80, targetPort: 3000 }] } });
  assert.equal(lb.spec?.externalTrafficPolicy, 'Cluster');
  assert.equal(lb.spec?.allocateLoadBalancerNodePorts, true);
  assert.equal(lb.spec?.ports?.[0]?.targetPort, 3000);
});

test('a ClusterIP Service with external IPs is externally accessible and gets externalTrafficPolicy Cluster', () => {
  const s = defaultObject<Service>(Services, { spec: { externalIPs: ['192.168.1.10'], ports: [{ port: 80 }] } });
  assert.equal(s.spec?.externalTrafficPolicy, 'Cluster');
});

test('ClientIP affinity gets a three-hour timeout; None drops any config', () => {
  const c = defaultObject<Service>(Services, { spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] } });
  assert.deepEqual(c.spec?.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  const n = defaultObject<Service>(Services, { spec: { sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } }, ports: [{ port: 80 }] } });
  assert.equal(n.spec?.sessionAffinityConfig, undefined);
});

test('an ExternalName Service gets no internalTrafficPolicy', () => {
  const s = defaultObject<Service>(Services, { spec: { type: 'ExternalName', externalName: 'db.example.com' } });
  assert.equal(s.spec?.internalTrafficPolicy, undefined);
});

test('a load-balancer ingress with an IP gets ipMode VIP, only for type LoadBalancer', () => {
  const lb: Service = { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '192.168.1.200' }, { hostname: 'lb.example.com' }] } } };
  defaultObject(Services, lb);
  assert.deepEqual(lb.status?.loadBalancer?.ingress, [{ ip: '192.168.1.200', ipMode: 'VIP' }, { hostname: 'lb.example.com' }]);
  const ci: Service = { spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '192.168.1.200' }] } } };
  defaultObject(Services, ci);
  assert.equal(ci.status?.loadBalancer?.ingress?.[0]?.ipMode, undefined);
});

test('image pull policy follows the tag: Always for latest or none, IfNotPresent otherwise', () => {
  const cases: [string, string][] = [
    ['mlflow/mlflow', 'latest'],
    ['nginx:latest', 'latest'],
    ['nginx:1.27', '1.27'],
    ['localhost:5000/app', 'latest'],
    ['localhost:5000/app:v2', 'v2'],
    ['registry.k8s.io/e2e-test-images/agnhost:2.53', '2.53'],
    ['nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000', ''],
    ['Nginx', ''],
  ];
  for (const [image, tag] of cases) assert.equal(imageTag(image), tag, image);
  const pod = defaultObject<Pod>(Pods, { spec: { containers: [{ name: 'a', image: 'mlflow/mlflow' }, { name: 'b', image: 'nginx:1.27' }] } });
  assert.deepEqual(
    pod.spec?.containers.map((c) => c.imagePullPolicy),
    ['Always', 'IfNotPresent'],
  );
});

test('a Pod gets the PodSpec, container, port and probe defaults', () => {
  const pod = defaultObject<Pod>(Pods, {
    metadata: { name: 'p' },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'nginx:1.27',
          ports: [{ containerPort: 80 }],
          livenessProbe: { httpGet: { port: 80 } },
          readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 5 },
          env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
        },
      ],
    },
  });
  const spec = pod.spec;
  assert.equal(spec?.restartPolicy, 'Always');
  assert.equal(spec?.dnsPolicy, 'ClusterFirst');
  assert.equal(spec?.terminationGracePeriodSeconds, 30);
  assert.equal(spec?.schedulerName, 'default-scheduler');
  assert.deepEqual(spec?.securityContext, {});
  assert.equal(spec?.enableServiceLinks, true);
  const c = spec?.containers[0];
  assert.equal(c?.terminationMessagePath, '/dev/termination-log');
  assert.equal(c?.terminationMessagePolicy, 'File');
  assert.deepEqual(c?.ports, [{ containerPort: 80, protocol: 'TCP' }]);
  assert.deepEqual(c?.resources, {});
  assert.deepEqual(c?.livenessProbe, { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  assert.deepEqual(c?.readinessProbe, { tcpSocket: { port: 'http' }, timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 });
  assert.equal(c?.env?.[0]?.valueFrom?.fieldRef?.apiVersion, 'v1');
  assert.deepEqual(pod.status, {});
});

test('a Pod copies limits to missing requests, and host-network ports to hostPort', () => {
  const pod = defaultObject<Pod>(Pods, {
    spec: { hostNetwork: true, containers: [{ name: 'a', image: 'x:1', ports: [{ containerPort: 8080 }], resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } } }] },
  });
  assert.deepEqual(pod.spec?.containers[0]?.resources?.requests, { cpu: '500m', memory: '1Gi' });
  assert.equal(pod.spec?.containers[0]?.ports?.[0]?.hostPort, 8080);
});

test('volumes get their source and mode defaults', () => {
  const pod = defaultObject<Pod>(Pods, {
    spec: { containers: [{ name: 'a', image: 'x:1' }], volumes: [{ name: 'scratch' }, { name: 'cfg', configMap: { name: 'c' } }, { name: 's', secret: { secretName: 's' } }] },
  });
  assert.deepEqual(pod.spec?.volumes, [
    { name: 'scratch', emptyDir: {} },
    { name: 'cfg', configMap: { name: 'c', defaultMode: 420 } },
    { name: 's', secret: { secretName: 's', defaultMode: 420 } },
  ]);
});

test('a Deployment gets replicas 1, RollingUpdate 25%/25%, history 10, progress deadline 600 and template defaults', () => {
  const d = defaultObject<Deployment>(Deployments, {
    metadata: { name: 'd' },
    spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image: 'x' }] } } },
  });
  assert.equal(d.spec?.replicas, 1);
  assert.deepEqual(d.spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(d.spec?.revisionHistoryLimit, 10);
  assert.equal(d.spec?.progressDeadlineSeconds, 600);
  assert.equal(d.spec?.template.spec?.restartPolicy, 'Always');
  assert.equal(d.spec?.template.spec?.containers[0]?.imagePullPolicy, 'Always');
  // Templates are not Pods: no enableServiceLinks.
  assert.equal(d.spec?.template.spec?.enableServiceLinks, undefined);
  assert.equal((d.spec?.template.metadata as Record<string, unknown>).creationTimestamp, null);
  assert.deepEqual(d.status, {});
});

test('a Recreate Deployment gets no rollingUpdate', () => {
  const d = defaultObject<Deployment>(Deployments, { spec: { selector: {}, template: {}, strategy: { type: 'Recreate' } } });
  assert.deepEqual(d.spec?.strategy, { type: 'Recreate' });
});

test('a ReplicaSet gets replicas 1 and status replicas 0', () => {
  const rs = defaultObject<ReplicaSet>(ReplicaSets, { spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 'a:1' }] } } } });
  assert.equal(rs.spec?.replicas, 1);
  assert.deepEqual(rs.status, { replicas: 0 });
});

test('a Namespace gets its name label and phase Active', () => {
  const ns = defaultObject<Namespace>(Namespaces, { metadata: { name: 'mlflow' } });
  assert.deepEqual(ns.metadata?.labels, { 'kubernetes.io/metadata.name': 'mlflow' });
  assert.deepEqual(ns.status, { phase: 'Active' });
});

test('a Secret defaults to Opaque and folds stringData into data', () => {
  const s = defaultObject<Secret>(Secrets, { data: { a: 'YQ==' }, stringData: { b: 'bee', a: 'A' } });
  assert.equal(s.type, 'Opaque');
  assert.deepEqual(s.data, { a: 'QQ==', b: 'YmVl' });
  assert.equal((s as { stringData?: unknown }).stringData, undefined);
});

test('Endpoints and EndpointSlice ports default to TCP; slices show null lists', () => {
  const ep = defaultObject<Endpoints>(EndpointsR, { subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 5000 }] }] });
  assert.equal(ep.subsets?.[0]?.ports?.[0]?.protocol, 'TCP');
  const slice = defaultObject<EndpointSlice>(EndpointSlices, { addressType: 'IPv4', endpoints: [], ports: [{ port: 5000 }] });
  assert.deepEqual(slice.ports, [{ port: 5000, name: '', protocol: 'TCP' }]);
  const empty = defaultObject<EndpointSlice>(EndpointSlices, { addressType: 'IPv4' } as EndpointSlice);
  assert.equal((empty as unknown as Record<string, unknown>).endpoints, null);
});

test('a Node without allocatable gets its capacity', () => {
  const n = defaultObject<Node>(Nodes, { status: { capacity: { cpu: '4', pods: '110' } } });
  assert.deepEqual(n.status?.allocatable, { cpu: '4', pods: '110' });
});

test('an Event shows its empty reporting fields and null times', () => {
  const e = defaultObject<Event>(Events, { involvedObject: {}, metadata: { name: 'e' } });
  const r = e as unknown as Record<string, unknown>;
  assert.equal(r.reportingComponent, '');
  assert.equal(r.eventTime, null);
});

test('an IPAddressPool gets autoAssign true and avoidBuggyIPs false', () => {
  const p = defaultObject<IPAddressPool>(IPAddressPools, { spec: { addresses: ['192.168.1.200-192.168.1.250'] } });
  assert.deepEqual(p.spec, { addresses: ['192.168.1.200-192.168.1.250'], autoAssign: true, avoidBuggyIPs: false });
});

test('defaulting twice changes nothing more than defaulting once', () => {
  const objs: [typeof Services, object][] = [
    [Services, { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } }],
    [Pods, { spec: { containers: [{ name: 'a', image: 'a', livenessProbe: { exec: { command: ['true'] } } }] } }],
    [Deployments, { spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 'a' }] } } } }],
    [Namespaces, { metadata: { name: 'n' } }],
    [Secrets, { stringData: { a: 'b' } }],
  ];
  for (const [r, o] of objs) {
    const once = defaultObject(r, structuredClone(o));
    const twice = defaultObject(r, structuredClone(once));
    assert.deepEqual(twice, once, r.kind);
  }
});
