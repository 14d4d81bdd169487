// The real kubectl against a tiny recording stub on 127.0.0.1: for every `kubectl create`
// generator, kubectl 1.32 and 1.33 POST protobuf, 1.31 POSTs JSON; the protobuf body must
// decode to the very object 1.31 sent. With SVCNET_UPDATE_FIXTURES=1 the 1.33 bodies and the
// 1.31 JSON are also written to test/fixtures/protobuf/ for the unit tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, realpathSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeProtobufObject } from '../src/apiserver/protobuf/index.ts';

const fixtureDir = new URL('./fixtures/protobuf/', import.meta.url).pathname;
const updateFixtures = process.env.SVCNET_UPDATE_FIXTURES === '1';

/** The versioned kubectl binaries sit beside the dispatcher that /usr/bin/kubectl links to. */
function kubectlDir(): string | undefined {
  try {
    readlinkSync('/usr/bin/kubectl');
    return dirname(realpathSync('/usr/bin/kubectl'));
  } catch {
    return undefined;
  }
}

const dir = kubectlDir();
const versions = ['1.31', '1.32', '1.33'] as const;
const missing = dir ? versions.filter((v) => !existsSync(join(dir, `kubectl.${v}`))) : [...versions];
const skip = missing.length ? `needs kubectl.${missing.join(', kubectl.')} beside the binary /usr/bin/kubectl links to` : false;

interface Recorded {
  method: string;
  path: string;
  contentType: string;
  body: Buffer;
}

const replyKinds: Record<string, [string, string]> = {
  namespaces: ['v1', 'Namespace'],
  services: ['v1', 'Service'],
  configmaps: ['v1', 'ConfigMap'],
  secrets: ['v1', 'Secret'],
  serviceaccounts: ['v1', 'ServiceAccount'],
  deployments: ['apps/v1', 'Deployment'],
};

let server: Server | undefined;
let work = '';
let kubeconfig = '';
let lastPost: Recorded | undefined;

const resource = (name: string, kind: string, namespaced: boolean) => ({
  name,
  singularName: kind.toLowerCase(),
  namespaced,
  kind,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
});

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'svcnet-pb-'));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const send = (code: number, obj: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      if (req.method === 'POST') {
        lastPost = { method: req.method, path: url.pathname, contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) };
        // kubectl only prints the reply's kind and name; JSON replies are fine for protobuf requests.
        const plural = url.pathname.split('/').pop() ?? '';
        const [apiVersion, kind] = replyKinds[plural] ?? ['v1', 'Unknown'];
        return send(201, { kind, apiVersion, metadata: { name: 'created', namespace: 'default' } });
      }
      switch (url.pathname) {
        case '/version':
          return send(200, { major: '1', minor: '33', gitVersion: 'v1.33.0', platform: 'linux/amd64' });
        case '/api':
          return send(200, { kind: 'APIVersions', versions: ['v1'] });
        case '/apis':
          return send(200, {
            kind: 'APIGroupList',
            apiVersion: 'v1',
            groups: [{ name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } }],
          });
        case '/api/v1':
          return send(200, {
            kind: 'APIResourceList',
            groupVersion: 'v1',
            resources: [
              resource('namespaces', 'Namespace', false),
              resource('services', 'Service', true),
              resource('configmaps', 'ConfigMap', true),
              resource('secrets', 'Secret', true),
              resource('serviceaccounts', 'ServiceAccount', true),
            ],
          });
        case '/apis/apps/v1':
          return send(200, { kind: 'APIResourceList', groupVersion: 'apps/v1', resources: [resource('deployments', 'Deployment', true)] });
        default:
          return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' });
      }
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: stub, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      'users: [{name: tester, user: {token: test-token}}]',
      'contexts: [{name: stub, context: {cluster: stub, user: tester, namespace: default}}]',
      'current-context: stub',
      '',
    ].join('\n'),
  );
  // Files for --from-file: text lands in data, bytes that are not UTF-8 in binaryData.
  writeFileSync(join(work, 'app.properties'), 'color=blue\nsize=3\n');
  writeFileSync(join(work, 'blob.bin'), Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0a]));
});

after(async () => {
  if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  if (work) rmSync(work, { recursive: true, force: true });
});

