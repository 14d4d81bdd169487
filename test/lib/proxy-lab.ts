// Helpers for the service proxy's lab tests (test/proxy-lab*.test.ts): workloads from the seed's
// examples, requests from the workstation or from inside pods, ARP as the workstation sees it,
// and a steady stream of requests that counts what it loses. Every request stays inside the
// lab's closed LAN.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { labSkipReason, type Lab } from './lab.ts';
import { examplesDir, run } from './svcnet.ts';
import { eventually } from '../../src/util/index.ts';

/** Why these lab tests cannot run here (root, namespaces, and the tools they use), or undefined. */
export async function proxyLabSkipReason(tools: readonly string[] = ['curl', 'arping']): Promise<string | undefined> {
  const why = await labSkipReason();
  if (why) return why;
  for (const t of tools) {
    if ((await run('sh', ['-c', `command -v ${t}`])).code !== 0) return `needs ${t}${t === 'arping' ? ' (Debian: iputils-arping)' : ''}`;
  }
  return undefined;
}

/** Images as the lab's nodes run them: agnhost netexec answering its pod name on /hostname. */
export const imageTable = ['mlflow/mlflow: agnhost netexec --http-port=5000', 'grafana/grafana: agnhost netexec --http-port=3000', ''].join('\n');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export { eventually };

export async function applyExamples(lab: Lab, ...files: string[]): Promise<void> {
  for (const f of files) await lab.kubectlOk(['apply', '-f', join(examplesDir, f)]);
}

export async function apply(lab: Lab, obj: object): Promise<void> {
  await lab.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(obj) });
}

export interface PodRow {
  name: string;
  ip: string;
  node: string;
  ready: boolean;
  labels: Record<string, string>;
}

export async function pods(lab: Lab, ns: string, selector?: string): Promise<PodRow[]> {
  const out = JSON.parse(await lab.kubectlOk(['get', 'pods', '-n', ns, '-o', 'json', ...(selector ? ['-l', selector] : [])])) as { items: Pod[] };
  return out.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => ({
      name: p.metadata?.name ?? '',
      ip: p.status?.podIP ?? '',
      node: p.spec?.nodeName ?? '',
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      labels: p.metadata?.labels ?? {},
    }));
}

/** A pod on a given node (spec.nodeName), running `image` (an image of the table). */
export function pinnedPod(ns: string, name: string, node: string, labels: Record<string, string>, image = 'mlflow/mlflow', port = 5000): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: { nodeName: node, containers: [{ name: 'main', image, ports: [{ containerPort: port }] }] },
  };
}

export async function waitPodsReady(lab: Lab, ns: string, selector: string, count: number): Promise<PodRow[]> {
  return eventually(
    `${count} Ready pods ${selector} in ${ns}`,
    async () => {
      const list = (await pods(lab, ns, selector)).filter((p) => p.ready && p.ip);
      return list.length === count ? list : undefined;
    },
    120_000,
    500,
  );
}

/** The Service's ClusterIP, NodePort of its first port, health check port and LoadBalancer IP. */
export async function serviceInfo(lab: Lab, ns: string, name: string): Promise<{ clusterIP: string; nodePort: number; healthCheckNodePort: number; lbIP: string }> {
  const s = JSON.parse(await lab.kubectlOk(['get', 'svc', '-n', ns, name, '-o', 'json'])) as {
    spec: { clusterIP: string; healthCheckNodePort?: number; ports: { nodePort?: number }[] };
    status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
  };
  return { clusterIP: s.spec.clusterIP, nodePort: s.spec.ports[0]?.nodePort ?? 0, healthCheckNodePort: s.spec.healthCheckNodePort ?? 0, lbIP: s.status?.loadBalancer?.ingress?.[0]?.ip ?? '' };
}

/** Waits for the Service's endpoints to list exactly these pod IPs. */
export async function waitEndpoints(lab: Lab, ns: string, name: string, ips: readonly string[]): Promise<void> {
  const want = [...ips].sort().join(' ');
  await eventually(
    `endpoints of ${ns}/${name} = ${want}`,
    async () => {
      const out = await lab.kubectlOk(['get', 'endpoints', name, '-n', ns, '-o', 'jsonpath={range .subsets[*]}{range .addresses[*]}{.ip}{" "}{end}{end}']);
      return out.split(' ').filter(Boolean).sort().join(' ') === want ? true : undefined;
    },
    60_000,
  );
}

export interface CurlResult {
  code: number;
  body: string;
  ms: number;
}

/** curl from a lab member's namespace (no keep-alive: one connection per call). */
export async function curl(lab: Lab, member: string, url: string, maxSeconds = 3): Promise<CurlResult> {
  const t = Date.now();
  const r = await lab.exec(member, ['curl', '-s', '-m', String(maxSeconds), url], { timeoutMs: (maxSeconds + 10) * 1000 });
  return { code: r.code, body: r.stdout, ms: Date.now() - t };
}

/** Runs a shell command inside a pod (kubectl exec). */
export async function inPod(lab: Lab, ns: string, pod: string, script: string, timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return lab.kubectl(['exec', '-n', ns, pod, '--', 'sh', '-c', script], { timeoutMs });
}

/**
 * `n` requests from inside a pod, one curl (one connection) each; the bodies, one per request. A
 * request that fails reads `FAILED#<index> curl=<exit code>` so that a failure says when and how.
 */
