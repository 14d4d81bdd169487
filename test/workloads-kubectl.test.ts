// What a user types, end to end: the real `bin/svcnet server` (its controllers, no node agent)
// and the real kubectl, with a fake kubelet over HTTPS playing the node (it marks pods Running
// and Ready and completes graceful deletions). Deployments are created, rolled out, scaled,
// updated, rolled back and restarted; deleted with each cascade policy; and a namespace with
// contents is deleted, each with the output a real cluster gives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Deployments, Pods, ReplicaSets } from '../src/api/index.ts';
import { HttpClient } from '../src/client/index.ts';
import { FakeKubelet } from './lib/fake-kubelet.ts';
import { kubectl as runKubectl, startSvcnet, type RunResult, type Svcnet } from './lib/svcnet.ts';
import { waitFor } from './lib/workloads.ts';

let s: Svcnet;
let client: HttpClient;
let kubelet: FakeKubelet;
const image = 'registry.k8s.io/e2e-test-images/agnhost:2.53';

before(async () => {
  s = await startSvcnet({ args: ['--no-agent', '--store', 'memory:'] });
  client = HttpClient.fromKubeconfig(s.kubeconfig, { userAgent: 'svcnet-fake-kubelet/v0' });
  kubelet = new FakeKubelet(client, { heartbeatMs: 2000 });
  await kubelet.start();
  await kubelet.addNode('worker1');
});

after(async () => {
  await kubelet?.stop();
  client?.close();
  await s?.stop();
  s?.cleanup();
});

async function kubectl(...args: string[]): Promise<RunResult> {
  return runKubectl(s, args, { timeoutMs: 90_000 });
}

