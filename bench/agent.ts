// `npm run bench:agent`: real pods in a 3-node lab (svcnet lab: the API server in master-node,
// agents in worker1 and worker2, every pod a network namespace with a process in it).
//
// A Deployment of 100 replicas of the built-in agnhost (`netexec`, an HTTP server; no probes,
// so a pod is Ready once its container runs) is applied with the real kubectl from the host.
// Measured: from just before `kubectl apply` until a watcher (over HTTPS through the lab's
// relay, as kubectl would watch) has seen all 100 pods Ready; and each pod's start latency,
// from the watcher first seeing the pod until it sees it Ready (Kubernetes' e2e "pod startup
// latency" is taken the same way, from watch observations). Then the Deployment is deleted and
// the time until every pod is gone is measured too. Several rounds (SVCNET_BENCH_AGENT_ROUNDS,
// default 3) in one lab, a Deployment of its own each; the figures are the rounds' medians.
//
// Anchor: kwok claims 20 pods/s for fake pods (no process, no network); target: >= 50 real
// pods/s.
import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { median, quantile, type Row, type Section } from './lib/results.ts';

process.env.SVCNET_LOG_LEVEL ??= 'warn';
const { labUp, labDown, labUnavailable } = await import('../src/lab/index.ts');
const { HttpClient } = await import('../src/client/index.ts');
const { Pods } = await import('../src/api/index.ts');

const replicas = Number(process.env.SVCNET_BENCH_REPLICAS ?? '100');
const rounds = Number(process.env.SVCNET_BENCH_AGENT_ROUNDS ?? '3');
const labName = 'benchagent';

function log(msg: string): void {
  console.error(`bench agent: ${msg}`);
}

function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
    c.stdin?.end(input ?? '');
  });
}

function ready(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function deployment(name: string, n: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'bench' },
    spec: {
      replicas: n,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'netexec', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52', args: ['netexec', '--http-port=8080'], ports: [{ containerPort: 8080 }] }],
        },
      },
    },
  });
}

interface RoundResult {
  total: number;
  latencies: number[];
  deleteSecs: number;
  load: number;
  phases: string;
  perNode: Map<string, number>;
}

