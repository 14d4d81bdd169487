// `svcnet server` over its life, as a user runs it: SIGINT and SIGTERM stop it cleanly and
// promptly and a restart on the same data dir serves everything written before; a fresh server
// has the system namespaces and a `default` ServiceAccount in every namespace; a client
// certificate signed by the server's CA is a way in (one from another CA is a 401); and without
// --listen it serves on 127.0.0.1:6443.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSvcnet, kubectl, svcnetBin, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient } from './lib/apiserver.ts';
import { parseTable, recentAge } from './lib/kubectl-output.ts';
import { waitFor } from './lib/workloads.ts';
import { ensurePki, issueClientCertificate, servingNames, type Pki } from '../src/apiserver/pki.ts';
import { kubeconfigYaml } from '../src/client/index.ts';

interface Obj {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion: string; generation?: number };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  status?: { phase?: string };
}

// ---------------------------------------------------------------- SIGINT / SIGTERM

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} stops the server with exit code 0 promptly, and a restart on the same data dir serves every object written before`, async (t) => {
    // Info logs (the harness's default, which test/lib/workloads.ts lowers for this process) show the clean stop.
    const s = await startSvcnet({ env: { SVCNET_LOG_LEVEL: 'info' } });
    let api = apiClient(s, { maxSockets: 8 });
    t.after(async () => {
      api.close();
      if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
      s.cleanup();
    });
    const ns = 'kept';
    const ok = async (args: string[]) => {
      const r = await kubectl(s, args);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    };
    await ok(['create', 'namespace', ns]);
    await ok(['create', 'configmap', 'settings', '--from-literal=a=b', '-n', ns]);
    await ok(['create', 'secret', 'generic', 'creds', '--from-literal=password=hunter2', '-n', ns]);
    await ok(['create', 'service', 'nodeport', 'web', '--tcp=80:8080', '-n', ns]);
    await ok(['create', 'deployment', 'web', '--image=registry.k8s.io/e2e-test-images/agnhost:2.53', '--replicas=0', '-n', ns]);
    await ok(['label', 'service', 'web', 'tier=front', '-n', ns]);
    // And a burst of writes acknowledged just before the signal.
    const burst = await Promise.all(Array.from({ length: 60 }, (_, i) => api.json<Obj>('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `burst-${i}` }, data: { i: String(i) } })));
    const paths = [
      `/api/v1/namespaces/${ns}`,
      `/api/v1/namespaces/${ns}/configmaps/settings`,
      `/api/v1/namespaces/${ns}/secrets/creds`,
      `/api/v1/namespaces/${ns}/services/web`,
      `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      ...burst.map((o) => `/api/v1/namespaces/${ns}/configmaps/${o.metadata.name}`),
    ];
    const before = new Map<string, Obj>();
    for (const p of paths) before.set(p, await api.json<Obj>('GET', p));
    const lastRv = Math.max(...[...before.values()].map((o) => Number(o.metadata.resourceVersion)));
    api.close();

    const t0 = Date.now();
    s.proc.kill(signal);
    const [code, sig] = (await once(s.proc, 'exit')) as [number | null, NodeJS.Signals | null];
    const took = Date.now() - t0;
    t.diagnostic(`${signal}: exited in ${took} ms`);
    assert.equal(sig, null, 'it exits by itself, not killed by the signal');
    assert.equal(code, 0, `exit code; logs:\n${s.logs().slice(-2000)}`);
    // Well under the server's own 10 s hard stop (which exits 1).
    assert.ok(took < 8000, `stopped after ${took} ms`);
    assert.match(s.logs(), new RegExp(`"signal":"${signal}".*"msg":"stopping"`));

    await s.restart();
    api = apiClient(s);
    for (const [p, o] of before) {
      const res = await api.request('GET', p);
      assert.equal(res.status, 200, `${p} is gone after the restart`);
      const got = JSON.parse(res.body) as Obj;
      assert.equal(got.metadata.uid, o.metadata.uid, p);
      // A controller may have written a status since; what was written stays.
      assert.deepEqual(got.spec, o.spec, p);
      assert.deepEqual(got.data, o.data, p);
    }
    const svc = JSON.parse((await kubectl(s, ['get', 'service', 'web', '-n', ns, '-o', 'json'])).stdout) as { metadata: { labels: Record<string, string> } };
    assert.equal(svc.metadata.labels.tier, 'front');
    const secret = await kubectl(s, ['get', 'secret', 'creds', '-n', ns, '-o', 'jsonpath={.data.password}']);
    assert.equal(Buffer.from(secret.stdout, 'base64').toString(), 'hunter2');
    const fresh = await api.json<Obj>('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'after-restart' } });
    assert.ok(Number(fresh.metadata.resourceVersion) > lastRv, 'resourceVersions go on from where they were');
  });
}

