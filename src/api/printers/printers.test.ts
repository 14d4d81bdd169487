// Rows as `kubectl get` shows them against a real cluster, for the seed's objects (as the API
// server stores them: defaulted, with allocated IPs and node ports) and pods in every phase.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  ConfigMaps,
  Deployments,
  EndpointSlices,
  Endpoints,
  Events,
  IPAddressPools,
  L2Advertisements,
  Leases,
  Namespaces,
  Nodes,
  Pods,
  ReplicaSets,
  Secrets,
  ServiceAccounts,
  Services,
  allResources,
  isApiError,
  type AnyObject,
  type KubeObject,
} from '../index.ts';
import { humanDuration, tableColumns, toTable, type TableCell } from './index.ts';

const now = new Date('2024-05-01T12:00:00Z');
const ago = (seconds: number): string => new Date(now.getTime() - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const meta = (name: string, namespace?: string, age = 300) => ({
  name,
  ...(namespace ? { namespace } : {}),
  uid: `uid-${name}`,
  resourceVersion: '42',
  creationTimestamp: ago(age),
  labels: { app: name },
});

function cells(resource: Parameters<typeof toTable>[0], obj: KubeObject | AnyObject): TableCell[] {
  const t = toTable(resource, [obj], { now });
  assert.equal(t.rows.length, 1);
  return t.rows[0].cells;
}

/** The columns kubectl shows without -o wide, paired with the row's cells. */
function narrow(resource: Parameters<typeof toTable>[0], obj: KubeObject | AnyObject): Record<string, TableCell> {
  const t = toTable(resource, [obj], { now });
  return Object.fromEntries(t.columnDefinitions.map((c, i) => [c.name, t.rows[0].cells[i]!] as const).filter((_, i) => t.columnDefinitions[i].priority === 0));
}

test('HumanDuration follows apimachinery thresholds', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [-3 * s, '<invalid>'],
    [-1.5 * s, '0s'],
    [0, '0s'],
    [119 * s, '119s'],
    [120 * s, '2m'],
    [150 * s, '2m30s'],
    [599 * s, '9m59s'],
    [600 * s, '10m'],
    [179 * 60 * s, '179m'],
    [3 * 3600 * s, '3h'],
    [(3 * 3600 + 25 * 60) * s, '3h25m'],
    [8 * 3600 * s, '8h'],
    [47 * 3600 * s, '47h'],
    [48 * 3600 * s, '2d'],
    [(7 * 24 + 23) * 3600 * s, '7d23h'],
    [8 * 24 * 3600 * s, '8d'],
    [729 * 24 * 3600 * s, '729d'],
    [730 * 24 * 3600 * s, '2y'],
    [(3 * 365 + 100) * 24 * 3600 * s, '3y100d'],
    [8 * 365 * 24 * 3600 * s, '8y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test('seed Services print TYPE, CLUSTER-IP, EXTERNAL-IP and PORT(S) as kubectl shows them', () => {
  const svc = (name: string, ns: string, spec: Record<string, unknown>, status: Record<string, unknown> = { loadBalancer: {} }) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name, ns),
    spec: { sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster', ...spec },
    status,
  });
  const clusterIP = svc('mlflow-service', 'mlflow', {
    type: 'ClusterIP',
    clusterIP: '10.96.45.12',
    clusterIPs: ['10.96.45.12'],
    selector: { app: 'mlflow' },
    ports: [{ protocol: 'TCP', port: 5000, targetPort: 5000 }],
  });
  assert.deepEqual(cells(Services, clusterIP), ['mlflow-service', 'ClusterIP', '10.96.45.12', '<none>', '5000/TCP', '5m', 'app=mlflow']);
  const nodePort = svc('mlflow-service', 'mlflow', {
    type: 'NodePort',
    clusterIP: '10.96.45.12',
    clusterIPs: ['10.96.45.12'],
    externalTrafficPolicy: 'Cluster',
    selector: { app: 'mlflow' },
    ports: [{ protocol: 'TCP', port: 5000, targetPort: 5000, nodePort: 30001 }],
  });
  assert.deepEqual(cells(Services, nodePort).slice(1, 5), ['NodePort', '10.96.45.12', '<none>', '5000:30001/TCP']);
  const lb = svc('grafana-service', 'monitoring', {
    type: 'LoadBalancer',
    clusterIP: '10.96.7.200',
    clusterIPs: ['10.96.7.200'],
    selector: { app: 'grafana' },
    ports: [{ protocol: 'TCP', port: 80, targetPort: 3000, nodePort: 31234 }],
  });
  assert.deepEqual(cells(Services, lb).slice(1, 5), ['LoadBalancer', '10.96.7.200', '<pending>', '80:31234/TCP']);
  const assigned = { ...lb, status: { loadBalancer: { ingress: [{ ip: '192.168.1.200', ipMode: 'VIP' }] } } };
  assert.equal(cells(Services, assigned)[3], '192.168.1.200');
  const external = svc('external-db', 'default', { type: 'ExternalName', externalName: 'db.example.com' });
  assert.deepEqual(cells(Services, external), ['external-db', 'ExternalName', '<none>', 'db.example.com', '<none>', '5m', '<none>']);
  const headless = svc('db', 'default', { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] });
  assert.deepEqual(cells(Services, headless).slice(1, 5), ['ClusterIP', 'None', '<none>', '5432/TCP,53/UDP']);
});