/** One round: apply a Deployment of `replicas`, wait until every pod is Ready, delete it, wait until every pod is gone. */
async function round(kc: string, name: string): Promise<RoundResult> {
  const client = HttpClient.fromKubeconfig(kc, { timeoutMs: 30_000 });
  const firstSeen = new Map<string, number>();
  const readyAt = new Map<string, number>();
  const nodeOf = new Map<string, string>();
  const boundAt = new Map<string, number>();
  let allReady: () => void = () => {};
  const done = new Promise<void>((r) => (allReady = r));
  let t0 = 0;
  const watch = client.watch<Pod>(Pods, 'bench', { allowWatchBookmarks: true }, (e) => {
    const now = performance.now();
    const uid = e.object.metadata?.uid;
    // Only this round's pods (the namespace's watch would also show an earlier round's).
    if (!uid || e.type === 'BOOKMARK' || e.type === 'ERROR' || e.object.metadata?.labels?.app !== name) return;
    if (!firstSeen.has(uid)) firstSeen.set(uid, now);
    if (e.object.spec?.nodeName) {
      nodeOf.set(uid, e.object.spec.nodeName);
      if (!boundAt.has(uid)) boundAt.set(uid, now);
    }
    if (ready(e.object) && !readyAt.has(uid)) {
      readyAt.set(uid, now);
      if (readyAt.size === replicas) allReady();
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  log(`${name}: applying a Deployment of ${replicas} replicas`);
  const load = loadavg()[0] ?? 0;
  t0 = performance.now();
  await kubectl(kc, ['apply', '-f', '-'], deployment(name, replicas));
  const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`not all pods Ready after 300 s (${readyAt.size}/${replicas})`)), 300_000).unref());
  await Promise.race([done, timeout]);
  const total = (performance.now() - t0) / 1000;
  const latencies = [...readyAt].map(([uid, t]) => t - (firstSeen.get(uid) ?? t));
  const perNode = new Map<string, number>();
  for (const n of nodeOf.values()) perNode.set(n, (perNode.get(n) ?? 0) + 1);
  log(`${name}: all ${replicas} Ready in ${total.toFixed(2)} s`);
  const last = (m: Map<string, number>) => (Math.max(...m.values()) - t0) / 1000;
  const first = (m: Map<string, number>) => (Math.min(...m.values()) - t0) / 1000;
  const phases = `pods first seen ${first(firstSeen).toFixed(2)}–${last(firstSeen).toFixed(2)} s, bound ${first(boundAt).toFixed(2)}–${last(boundAt).toFixed(2)} s, Ready ${first(readyAt).toFixed(2)}–${last(readyAt).toFixed(2)} s after the apply`;
  log(phases);

  // Deletion: every pod gone (graceful termination, namespaces removed).
  const t1 = performance.now();
  await kubectl(kc, ['delete', 'deployment', name, '-n', 'bench', '--wait=false']);
  for (;;) {
    const left = await client.list<Pod>(Pods, 'bench', { labelSelector: `app=${name}` });
    if (left.items.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const deleteSecs = (performance.now() - t1) / 1000;
  watch.stop();
  client.close();

  return { total, latencies, deleteSecs, load, phases, perNode };
}

export async function run(): Promise<Section> {
  const why = await labUnavailable();
  if (why) throw new Error(`bench agent: ${why}`);
  await labDown({ name: labName }).catch(() => undefined);
  log('bringing the lab up');
  const info = await labUp({ name: labName, nodes: 3, log });
  try {
    const kc = info.kubeconfig;
    await kubectl(kc, ['create', 'namespace', 'bench']);
    const results: RoundResult[] = [];
    for (let r = 1; r <= rounds; r++) results.push(await round(kc, `bench-${r}`));
    const all = (f: (x: RoundResult) => number, digits: number): string => results.map((x) => f(x).toFixed(digits)).join(', ');
    const rate = median(results.map((x) => replicas / x.total));
    const perNode = results[0].perNode;
    const phases = results.map((x, i) => `round ${i + 1}: ${x.phases}`).join('; ');
    const loads = results.map((x) => x.load.toFixed(1)).join(', ');
    const p = (x: RoundResult, q: number): number => quantile(x.latencies, q) / 1000;
    const rows: Row[] = [
      { metric: `kubectl apply of a ${replicas}-replica Deployment → all pods Ready (median of ${rounds} rounds: ${all((x) => x.total, 2)} s)`, svcnet: `${median(results.map((x) => x.total)).toFixed(2)} s` },
      { metric: `pods started per second (median of ${rounds} rounds: ${all((x) => replicas / x.total, 1)})`, svcnet: `${rate.toFixed(1)} pods/s`, peer: 'kwok: 20 pods/s (fake pods)', ratio: `${(rate / 20).toFixed(1)}×`, target: `≥ 50 pods/s: ${rate >= 50 ? 'target met' : 'target missed'}` },
      { metric: `pod start latency p50 (watch: first seen → Ready; median of the rounds' p50: ${all((x) => p(x, 0.5), 2)} s)`, svcnet: `${median(results.map((x) => p(x, 0.5))).toFixed(2)} s` },
      { metric: `pod start latency p99 (median of the rounds' p99: ${all((x) => p(x, 0.99), 2)} s)`, svcnet: `${median(results.map((x) => p(x, 0.99))).toFixed(2)} s` },
      { metric: `delete of the Deployment → all ${replicas} pods gone (median of ${rounds} rounds)`, svcnet: `${median(results.map((x) => x.deleteSecs)).toFixed(2)} s` },
    ];
    return {
      area: 'agent',
      title: 'Node agent: real pods in a 3-node lab',
      method:
        `\`svcnet lab up\` (3 nodes: API server + in-process agent in master-node, agents in worker1 and worker2, netns runtime: a network namespace, veth and address per pod). ` +
        `A Deployment of ${replicas} replicas of the built-in agnhost netexec (no probes) applied with kubectl from the host; a watcher over HTTPS through the lab's relay timestamps each pod's first sighting and its Ready condition; then it is deleted. ${rounds} rounds in one lab, a Deployment of its own each; the figures are the rounds' medians. ` +
        `Pods per node in round 1: ${[...perNode].sort().map(([n, c]) => `${n} ${c}`).join(', ')}.`,
      rows,
      notes: [
        `Phases: ${phases}.`,
        `The machine's 1-minute load average was ${loads} when the rounds' Deployments were applied (other work shares its ${cpus().length} cores), so the figures are of a contended machine.`,
        'Pod start latency is watch-observed (first event of the pod → first event with Ready=True), so it includes scheduling, the agent\'s sandbox (ip netns add, veth, address, routes) and the pod shim start, and the status write.',
        'kwok\'s figure is its published claim for fake pods (no processes); it was not run here.',
      ],
    };
  } finally {
    await labDown({ name: labName });
  }
}