// ---------------------------------------------------------------- a fresh server

let s: Svcnet;
let api: ApiClient;

before(async () => {
  s = await startSvcnet({ args: ['--no-agent'] });
  api = apiClient(s);
});

after(async () => {
  api?.close();
  await s?.stop();
  s?.cleanup();
});

test('a fresh server has the system namespaces, each with its default ServiceAccount', async () => {
  // Right after "ready": kube-apiserver's system namespaces (and the namespace of the MetalLB
  // svcnet bundles, which a cluster has after installing MetalLB).
  const r = await kubectl(s, ['get', 'namespaces']);
  assert.equal(r.code, 0, r.stderr);
  const t = parseTable(r.stdout);
  assert.deepEqual(t.header, ['NAME', 'STATUS', 'AGE']);
  assert.deepEqual(
    t.rows.map((row) => row.slice(0, 2)),
    [
      ['default', 'Active'],
      ['kube-node-lease', 'Active'],
      ['kube-public', 'Active'],
      ['kube-system', 'Active'],
      ['metallb-system', 'Active'],
    ],
  );
  for (const row of t.rows) assert.match(row[2], recentAge);
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await waitFor(`the default ServiceAccount in ${ns}`, async () => (await kubectl(s, ['get', 'serviceaccount', 'default', '-n', ns, '-o', 'name'])).stdout === 'serviceaccount/default\n');
  }
});