test('a LoadBalancer with external IPs lists sorted ingress addresses, then the external IPs', () => {
  const lb = {
    metadata: meta('web', 'default'),
    spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.9'], externalIPs: ['198.51.100.9'], ports: [{ port: 443, protocol: 'TCP', nodePort: 30443 }] },
    status: { loadBalancer: { ingress: [{ ip: '192.168.1.201' }, { hostname: 'lb.example.com' }, { ip: '192.168.1.200' }] } },
  };
  assert.equal(cells(Services, lb)[3], '192.168.1.200,192.168.1.201,lb.example.com,198.51.100.9');
});

test('the table carries kube-apiserver column definitions and the object metadata', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: meta('a', 'default'), spec: { type: 'ClusterIP', clusterIPs: ['10.96.0.1'], ports: [] } };
  const t = toTable(Services, [svc], { now, listMeta: { resourceVersion: '109' } });
  assert.equal(t.kind, 'Table');
  assert.equal(t.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(t.metadata, { resourceVersion: '109' });
  assert.deepEqual(
    t.columnDefinitions.map((c) => [c.name, c.type, c.format, c.priority]),
    [
      ['Name', 'string', 'name', 0],
      ['Type', 'string', '', 0],
      ['Cluster-IP', 'string', '', 0],
      ['External-IP', 'string', '', 0],
      ['Port(s)', 'string', '', 0],
      ['Age', 'string', '', 0],
      ['Selector', 'string', '', 1],
    ],
  );
  assert.match(t.columnDefinitions[0].description, /^Name must be unique within a namespace/);
  assert.match(t.columnDefinitions[5].description, /^CreationTimestamp is a timestamp/);
  assert.deepEqual(t.rows[0].object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: svc.metadata });
  assert.deepEqual(t.rows[0].cells.slice(3, 5), ['<none>', '<none>']);
  assert.deepEqual(toTable(Services, [svc], { now, includeObject: 'Object' }).rows[0].object, svc);
  assert.equal(toTable(Services, [svc], { now, includeObject: 'None' }).rows[0].object, null);
  assert.deepEqual(toTable(Services, [svc], { now, noHeaders: true }).columnDefinitions, []);
  // A single object's table (a GET) carries the object's resourceVersion.
  assert.deepEqual(toTable(Services, [svc], { now }).metadata, { resourceVersion: '42' });
  assert.deepEqual(toTable(Services, [], { now }).metadata, {});
  assert.equal(toTable(Services, [svc], { now, tableVersion: 'v1beta1' }).apiVersion, 'meta.k8s.io/v1beta1');
  assert.throws(
    () => toTable(Services, [svc], { includeObject: 'Everything' }),
    (e) => isApiError(e) && e.code === 400 && e.message === 'unrecognized includeObject value: "Everything"',
  );
});

