// A Service's life on the real `bin/svcnet server` (host mode, as `svcnet server` starts, with
// its node agent) driven by the real kubectl: the seed's manifests applied in order as the
// seed's reader would, healthCheckNodePort for externalTrafficPolicy Local, an ExternalName
// Service with a selector (no endpoints), and type changes in the directions the seed's
// examples take a Service (ClusterIP → LoadBalancer → ClusterIP, ExternalName → NodePort and
// LoadBalancer), with what they allocate and release. Errors are checked with kube-apiserver's
// status code and message.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { HttpClient } from '../src/client/index.ts';
import { startSvcnet, kubectl, examplesDir, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient } from './lib/apiserver.ts';
import { parseTable, recentAge } from './lib/kubectl-output.ts';
import { FakeKubelet } from './lib/fake-kubelet.ts';
import { waitFor } from './lib/agent.ts';

let s: Svcnet;
let api: ApiClient;

before(async () => {
  s = await startSvcnet();
  api = apiClient(s);
});

after(async () => {
  api?.close();
  await s?.stop();
  s?.cleanup();
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(s, args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function apply(obj: object): Promise<void> {
  await ok(['apply', '-f', '-'], JSON.stringify(obj));
}

async function get(ns: string, name: string): Promise<Service> {
  return JSON.parse(await ok(['get', 'svc', name, '-n', ns, '-o', 'json'])) as Service;
}

function svc(ns: string, name: string, spec: Service['spec'], annotations?: Record<string, string>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) }, spec };
}

