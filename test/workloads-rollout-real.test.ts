// Rollouts and scaling against pods that really run: the real `bin/svcnet server` with its
// host-mode agent and the real kubectl, the seed's Deployment (examples/05-mlflow-deployment.yaml)
// with its image mapped to agnhost netexec on :5000 by the image table (as the other agent tests
// map it). `kubectl scale` gives running processes with distinct POD_IPs; `kubectl set env`,
// `rollout undo` and `rollout restart` replace them, `rollout status` returns, and the Service's
// endpoints follow. (test/workloads-kubectl.test.ts covers the same commands' output with a
// fake kubelet.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSvcnet, kubectl, examplesDir, type Svcnet } from './lib/svcnet.ts';
import { waitFor } from './lib/agent.ts';

const node = 'rollout-node';
const ns = 'mlflow';
let s: Svcnet;
let work: string;

async function ok(...args: string[]): Promise<string> {
  let r = await kubectl(s, args, { timeoutMs: 90_000 });
  // svcnet's API server may answer a patch with 409 when a controller wrote the object at that
  // moment (kube retries such patches itself; see workloads-kubectl.test.ts): try it again.
  for (let i = 0; i < 5 && r.code !== 0 && r.stderr.startsWith('Error from server (Conflict)'); i++) r = await kubectl(s, args, { timeoutMs: 90_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

interface PodRow {
  name: string;
  ip: string;
  hash: string;
  phase: string;
  ready: boolean;
  terminating: boolean;
}

async function pods(): Promise<PodRow[]> {
  const out = await ok('get', 'pods', '-n', ns, '-l', 'app=mlflow', '-o', 'jsonpath={range .items[*]}{.metadata.name}|{.status.podIP}|{.metadata.labels.pod-template-hash}|{.status.phase}|{.status.conditions[?(@.type=="Ready")].status}|{.metadata.deletionTimestamp}{"\\n"}{end}');
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, ip, hash, phase, ready, del] = l.split('|') as [string, string, string, string, string, string];
      return { name, ip, hash, phase, ready: ready === 'True', terminating: del !== '' };
    });
}

async function endpointIPs(): Promise<string[]> {
  const out = await ok('get', 'endpoints', 'mlflow-service', '-n', ns, '-o', 'jsonpath={range .subsets[*]}{range .addresses[*]}{.ip}:{end}{range .ports[*]}{.port}{end}{" "}{end}');
  // "<ip>:<ip>:5000 " per subset: every address of a subset shares its ports.
  return out
    .trim()
    .split(' ')
    .filter(Boolean)
    .flatMap((sub) => {
      const parts = sub.split(':');
      const port = parts.pop();
      return parts.filter(Boolean).map((ip) => `${ip}:${port}`);
    })
    .sort();
}

/** Waits until exactly `n` pods exist, all Running and Ready (none terminating), and the endpoints are theirs. */
async function settled(n: number, what: string): Promise<PodRow[]> {
  return waitFor(`${what}: ${n} running pods alone, in the endpoints`, async () => {
    const p = await pods();
    if (p.length !== n || !p.every((x) => x.phase === 'Running' && x.ready && !x.terminating && x.ip)) return undefined;
    const eps = await endpointIPs();
    return JSON.stringify(eps) === JSON.stringify(p.map((x) => `${x.ip}:5000`).sort()) ? p : undefined;
  }, 60_000, 200);
}

async function rolledOut(): Promise<void> {
  const out = await ok('rollout', 'status', 'deployment/mlflow', '-n', ns, '--timeout=60s');
  assert.match(out, /deployment "mlflow" successfully rolled out\n$/);
}

async function hostname(ip: string): Promise<string> {
  const r = await fetch(`http://${ip}:5000/hostname`, { signal: AbortSignal.timeout(3000) });
  return r.text();
}

