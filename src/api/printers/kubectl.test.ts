// The real kubectl renders our Tables: a test-only fake on 127.0.0.1 serves discovery and
// answers list requests with toTable, and `kubectl get` prints what a cluster prints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { allResources, type KubeObject, type ResourceInfo } from '../index.ts';
import { toTable } from './index.ts';

const haveKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

let server: Server;
let url = '';
let dir = '';

const created = (secondsAgo: number): string => new Date(Date.now() - secondsAgo * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const objects: Record<string, KubeObject[]> = {
  services: [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'grafana-service', namespace: 'monitoring', creationTimestamp: created(7205), uid: 'u1', resourceVersion: '12' },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.7.200', clusterIPs: ['10.96.7.200'], selector: { app: 'grafana' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 3000, nodePort: 31234 }] },
      status: { loadBalancer: {} },
    } as KubeObject,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'mlflow-service', namespace: 'mlflow', creationTimestamp: created(605), uid: 'u2', resourceVersion: '13' },
      spec: { type: 'NodePort', clusterIP: '10.96.45.12', clusterIPs: ['10.96.45.12'], selector: { app: 'mlflow' }, ports: [{ protocol: 'TCP', port: 5000, targetPort: 5000, nodePort: 30001 }] },
      status: { loadBalancer: {} },
    } as KubeObject,
  ],
  ipaddresspools: [
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'default', namespace: 'metallb-system', creationTimestamp: created(60), uid: 'u3', resourceVersion: '14' },
      spec: { addresses: ['192.168.1.200-192.168.1.250'], autoAssign: true, avoidBuggyIPs: false },
    } as KubeObject,
  ],
};

before(async () => {
  if (!haveKubectl) return;
  dir = mkdtempSync(join(tmpdir(), 'svcnet-printers-'));
  const byGv = new Map<string, ResourceInfo[]>();
  for (const r of allResources) {
    const gv = r.group ? `${r.group}/${r.version}` : r.version;
    byGv.set(gv, [...(byGv.get(gv) ?? []), r]);
  }
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (o: unknown, code = 200): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(o));
    };
    const p = u.pathname;
    if (p === '/version') return send({ major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' });
    if (p === '/api') return send({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (p === '/apis') {
      const groups = [...byGv.keys()].filter((k) => k.includes('/')).map((k) => {
        const [name, version] = k.split('/') as [string, string];
        return { name, versions: [{ groupVersion: k, version }], preferredVersion: { groupVersion: k, version } };
      });
      return send({ kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const gv = /^\/apis?\/(.+)$/.exec(p)?.[1];
    if (gv && byGv.has(gv)) {
      const resources = byGv.get(gv)!.map((r) => ({ name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, shortNames: r.shortNames, categories: r.categories }));
      return send({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources });
    }
    // Lists, all namespaces or one: /api/v1/services, /apis/<g>/<v>/namespaces/<ns>/<resource>
    const m = /^\/apis?\/(?:(.+)\/)?(v1|v1beta1)\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/.exec(p);
    const r = m ? allResources.find((x) => x.resource === m[4] && x.group === (m[1] ?? '') && x.version === m[2]) : undefined;
    if (m && r && (req.headers.accept ?? '').includes('as=Table')) {
      const items = (objects[r.resource] ?? []).filter((o) => !m[3] || o.metadata?.namespace === m[3]);
      return send(toTable(r, items, { listMeta: { resourceVersion: '20' }, includeObject: u.searchParams.get('includeObject') ?? undefined }));
    }
    send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404 }, 404);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', [`--server=${url}`, `--cache-dir=${join(dir, 'cache')}`, ...args], {
      env: { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig') },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('kubectl get svc -A prints the columns and cells a cluster prints', { skip: !haveKubectl && 'kubectl is not installed' }, async () => {
  const r = await kubectl('get', 'svc', '-A');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      'NAMESPACE    NAME              TYPE           CLUSTER-IP    EXTERNAL-IP   PORT(S)          AGE',
      'monitoring   grafana-service   LoadBalancer   10.96.7.200   <pending>     80:31234/TCP     120m',
      'mlflow       mlflow-service    NodePort       10.96.45.12   <none>        5000:30001/TCP   10m',
      '',
    ].join('\n'),
  );
  const wide = await kubectl('get', 'services', '-n', 'mlflow', '-o', 'wide');
  assert.equal(wide.code, 0, wide.stderr);
  assert.match(wide.stdout, /^NAME {3,}TYPE {3,}CLUSTER-IP {3,}EXTERNAL-IP {3,}PORT\(S\) {3,}AGE {3,}SELECTOR\nmlflow-service {3,}NodePort .* app=mlflow\n$/);
});

test('kubectl get ipaddresspools prints MetalLB\'s printer columns', { skip: !haveKubectl && 'kubectl is not installed' }, async () => {
  const r = await kubectl('get', 'ipaddresspools', '-n', 'metallb-system');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, ['NAME      AUTO ASSIGN   AVOID BUGGY IPS   ADDRESSES', 'default   true          false             ["192.168.1.200-192.168.1.250"]', ''].join('\n'));
});