/** POSTs a Service that must be refused: the status code and kube-apiserver's message. */
async function refused(ns: string, body: Service): Promise<{ code: number; message: string }> {
  const r = await api.request('POST', `/api/v1/namespaces/${ns}/services`, { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  assert.ok(r.status >= 400, `expected a refusal, got ${r.status} ${r.body}`);
  return { code: r.status, message: (JSON.parse(r.body) as { message: string }).message };
}

const inCIDR = (ip: string, cidr: string) => ipaddr.parse(ip).match(ipaddr.parseCIDR(cidr));
const inNodePortRange = (p: number | undefined) => p !== undefined && p >= 30000 && p <= 32767;

/** Every node port (service ports and health checks) held by a Service of this server. */
async function heldNodePorts(): Promise<Set<number>> {
  const list = JSON.parse(await ok(['get', 'svc', '-A', '-o', 'json'])) as { items: Service[] };
  const out = new Set<number>();
  for (const x of list.items) {
    for (const p of x.spec?.ports ?? []) if (p.nodePort) out.add(p.nodePort);
    if (x.spec?.healthCheckNodePort) out.add(x.spec.healthCheckNodePort);
  }
  return out;
}

/** A node port no Service holds now, for tests that ask for one by number. */
async function freeNodePort(from: number): Promise<number> {
  const held = await heldNodePorts();
  for (let p = from; p <= 32767; p++) if (!held.has(p)) return p;
  throw new Error('no free node port');
}

describe('the seed’s manifests, applied in order with kubectl', () => {
  test('00, 01, 02 and 04: get svc -A shows mlflow-service as NodePort 5000:30001/TCP on its ClusterIP and external-db as ExternalName db.example.com', async () => {
    await ok(['apply', '-f', join(examplesDir, '00-namespaces.yaml')]);
    await ok(['apply', '-f', join(examplesDir, '01-mlflow-clusterip.yaml')]);
    const clusterIP = (await get('mlflow', 'mlflow-service')).spec!.clusterIP!;
    assert.ok(inCIDR(clusterIP, s.net!.serviceCIDR), `${clusterIP} in ${s.net!.serviceCIDR}`);
    await ok(['apply', '-f', join(examplesDir, '02-mlflow-nodeport.yaml')]);
    await ok(['apply', '-f', join(examplesDir, '04-external-db-externalname.yaml')]);

    const out = await ok(['get', 'svc', '-A']);
    const t = parseTable(out);
    assert.deepEqual(t.header, ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    const row = (ns: string, name: string) => {
      const r = t.rows.find((x) => x[0] === ns && x[1] === name);
      assert.ok(r, `${ns}/${name} in:\n${out}`);
      assert.match(r[6], recentAge);
      return r.slice(2, 6);
    };
    assert.deepEqual(row('mlflow', 'mlflow-service'), ['NodePort', clusterIP, '<none>', '5000:30001/TCP'], 'the ClusterIP of 01 stays through the change to NodePort');
    assert.deepEqual(row('default', 'external-db'), ['ExternalName', '<none>', 'db.example.com', '<none>']);
    assert.deepEqual(row('default', 'kubernetes'), ['ClusterIP', s.net!.kubernetesIP, '<none>', '443/TCP']);
  });
});

describe('healthCheckNodePort for externalTrafficPolicy Local', () => {
  const ns = 'hc';
  const lb = (name: string, extra: Service['spec'] = {}) => svc(ns, name, { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: name }, ports: [{ port: 80 }], ...extra });

  before(async () => {
    await ok(['create', 'namespace', ns]);
  });

  test('a LoadBalancer with Local gets one in the node port range, apart from its node ports; a NodePort with Local gets none, as in Kubernetes', async () => {
    await apply(lb('auto'));
    const auto = await get(ns, 'auto');
    const hc = auto.spec!.healthCheckNodePort;
    assert.ok(inNodePortRange(hc), `healthCheckNodePort ${hc}`);
    assert.notEqual(hc, auto.spec!.ports![0].nodePort);
    await apply(svc(ns, 'np-local', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }));
    assert.equal((await get(ns, 'np-local')).spec!.healthCheckNodePort, undefined);
    const port = await freeNodePort(31500);
    assert.deepEqual(await refused(ns, svc(ns, 'np-local-asks', { type: 'NodePort', externalTrafficPolicy: 'Local', healthCheckNodePort: port, ports: [{ port: 80 }] })), {
      code: 422,
      message: `Service "np-local-asks" is invalid: spec.healthCheckNodePort: Invalid value: ${port}: may only be set when \`type\` is 'LoadBalancer' and \`externalTrafficPolicy\` is 'Local'`,
    });
  });

  test('a requested one is honoured; one in use (as a health check or a node port) or out of range is refused with kube-apiserver\'s internal error', async () => {
    const port = await freeNodePort(31500);
    await apply(lb('asks', { healthCheckNodePort: port }));
    assert.equal((await get(ns, 'asks')).spec!.healthCheckNodePort, port);
    assert.deepEqual(await refused(ns, lb('asks-too', { healthCheckNodePort: port })), {
      code: 500,
      message: `Internal error occurred: failed to allocate requested HealthCheck NodePort ${port}: provided port is already allocated`,
    });
    const nodePort = (await get(ns, 'np-local')).spec!.ports![0].nodePort!;
    assert.deepEqual(await refused(ns, lb('on-a-node-port', { healthCheckNodePort: nodePort })), {
      code: 500,
      message: `Internal error occurred: failed to allocate requested HealthCheck NodePort ${nodePort}: provided port is already allocated`,
    });
    const own = await freeNodePort(31600);
    assert.deepEqual(await refused(ns, lb('on-its-own-port', { healthCheckNodePort: own, ports: [{ port: 80, nodePort: own }] })), {
      code: 500,
      message: `Internal error occurred: failed to allocate requested HealthCheck NodePort ${own}: provided port is already allocated`,
    });
    assert.deepEqual(await refused(ns, lb('out-of-range', { healthCheckNodePort: 40000 })), {
      code: 500,
      message: 'Internal error occurred: failed to allocate requested HealthCheck NodePort 40000: provided port is not in the valid range. The range of valid ports is 30000-32767',
    });
    // Nothing refused kept a port: the one asked for on its own node port is still free.
    assert.ok(!(await heldNodePorts()).has(own));
    await apply(svc(ns, 'takes-own', { type: 'NodePort', ports: [{ port: 80, nodePort: own }] }));
  });

  test('switching to Cluster releases it for another Service, and switching back allocates one again', async () => {
    const port = (await get(ns, 'asks')).spec!.healthCheckNodePort!;
    await ok(['patch', 'svc', 'asks', '-n', ns, '-p', '{"spec":{"externalTrafficPolicy":"Cluster"}}']);
    const cluster = await get(ns, 'asks');
    assert.equal(cluster.spec!.externalTrafficPolicy, 'Cluster');
    assert.equal(cluster.spec!.healthCheckNodePort, undefined, 'the port is dropped from the spec');
    await apply(lb('reuses', { healthCheckNodePort: port }));
    assert.equal((await get(ns, 'reuses')).spec!.healthCheckNodePort, port, 'another Service took it');
    await ok(['patch', 'svc', 'asks', '-n', ns, '-p', '{"spec":{"externalTrafficPolicy":"Local"}}']);
    const again = (await get(ns, 'asks')).spec!.healthCheckNodePort;
    assert.ok(inNodePortRange(again) && again !== port, `a new one: ${again}`);
  });

  test('deleting the Service releases it', async () => {
    const port = (await get(ns, 'auto')).spec!.healthCheckNodePort!;
    await ok(['delete', 'svc', 'auto', '-n', ns]);
    await apply(svc(ns, 'after-delete', { type: 'NodePort', ports: [{ port: 80, nodePort: port }] }));
    assert.equal((await get(ns, 'after-delete')).spec!.ports![0].nodePort, port);
  });
});

describe('an ExternalName Service with a selector', () => {
  const ns = 'extname';
  let client: HttpClient;
  let kubelet: FakeKubelet;

  before(async () => {
    client = HttpClient.fromKubeconfig(s.kubeconfig, { userAgent: 'svcnet-fake-kubelet/v0' });
    kubelet = new FakeKubelet(client);
    await kubelet.start();
    await kubelet.addNode('extname-node');
    await ok(['create', 'namespace', ns]);
  });

  after(async () => {
    await kubelet?.stop();
    client?.close();
  });

  const slicesOf = async (name: string) => (JSON.parse(await ok(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name}`, '-o', 'json'])) as { items: EndpointSlice[] }).items;
  const sliceIPs = (slices: EndpointSlice[]) => slices.flatMap((x) => x.endpoints.filter((e) => e.conditions?.ready).flatMap((e) => e.addresses)).sort();

  test('gets no EndpointSlices and no Endpoints, even with matching ready pods; as a ClusterIP it gets them', async () => {
    await apply(svc(ns, 'external', { type: 'ExternalName', externalName: 'db.example.com', selector: { app: 'web' }, ports: [{ port: 80 }] }));
    for (const name of ['web-1', 'web-2']) {
      await apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { app: 'web' } }, spec: { nodeName: 'extname-node', containers: [{ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', ports: [{ containerPort: 80 }] }] } });
    }
    // The same selector on a ClusterIP Service: the controllers have seen the pods ready.
    await apply(svc(ns, 'control', { selector: { app: 'web' }, ports: [{ port: 80 }] }));
    const podIPs = await waitFor('both pods in control\'s slice', async () => {
      const ips = sliceIPs(await slicesOf('control'));
      return ips.length === 2 ? ips : undefined;
    });
    await waitFor('control\'s Endpoints', async () => (await kubectl(s, ['get', 'endpoints', 'control', '-n', ns])).code === 0);

    assert.deepEqual(await slicesOf('external'), [], 'no EndpointSlice for the ExternalName Service');
    const list = await kubectl(s, ['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=external']);
    assert.equal(list.stderr, `No resources found in ${ns} namespace.\n`);
    const ep = await kubectl(s, ['get', 'endpoints', 'external', '-n', ns]);
    assert.equal(ep.code, 1);
    assert.equal(ep.stderr, 'Error from server (NotFound): endpoints "external" not found\n');

    // The same Service as a ClusterIP gets the pods: it was the type that kept them away.
    await ok(['patch', 'svc', 'external', '-n', ns, '--type=merge', '-p', '{"spec":{"type":"ClusterIP","externalName":null}}']);
    assert.deepEqual(await waitFor('external\'s slice', async () => {
      const ips = sliceIPs(await slicesOf('external'));
      return ips.length === 2 ? ips : undefined;
    }), podIPs);
    await waitFor('external\'s Endpoints', async () => (await kubectl(s, ['get', 'endpoints', 'external', '-n', ns])).code === 0);
  });
});

describe('type changes', () => {
  const ns = 'types';

  before(async () => {
    await ok(['create', 'namespace', ns]);
  });

  const externalIP = async (name: string) => (await ok(['get', 'svc', name, '-n', ns, '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}'])).trim();
  const row = async (name: string) => parseTable(await ok(['get', 'svc', name, '-n', ns])).rows[0].slice(0, 5);
  const inPool = (ip: string) => inCIDR(ip, s.net!.loadBalancerPool);

  test('ClusterIP → LoadBalancer keeps the ClusterIP, allocates node ports and gets an ingress IP from the pool; LoadBalancer → ClusterIP releases both', async () => {
    await apply(svc(ns, 'c2lb', { selector: { app: 'c2lb' }, ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] }));
    const clusterIP = (await get(ns, 'c2lb')).spec!.clusterIP!;
    await ok(['patch', 'svc', 'c2lb', '-n', ns, '-p', '{"spec":{"type":"LoadBalancer"}}']);
    const lb = await get(ns, 'c2lb');
    assert.equal(lb.spec!.clusterIP, clusterIP);
    const nodePorts = lb.spec!.ports!.map((p) => p.nodePort!);
    assert.ok(nodePorts.every(inNodePortRange) && new Set(nodePorts).size === 2, `node ports ${nodePorts.join(',')}`);
    const ip = await waitFor('an ingress IP', async () => (await externalIP('c2lb')) || undefined);
    assert.ok(inPool(ip), `${ip} in ${s.net!.loadBalancerPool}`);
    assert.deepEqual(await row('c2lb'), ['c2lb', 'LoadBalancer', clusterIP, ip, `80:${nodePorts[0]}/TCP,53:${nodePorts[1]}/UDP`]);

    await ok(['patch', 'svc', 'c2lb', '-n', ns, '-p', '{"spec":{"type":"ClusterIP"}}']);
    const back = await get(ns, 'c2lb');
    assert.equal(back.spec!.clusterIP, clusterIP);
    assert.deepEqual(back.spec!.ports!.map((p) => p.nodePort), [undefined, undefined]);
    await waitFor('the pool annotation gone', async () => !(await get(ns, 'c2lb')).metadata?.annotations?.['metallb.io/ip-allocated-from-pool']);
    assert.equal(await externalIP('c2lb'), '');
    assert.deepEqual(await row('c2lb'), ['c2lb', 'ClusterIP', clusterIP, '<none>', '80/TCP,53/UDP']);
    // Released: another Service takes the node ports and, by asking for it, the address.
    await apply(svc(ns, 'takes-ports', { type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: nodePorts[0] }, { name: 'b', port: 53, protocol: 'UDP', nodePort: nodePorts[1] }] }));
    await apply(svc(ns, 'takes-ip', { type: 'LoadBalancer', selector: { app: 'x' }, ports: [{ port: 8080 }] }, { 'metallb.io/loadBalancerIPs': ip }));
    assert.equal(await waitFor('the freed address', async () => (await externalIP('takes-ip')) || undefined), ip);
  });

  test('ExternalName → NodePort (externalName cleared, as Kubernetes\' conformance test does it) gets a ClusterIP and a node port', async () => {
    await apply(svc(ns, 'en2np', { type: 'ExternalName', externalName: 'db.example.com' }));
    assert.deepEqual(await row('en2np'), ['en2np', 'ExternalName', '<none>', 'db.example.com', '<none>']);
    await ok(['patch', 'svc', 'en2np', '-n', ns, '--type=merge', '-p', '{"spec":{"type":"NodePort","externalName":null,"ports":[{"name":"http","port":80,"targetPort":9376}]}}']);
    const np = await get(ns, 'en2np');
    assert.ok(inCIDR(np.spec!.clusterIP!, s.net!.serviceCIDR), `ClusterIP ${np.spec!.clusterIP}`);
    assert.deepEqual(np.spec!.clusterIPs, [np.spec!.clusterIP]);
    assert.deepEqual([np.spec!.ipFamilies, np.spec!.ipFamilyPolicy, np.spec!.externalTrafficPolicy], [['IPv4'], 'SingleStack', 'Cluster']);
    assert.equal(np.spec!.externalName, undefined);
    const nodePort = np.spec!.ports![0].nodePort!;
    assert.ok(inNodePortRange(nodePort));
    assert.deepEqual(await row('en2np'), ['en2np', 'NodePort', np.spec!.clusterIP, '<none>', `80:${nodePort}/TCP`]);
  });

  test('ExternalName → LoadBalancer gets a ClusterIP, a node port and an ingress IP; an externalName left in place is kept, as kube-apiserver keeps it', async () => {
    await apply(svc(ns, 'en2lb', { type: 'ExternalName', externalName: 'db.example.com', ports: [{ port: 5432 }] }));
    await ok(['patch', 'svc', 'en2lb', '-n', ns, '-p', '{"spec":{"type":"LoadBalancer"}}']);
    const lb = await get(ns, 'en2lb');
    assert.ok(inCIDR(lb.spec!.clusterIP!, s.net!.serviceCIDR), `ClusterIP ${lb.spec!.clusterIP}`);
    assert.equal(lb.spec!.allocateLoadBalancerNodePorts, true);
    const nodePort = lb.spec!.ports![0].nodePort!;
    assert.ok(inNodePortRange(nodePort));
    // kube-apiserver's validation does not forbid externalName on other types and its
    // dropTypeDependentFields leaves it; kubectl shows the type's own columns.
    assert.equal(lb.spec!.externalName, 'db.example.com');
    const ip = await waitFor('an ingress IP', async () => (await externalIP('en2lb')) || undefined);
    assert.ok(inPool(ip));
    assert.deepEqual(await row('en2lb'), ['en2lb', 'LoadBalancer', lb.spec!.clusterIP, ip, `5432:${nodePort}/TCP`]);
  });
});
