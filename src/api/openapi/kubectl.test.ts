// The real kubectl against a test-only fake on 127.0.0.1 that serves /version, legacy
// discovery and these OpenAPI documents: `kubectl explain` prints what a cluster prints, and
// client-side apply computes its strategic merge patch from our x-kubernetes-patch-* markers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { allResources, type ResourceInfo } from '../index.ts';
import { openapiV3DocumentJson, openapiV3Root } from './index.ts';

const haveKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

let server: Server;
let url = '';
let dir = '';
const patches: { path: string; contentType: string; body: unknown }[] = [];

const lastApplied = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'mlflow-service', namespace: 'mlflow' },
  spec: { ports: [{ port: 5000, protocol: 'TCP', targetPort: 5000 }], selector: { app: 'mlflow' } },
};
const existing = {
  ...lastApplied,
  metadata: {
    ...lastApplied.metadata,
    uid: '4a1c6f0e-0000-4000-8000-000000000001',
    resourceVersion: '7',
    creationTimestamp: '2024-05-01T10:00:00Z',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(lastApplied) },
  },
  spec: { ...lastApplied.spec, clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], type: 'ClusterIP', sessionAffinity: 'None' },
  status: { loadBalancer: {} },
};

before(async () => {
  if (!haveKubectl) return;
  dir = mkdtempSync(join(tmpdir(), 'svcnet-openapi-'));
  const byGv = new Map<string, ResourceInfo[]>();
  for (const r of allResources) {
    const gv = r.group ? `${r.group}/${r.version}` : r.version;
    byGv.set(gv, [...(byGv.get(gv) ?? []), r]);
  }
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (o: unknown, code = 200): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(typeof o === 'string' ? o : JSON.stringify(o));
    };
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
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
        const resources = byGv.get(gv)!.map((r) => ({ name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, shortNames: r.shortNames }));
        return send({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources });
      }
      if (p === '/openapi/v3') return send(openapiV3Root());
      const doc = p.startsWith('/openapi/v3/') ? openapiV3DocumentJson(p.slice('/openapi/v3/'.length)) : undefined;
      if (doc) return send(doc.json);
      if (p === '/api/v1/namespaces/mlflow/services/mlflow-service') {
        if (req.method === 'PATCH') patches.push({ path: p, contentType: req.headers['content-type'] ?? '', body: JSON.parse(body) as unknown });
        return send(existing);
      }
      send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404 }, 404);
    });
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

test('kubectl explain service.spec.ports prints the field, its type and its fields', { skip: !haveKubectl && 'kubectl is not installed' }, async () => {
  const r = await kubectl('explain', 'service.spec.ports');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^KIND:\s+Service\nVERSION:\s+v1\n\nFIELD: ports <\[\]ServicePort>\n/);
  assert.match(r.stdout, /DESCRIPTION:\n {4}The list of ports that are exposed by this service\./);
  assert.match(r.stdout, /\n {2}port\t<integer> -required-\n {4}The port that will be exposed by this service\./);
  assert.match(r.stdout, /\n {2}protocol\t<string>\n {2}enum: SCTP, TCP, UDP\n/);
  assert.match(r.stdout, /\n {2}targetPort\t<IntOrString>\n/);
});

test('kubectl explain follows pod templates and custom resources', { skip: !haveKubectl && 'kubectl is not installed' }, async () => {
  const d = await kubectl('explain', 'deployment.spec.template.spec.containers');
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /^GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1\n\nFIELD: containers <\[\]Container>/);
  assert.match(d.stdout, /\n {2}env\t<\[\]EnvVar>\n/);
  assert.match(d.stdout, /\n {2}name\t<string> -required-\n/);
  assert.match(d.stdout, /\n {2}resources\t<ResourceRequirements>\n/);
  const p = await kubectl('explain', 'ipaddresspool.spec');
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /^GROUP:\s+metallb\.io\nKIND:\s+IPAddressPool\nVERSION:\s+v1beta1\n\nFIELD: spec <Object>/);
  assert.match(p.stdout, /\n {2}addresses\t<\[\]string> -required-\n/);
  assert.match(p.stdout, /\n {2}autoAssign\t<boolean>\n/);
  assert.match(p.stdout, /\n {2}serviceAllocation\t<Object>\n/);
});

test('kubectl apply to an existing Service sends a strategic merge patch keyed by port', { skip: !haveKubectl && 'kubectl is not installed' }, async () => {
  const manifest = join(dir, 'svc.json');
  const next = { ...lastApplied, spec: { ...lastApplied.spec, ports: [...lastApplied.spec.ports, { name: 'extra', port: 6000, protocol: 'TCP', targetPort: 6000 }] } };
  writeFileSync(manifest, JSON.stringify(next));
  const r = await kubectl('apply', '-f', manifest);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /service\/mlflow-service configured/);
  assert.equal(patches.length, 1);
  const patch = patches[0];
  assert.equal(patch.contentType, 'application/strategic-merge-patch+json');
  const body = patch.body as { spec: Record<string, unknown> };
  assert.deepEqual(body.spec['$setElementOrder/ports'], [{ port: 5000 }, { port: 6000 }]);
  assert.deepEqual(body.spec.ports, [{ name: 'extra', port: 6000, protocol: 'TCP', targetPort: 6000 }]);
});
