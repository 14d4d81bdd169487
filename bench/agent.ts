// `npm run bench:agent`: real pods in a 3-node lab (svcnet lab: the API server in master-node,
// agents in worker1 and worker2, every pod a network namespace with a process in it).
//
// A Deployment of 100 replicas of the built-in agnhost (`netexec`, an HTTP server; no probes,
// so a pod is Ready once its container runs) is applied with the real kubectl from the host.
// Measured: from just before `kubectl apply` until a watcher (over HTTPS through the lab's
// relay, as kubectl would watch) has seen all 100 pods Ready; and each pod's start latency,
// from the watcher first seeing the pod until it sees it Ready (Kubernetes' e2e "pod startup
// latency" is taken the same way, from watch observations). Then the Deployment is deleted and
// the time until every pod is gone is measured too. Run once, as the issue asks.
//
// Anchor: kwok claims 20 pods/s for fake pods (no process, no network); target: >= 50 real
// pods/s.
import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { quantile, type Row, type Section } from './lib/results.ts';

process.env.SVCNET_LOG_LEVEL ??= 'warn';
const { labUp, labDown, labUnavailable } = await import('../src/lab/index.ts');
const { HttpClient } = await import('../src/client/index.ts');
const { Pods } = await import('../src/api/index.ts');

const replicas = Number(process.env.SVCNET_BENCH_REPLICAS ?? '100');
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

function deployment(n: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bench', namespace: 'bench' },
    spec: {
      replicas: n,
      selector: { matchLabels: { app: 'bench' } },
      template: {
        metadata: { labels: { app: 'bench' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'netexec', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52', args: ['netexec', '--http-port=8080'], ports: [{ containerPort: 8080 }] }],
        },
      },
    },
  });
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
      if (!uid || e.type === 'BOOKMARK' || e.type === 'ERROR') return;
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
    log(`applying a Deployment of ${replicas} replicas`);
    const load = loadavg()[0] ?? 0;
    t0 = performance.now();
    await kubectl(kc, ['apply', '-f', '-'], deployment(replicas));
    const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`not all pods Ready after 300 s (${readyAt.size}/${replicas})`)), 300_000).unref());
    await Promise.race([done, timeout]);
    const total = (performance.now() - t0) / 1000;
    const latencies = [...readyAt].map(([uid, t]) => t - (firstSeen.get(uid) ?? t));
    const perNode = new Map<string, number>();
    for (const n of nodeOf.values()) perNode.set(n, (perNode.get(n) ?? 0) + 1);
    log(`all ${replicas} Ready in ${total.toFixed(2)} s`);
    const last = (m: Map<string, number>) => (Math.max(...m.values()) - t0) / 1000;
    const first = (m: Map<string, number>) => (Math.min(...m.values()) - t0) / 1000;
    const phases = `pods first seen ${first(firstSeen).toFixed(2)}–${last(firstSeen).toFixed(2)} s, bound ${first(boundAt).toFixed(2)}–${last(boundAt).toFixed(2)} s, Ready ${first(readyAt).toFixed(2)}–${last(readyAt).toFixed(2)} s after the apply`;
    log(phases);

    // Deletion: every pod gone (graceful termination, namespaces removed).
    const t1 = performance.now();
    await kubectl(kc, ['delete', 'deployment', 'bench', '-n', 'bench', '--wait=false']);
    for (;;) {
      const left = await client.list<Pod>(Pods, 'bench');
      if (left.items.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const deleteSecs = (performance.now() - t1) / 1000;
    watch.stop();
    client.close();

    const rate = replicas / total;
    const rows: Row[] = [
      { metric: `kubectl apply of a ${replicas}-replica Deployment → all pods Ready`, svcnet: `${total.toFixed(2)} s` },
      { metric: 'pods started per second', svcnet: `${rate.toFixed(1)} pods/s`, peer: 'kwok: 20 pods/s (fake pods)', ratio: `${(rate / 20).toFixed(1)}×`, target: `≥ 50 pods/s: ${rate >= 50 ? 'target met' : 'target missed'}` },
      { metric: 'pod start latency p50 (watch: first seen → Ready)', svcnet: `${(quantile(latencies, 0.5) / 1000).toFixed(2)} s` },
      { metric: 'pod start latency p99', svcnet: `${(quantile(latencies, 0.99) / 1000).toFixed(2)} s` },
      { metric: `delete of the Deployment → all ${replicas} pods gone`, svcnet: `${deleteSecs.toFixed(2)} s` },
    ];
    return {
      area: 'agent',
      title: 'Node agent: real pods in a 3-node lab',
      method:
        `\`svcnet lab up\` (3 nodes: API server + in-process agent in master-node, agents in worker1 and worker2, netns runtime: a network namespace, veth and address per pod). ` +
        `A Deployment of ${replicas} replicas of the built-in agnhost netexec (no probes) applied with kubectl from the host; a watcher over HTTPS through the lab's relay timestamps each pod's first sighting and its Ready condition. One run. ` +
        `Pods per node: ${[...perNode].sort().map(([n, c]) => `${n} ${c}`).join(', ')}.`,
      rows,
      notes: [
        `Phases: ${phases}.`,
        `The machine's 1-minute load average was ${load.toFixed(1)} when the Deployment was applied (other work shares its ${cpus().length} cores), so the figures are of a contended machine.`,
        'Pod start latency is watch-observed (first event of the pod → first event with Ready=True), so it includes scheduling, the agent\'s sandbox (ip netns add, veth, address, routes) and the pod shim start, and the status write.',
        'kwok\'s figure is its published claim for fake pods (no processes); it was not run here.',
      ],
    };
  } finally {
    await labDown({ name: labName });
  }
}