function kubectl(version: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, KUBECONFIG: kubeconfig };
  const argv = ['--kubeconfig', kubeconfig, '--cache-dir', join(work, `cache-${version}`), '--request-timeout=20s', ...args];
  return new Promise((resolve) => {
    execFile(join(dir!, `kubectl.${version}`), argv, { env, cwd: work, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function capture(version: string, args: readonly string[]): Promise<Recorded> {
  lastPost = undefined;
  const r = await kubectl(version, args);
  assert.equal(r.code, 0, `kubectl.${version} ${args.join(' ')} failed: ${r.stderr}`);
  assert.ok(lastPost, `kubectl.${version} ${args.join(' ')} sent no POST`);
  return lastPost;
}

/** Each generator, by fixture name; file paths are relative to the temp dir. */
const cases: ReadonlyArray<{ name: string; args: readonly string[] }> = [
  { name: 'namespace', args: ['create', 'namespace', 'team-a'] },
  { name: 'configmap-literal', args: ['create', 'configmap', 'settings', '--from-literal=mode=fast', '--from-literal=empty='] },
  { name: 'configmap-file', args: ['create', 'configmap', 'files', '--from-file=app.properties', '--from-file=blob.bin', '--from-literal=x=y'] },
  { name: 'secret-generic', args: ['create', 'secret', 'generic', 'creds', '--from-literal=user=admin', '--from-literal=password=s3cr=t', '--from-literal=empty=', '--from-file=blob.bin'] },
  { name: 'secret-typed', args: ['create', 'secret', 'generic', 'token', '--type=example.com/token', '--from-literal=t=abc'] },
  { name: 'secret-docker-registry', args: ['create', 'secret', 'docker-registry', 'pull', '--docker-server=registry.example', '--docker-username=u', '--docker-password=p', '--docker-email=u@example.com'] },
  { name: 'service-clusterip', args: ['create', 'service', 'clusterip', 'web', '--tcp=80:8080,443'] },
  { name: 'service-headless', args: ['create', 'service', 'clusterip', 'db', '--clusterip=None'] },
  { name: 'service-nodeport', args: ['create', 'service', 'nodeport', 'mlflow', '--tcp=5000:5000', '--node-port=30500'] },
  { name: 'service-loadbalancer', args: ['create', 'service', 'loadbalancer', 'lb', '--tcp=80:http'] },
  { name: 'service-externalname', args: ['create', 'service', 'externalname', 'ext', '--external-name=db.example.com', '--tcp=5432'] },
  { name: 'deployment', args: ['create', 'deployment', 'mlflow', '--image=ghcr.io/mlflow/mlflow:v2', '--port=5000', '--replicas=2', '--', 'mlflow', 'server', '--host', '0.0.0.0'] },
  { name: 'deployment-zero-replicas', args: ['create', 'deployment', 'idle', '--image=busybox', '--replicas=0'] },
  { name: 'deployment-two-images', args: ['create', 'deployment', 'pair', '--image=nginx:1.27', '--image=redis:7'] },
  { name: 'serviceaccount', args: ['create', 'serviceaccount', 'robot'] },
];

for (const c of cases) {
  test(`kubectl create ${c.name}: the 1.32 and 1.33 protobuf bodies decode to the JSON that 1.31 sends`, { skip }, async () => {
    const json = await capture('1.31', c.args);
    assert.match(json.contentType, /^application\/json/, 'kubectl 1.31 sends JSON');
    const expected: unknown = JSON.parse(json.body.toString('utf8'));
    for (const v of ['1.32', '1.33']) {
      const proto = await capture(v, c.args);
      assert.equal(proto.path, json.path, `kubectl.${v} posts to the same path`);
      assert.equal(proto.contentType, 'application/vnd.kubernetes.protobuf', `kubectl.${v} sends protobuf`);
      assert.deepStrictEqual(decodeProtobufObject(proto.body), expected, `kubectl.${v} body decodes to the 1.31 JSON`);
      if (updateFixtures && v === '1.33') {
        mkdirSync(fixtureDir, { recursive: true });
        writeFileSync(join(fixtureDir, `${c.name}.pb`), proto.body);
        writeFileSync(join(fixtureDir, `${c.name}.json`), `${JSON.stringify(expected, null, 2)}\n`);
      }
    }
  });
}
