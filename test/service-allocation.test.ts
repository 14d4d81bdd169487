// ClusterIP and NodePort allocation through the API: distinct under concurrency, Kubernetes'
// messages for taken, out-of-range and exhausted values, release on delete and type change,
// and no duplicate or leak after the server is killed in the middle of a stream of creates.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from 'kubernetes-types/core/v1.js';
import { Services, Namespaces, isApiError } from '../src/api/index.ts';
import { HttpClient } from '../src/client/index.ts';
import { MemoryStore, openStore } from '../src/store/index.ts';
import { startServer, type RunningServer } from '../src/apiserver/index.ts';
import { startSvcnet, kubectl } from './lib/svcnet.ts';

function svc(name: string, spec: Service['spec']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec };
}

async function expectError(p: Promise<unknown>, code: number, message: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isApiError(e), `expected an ApiError, got ${String(e)}`);
    assert.equal((e).code, code);
    assert.equal((e).message, message);
    return true;
  });
}

describe('Service allocation through the API', () => {
  let dir: string;
  let server: RunningServer;
  let client: HttpClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'svcnet-alloc-'));
    // A /27 keeps exhaustion cheap: 30 usable addresses, one for the kubernetes Service.
    server = await startServer({ dataDir: dir, listen: '127.0.0.1:0', store: new MemoryStore(), serviceCIDRs: ['10.96.0.0/27'], nodePortRange: '30000-30049', loopbackAddresses: true });
    client = HttpClient.fromKubeconfig(server.kubeconfigPath);
  });

  after(async () => {
    client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the kubernetes Service holds the first address of the range', async () => {
    const k = await client.get<Service>(Services, 'default', 'kubernetes');
    assert.equal(k.spec?.clusterIP, '10.96.0.1');
    assert.deepEqual(k.spec?.ports?.map((p) => p.port), [443]);
  });

  test('a requested cluster IP is honoured, and refused when taken or out of range', async () => {
    const a = await client.create(Services, 'default', svc('want-ip', { clusterIP: '10.96.0.20', ports: [{ port: 80 }] }));
    assert.equal(a.spec?.clusterIP, '10.96.0.20');
    await expectError(
      client.create(Services, 'default', svc('want-ip-2', { clusterIP: '10.96.0.20', ports: [{ port: 80 }] })),
      422,
      'Service "want-ip-2" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.20"}: failed to allocate IP 10.96.0.20: provided IP is already allocated',
    );
    await expectError(
      client.create(Services, 'default', svc('want-ip-3', { clusterIP: '10.97.0.5', ports: [{ port: 80 }] })),
      422,
      'Service "want-ip-3" is invalid: spec.clusterIPs: Invalid value: []string{"10.97.0.5"}: failed to allocate IP 10.97.0.5: the provided IP (10.97.0.5) is not in the valid range. The range of valid IPs is 10.96.0.0/27',
    );
    await client.delete(Services, 'default', 'want-ip');
  });

  test('a requested node port is honoured, and refused when taken or out of range', async () => {
    await client.create(Services, 'default', svc('np-a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] }));
    await expectError(
      client.create(Services, 'default', svc('np-b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] })),
      422,
      'Service "np-b" is invalid: spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated',
    );
    await expectError(
      client.create(Services, 'default', svc('np-c', { type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] })),
      422,
      'Service "np-c" is invalid: spec.ports[0].nodePort: Invalid value: 31000: provided port is not in the valid range. The range of valid ports is 30000-30049',
    );
    // The same service port in two protocols shares one node port.
    const dns = await client.create(Services, 'default', svc('np-dns', { type: 'NodePort', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }));
    const [u, t] = dns.spec?.ports ?? [];
    assert.ok(u?.nodePort);
    assert.equal(u.nodePort, t?.nodePort);
    await client.delete(Services, 'default', 'np-a');
    await client.delete(Services, 'default', 'np-dns');
  });

  test('type changes allocate and release as Kubernetes does', async () => {
    const s = await client.create(Services, 'default', svc('morph', { selector: { app: 'm' }, ports: [{ port: 80 }] }));
    const ip = s.spec!.clusterIP!;
    let cur = await client.patch<Service>(Services, 'default', 'morph', 'merge', { spec: { type: 'NodePort' } });
    const np = cur.spec!.ports![0].nodePort!;
    assert.ok(np >= 30000 && np <= 30049, `node port ${np} in range`);
    assert.equal(cur.spec!.clusterIP, ip, 'the cluster IP stays');
    cur = await client.patch<Service>(Services, 'default', 'morph', 'merge', { spec: { type: 'LoadBalancer' } });
    assert.equal(cur.spec!.ports![0].nodePort, np, 'the node port stays');
    cur = await client.patch<Service>(Services, 'default', 'morph', 'merge', { spec: { type: 'ClusterIP' } });
    assert.equal(cur.spec!.ports![0].nodePort, undefined, 'the node port is dropped');
    assert.equal(server.allocator.nodePortOwner(np), undefined, 'and released');
    cur = await client.patch<Service>(Services, 'default', 'morph', 'merge', { spec: { type: 'ExternalName', externalName: 'db.example.com' } });
    assert.equal(cur.spec!.clusterIP, undefined);
    assert.equal(server.allocator.ipOwner(ip), undefined, 'the cluster IP is released');
    cur = await client.patch<Service>(Services, 'default', 'morph', 'merge', { spec: { type: 'ClusterIP', externalName: null } });
    assert.match(cur.spec!.clusterIP, /^10\.96\.0\./, 'ExternalName → ClusterIP allocates anew');
    await client.delete(Services, 'default', 'morph');
  });

  test('a full range answers with Kubernetes\' message, and deletes free addresses for reuse', async () => {
    const made: string[] = [];
    let full: unknown;
    for (let i = 0; i < 40; i++) {
      try {
        await client.create(Services, 'default', svc(`fill-${i}`, { ports: [{ port: 80 }] }));
        made.push(`fill-${i}`);
      } catch (e) {
        full = e;
        break;
      }
    }
    assert.ok(isApiError(full), 'the range fills up');
    assert.equal((full).code, 500);
    assert.equal((full).message, 'Internal error occurred: failed to allocate a serviceIP: range is full');
    assert.equal(made.length, 29, '30 usable addresses, one for the kubernetes Service');
    await client.delete(Services, 'default', made[0]);
    const again = await client.create(Services, 'default', svc('after-free', { ports: [{ port: 80 }] }));
    assert.ok(again.spec?.clusterIP);
    for (const n of [...made.slice(1), 'after-free']) await client.delete(Services, 'default', n);
  });
});

describe('Concurrent creates get distinct addresses', () => {
  let dir: string;
  let server: RunningServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'svcnet-alloc-c-'));
    server = await startServer({ dataDir: dir, listen: '127.0.0.1:0', store: new MemoryStore(), serviceCIDRs: ['10.96.0.0/12'], loopbackAddresses: true });
  });

  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('500 NodePort Services from 32 concurrent clients share no cluster IP and no node port', async () => {
    const clients = Array.from({ length: 32 }, () => HttpClient.fromKubeconfig(server.kubeconfigPath));
    await clients[0].create(Namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'many' } });
    let next = 0;
    await Promise.all(
      clients.map(async (c) => {
        for (let i = next++; i < 500; i = next++) {
          await c.create(Services, 'many', svc(`s-${i}`, { type: 'NodePort', ports: [{ port: 80 }] }));
        }
      }),
    );
    const list = await clients[0].list<Service>(Services, 'many');
    assert.equal(list.items.length, 500);
    const ips = new Set(list.items.map((s) => s.spec?.clusterIP));
    const ports = new Set(list.items.map((s) => s.spec?.ports?.[0]?.nodePort));
    assert.equal(ips.size, 500, 'distinct cluster IPs');
    assert.equal(ports.size, 500, 'distinct node ports');
    for (const c of clients) c.close();
  });
});