test('every served resource has a printer whose rows fit its columns', () => {
  for (const r of allResources) {
    const cols = tableColumns(r);
    const t = toTable(r, [{ metadata: meta('x', r.namespaced ? 'default' : undefined) }], { now });
    assert.equal(t.rows[0].cells.length, cols.length, r.resource);
    assert.equal(cols[0].format === 'name' || r.resource === 'events', true, r.resource);
  }
});

// ---- pods ----

const container = (name: string) => ({ name, image: 'mlflow/mlflow' });

function pod(status: Pod['status'], spec: Partial<NonNullable<Pod['spec']>> = {}, extraMeta: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...meta('mlflow-7d9c6b8f5-x2kqv', 'mlflow', 600), ...extraMeta },
    spec: { containers: [container('mlflow')], nodeName: 'worker1', ...spec },
    status,
  };
}

const running = { running: { startedAt: ago(590) } };

test('pods print READY, STATUS and RESTARTS for each phase as kubectl does', () => {
  const cases: [string, Pod, string, string, string][] = [
    ['pending, unscheduled', pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] }), '0/1', 'Pending', '0'],
    [
      'creating containers',
      pod({ phase: 'Pending', containerStatuses: [{ name: 'mlflow', image: 'mlflow/mlflow', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }),
      '0/1',
      'ContainerCreating',
      '0',
    ],
    [
      'running and ready',
      pod({ phase: 'Running', podIP: '10.244.1.5', containerStatuses: [{ name: 'mlflow', image: 'mlflow/mlflow', imageID: '', ready: true, restartCount: 0, state: running }] }),
      '1/1',
      'Running',
      '0',
    ],
    [
      'running, not ready',
      pod({ phase: 'Running', containerStatuses: [{ name: 'mlflow', image: 'mlflow/mlflow', imageID: '', ready: false, restartCount: 0, state: running }] }),
      '0/1',
      'Running',
      '0',
    ],
    [
      'crash looping',
      pod({
        phase: 'Running',
        containerStatuses: [
          {
            name: 'mlflow',
            image: 'mlflow/mlflow',
            imageID: '',
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(300) } },
          },
        ],
      }),
      '0/1',
      'CrashLoopBackOff',
      '3 (5m ago)',
    ],
    [
      'succeeded',
      pod({ phase: 'Succeeded', containerStatuses: [{ name: 'mlflow', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }),
      '0/1',
      'Completed',
      '0',
    ],
    [
      'failed',
      pod({ phase: 'Failed', containerStatuses: [{ name: 'mlflow', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 2, reason: 'Error' } } }] }),
      '0/1',
      'Error',
      '0',
    ],
    [
      'killed by a signal, no reason',
      pod({ phase: 'Failed', containerStatuses: [{ name: 'mlflow', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, signal: 9 } } }] }),
      '0/1',
      'Signal:9',
      '0',
    ],
    ['evicted', pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }), '0/1', 'Evicted', '0'],
    [
      'terminating',
      pod(
        { phase: 'Running', containerStatuses: [{ name: 'mlflow', image: 'i', imageID: '', ready: true, restartCount: 0, state: running }] },
        {},
        { deletionTimestamp: ago(5) },
      ),
      '1/1',
      'Terminating',
      '0',
    ],
    ['on a lost node, being deleted', pod({ phase: 'Running', reason: 'NodeLost' }, {}, { deletionTimestamp: ago(5) }), '0/1', 'Unknown', '0'],
    [
      'scheduling gated',
      pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }, { schedulingGates: [{ name: 'wait' }] }),
      '0/1',
      'SchedulingGated',
      '0',
    ],
  ];
  for (const [what, p, ready, status, restarts] of cases) {
    const row = narrow(Pods, p);
    assert.deepEqual([row.READY ?? row.Ready, row.Status, row.Restarts], [ready, status, restarts], what);
    assert.equal(row.Age, '10m', what);
  }
});

