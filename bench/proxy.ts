// `npm run bench:proxy`: programming the nftables data plane (issue 5). With 1,000, 10,000 and
// 50,000 Services of 10 endpoints each, in a throw-away network namespace:
//  - svcnet: the proxier (fake informers, real nft) from start to the first sync done (a full
//    sync), then the delay from one EndpointSlice update to the nft transaction carrying it having
//    committed (the rule is live), over 30 changes;
//  - kube-proxy's nftables shape (a chain per service port with a numgen vmap, a chain per
//    endpoint), rendered for the same Services and loaded in the same run, with one endpoint
//    change applied the way kube-proxy's partial sync does, at the sizes where that finishes in
//    a few minutes.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { randomBytes, createHash } from 'node:crypto';
import { promisify } from 'node:util';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeInformer } from '../src/client/index.ts';
import { startProxier } from '../src/proxy/index.ts';
import { RealExec } from '../src/proxy/nftables/exec.ts';
import { RealNftables, type Nftables } from '../src/proxy/nftables/nftables.ts';
import { FakeConntrack } from '../src/proxy/nftables/conntrack.ts';
import { makeService, makeSlice } from '../src/proxy/testing.ts';
import { quantile, writeSection, type Row, type Section } from './lib/results.ts';
import { runDatapath } from './proxy-datapath.ts';

const sh = promisify(execFile);
// SVCNET_BENCH_PROXY_SIZES="100,1000" (and ..._KP_SIZES) narrow a run while working on it.
const sizesFrom = (v: string | undefined, d: number[]): number[] => (v !== undefined ? v.split(',').map(Number).filter((x) => x > 0) : d);
const Sizes = sizesFrom(process.env.SVCNET_BENCH_PROXY_SIZES, [1000, 10_000, 50_000]);
const EndpointsPerService = 10;
const Changes = 30;
/** kube-proxy's shape is loaded at these sizes only (10,000 takes ~2.5 min here, 50,000 ~18 min). */
const KubeProxySizes = sizesFrom(process.env.SVCNET_BENCH_PROXY_KP_SIZES, [1000, 10_000]);
const Nodes = 100;

const ipOf = (base: number, n: number): string => `${(base >> 24) & 255}.${((base >> 16) & 255) + ((n >> 16) & 255)}.${(n >> 8) & 255}.${n & 255}`;
const clusterIP = (i: number): string => ipOf((10 << 24) | (96 << 16), i);
const endpointIP = (i: number, j: number): string => ipOf((10 << 24) | (128 << 16), i * EndpointsPerService + j);
/** Endpoints spread over 100 nodes: about 1 in 100 is on this node, as in a real cluster. */
const nodeOf = (i: number, j: number): string => `node-${(i * 7 + j * 13) % Nodes}`;

function objects(n: number): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    services.push(makeService(`s${i}`, { clusterIP: clusterIP(i) }));
    slices.push(makeSlice(`s${i}`, Array.from({ length: EndpointsPerService }, (_, j) => ({ ip: endpointIP(i, j), node: nodeOf(i, j) }))));
  }
  return { services, slices };
}

async function netns(): Promise<{ name: string; remove: () => Promise<void> }> {
  const name = `svcnet-bench-${randomBytes(3).toString('hex')}`;
  await sh('ip', ['netns', 'add', name]);
  return { name, remove: () => sh('ip', ['netns', 'del', name]).then(() => undefined) };
}

/** CPU seconds used so far by this process and its waited-for children (nft -f runs). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // Fields 16 and 17 of /proc/self/stat (cutime, cstime), in clock ticks of 1/100 s.
  return (u.user + u.system) / 1e6 + (Number(f[13]) + Number(f[14])) / 100;
}

/** Watches the scripts the proxier runs, to tell when one carrying some text has committed. */
class Watching implements Nftables {
  readonly #inner: RealNftables;
  #waiters: { text: string; resolve: () => void }[] = [];
  constructor(inner: RealNftables) {
    this.#inner = inner;
  }
  nftMs = 0;
  async run(script: string): Promise<void> {
    const t = performance.now();
    await this.#inner.run(script);
    this.nftMs += performance.now() - t;
    this.#waiters = this.#waiters.filter((w) => (script.includes(w.text) ? (w.resolve(), false) : true));
  }
  listElements: Nftables['listElements'] = (...a) => this.#inner.listElements(...a);
  listChains: Nftables['listChains'] = (...a) => this.#inner.listChains(...a);
  close(): void {
    this.#inner.close();
  }
  committed(text: string): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ text, resolve }));
  }
}