async function ok(...args: string[]): Promise<string> {
  let r = await kubectl(...args);
  // svcnet's API server may answer a patch with 409 when a controller wrote the object at the
  // same moment (kube retries such patches itself; reported): try such a command again.
  for (let i = 0; i < 5 && r.code !== 0 && r.stderr.startsWith('Error from server (Conflict)'); i++) r = await kubectl(...args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function pods(ns: string): Promise<Pod[]> {
  return (await client.list<Pod>(Pods, ns)).items.filter((p) => !p.metadata?.deletionTimestamp);
}

async function rolloutStatus(ns: string, name: string): Promise<void> {
  const out = await ok('rollout', 'status', `deployment/${name}`, '-n', ns, '--timeout=60s');
  assert.match(out, new RegExp(`deployment "${name}" successfully rolled out\\n$`));
}

function images(rs: ReplicaSet): string | undefined {
  return rs.spec?.template?.spec?.containers[0]?.image;
}

test('kubectl create deployment, rollout status, scale up and down, get', async () => {
  await ok('create', 'namespace', 'e2e-scale');
  assert.equal(await ok('create', 'deployment', 'web', `--image=${image}`, '--replicas=2', '-n', 'e2e-scale'), 'deployment.apps/web created\n');
  await rolloutStatus('e2e-scale', 'web');
  const get = await ok('get', 'deployment', 'web', '-n', 'e2e-scale');
  assert.match(get, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+2\/2\s+2\s+2\s+\S+\n$/);
  assert.equal(await ok('scale', 'deployment', 'web', '--replicas=5', '-n', 'e2e-scale'), 'deployment.apps/web scaled\n');
  await rolloutStatus('e2e-scale', 'web');
  assert.equal((await pods('e2e-scale')).length, 5);
  assert.equal(await ok('scale', 'deployment', 'web', '--replicas=1', '-n', 'e2e-scale'), 'deployment.apps/web scaled\n');
  await rolloutStatus('e2e-scale', 'web');
  await waitFor('one pod left', async () => (await pods('e2e-scale')).length === 1);
  const rs = await ok('get', 'rs', '-n', 'e2e-scale');
  assert.match(rs, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nweb-[a-z0-9]+\s+1\s+1\s+1\s+\S+\n$/);
});

test('kubectl set image, rollout history, rollout undo, rollout restart, set env', async () => {
  const ns = 'e2e-rollout';
  await ok('create', 'namespace', ns);
  await ok('create', 'deployment', 'web', `--image=${image}`, '--replicas=2', '-n', ns);
  await rolloutStatus(ns, 'web');
  assert.equal(await ok('set', 'image', 'deployment/web', 'agnhost=registry.k8s.io/e2e-test-images/agnhost:2.52', '-n', ns), 'deployment.apps/web image updated\n');
  await rolloutStatus(ns, 'web');
  assert.equal(await ok('rollout', 'history', 'deployment/web', '-n', ns), 'deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n');
  const rev1 = await ok('rollout', 'history', 'deployment/web', '-n', ns, '--revision=1');
  assert.match(rev1, /deployment\.apps\/web with revision #1\nPod Template:\n/);
  assert.match(rev1, /Image:\s+registry\.k8s\.io\/e2e-test-images\/agnhost:2\.53\n/);
  assert.equal(await ok('rollout', 'undo', 'deployment/web', '-n', ns), 'deployment.apps/web rolled back\n');
  await rolloutStatus(ns, 'web');
  assert.equal(await ok('rollout', 'history', 'deployment/web', '-n', ns), 'deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n');
  const d = await client.get<Deployment>(Deployments, ns, 'web');
  assert.equal(d.spec?.template?.spec?.containers[0]?.image, image, 'the first template is back');
  assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
  const rss = (await client.list<ReplicaSet>(ReplicaSets, ns)).items;
  assert.equal(rss.length, 2, 'the undo reused the first ReplicaSet');
  assert.equal(rss.find((r) => images(r) === image)?.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  assert.equal(await ok('rollout', 'restart', 'deployment/web', '-n', ns), 'deployment.apps/web restarted\n');
  await rolloutStatus(ns, 'web');
  const restarted = await client.get<Deployment>(Deployments, ns, 'web');
  assert.ok(restarted.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']);
  assert.equal(restarted.metadata?.annotations?.['deployment.kubernetes.io/revision'], '4');
  const running = await pods(ns);
  assert.ok(running.every((p) => p.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']), 'every pod is a restarted one');
  assert.equal(await ok('set', 'env', 'deployment/web', 'GREETING=hello', '-n', ns), 'deployment.apps/web env updated\n');
  await rolloutStatus(ns, 'web');
  const withEnv = await pods(ns);
  assert.ok(withEnv.length === 2 && withEnv.every((p) => p.spec?.containers[0]?.env?.some((e) => e.name === 'GREETING' && e.value === 'hello')));
  const all = await ok('get', 'all', '-n', ns);
  assert.match(all, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\npod\/web-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+\S+\n/);
  assert.match(all, /\nNAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ndeployment\.apps\/web\s+2\/2\s+2\s+2\s+\S+\n/);
  assert.match(all, /\nNAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\n(replicaset\.apps\/web-[a-z0-9]+\s+\d\s+\d\s+\d\s+\S+\n){4}$/);
});

test('kubectl delete deployment with each cascade policy', async () => {
  const ns = 'e2e-cascade';
  await ok('create', 'namespace', ns);
  for (const name of ['bg', 'fg', 'or']) await ok('create', 'deployment', name, `--image=${image}`, '--replicas=2', '-n', ns);
  for (const name of ['bg', 'fg', 'or']) await rolloutStatus(ns, name);
  const family = async (name: string) => ({
    rs: (await client.list<ReplicaSet>(ReplicaSets, ns)).items.filter((r) => r.metadata?.name?.startsWith(`${name}-`)),
    pods: (await client.list<Pod>(Pods, ns)).items.filter((p) => p.metadata?.name?.startsWith(`${name}-`)),
  });
  assert.equal(await ok('delete', 'deployment', 'bg', '--cascade=background', '-n', ns), 'deployment.apps "bg" deleted\n');
  await waitFor('bg ReplicaSet and pods collected', async () => {
    const f = await family('bg');
    return f.rs.length === 0 && f.pods.length === 0;
  });
  // Foreground: kubectl waits for the Deployment, which goes only after its dependents.
  assert.equal(await ok('delete', 'deployment', 'fg', '--cascade=foreground', '-n', ns), 'deployment.apps "fg" deleted\n');
  const fg = await family('fg');
  assert.deepEqual([fg.rs.length, fg.pods.length], [0, 0], 'dependents were gone before the Deployment');
  assert.equal(await ok('delete', 'deployment', 'or', '--cascade=orphan', '-n', ns), 'deployment.apps "or" deleted\n');
  await new Promise((r) => setTimeout(r, 500));
  const orphans = await family('or');
  assert.equal(orphans.rs.length, 1);
  assert.equal(orphans.rs[0].metadata?.ownerReferences, undefined);
  assert.equal(orphans.pods.length, 2);
  assert.match(await ok('get', 'rs', '-n', ns), /\nor-[a-z0-9]+\s+2\s+2\s+2\s+\S+\n$/);
});

test('kubectl delete namespace with contents waits until it is gone', async () => {
  const ns = 'e2e-gone';
  await ok('create', 'namespace', ns);
  await ok('create', 'deployment', 'web', `--image=${image}`, '--replicas=3', '-n', ns);
  await ok('create', 'configmap', 'settings', '--from-literal=a=b', '-n', ns);
  await ok('create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', ns);
  await rolloutStatus(ns, 'web');
  await waitFor('default ServiceAccount', async () => (await kubectl('get', 'serviceaccount', 'default', '-n', ns)).code === 0);
  assert.equal(await ok('delete', 'namespace', ns), `namespace "${ns}" deleted\n`);
  const get = await kubectl('get', 'namespace', ns);
  assert.equal(get.code, 1);
  assert.equal(get.stderr, `Error from server (NotFound): namespaces "${ns}" not found\n`);
  assert.equal((await client.list<Pod>(Pods, ns)).items.length, 0);
});
