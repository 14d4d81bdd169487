// Durability of a running `svcnet server` on its default SQLite store: kill -9 in the middle of a
// stream of creates (ConfigMaps and Services, from several clients at once); after a restart on
// the same data dir every acknowledged object is there as it was acknowledged, allocated
// ClusterIPs and NodePorts stay taken, and resourceVersions keep increasing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSvcnet, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient } from './lib/apiserver.ts';

let s: Svcnet | undefined;
let api: ApiClient | undefined;

after(async () => {
  api?.close();
  if (s && s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
  s?.cleanup();
});

interface Obj {
  metadata: { name: string; resourceVersion: string; uid: string };
  spec?: { clusterIP?: string; ports?: { nodePort?: number }[] };
  data?: Record<string, string>;
}

test('kill -9 during a stream of creates loses no acknowledged object, and resourceVersions go on increasing', async () => {
  s = await startSvcnet();
  api = apiClient(s, { maxSockets: 8 });
  await api.json('POST', '/api/v1/namespaces', { metadata: { name: 'durable' } });
  const acked = new Map<string, Obj>();
  let stop = false;
  let failures = 0;
  const writer = async (id: number) => {
    for (let i = 0; !stop; i++) {
      const svc = i % 3 === 0;
      const name = `${svc ? 's' : 'c'}${id}-${i}`;
      const path = `/api/v1/namespaces/durable/${svc ? 'services' : 'configmaps'}`;
      const body = svc ? { metadata: { name }, spec: { type: 'NodePort', ports: [{ port: 80 }] } } : { metadata: { name }, data: { writer: String(id), n: String(i) } };
      try {
        const res = await api!.request('POST', path, { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' }, timeoutMs: 5000 });
        if (res.status === 201) acked.set(`${svc ? 'services' : 'configmaps'}/${name}`, JSON.parse(res.body) as Obj);
        else failures++;
      } catch {
        return; // the server is gone
      }
    }
  };
  const writers = Array.from({ length: 6 }, (_, i) => writer(i));
  while (acked.size < 300) await new Promise((r) => setTimeout(r, 10));
  await s.kill9();
  stop = true;
  await Promise.all(writers);
  assert.equal(failures, 0, 'every create before the kill succeeded');
  const maxAcked = Math.max(...[...acked.values()].map((o) => Number(o.metadata.resourceVersion)));

  api.close();
  await s.restart();
  api = apiClient(s);
  for (const [key, o] of acked) {
    const res = await api.request('GET', `/api/v1/namespaces/durable/${key}`);
    assert.equal(res.status, 200, `${key} was acknowledged before the kill but is gone`);
    const got = JSON.parse(res.body) as Obj;
    assert.equal(got.metadata.uid, o.metadata.uid, key);
    assert.equal(got.metadata.resourceVersion, o.metadata.resourceVersion, key);
    assert.deepEqual(got.data, o.data, key);
    assert.deepEqual(got.spec, o.spec, key);
  }
  // Nothing half-written: every object that is there decodes, and lists are consistent.
  const cms = await api.json<{ items: Obj[]; metadata: { resourceVersion: string } }>('GET', '/api/v1/namespaces/durable/configmaps');
  const svcs = await api.json<{ items: Obj[] }>('GET', '/api/v1/namespaces/durable/services');
  assert.ok(Number(cms.metadata.resourceVersion) >= maxAcked);
  assert.ok(cms.items.length + svcs.items.length >= acked.size);

  // New writes get higher resourceVersions, and new Services never reuse an allocated address or port.
  const taken = new Set(svcs.items.flatMap((o) => [o.spec?.clusterIP, ...(o.spec?.ports ?? []).map((p) => String(p.nodePort))]));
  const fresh = await api.json<Obj>('POST', '/api/v1/namespaces/durable/configmaps', { metadata: { name: 'after-restart' } });
  assert.ok(Number(fresh.metadata.resourceVersion) > maxAcked, `${fresh.metadata.resourceVersion} > ${maxAcked}`);
  for (let i = 0; i < 20; i++) {
    const svc = await api.json<Obj>('POST', '/api/v1/namespaces/durable/services', { metadata: { name: `after-${i}` }, spec: { type: 'NodePort', ports: [{ port: 80 }] } });
    assert.ok(!taken.has(svc.spec?.clusterIP), `ClusterIP ${svc.spec?.clusterIP} handed out twice`);
    assert.ok(!taken.has(String(svc.spec?.ports?.[0]?.nodePort)), `NodePort ${svc.spec?.ports?.[0]?.nodePort} handed out twice`);
    taken.add(svc.spec?.clusterIP);
    taken.add(String(svc.spec?.ports?.[0]?.nodePort));
  }
});