interface SvcnetFigures {
  fullSyncS: number;
  /** CPU seconds of the full sync (Node and nft together): what it costs without contention. */
  fullSyncCpuS: number;
  /** Wall seconds spent inside nft runs during the full sync. */
  fullSyncNftS: number;
  changeMs: number[];
  load: number;
}

async function svcnet(n: number): Promise<SvcnetFigures> {
  const ns = await netns();
  const nft = new Watching(new RealNftables(new RealExec(), { netns: ns.name }));
  const { services, slices } = objects(n);
  const svcInf = new FakeInformer<Service>(services);
  const epInf = new FakeInformer<EndpointSlice>(slices);
  svcInf.start();
  epInf.start();
  try {
    const load = loadavg()[0];
    const c0 = cpuSeconds();
    const t0 = performance.now();
    const p = startProxier({
      services: svcInf,
      endpointSlices: epInf,
      nodeName: 'node-0',
      nodeIPs: ['192.168.0.10'],
      podCIDRs: ['10.244.0.0/24'],
      clusterCIDRs: ['10.128.0.0/9'],
      nftables: nft,
      conntrack: new FakeConntrack(),
      healthz: false,
      serviceHealthHost: false,
      minSyncPeriodMs: 0,
    });
    await p.synced();
    const fullSyncS = (performance.now() - t0) / 1000;
    const fullSyncCpuS = cpuSeconds() - c0;
    const fullSyncNftS = nft.nftMs / 1000;
    // One change before timing: it starts the long-lived nft -i process.
    {
      const eps = Array.from({ length: EndpointsPerService }, (_, j) => ({ ip: j === 0 ? '10.249.0.1' : endpointIP(0, j), node: nodeOf(0, j) }));
      const done = nft.committed(': 10.249.0.1 . 8080');
      epInf.upsert(makeSlice('s0', eps));
      await done;
    }
    const changeMs: number[] = [];
    for (let k = 0; k < Changes; k++) {
      const i = (k * 7919) % n;
      const eps = Array.from({ length: EndpointsPerService }, (_, j) => ({ ip: j === k % EndpointsPerService ? `10.250.${k}.${i & 255}` : endpointIP(i, j), node: nodeOf(i, j) }));
      const newIP = `10.250.${k}.${i & 255}`;
      const done = nft.committed(`: ${newIP} . 8080`);
      const t = performance.now();
      epInf.upsert(makeSlice(`s${i}`, eps));
      await done;
      changeMs.push(performance.now() - t);
    }
    await p.stop();
    // The rule is there: the map element reads back from the kernel.
    const { stdout } = await sh('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'map', 'ip', 'svcnet', `slot-${(Changes - 1) % EndpointsPerService}`], { maxBuffer: 256 << 20 });
    if (!stdout.includes(`10.250.${Changes - 1}.`)) throw new Error('the last change is not in the kernel');
    return { fullSyncS, fullSyncCpuS, fullSyncNftS, changeMs, load };
  } finally {
    nft.close();
    await ns.remove();
  }
}

// ---- kube-proxy's nftables shape (pkg/proxy/nftables/proxier.go), for the same Services ----

const kpHash = (s: string): string => createHash('sha256').update(s).digest('base64').replace(/[^A-Z0-9]/gi, '').slice(0, 8).toUpperCase();
const kpServiceChain = (i: number): string => `service-${kpHash(`default/s${i}:http`)}-default/s${i}/tcp/http`;
const kpEndpointChain = (i: number, ip: string): string => `endpoint-${kpHash(`default/s${i}:http${ip}`)}-default/s${i}/tcp/http__${ip}/8080`;

function kpServiceRules(i: number, eps: string[]): string[] {
  const t = 'ip kube-proxy';
  const svc = kpServiceChain(i);
  const out = [
    `add chain ${t} ${svc}`,
    `flush chain ${t} ${svc}`,
    `add rule ${t} ${svc} ip daddr ${clusterIP(i)} tcp dport 80 ip saddr != 10.128.0.0/9 jump mark-for-masquerade`,
    `add rule ${t} ${svc} numgen random mod ${eps.length} vmap { ${eps.map((ip, k) => `${k} : goto ${kpEndpointChain(i, ip)}`).join(' , ')} }`,
  ];
  const heads = eps.map((ip) => `add chain ${t} ${kpEndpointChain(i, ip)}`);
  const body = eps.flatMap((ip) => [
    `flush chain ${t} ${kpEndpointChain(i, ip)}`,
    `add rule ${t} ${kpEndpointChain(i, ip)} ip saddr ${ip} jump mark-for-masquerade`,
    `add rule ${t} ${kpEndpointChain(i, ip)} meta l4proto tcp dnat to ${ip}:8080`,
  ]);
  return [...heads, ...out, ...body];
}

function kpBase(): string[] {
  const t = 'ip kube-proxy';
  return [
    `add table ${t}`,
    `add chain ${t} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${t} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${t} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add chain ${t} mark-for-masquerade`,
    `add chain ${t} masquerading`,
    `add chain ${t} services`,
    `add map ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add rule ${t} mark-for-masquerade mark set mark or 0x4000`,
    `add rule ${t} masquerading mark and 0x4000 == 0 return`,
    `add rule ${t} masquerading mark set mark xor 0x4000`,
    `add rule ${t} masquerading masquerade fully-random`,
    `add rule ${t} nat-prerouting jump services`,
    `add rule ${t} nat-output jump services`,
    `add rule ${t} nat-postrouting jump masquerading`,
    `add rule ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
  ];
}

async function nftF(ns: string, script: string): Promise<number> {
  const t = performance.now();
  const nft = new RealNftables(new RealExec(), { netns: ns, sessionMaxBytes: 0 });
  await nft.run(script);
  return performance.now() - t;
}

async function kubeProxyShape(n: number): Promise<{ fullSyncS: number; changeMs: number[] }> {
  const ns = await netns();
  try {
    const lines = kpBase();
    for (let i = 0; i < n; i++) {
      const eps = Array.from({ length: EndpointsPerService }, (_, j) => endpointIP(i, j));
      lines.push(...kpServiceRules(i, eps), `add element ip kube-proxy service-ips { ${clusterIP(i)} . tcp . 80 : goto ${kpServiceChain(i)} }`);
    }
    const fullSyncS = (await nftF(ns.name, `${lines.join('\n')}\n`)) / 1000;
    // One endpoint replaced, as kube-proxy's partial sync sends it: the service chain rewritten,
    // the new endpoint's chain added, the old one flushed and deleted.
    const changeMs: number[] = [];
    const changes = n > 5000 ? 5 : 10;
    for (let k = 0; k < changes; k++) {
      const i = (k * 7919) % n;
      const old = endpointIP(i, 0);
      const eps = Array.from({ length: EndpointsPerService }, (_, j) => (j === 0 ? `10.251.${k}.${i & 255}` : endpointIP(i, j)));
      const script = [...kpServiceRules(i, eps), `flush chain ip kube-proxy ${kpEndpointChain(i, old)}`, `delete chain ip kube-proxy ${kpEndpointChain(i, old)}`];
      changeMs.push(await nftF(ns.name, `${script.join('\n')}\n`));
    }
    return { fullSyncS, changeMs };
  } finally {
    await ns.remove();
  }
}

const s = (x: number): string => `${x.toFixed(2)} s`;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

// SVCNET_BENCH_PROXY_PARTS: any of "programming", "datapath" and "userspace" (all three by
// default, as the issue asks of `npm run bench:proxy`). The data path (bench/proxy-datapath.ts, in
// a lab) and the userspace backend against HAProxy (bench/proxy-userspace.ts, also
// `npm run bench:proxy-userspace` alone) write sections of their own.
const Parts = (process.env.SVCNET_BENCH_PROXY_PARTS ?? 'programming,datapath,userspace').split(',').map((x) => x.trim());

export async function run(): Promise<Section> {
  const others: (() => Promise<Section>)[] = [];
  if (Parts.includes('datapath')) others.push(runDatapath);
  if (Parts.includes('userspace')) others.push(async () => (await import('./proxy-userspace.ts')).run());
  if (!Parts.includes('programming')) {
    const last = others.pop();
    if (!last) throw new Error(`SVCNET_BENCH_PROXY_PARTS names no part: ${JSON.stringify(process.env.SVCNET_BENCH_PROXY_PARTS)}`);
    for (const o of others) writeSection(await o());
    return last();
  }
  const section = await programming();
  for (const o of others) writeSection(await o());
  return section;
}

async function programming(): Promise<Section> {
  if (process.getuid?.() !== 0) throw new Error('bench proxy needs root (network namespaces, nft)');
  process.env.SVCNET_LOG_LEVEL ??= 'warn';
  const rows: Row[] = [];
  const notes: string[] = [];
  const mine = new Map<number, SvcnetFigures>();
  for (const n of Sizes) {
    console.error(`bench proxy: svcnet, ${n} Services`);
    mine.set(n, await svcnet(n));
  }
  const theirs = new Map<number, { fullSyncS: number; changeMs: number[] }>();
  for (const n of KubeProxySizes) {
    console.error(`bench proxy: kube-proxy's shape, ${n} Services`);
    theirs.set(n, await kubeProxyShape(n));
  }
  for (const n of Sizes) {
    const m = mine.get(n)!;
    const k = theirs.get(n);
    const label = n.toLocaleString('en-US');
    const fullTarget = n === 10_000 ? '≤ 2 s' : n === 50_000 ? '≤ 10 s' : '';
    rows.push({
      metric: `full sync, ${label} Services × 10 endpoints (wall; CPU of Node and nft; time inside nft runs, summed)`,
      svcnet: `${s(m.fullSyncS)}; ${s(m.fullSyncCpuS)} CPU; ${s(m.fullSyncNftS)} in nft`,
      peer: k ? `${s(k.fullSyncS)} (kube-proxy's shape)` : 'not run (see notes)',
      ratio: k ? `${(m.fullSyncS / k.fullSyncS).toFixed(3)}` : '',
      target: fullTarget ? `${fullTarget}: ${m.fullSyncS <= (n === 10_000 ? 2 : 10) ? 'met' : 'missed'}` : '',
    });
    const p50 = quantile(m.changeMs, 0.5);
    const p99 = quantile(m.changeMs, 0.99);
    rows.push({
      metric: `one endpoint change to live rule, ${label} Services (p50 / p99 of ${m.changeMs.length})`,
      svcnet: `${ms(p50)} / ${ms(p99)}`,
      peer: k ? `${ms(quantile(k.changeMs, 0.5))} / ${ms(quantile(k.changeMs, 0.99))} (kube-proxy's shape, ${k.changeMs.length} changes, nft -f only)` : 'not run (see notes)',
      ratio: k ? `${(p50 / quantile(k.changeMs, 0.5)).toFixed(3)}` : '',
      target: n === 10_000 ? `≤ 20 ms p50: ${p50 <= 20 ? 'met' : 'missed'}` : '',
    });
  }
  notes.push(
    'svcnet figures go through the whole proxier: fake informers → change trackers → sync runner (min sync period 0) → model → nftables backend → real nft in a throw-away network namespace. The full sync is from startProxier() to the first sync committed; a change is timed from the EndpointSlice update to the commit of the nft transaction that carries it (small transactions go to a long-lived `nft -i`).',
    "kube-proxy's shape is loaded with one `nft -f` for the same Services (chains per service port and per endpoint, a numgen vmap per service, the service-ips map); its change is the partial-sync transaction kube-proxy sends for one replaced endpoint, through a new `nft -f` as kube-proxy does, so it excludes kube-proxy's own Go-side work.",
    `kube-proxy's shape was not loaded at 50,000 Services: about 18 minutes on this machine (docs section 8 of service-proxy.md), beyond this bench's few-minutes budget.`,
    `Endpoints are spread over 100 nodes (about 1% local to the proxied node). The machine is shared with other work: 1-minute load average ${[...mine.values()].map((m) => m.load.toFixed(1)).join(', ')} at the start of the svcnet runs (2 cores), which stretches wall times; the CPU column (this process and its nft children) is the work itself.`,
    'The first sync into an empty table sends its map and set elements in transactions of 20,000 (at most 2 nft running at once) while the rest is still being rendered, then gives the chains their rules and hooks in one last transaction (nothing is hooked before it, so every Service switches on at once); every later sync is one transaction.',
    'The data-path figures (latency and throughput through a ClusterIP against the pod IP, in a lab) are in the section proxy-datapath (bench/proxy-datapath.ts); the userspace backend against HAProxy in proxy-userspace.',
  );
  return {
    area: 'proxy',
    title: 'Service proxy: programming the nftables data plane',
    method: `Services of ${EndpointsPerService} endpoints each, one ClusterIP port, IPv4, in a network namespace made for the run and removed after it; nft ${(await run_('nft', ['--version'])).trim()}; ${Changes} endpoint changes per size.`,
    rows,
    notes,
  };
}

async function run_(cmd: string, args: string[]): Promise<string> {
  return (await sh(cmd, args)).stdout;
}