describe('A killed server leaves no duplicate and no leak', () => {
  test('kill -9 during concurrent creates, then restart: every Service has its own records and no record is orphaned', async (t) => {
    const s = await startSvcnet({ args: ['--service-cidr', '10.96.0.0/22', '--service-node-port-range', '30000-32767'] });
    t.after(async () => {
      if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
      s.cleanup();
    });
    const ns = await kubectl(s, ['create', 'namespace', 'crash']);
    assert.equal(ns.code, 0, ns.stderr);
    const clients = Array.from({ length: 8 }, () => HttpClient.fromKubeconfig(s.kubeconfig));
    let stop = false;
    let n = 0;
    const writers = clients.map(async (c) => {
      while (!stop) {
        const i = n++;
        try {
          await c.create(Services, 'crash', svc(`c-${i}`, { type: 'NodePort', ports: [{ port: 80 }] }));
        } catch {
          return;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    await s.kill9();
    stop = true;
    await Promise.all(writers);
    for (const c of clients) c.close();
    await s.restart();
    // The repair pass ran at start; now check the store's allocation records against the Services.
    const c = HttpClient.fromKubeconfig(s.kubeconfig);
    const list = await c.list<Service>(Services, undefined);
    c.close();
    await s.stop();
    const store = await openStore(`sqlite:${s.dataDir}`);
    try {
      const ipRecords = (await store.list('/registry/allocations/serviceips/')).items;
      const portRecords = (await store.list('/registry/allocations/servicenodeports/')).items;
      const byIp = new Map<string, string>();
      const byPort = new Map<number, string>();
      for (const svcObj of list.items) {
        const id = svcObj.metadata!.uid!;
        const ip = svcObj.spec?.clusterIP;
        if (ip && ip !== 'None') {
          assert.ok(!byIp.has(ip), `cluster IP ${ip} held twice`);
          byIp.set(ip, id);
        }
        for (const p of svcObj.spec?.ports ?? []) {
          if (!p.nodePort) continue;
          assert.ok(!byPort.has(p.nodePort), `node port ${p.nodePort} held twice`);
          byPort.set(p.nodePort, id);
        }
      }
      assert.ok(byIp.size > 10, `some Services were created before the kill (${byIp.size})`);
      assert.equal(ipRecords.length, byIp.size, 'one IP record per allocated cluster IP, no leak');
      assert.equal(portRecords.length, byPort.size, 'one port record per allocated node port, no leak');
      for (const kv of ipRecords) {
        const ip = kv.key.slice('/registry/allocations/serviceips/'.length);
        assert.equal((JSON.parse(kv.value) as { uid: string }).uid, byIp.get(ip), `record of ${ip} names its Service`);
      }
    } finally {
      await store.close();
    }
  });
});
