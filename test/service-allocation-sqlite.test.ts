// The concurrency check of test/service-allocation.test.ts (500 Services from 32 concurrent
// clients), against the default store of a real `bin/svcnet server`: its SQLite file in the data
// dir. No two Services share a ClusterIP or a node port, and every create the server
// acknowledged is there, with the values it acknowledged, after a kill -9 and a restart; the
// allocation records match the Services one for one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.js';
import { Namespaces, Services } from '../src/api/index.ts';
import { HttpClient } from '../src/client/index.ts';
import { openStore } from '../src/store/index.ts';
import { startSvcnet } from './lib/svcnet.ts';

test('500 NodePort Services from 32 concurrent clients on the SQLite store: distinct ClusterIPs and node ports, all there after kill -9 and a restart', async (t) => {
  // The control plane alone: no node agent binding 500 addresses and ports.
  const s = await startSvcnet({ args: ['--no-agent'] });
  t.after(async () => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
    s.cleanup();
  });
  const clients = Array.from({ length: 32 }, () => HttpClient.fromKubeconfig(s.kubeconfig));
  const acked = new Map<string, { ip: string; nodePort: number; uid: string }>();
  try {
    await clients[0].create(Namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'many' } });
    let next = 0;
    await Promise.all(
      clients.map(async (c) => {
        for (let i = next++; i < 500; i = next++) {
          const created = await c.create<Service>(Services, 'many', { apiVersion: 'v1', kind: 'Service', metadata: { name: `s-${i}` }, spec: { type: 'NodePort', ports: [{ port: 80 }] } });
          acked.set(created.metadata!.name!, { ip: created.spec!.clusterIP!, nodePort: created.spec!.ports![0].nodePort!, uid: created.metadata!.uid! });
        }
      }),
    );
  } finally {
    for (const c of clients) c.close();
  }
  assert.equal(acked.size, 500);
  assert.equal(new Set([...acked.values()].map((a) => a.ip)).size, 500, 'distinct cluster IPs in the answers');
  assert.equal(new Set([...acked.values()].map((a) => a.nodePort)).size, 500, 'distinct node ports in the answers');

  await s.kill9();
  await s.restart();
  const c = HttpClient.fromKubeconfig(s.kubeconfig);
  let all: Service[];
  try {
    all = (await c.list<Service>(Services, undefined)).items;
  } finally {
    c.close();
  }
  const many = all.filter((x) => x.metadata?.namespace === 'many');
  assert.equal(many.length, 500, 'every acknowledged create survived the kill');
  for (const x of many) {
    const a = acked.get(x.metadata!.name!);
    assert.ok(a, `${x.metadata!.name} was acknowledged`);
    assert.deepEqual({ ip: x.spec!.clusterIP, nodePort: x.spec!.ports![0].nodePort, uid: x.metadata!.uid }, a, `${x.metadata!.name} as acknowledged`);
  }
  const ips = all.flatMap((x) => (x.spec?.clusterIPs ?? []).filter((ip) => ip !== 'None'));
  assert.equal(new Set(ips).size, ips.length, 'no ClusterIP held twice in the whole cluster');

  // The allocation records in the SQLite file: one per held value, naming its Service.
  assert.equal(await s.stop(), 0);
  const store = await openStore(`sqlite:${s.dataDir}`);
  try {
    const owner = new Map(all.map((x) => [x.metadata!.uid!, x]));
    const ipRecords = (await store.list('/registry/allocations/serviceips/')).items;
    const portRecords = (await store.list('/registry/allocations/servicenodeports/')).items;
    assert.deepEqual(ipRecords.map((kv) => kv.key.slice('/registry/allocations/serviceips/'.length)).sort(), [...ips].sort());
    assert.deepEqual(portRecords.map((kv) => Number(kv.key.slice('/registry/allocations/servicenodeports/'.length))).sort(), [...acked.values()].map((a) => a.nodePort).sort());
    for (const kv of [...ipRecords, ...portRecords]) {
      const uid = (JSON.parse(kv.value) as { uid: string }).uid;
      assert.ok(owner.has(uid), `${kv.key} names a Service that exists`);
    }
  } finally {
    await store.close();
  }
});
