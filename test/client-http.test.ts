// The HTTP client and the informer against svcnet's own API server (HTTPS on 127.0.0.1, its
// kubeconfig), side by side with the real kubectl: what one writes the other reads, and errors
// read as kubectl prints them.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Service } from 'kubernetes-types/core/v1.js';
import { Namespaces, Services, isAlreadyExists, isConflict, isNotFound, type ApiError, type KubeObject } from '../src/api/index.ts';
import { HttpClient, SharedInformer, loadKubeconfig, type ListOptions, type ObjectList, type WatchEvent, type WatchHandle, type WatchOptions } from '../src/client/index.ts';

// Quiet the server's logs; set before its modules make their loggers.
process.env.SVCNET_LOG_LEVEL ??= 'warn';
const { startServer } = await import('../src/apiserver/index.ts');
const { MemoryStore } = await import('../src/store/index.ts');

const run = promisify(execFile);
const silent = pino({ level: 'silent' });

let dir: string;
let server: Awaited<ReturnType<typeof startServer>>;
let client: HttpClient;
let nsCount = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'svcnet-client-http-'));
  server = await startServer({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', store: new MemoryStore(), serviceCIDRs: ['10.96.0.0/12'] });
  client = HttpClient.fromKubeconfig(server.kubeconfigPath, { userAgent: 'svcnet-client-test/v0' });
});

after(async () => {
  client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function namespace(): Promise<string> {
  const name = `client-e2e-${++nsCount}`;
  await client.create(Namespaces, undefined, { metadata: { name } });
  return name;
}

function service(name: string, port = 80): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port }] } };
}

let kubectlChecked: boolean | undefined;

