// The allocation repair pass at start (kube-apiserver's ipallocator and portallocator repair
// controllers), through the real `bin/svcnet server` on its SQLite data dir: the server is
// stopped, the store is damaged the way a crash or an operator would damage it (a stray IP and
// node port record with no Service, two Services claiming one ClusterIP and one node port, a
// Service whose records are gone, a Service outside the configured ranges), and the server is
// started again. The leaks are released (another Service can take them), the missing records
// are written back (nobody else can take them), and every finding is a Warning Event with
// kube-apiserver's reason and message, listed by `kubectl get events -A`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.js';
import { openStore } from '../src/store/index.ts';
import { startSvcnet, kubectl, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient } from './lib/apiserver.ts';
import { parseTable } from './lib/kubectl-output.ts';

const ipRecords = '/registry/allocations/serviceips/';
const portRecords = '/registry/allocations/servicenodeports/';
const serviceKey = (ns: string, name: string) => `/registry/core/services/${ns}/${name}`;

async function ok(s: Svcnet, args: string[]): Promise<string> {
  const r = await kubectl(s, args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface EventRow {
  namespace: string;
  type: string;
  reason: string;
  object: string;
  message: string;
}

/** `kubectl get events -A` as its rows. */
async function eventTable(s: Svcnet): Promise<EventRow[]> {
  const t = parseTable(await ok(s, ['get', 'events', '-A']));
  assert.deepEqual(t.header, ['NAMESPACE', 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
  return t.rows.map(([namespace, , type, reason, object, message]) => ({ namespace, type, reason, object, message }));
}

interface EventObject {
  metadata: { name: string };
  reason: string;
  message: string;
  source: { component: string };
  involvedObject: { kind: string; name: string; uid: string };
}

async function eventObjects(s: Svcnet, ns: string): Promise<EventObject[]> {
  return (JSON.parse(await ok(s, ['get', 'events', '-n', ns, '-o', 'json'])) as { items: EventObject[] }).items;
}

async function create(api: ApiClient, ns: string, name: string, spec: Service['spec']): Promise<Service> {
  return api.json<Service>('POST', `/api/v1/namespaces/${ns}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec });
}

test('a restart repairs a damaged allocation store: leaks released, missing records restored, duplicates and out-of-range values reported as kube-apiserver reports them', async (t) => {
  const s = await startSvcnet();
  t.after(async () => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
    s.cleanup();
  });
  const cidr = s.net!.serviceCIDR; // 127.(100+slot).0.0/16
  const p = cidr.split('.').slice(0, 2).join('.');
  const ip = (c: number, d: number) => `${p}.${c}.${d}`;
  await ok(s, ['create', 'namespace', 'repair']);
  let api = apiClient(s);
  // a holds .50.1 and node port 30102; the others are damaged below.
  await create(api, 'repair', 'a', { type: 'NodePort', clusterIP: ip(50, 1), ports: [{ port: 80, nodePort: 30102 }] });
  const dup = await create(api, 'repair', 'dup', { type: 'NodePort', clusterIP: ip(50, 2), ports: [{ port: 80, nodePort: 30103 }] });
  const unrec = await create(api, 'repair', 'unrec', { type: 'NodePort', clusterIP: ip(50, 3), ports: [{ port: 80, nodePort: 30101 }] });
  const oor = await create(api, 'repair', 'oor', { type: 'NodePort', clusterIP: ip(50, 4), ports: [{ port: 80, nodePort: 30104 }] });
  const v6 = await create(api, 'repair', 'v6', { clusterIP: ip(50, 5), ports: [{ port: 80 }] });
  api.close();
  assert.equal(await s.stop(), 0);

  const store = await openStore(`sqlite:${s.dataDir}`);
  try {
    const rewrite = async (name: string, clusterIP: string, nodePort: number) => {
      const kv = await store.get(serviceKey('repair', name));
      assert.ok(kv, `${name} is stored`);
      const svc = JSON.parse(kv.value) as Service;
      svc.spec!.clusterIP = clusterIP;
      svc.spec!.clusterIPs = [clusterIP];
      svc.spec!.ports![0].nodePort = nodePort;
      await store.update(kv.key, JSON.stringify(svc));
    };
    // Two Services on one ClusterIP and one node port (an operator's hand edit, or a race).
    await rewrite('dup', ip(50, 1), 30102);
    // Values outside the configured Service CIDR and node port range.
    await rewrite('oor', '127.99.0.4', 40000);
    // An IPv6 ClusterIP, as a server started without its second (IPv6) --service-cidr finds it.
    const kv = await store.get(serviceKey('repair', 'v6'));
    const v6svc = JSON.parse(kv!.value) as Service;
    v6svc.spec = { ...v6svc.spec, clusterIP: 'fd00:10:96::5', clusterIPs: ['fd00:10:96::5'], ipFamilies: ['IPv6'] };
    await store.update(kv!.key, JSON.stringify(v6svc));
    // A Service whose allocation records are gone (a crash between writes, a restored backup).
    await store.delete(ipRecords + ip(50, 3));
    await store.delete(portRecords + '30101');
    // Records with no Service at all.
    const ghost = JSON.stringify({ namespace: 'repair', name: 'ghost', uid: '0b1e5b0c-0000-4000-8000-000000000001' });
    await store.create(ipRecords + ip(60, 1), ghost);
    await store.create(portRecords + '31999', ghost);
  } finally {
    await store.close();
  }

  await s.restart();
  const table = await eventTable(s);
  const rows = table.filter((e) => e.namespace === 'repair').map((e) => [e.type, e.reason, e.object, e.message].join(' | ')).sort();
  assert.deepEqual(
    rows,
    [
      `Warning | ClusterIPAlreadyAllocated | service/dup | Cluster IP [IPv4]:${ip(50, 1)} was assigned to multiple services; please recreate service`,
      `Warning | ClusterIPLeaked | service/dup | the cluster IP ${ip(50, 2)} appears to have leaked: cleaning up`,
      `Warning | ClusterIPLeaked | service/ghost | the cluster IP ${ip(60, 1)} appears to have leaked: cleaning up`,
      `Warning | ClusterIPLeaked | service/oor | the cluster IP ${ip(50, 4)} appears to have leaked: cleaning up`,
      `Warning | ClusterIPNotAllocated | service/unrec | Cluster IP [IPv4]:${ip(50, 3)} is not allocated; repairing`,
      `Warning | ClusterIPLeaked | service/v6 | the cluster IP ${ip(50, 5)} appears to have leaked: cleaning up`,
      'Warning | ClusterIPNotValid | service/v6 | Cluster IP fd00:10:96::5(IPv6) is of ip family that is no longer configured on cluster; please recreate service',
      `Warning | ClusterIPOutOfRange | service/oor | Cluster IP [IPv4]:127.99.0.4 is not within the service CIDR ${cidr}; please recreate service`,
      'Warning | PortAlreadyAllocated | service/dup | Port 30102 was assigned to multiple services; please recreate service',
      'Warning | PortLeaked | service/dup | the node port 30103 appears to have leaked: cleaning up',
      'Warning | PortLeaked | service/ghost | the node port 31999 appears to have leaked: cleaning up',
      'Warning | PortLeaked | service/oor | the node port 30104 appears to have leaked: cleaning up',
      'Warning | PortNotAllocated | service/unrec | Port 30101 is not allocated; repairing',
      'Warning | PortOutOfRange | service/oor | Port 40000 is not within the port range 30000-32767; please recreate service',
    ].sort(),
    `kubectl get events -A:\n${table.map((e) => JSON.stringify(e)).join('\n')}`,
  );
  // The events name the Services by uid, so `kubectl describe svc` shows them.
  const describe = await ok(s, ['describe', 'svc', 'unrec', '-n', 'repair']);
  assert.match(describe, /Warning\s+ClusterIPNotAllocated\s+\S+\s+ipallocator-repair-controller\s+Cluster IP \[IPv4\]:\S+ is not allocated; repairing/);
  const first = await eventObjects(s, 'repair');
  const uids: Record<string, string | undefined> = { dup: dup.metadata?.uid, unrec: unrec.metadata?.uid, oor: oor.metadata?.uid, v6: v6.metadata?.uid, ghost: '0b1e5b0c-0000-4000-8000-000000000001' };
  for (const e of first) {
    assert.equal(e.involvedObject.kind, 'Service');
    assert.equal(e.involvedObject.uid, uids[e.involvedObject.name], `the event on ${e.involvedObject.name} carries its uid`);
    // As kube-apiserver: ClusterIP findings come from the IP allocator's repair controller, node port ones from the port allocator's.
    assert.equal(e.source.component, e.reason.startsWith('Port') ? 'portallocator-repair-controller' : 'ipallocator-repair-controller', `source of ${e.reason}`);
  }

  api = apiClient(s);
  try {
    // Released: the leaked values can be taken by new Services.
    const taken = await create(api, 'repair', 'takes-leaks', { type: 'NodePort', clusterIP: ip(60, 1), ports: [{ name: 'a', port: 80, nodePort: 31999 }, { name: 'b', port: 81, nodePort: 30103 }, { name: 'c', port: 82, nodePort: 30104 }] });
    assert.equal(taken.spec?.clusterIP, ip(60, 1));
    for (const leaked of [ip(50, 2), ip(50, 4), ip(50, 5)]) {
      const again = await create(api, 'repair', `takes-${leaked.replace(/\./g, '-')}`, { clusterIP: leaked, ports: [{ port: 80 }] });
      assert.equal(again.spec?.clusterIP, leaked);
    }
    // Restored: unrec's values are held again.
    const refusedIP = await api.request('POST', '/api/v1/namespaces/repair/services', { body: JSON.stringify({ metadata: { name: 'wants-unrec-ip' }, spec: { clusterIP: ip(50, 3), ports: [{ port: 80 }] } }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(refusedIP.status, 422);
    assert.equal((JSON.parse(refusedIP.body) as { message: string }).message, `Service "wants-unrec-ip" is invalid: spec.clusterIPs: Invalid value: []string{"${ip(50, 3)}"}: failed to allocate IP ${ip(50, 3)}: provided IP is already allocated`);
    const refusedPort = await api.request('POST', '/api/v1/namespaces/repair/services', { body: JSON.stringify({ metadata: { name: 'wants-unrec-port' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30101 }] } }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(refusedPort.status, 422);
    assert.equal((JSON.parse(refusedPort.body) as { message: string }).message, 'Service "wants-unrec-port" is invalid: spec.ports[0].nodePort: Invalid value: 30101: provided port is already allocated');
  } finally {
    api.close();
  }

  // A second start finds nothing more to repair or release; the duplicate and the values out
  // of range stay until the Services are recreated, and are reported again, as Kubernetes does.
  assert.equal(await s.stop(), 0);
  await s.restart();
  const seen = new Set(first.map((e) => e.metadata.name));
  const later = (await eventObjects(s, 'repair')).filter((e) => !seen.has(e.metadata.name));
  assert.deepEqual(
    later.map((e) => `${e.reason} service/${e.involvedObject.name}`).sort(),
    ['ClusterIPAlreadyAllocated service/dup', 'ClusterIPNotValid service/v6', 'ClusterIPOutOfRange service/oor', 'PortAlreadyAllocated service/dup', 'PortOutOfRange service/oor'],
  );
});