test('init containers show Init:n/m, Init:<reason>, and sidecars count as containers', () => {
  const initSpec = { initContainers: [container('migrate'), container('seed')] };
  const status = (init: NonNullable<Pod['status']>['initContainerStatuses']): Pod['status'] => ({
    phase: 'Pending',
    initContainerStatuses: init,
    containerStatuses: [{ name: 'mlflow', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
  });
  const doneInit = { name: 'migrate', image: 'i', imageID: '', ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } };
  assert.equal(
    narrow(Pods, pod(status([doneInit, { name: 'seed', image: 'i', imageID: '', ready: false, restartCount: 0, state: running }]), initSpec)).Status,
    'Init:1/2',
  );
  assert.equal(
    narrow(
      Pods,
      pod(
        status([
          doneInit,
          { name: 'seed', image: 'i', imageID: '', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ago(60) } } },
        ]),
        initSpec,
      ),
    ).Status,
    'Init:CrashLoopBackOff',
  );
  assert.equal(
    narrow(Pods, pod(status([{ name: 'migrate', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } }]), initSpec)).Status,
    'Init:ExitCode:3',
  );
  // A restartable init container (sidecar) that started counts towards READY.
  const sidecar = pod(
    {
      phase: 'Running',
      conditions: [{ type: 'Initialized', status: 'True' }],
      initContainerStatuses: [{ name: 'proxy', image: 'i', imageID: '', ready: true, started: true, restartCount: 1, state: running }],
      containerStatuses: [{ name: 'mlflow', image: 'i', imageID: '', ready: true, restartCount: 0, state: running }],
    },
    { initContainers: [{ ...container('proxy'), restartPolicy: 'Always' }] },
  );
  const row = narrow(Pods, sidecar);
  assert.deepEqual([row.Ready, row.Status, row.Restarts], ['2/2', 'Running', '1']);
});