test('every new namespace gets a default ServiceAccount, again when it is deleted', async () => {
  const ns = 'team-a';
  const created = await kubectl(s, ['create', 'namespace', ns]);
  assert.equal(created.stdout, `namespace/${ns} created\n`);
  const sa = await waitFor('the default ServiceAccount', async () => {
    const r = await kubectl(s, ['get', 'serviceaccounts', '-n', ns]);
    return r.code === 0 && r.stdout !== '' && r;
  });
  const t = parseTable(sa.stdout);
  assert.deepEqual(t.header, ['NAME', 'SECRETS', 'AGE']);
  assert.deepEqual(t.rows.map((row) => row.slice(0, 2)), [['default', '0']]);
  const first = await api.json<Obj>('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`);
  // The ServiceAccounts controller puts it back, as kube-controller-manager does.
  const del = await kubectl(s, ['delete', 'serviceaccount', 'default', '-n', ns]);
  assert.equal(del.stdout, 'serviceaccount "default" deleted\n');
  const again = await waitFor('the default ServiceAccount back', async () => {
    const res = await api.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`);
    return res.status === 200 && (JSON.parse(res.body) as Obj);
  });
  assert.notEqual(again.metadata.uid, first.metadata.uid);
});

// ---------------------------------------------------------------- client certificates

/** A GET with a client certificate (and optionally a bearer token), as raw HTTPS. */
function getWithCert(path: string, cert: { cert: string; key: string }, token?: string): Promise<{ status: number; body: string }> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: url.hostname, port: url.port, path, ca: api.ca, cert: cert.cert, key: cert.key, agent: false, headers: token ? { Authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('a kubeconfig with a client certificate signed by the server\'s CA works; one from another CA is a 401', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'svcnet-certs-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const pkiDir = join(s.dataDir, 'pki');
  const serverCA: Pki = { caCert: readFileSync(join(pkiDir, 'ca.crt'), 'utf8'), caKey: readFileSync(join(pkiDir, 'ca.key'), 'utf8'), serverCert: '', serverKey: '', tokens: new Map(), adminToken: '' };
  // CN is the user, O the groups, as Kubernetes reads a client certificate.
  const good = await issueClientCertificate(serverCA, { name: 'jane', groups: ['system:masters'] });
  const goodConfig = join(work, 'good-kubeconfig');
  writeFileSync(goodConfig, kubeconfigYaml({ server: s.url, caCert: serverCA.caCert, clientCert: good, user: 'jane' }));
  const cfg = { kubeconfig: goodConfig, dataDir: work };
  let r = await kubectl(cfg, ['get', 'namespace', 'default', '-o', 'name']);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'namespace/default\n');
  r = await kubectl(cfg, ['create', 'configmap', 'by-cert', '-n', 'default']);
  assert.equal(r.stdout, 'configmap/by-cert created\n', r.stderr);

  // Another svcnet's CA (another cluster): the certificate is well-formed, but not ours.
  const otherPki = await ensurePki(join(work, 'other-pki'), servingNames('127.0.0.1'));
  const foreign = await issueClientCertificate(otherPki, { name: 'admin', groups: ['system:masters'] });
  const badConfig = join(work, 'bad-kubeconfig');
  writeFileSync(badConfig, kubeconfigYaml({ server: s.url, caCert: serverCA.caCert, clientCert: foreign, user: 'jane' }));
  r = await kubectl({ kubeconfig: badConfig, dataDir: work }, ['get', 'namespaces']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /error: You must be logged in to the server \(Unauthorized\)\n$/);
  // A client that sends the certificate anyway (kubectl leaves out one whose issuer the server
  // does not list) gets kube's 401 every time.
  let res!: { status: number; body: string };
  for (let i = 0; i < 5; i++) {
    res = await getWithCert('/api/v1/namespaces', foreign);
    assert.equal(res.status, 401, res.body);
    assert.deepEqual(JSON.parse(res.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  }
  // Health endpoints answer anyone.
  res = await getWithCert('/healthz', foreign);
  assert.equal(res.status, 200);

  // kube-apiserver tries the certificate before a bearer token: a good certificate with a bad
  // token is let in; a foreign certificate with a good token is let in by the token.
  res = await getWithCert('/api/v1/namespaces/default', good, 'not-a-token');
  assert.equal(res.status, 200, res.body);
  res = await getWithCert('/api/v1/namespaces/default', foreign, api.token);
  assert.equal(res.status, 200, res.body);
  res = await getWithCert('/api/v1/namespaces/default', foreign, 'not-a-token');
  assert.equal(res.status, 401);
});

// ---------------------------------------------------------------- default listen address

/** Whether 127.0.0.1:6443 can be bound right now. */
async function port6443Free(): Promise<boolean> {
  const srv = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host: '127.0.0.1', port: 6443, exclusive: true }, resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

const taken = !(await port6443Free());

test('without --listen the server serves HTTPS on 127.0.0.1:6443 and writes that into the kubeconfig', { skip: taken ? '127.0.0.1:6443 is already in use on this machine' : false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-default-listen-'));
  // The user's command: only a data dir (here a temporary one) and no agent.
  const proc = spawn(svcnetBin, ['server', '--no-agent', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SVCNET_LOG_LEVEL: 'warn' } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(proc, 'exit');
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('the ready line', () => {
    assert.equal(proc.exitCode, null, `the server exited:\n${stderr}`);
    return stdout.includes('\n');
  }, 20_000);
  assert.equal(stdout, `svcnet API server ready at https://127.0.0.1:6443 (store sqlite:${dir}); use it with: export KUBECONFIG=${join(dir, 'kubeconfig')}\n`);
  const kubeconfig = readFileSync(join(dir, 'kubeconfig'), 'utf8');
  assert.match(kubeconfig, /^ {4}server: https:\/\/127\.0\.0\.1:6443$/m);
  const r = await kubectl({ kubeconfig: join(dir, 'kubeconfig'), dataDir: dir }, ['get', 'namespace', 'kube-system', '-o', 'name']);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'namespace/kube-system\n');
  // Only 127.0.0.1: another loopback address of this machine has nothing on 6443.
  const refused = await new Promise<string>((resolve) => {
    const sock = connect({ host: '127.0.0.2', port: 6443 }, () => {
      sock.destroy();
      resolve('connected');
    });
    sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  assert.equal(refused, 'ECONNREFUSED');
  proc.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0);
});