/** What `printenv NAME` says in the pod, or undefined when it is unset. */
async function envIn(pod: string, name: string): Promise<string | undefined> {
  const r = await kubectl(s, ['exec', '-n', ns, pod, '--', 'printenv', name]);
  if (r.code === 1 && r.stdout === '') return undefined;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

let original: PodRow[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'svcnet-rollout-real-'));
  writeFileSync(join(work, 'images.yaml'), 'mlflow/mlflow: agnhost netexec --http-port 5000\n');
  s = await startSvcnet({ args: ['--image-table', join(work, 'images.yaml'), '--node-name', node], env: { SVCNET_LOG_LEVEL: 'warn' } });
  await waitFor('the node Ready', async () => (await kubectl(s, ['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True');
  await ok('apply', '-f', join(examplesDir, '00-namespaces.yaml'));
});

after(async () => {
  if (s) {
    await s.stop();
    s.cleanup();
  }
  rmSync(work, { recursive: true, force: true });
});

test('the seed\'s Deployment rolls out two running pods behind its Service', async () => {
  await ok('apply', '-f', join(examplesDir, '05-mlflow-deployment.yaml'));
  await rolledOut();
  original = await settled(2, 'applied');
  for (const p of original) assert.equal(await hostname(p.ip), p.name);
});

test('kubectl scale --replicas=3: three running pods with distinct POD_IPs, each serving :5000', async () => {
  await ok('scale', 'deployment/mlflow', '-n', ns, '--replicas=3');
  await rolledOut();
  const three = await settled(3, 'scaled to 3');
  assert.deepEqual(new Set(three.map((p) => p.hash)).size, 1, 'scaling makes no new ReplicaSet');
  assert.ok(original.every((o) => three.some((p) => p.name === o.name)), 'the two first pods kept running');
  const podIPs = await Promise.all(three.map((p) => envIn(p.name, 'POD_IP')));
  assert.deepEqual(podIPs, three.map((p) => p.ip), 'each process is given its pod\'s IP as POD_IP');
  assert.equal(new Set(podIPs).size, 3, `distinct POD_IPs: ${podIPs.join(' ')}`);
  for (const p of three) assert.equal(await hostname(p.ip), p.name);
  assert.match(await ok('get', 'deployment', 'mlflow', '-n', ns), /mlflow\s+3\/3\s+3\s+3\s/);
});

test('kubectl set env rolls out new pods that run with it; rollout undo brings the old template back', async () => {
  const before = await pods();
  await ok('set', 'env', 'deployment/mlflow', '-n', ns, 'GREETING=hello');
  await rolledOut();
  const updated = await settled(3, 'after set env');
  assert.equal(new Set(updated.map((p) => p.hash)).size, 1);
  assert.notEqual(updated[0].hash, before[0].hash, 'a new ReplicaSet');
  assert.ok(updated.every((p) => !before.some((b) => b.name === p.name)), 'every pod was replaced');
  for (const p of updated) {
    assert.equal(await envIn(p.name, 'GREETING'), 'hello');
    assert.equal(await hostname(p.ip), p.name);
  }
  const history = await ok('rollout', 'history', 'deployment/mlflow', '-n', ns);
  assert.match(history, /^REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/m);

  await ok('rollout', 'undo', 'deployment/mlflow', '-n', ns);
  await rolledOut();
  const undone = await settled(3, 'after undo');
  assert.ok(undone.every((p) => p.hash === before[0].hash), 'the first ReplicaSet is back in use');
  assert.ok(undone.every((p) => !updated.some((u) => u.name === p.name)));
  for (const p of undone) {
    assert.equal(await envIn(p.name, 'GREETING'), undefined);
    assert.equal(await hostname(p.ip), p.name);
  }
  assert.match(await ok('rollout', 'history', 'deployment/mlflow', '-n', ns), /^2\s+<none>\n3\s+<none>\n$/m);
});

test('kubectl rollout restart replaces every pod with a running one', async () => {
  const before = await pods();
  await ok('rollout', 'restart', 'deployment/mlflow', '-n', ns);
  await rolledOut();
  const restarted = await settled(3, 'after restart');
  assert.ok(restarted.every((p) => !before.some((b) => b.name === p.name)), 'every pod was replaced');
  assert.notEqual(restarted[0].hash, before[0].hash);
  for (const p of restarted) assert.equal(await hostname(p.ip), p.name);
  assert.match(await ok('get', 'deployment', 'mlflow', '-n', ns, '-o', 'jsonpath={.spec.template.metadata.annotations}'), /kubectl\.kubernetes\.io\/restartedAt/);
  const statuses = await ok('get', 'pods', '-n', ns, '-l', 'app=mlflow', '-o', 'jsonpath={.items[*].status.containerStatuses[0].restartCount}');
  assert.deepEqual(statuses.split(' '), ['0', '0', '0'], 'new pods, not restarted containers');
});