/** Runs kubectl against the server; skips the test where kubectl is missing. */
async function kubectl(t: TestContext, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if (kubectlChecked === undefined) {
    kubectlChecked = await run('kubectl', ['version', '--client']).then(
      () => true,
      () => false,
    );
  }
  if (!kubectlChecked) {
    t.skip('needs kubectl on PATH');
    return { code: -1, stdout: '', stderr: '' };
  }
  const env = { ...process.env, KUBECONFIG: server.kubeconfigPath };
  try {
    const r = await run('kubectl', ['--cache-dir', join(dir, 'kube-cache'), ...args], { env, encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('the HTTP client creates, reads, lists in pages, patches, updates and deletes', async () => {
  const ns = await namespace();
  const created = await client.create(Services, ns, service('web'));
  assert.equal(created.metadata?.namespace, ns);
  assert.ok(created.metadata?.uid);
  assert.ok(created.metadata?.resourceVersion);
  for (let i = 0; i < 4; i++) await client.create(Services, ns, service(`s${i}`));

  const names: string[] = [];
  let cont: string | undefined;
  let pages = 0;
  do {
    const opts: ListOptions = { limit: 2 };
    if (cont) opts.continue = cont;
    const page = await client.list<Service>(Services, ns, opts);
    names.push(...page.items.map((s) => s.metadata?.name ?? ''));
    cont = page.metadata.continue;
    pages++;
  } while (cont);
  assert.equal(pages, 3);
  assert.deepEqual(names.sort(), ['s0', 's1', 's2', 's3', 'web']);

  const merged = await client.patch<Service>(Services, ns, 'web', 'merge', { metadata: { labels: { app: 'web' } } });
  assert.equal(merged.metadata?.labels?.app, 'web');
  const applied = await client.patch<Service>(Services, ns, 'web', 'apply', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', labels: { tier: 'fe' } } }, { fieldManager: 'svcnet-client-test', force: true });
  assert.equal(applied.metadata?.labels?.tier, 'fe');
  const got = await client.get<Service>(Services, ns, 'web');
  const updated = await client.update<Service>(Services, { ...got, spec: { ...got.spec, ports: [{ port: 8080 }] } });
  assert.equal(updated.spec?.ports?.[0]?.port, 8080);
  assert.notEqual(updated.metadata?.resourceVersion, got.metadata?.resourceVersion);

  const dry = await client.create(Services, ns, service('dry'), { dryRun: true });
  assert.equal(dry.metadata?.name, 'dry');
  await assert.rejects(client.get(Services, ns, 'dry'), isNotFound, 'a dry run stores nothing');

  await client.delete(Services, ns, 'web', { propagationPolicy: 'Background' });
  await assert.rejects(client.get(Services, ns, 'web'), isNotFound);
});

test('errors arrive as the Status kubectl prints', async (t) => {
  const ns = await namespace();
  const nf = (await client.get(Services, ns, 'nope').catch((e: unknown) => e)) as ApiError;
  assert.ok(isNotFound(nf));
  assert.equal(nf.message, 'services "nope" not found');
  assert.deepEqual(nf.status.details, { name: 'nope', kind: 'services' });

  await client.create(Services, ns, service('dup'));
  await assert.rejects(client.create(Services, ns, service('dup')), (e: unknown) => isAlreadyExists(e) && (e as ApiError).message === 'services "dup" already exists');
  const stale = await client.get<Service>(Services, ns, 'dup');
  await client.patch(Services, ns, 'dup', 'merge', { metadata: { labels: { v: '2' } } });
  await assert.rejects(client.update(Services, stale), (e: unknown) => isConflict(e) && /^Operation cannot be fulfilled on services "dup": the object has been modified/.test((e as ApiError).message));

  const k = await kubectl(t, 'get', 'svc', 'nope', '-n', ns);
  if (k.code === -1) return;
  assert.equal(k.code, 1);
  assert.equal(k.stderr.trim(), `Error from server (${nf.reason}): ${nf.message}`);
});

test('a watch from a list resourceVersion sees later changes in order and ends cleanly at timeoutSeconds', async () => {
  const ns = await namespace();
  await client.create(Services, ns, service('a'));
  const list = await client.list<Service>(Services, ns);
  const events: WatchEvent<Service>[] = [];
  const h = client.watch<Service>(Services, ns, { resourceVersion: list.metadata.resourceVersion!, timeoutSeconds: 2 }, (e) => events.push(e));
  await client.patch(Services, ns, 'a', 'merge', { metadata: { labels: { x: 'y' } } });
  await client.create(Services, ns, service('b'));
  await client.delete(Services, ns, 'a');
  await until('three events', () => events.length >= 3);
  assert.deepEqual(
    events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`),
    ['MODIFIED a', 'ADDED b', 'DELETED a'],
  );
  const t0 = Date.now();
  await h.done;
  assert.ok(Date.now() - t0 < 3000);
});

test('an informer over HTTPS follows what kubectl creates, labels and deletes', async (t) => {
  const ns = await namespace();
  await client.create(Services, ns, service('mine'));
  const inf = new SharedInformer<Service>(client, Services, { namespace: ns, pageSize: 1, log: silent });
  t.after(() => inf.stopped());
  const seen: string[] = [];
  inf.addEventHandler({
    onAdd: (s) => seen.push(`add ${s.metadata?.name ?? ''}`),
    onUpdate: (_o, s) => seen.push(`update ${s.metadata?.name ?? ''} ${JSON.stringify(s.metadata?.labels ?? {})}`),
    onDelete: (s) => seen.push(`delete ${s.metadata?.name ?? ''}`),
  });
  inf.start();
  await inf.waitForSync();
  assert.deepEqual(seen, ['add mine']);

  const created = await kubectl(t, 'create', 'service', 'clusterip', 'theirs', '--tcp=5000:5000', '-n', ns);
  if (created.code === -1) return;
  assert.equal(created.stdout.trim(), 'service/theirs created', created.stderr);
  await until('the add', () => seen.includes('add theirs'));
  assert.equal(inf.get(`${ns}/theirs`)?.spec?.ports?.[0]?.port, 5000);

  const labelled = await kubectl(t, 'label', 'svc', 'theirs', 'team=blue', '-n', ns);
  assert.equal(labelled.code, 0, labelled.stderr);
  await until('the update', () => seen.some((s) => s.startsWith('update theirs') && s.includes('"team":"blue"')));

  const got = await kubectl(t, 'get', 'svc', 'mine', '-n', ns, '-o', 'json');
  assert.equal((JSON.parse(got.stdout) as KubeObject).metadata?.uid, inf.get(`${ns}/mine`)?.metadata?.uid, 'kubectl reads what the client wrote');

  const deleted = await kubectl(t, 'delete', 'svc', 'theirs', '-n', ns);
  assert.equal(deleted.code, 0, deleted.stderr);
  await until('the delete', () => seen.includes('delete theirs'));
  assert.equal(inf.get(`${ns}/theirs`), undefined);
});

test('an informer resumes its watch from the last resourceVersion when the server ends it, without a relist', async (t) => {
  const ns = await namespace();
  let lists = 0;
  const watches: string[] = [];
  class Counting extends HttpClient {
    override list<T extends KubeObject>(...args: Parameters<HttpClient['list']>): Promise<ObjectList<T>> {
      lists++;
      return super.list<T>(...args);
    }
    override watch<T extends KubeObject>(r: Parameters<HttpClient['watch']>[0], n: string | undefined, o: WatchOptions, cb: (e: WatchEvent<T>) => void): WatchHandle {
      watches.push(o.resourceVersion ?? '');
      return super.watch(r, n, o, cb);
    }
  }
  const counting = new Counting(loadKubeconfig(server.kubeconfigPath));
  t.after(() => counting.close());

  const inf = new SharedInformer<Service>(counting, Services, { namespace: ns, minWatchTimeoutSeconds: 1, log: silent });
  t.after(() => inf.stopped());
  inf.start();
  await inf.waitForSync();
  await client.create(Services, ns, service('a'));
  await until('the add', () => inf.get(`${ns}/a`) !== undefined);
  const rvAfterA = inf.lastResourceVersion();
  await until('a second watch', () => watches.length >= 2, 5000);
  assert.equal(lists, 1, 'no relist');
  // From what it saw last: the add, or a later bookmark.
  assert.ok(Number(watches[1]) >= Number(rvAfterA), `resumed from ${watches[1]}, saw ${rvAfterA}`);
  await client.create(Services, ns, service('b'));
  await until('the add after resuming', () => inf.get(`${ns}/b`) !== undefined);
});