test('pods: wide cells and the Completed row condition', () => {
  const p = pod(
    { phase: 'Succeeded', podIPs: [{ ip: '10.244.1.5' }], containerStatuses: [{ name: 'mlflow', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
    { readinessGates: [{ conditionType: 'example.com/ready' }] },
  );
  const t = toTable(Pods, [p], { now });
  assert.deepEqual(t.rows[0].cells.slice(5), ['10.244.1.5', 'worker1', '<none>', '0/1']);
  assert.deepEqual(t.rows[0].conditions, [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
  const failed = toTable(Pods, [pod({ phase: 'Failed' }, { nodeName: undefined })], { now }).rows[0];
  assert.deepEqual(failed.conditions, [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }]);
  assert.deepEqual(failed.cells.slice(5), ['<none>', '<none>', '<none>', '<none>']);
  assert.equal(toTable(Pods, [pod({ phase: 'Running' })], { now }).rows[0].conditions, undefined);
});

// ---- workloads ----

test('the seed Deployment and its ReplicaSet print as kubectl shows them', () => {
  const template = { metadata: { labels: { app: 'mlflow' } }, spec: { containers: [{ name: 'mlflow', image: 'mlflow/mlflow', ports: [{ containerPort: 5000 }] }] } };
  const deploy = {
    metadata: meta('mlflow', 'mlflow', 7200),
    spec: { replicas: 2, selector: { matchLabels: { app: 'mlflow' } }, template },
    status: { replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 },
  };
  assert.deepEqual(cells(Deployments, deploy), ['mlflow', '1/2', 2, 1, '120m', 'mlflow', 'mlflow/mlflow', 'app=mlflow']);
  const fresh = { ...deploy, status: {} };
  assert.deepEqual(cells(Deployments, fresh).slice(1, 4), ['0/2', 0, 0]);
  const rs = {
    metadata: meta('mlflow-7d9c6b8f5', 'mlflow', 7200),
    spec: { replicas: 2, selector: { matchLabels: { app: 'mlflow', 'pod-template-hash': '7d9c6b8f5' } }, template },
    status: { replicas: 2, readyReplicas: 2, availableReplicas: 2 },
  };
  assert.deepEqual(cells(ReplicaSets, rs), ['mlflow-7d9c6b8f5', 2, 2, 2, '120m', 'mlflow', 'mlflow/mlflow', 'app=mlflow,pod-template-hash=7d9c6b8f5']);
  const expr = { ...deploy, spec: { ...deploy.spec, selector: { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }, { key: 'canary', operator: 'DoesNotExist' }] } } };
  assert.equal(cells(Deployments, expr)[7], 'app=x,!canary,tier in (api,web)');
});

// ---- endpoints ----

test('Endpoints print ip:port pairs, three at most', () => {
  const ep = (subsets: unknown) => ({ metadata: meta('mlflow-service', 'mlflow'), subsets });
  assert.deepEqual(cells(Endpoints, ep(undefined)), ['mlflow-service', '<none>', '5m']);
  assert.equal(cells(Endpoints, ep([{ addresses: [{ ip: '10.244.1.5' }, { ip: '10.244.2.7' }], ports: [{ port: 5000, protocol: 'TCP' }] }]))[1], '10.244.1.5:5000,10.244.2.7:5000');
  assert.equal(
    cells(Endpoints, ep([{ addresses: [{ ip: '10.244.1.5' }, { ip: '10.244.2.7' }, { ip: '10.244.3.2' }], ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }]))[1],
    '10.244.1.5:80,10.244.2.7:80,10.244.3.2:80 + 3 more...',
  );
  assert.equal(cells(Endpoints, ep([{ addresses: [{ ip: 'fd00::5' }], ports: [{ port: 80 }] }]))[1], '[fd00::5]:80');
  assert.equal(cells(Endpoints, ep([{ addresses: [{ ip: '10.244.1.5' }] }]))[1], '10.244.1.5');
});

test('EndpointSlices print address type, ports and addresses', () => {
  const slice = {
    metadata: meta('mlflow-service-abc12', 'mlflow'),
    addressType: 'IPv4',
    ports: [{ name: '', port: 5000, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.244.1.5'], conditions: { ready: true } },
      { addresses: ['10.244.2.7'], conditions: { ready: true } },
    ],
  };
  assert.deepEqual(cells(EndpointSlices, slice), ['mlflow-service-abc12', 'IPv4', '5000', '10.244.1.5,10.244.2.7', '5m']);
  assert.deepEqual(cells(EndpointSlices, { ...slice, ports: [], endpoints: [] }).slice(2, 4), ['<unset>', '<unset>']);
  const many = { ...slice, ports: [{ name: 'a' }, { port: 1 }, { port: 2 }, { port: 3 }], endpoints: [{ addresses: ['a', 'b', 'c', 'd', 'e'] }] };
  assert.deepEqual(cells(EndpointSlices, many).slice(2, 4), ['a,1,2 + 1 more...', 'a,b,c + 2 more...']);
});

// ---- cluster objects ----

test('nodes print status, roles and version, and their addresses wide', () => {
  const node = {
    metadata: { ...meta('master-node', undefined, 10 * 86400), labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/hostname': 'master-node' } },
    spec: { podCIDR: '10.244.0.0/24' },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'master-node' }],
      nodeInfo: { kubeletVersion: 'v1.30.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-18-amd64', containerRuntimeVersion: 'svcnet://0.1.0' },
    },
  };
  assert.deepEqual(cells(Nodes, node), ['master-node', 'Ready', 'control-plane', '10d', 'v1.30.0', '10.0.0.1', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0-18-amd64', 'svcnet://0.1.0']);
  const worker = { metadata: { ...meta('worker1'), labels: { 'kubernetes.io/role': 'worker' } }, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } };
  assert.deepEqual(cells(Nodes, worker).slice(1, 3), ['NotReady,SchedulingDisabled', 'worker']);
  assert.deepEqual(cells(Nodes, { metadata: meta('new') }).slice(1, 10), ['Unknown', '<none>', '5m', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
});

test('namespaces, config maps, secrets, service accounts and leases', () => {
  assert.deepEqual(cells(Namespaces, { metadata: meta('mlflow'), status: { phase: 'Active' } }), ['mlflow', 'Active', '5m']);
  assert.deepEqual(cells(ConfigMaps, { metadata: meta('config', 'metallb-system'), data: { config: 'x' }, binaryData: { b: 'AA==' } }), ['config', 2, '5m']);
  assert.deepEqual(cells(Secrets, { metadata: meta('tls', 'default'), type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }), ['tls', 'kubernetes.io/tls', 2, '5m']);
  assert.deepEqual(cells(ServiceAccounts, { metadata: meta('default', 'default') }), ['default', 0, '5m']);
  assert.deepEqual(cells(Leases, { metadata: meta('master-node', 'kube-node-lease'), spec: { holderIdentity: 'master-node', leaseDurationSeconds: 40 } }), ['master-node', 'master-node', '5m']);
});

test('events print LAST SEEN, TYPE, REASON, OBJECT and MESSAGE', () => {
  const ev = {
    metadata: meta('mlflow-service.17c9a1b2c3d4e5f6', 'mlflow'),
    involvedObject: { kind: 'Service', namespace: 'mlflow', name: 'grafana-service', apiVersion: 'v1' },
    reason: 'IPAllocated',
    message: 'Assigned IP ["192.168.1.200"]\n',
    source: { component: 'metallb-controller' },
    firstTimestamp: ago(600),
    lastTimestamp: ago(30),
    count: 3,
    type: 'Normal',
  };
  assert.deepEqual(cells(Events, ev), ['30s', 'Normal', 'IPAllocated', 'service/grafana-service', '', 'metallb-controller', 'Assigned IP ["192.168.1.200"]', '10m', 3, 'mlflow-service.17c9a1b2c3d4e5f6']);
  // events.k8s.io-style events: eventTime, series, reporting controller, no count.
  const modern = {
    metadata: meta('x', 'default'),
    involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{web}' },
    reason: 'Pulled',
    eventTime: '2024-05-01T11:50:00.000000Z',
    reportingComponent: 'kubelet',
    reportingInstance: 'worker1',
    type: 'Normal',
  };
  assert.deepEqual(cells(Events, modern), ['10m', 'Normal', 'Pulled', 'pod/web-1', 'spec.containers{web}', 'kubelet, worker1', '', '10m', 1, 'x']);
  assert.deepEqual(cells(Events, { ...modern, series: { count: 7, lastObservedTime: '2024-05-01T11:59:00.000000Z' } }).slice(0, 1), ['60s']);
  assert.deepEqual(cells(Events, { metadata: meta('y'), involvedObject: { kind: 'Node' } }).slice(0, 4), ['<unknown>', '', '', 'node']);
});

// ---- custom resources ----

test('MetalLB pools and advertisements print their CRD printer columns', () => {
  const pool = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: meta('default', 'metallb-system'), spec: { addresses: ['192.168.1.200-192.168.1.250'], autoAssign: true, avoidBuggyIPs: false } };
  const t = toTable(IPAddressPools, [pool], { now });
  assert.deepEqual(
    t.columnDefinitions.map((c) => [c.name, c.type, c.priority]),
    [
      ['Name', 'string', 0],
      ['Auto Assign', 'boolean', 0],
      ['Avoid Buggy IPs', 'boolean', 0],
      ['Addresses', 'string', 0],
    ],
  );
  assert.deepEqual(t.rows[0].cells, ['default', true, false, '["192.168.1.200-192.168.1.250"]']);
  const l2 = { metadata: meta('default', 'metallb-system'), spec: { ipAddressPools: ['default'], nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'worker1' } }] } };
  const t2 = toTable(L2Advertisements, [l2], { now });
  assert.deepEqual(t2.columnDefinitions.map((c) => [c.name, c.priority]), [
    ['Name', 0],
    ['IPAddressPools', 0],
    ['IPAddressPool Selectors', 0],
    ['Interfaces', 0],
    ['Node Selectors', 10],
  ]);
  assert.deepEqual(t2.rows[0].cells, ['default', '["default"]', null, null, '[{"matchLabels":{"kubernetes.io/hostname":"worker1"}}]']);
});