export async function requestsFromPod(lab: Lab, ns: string, pod: string, url: string, n: number): Promise<string[]> {
  const r = await inPod(lab, ns, pod, `i=0; while [ $i -lt ${n} ]; do curl -s -m 3 ${url} || printf "FAILED#$i curl=$?"; echo; i=$((i+1)); done`, 600_000);
  if (r.code !== 0) throw new Error(`requests from ${pod}: ${r.stderr}`);
  return r.stdout.split('\n').slice(0, n);
}

export function isFailure(body: string): boolean {
  return body.startsWith('FAILED#');
}

/**
 * Waits until the client pod's node has programmed the Service: `waitEndpoints` sees the API, and
 * the proxy on the client's node syncs a moment later. Done when a round of requests reaches all of
 * `names` and none fails.
 */
export async function waitServed(lab: Lab, ns: string, pod: string, url: string, names: readonly string[]): Promise<void> {
  await eventually(`${pod} reaching ${names.join(', ')} through ${url}`, async () => {
    const b = await requestsFromPod(lab, ns, pod, url, 20);
    return !b.some(isFailure) && names.every((x) => b.includes(x)) ? true : undefined;
  }, 30_000);
}

export function countBy(list: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of list) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** A member's MAC address on the LAN. */
export async function macOf(lab: Lab, member: string): Promise<string> {
  const r = await lab.exec(member, ['ip', '-j', 'link', 'show', 'eth0']);
  return (JSON.parse(r.stdout) as { address: string }[])[0].address.toLowerCase();
}

/** The MAC addresses answering ARP for `ip` on the LAN, asked from the workstation. */
export async function arpRepliers(lab: Lab, ip: string, count = 3): Promise<string[]> {
  const r = await lab.exec('workstation', ['arping', '-c', String(count), '-w', String(count + 2), '-I', 'eth0', ip], { timeoutMs: (count + 10) * 1000 });
  return [...new Set([...r.stdout.matchAll(/\[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1].toLowerCase()))].sort();
}

/** Which node's MAC that is. */
export async function nodeByMac(lab: Lab, mac: string): Promise<string | undefined> {
  for (const m of lab.info.members) if ((await macOf(lab, m.name)) === mac) return m.name;
  return undefined;
}

/** The node that recorded nodeAssigned for a Service last ("announcing from node X with protocol layer2"). */
export async function announcingNode(lab: Lab, ns: string, svc: string): Promise<string | undefined> {
  const out = await lab.kubectlOk(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${svc},reason=nodeAssigned`, '-o', 'json']);
  const items = (JSON.parse(out) as { items: { message?: string; lastTimestamp?: string; metadata?: { creationTimestamp?: string } }[] }).items;
  items.sort((a, b) => (a.lastTimestamp ?? '').localeCompare(b.lastTimestamp ?? ''));
  const last = items.at(-1)?.message ?? '';
  return /announcing from node "([^"]+)" with protocol "layer2"/.exec(last)?.[1];
}

export interface StreamSummary {
  /** Per URL: requests answered with 200, and failures. */
  ok: Record<string, number>;
  failed: Record<string, number>;
  /** The first failures: when (ms since start), which URL, why. */
  errors: { at: number; url: string; error: string }[];
  /** Bodies seen per URL (pod names), with counts. */
  bodies: Record<string, Record<string, number>>;
}

const streamScript = `
const http = require('node:http');
const urls = process.argv.slice(1);
const start = Date.now();
const s = { ok: {}, failed: {}, errors: [], bodies: {} };
for (const u of urls) { s.ok[u] = 0; s.failed[u] = 0; s.bodies[u] = {}; }
let stopping = false;
process.stdin.on('data', () => {});
process.stdin.on('end', () => { stopping = true; });
function once(u) {
  return new Promise((resolve) => {
    const req = http.get(u, { agent: false, timeout: 3000, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        if (res.statusCode === 200) { s.ok[u]++; s.bodies[u][body] = (s.bodies[u][body] || 0) + 1; }
        else { s.failed[u]++; if (s.errors.length < 50) s.errors.push({ at: Date.now() - start, url: u, error: 'HTTP ' + res.statusCode }); }
        resolve();
      });
      res.on('error', (e) => { s.failed[u]++; if (s.errors.length < 50) s.errors.push({ at: Date.now() - start, url: u, error: String(e.code || e.message) }); resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => { s.failed[u]++; if (s.errors.length < 50) s.errors.push({ at: Date.now() - start, url: u, error: String(e.code || e.message) }); resolve(); });
  });
}
(async () => {
  while (!stopping) {
    for (const u of urls) await once(u);
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stdout.write(JSON.stringify(s));
})();
`;

/**
 * A steady stream of requests from the workstation to `urls`, in turn, each on a new connection
 * (Connection: close), until stop(); stop() says what was answered and what was lost.
 */
export class RequestStream {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #done: Promise<StreamSummary>;

  constructor(lab: Lab, urls: readonly string[]) {
    const ns = lab.info.members.find((m) => m.name === 'workstation')!.ns;
    this.#child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', streamScript, ...urls], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    this.#child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    this.#child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    this.#done = new Promise((resolve, reject) => {
      this.#child.on('exit', (code) => {
        try {
          resolve(JSON.parse(out) as StreamSummary);
        } catch {
          reject(new Error(`request stream exited ${code}: ${err}${out}`));
        }
      });
    });
  }

  async stop(): Promise<StreamSummary> {
    this.#child.stdin.end();
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    try {
      return await this.#done;
    } finally {
      clearTimeout(t);
    }
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}
