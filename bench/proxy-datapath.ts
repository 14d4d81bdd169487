// The service proxy's data path (issue 5, "data path"): in a lab (three nodes in network
// namespaces, real nftables on each), wrk in a client pod on worker1 against one server pod on
// worker2, through the Service's ClusterIP and straight to the pod IP, in the same run,
// interleaved round by round so that the shared machine's load falls on both alike. Keep-alive
// connections (the per-packet cost: conntrack's NAT lookup) and one connection per request (the
// rule walk, DNAT and conntrack setup of every new connection). Every packet stays inside the
// lab's closed topology; the lab is always torn down. Called from bench/proxy.ts.
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { withLab, type Lab } from '../test/lib/lab.ts';
import { median, type Row, type Section } from './lib/results.ts';

const sh = promisify(execFile);
// Many short rounds, each a pair (one run per path, back to back): on this shared machine a path's
// rate swung by ±25% between rounds half a minute apart, on either path alike, so two medians of
// long rounds could not tell 5% apart. The two runs of one pair see nearly the same machine, and the
// figure compared is the median of the pairs' ratios.
const Rounds = Number(process.env.SVCNET_BENCH_DATAPATH_ROUNDS ?? 30);
const Seconds = Number(process.env.SVCNET_BENCH_DATAPATH_SECONDS ?? 3);
const Connections = 16;

interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

const unitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Parses wrk --latency output. */
export function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? Number(m[1]) * (unitMs[m[2]] ?? NaN) : NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + non2xx;
  if (!Number.isFinite(rps)) throw new Error(`wrk printed no Requests/sec:\n${out}`);
  return { rps, p50ms: pct('50'), p99ms: pct('99'), errors };
}

function pod(name: string, node: string, labels: Record<string, string>, command: string[]): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'bench', labels },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'svcnet-bench', command, ports: [{ containerPort: 8080 }] }] },
  };
}

// A small, fast HTTP server (Node's http), so that the server is not all that is measured.
const serverScript = "require('http').createServer((q, s) => s.end('ok\\n')).listen(8080)";

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`bench datapath: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function wrk(lab: Lab, client: string, url: string, close: boolean, seconds: number): Promise<WrkResult> {
  const args = ['wrk', '-t1', `-c${Connections}`, `-d${seconds}s`, '--latency', ...(close ? ['-H', 'Connection: close'] : []), url];
  const out = await lab.kubectlOk(['exec', '-n', 'bench', client, '--', ...args], { timeoutMs: (seconds + 60) * 1000 });
  return parseWrk(out);
}

export async function runDatapath(): Promise<Section> {
  if (process.getuid?.() !== 0) throw new Error('bench proxy data path needs root (a lab of network namespaces)');
  await sh('wrk', ['--version']).catch((e: { stdout?: string; code?: unknown }) => {
    // wrk --version exits 1 after printing its version.
    if (!e.stdout?.includes('wrk')) throw new Error('bench proxy data path needs wrk');
  });
  return withLab('pxbench', async (lab) => {
    await lab.kubectlOk(['create', 'namespace', 'bench']);
    await lab.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(pod('server', 'worker2', { app: 'echo' }, [process.execPath, '-e', serverScript])) });
    // One client pod for both paths, so that they differ in nothing but the path. (With TIME_WAIT
    // sockets, a client alternating between the ClusterIP and the pod IP would reuse its ports
    // towards the server with two TCP timestamp offsets, derived from the two destinations, and
    // the server's TIME_WAIT sockets would reject the older ones (PAWS) with one-second SYN
    // retransmits; the pods below keep none.)
    await lab.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(pod('client', 'worker1', { app: 'client' }, ['sleep', 'infinity'])) });
    await lab.kubectlOk([
      'apply',
      '-f',
      '-',
    ], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'bench' }, spec: { selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080 }] } }) });
    await lab.kubectlOk(['wait', '--for=condition=Ready', 'pod', '--all', '-n', 'bench', '--timeout=120s'], { timeoutMs: 130_000 });
    const podIP = await lab.kubectlOk(['get', 'pod', 'server', '-n', 'bench', '-o', 'jsonpath={.status.podIP}']);
    const clusterIP = await lab.kubectlOk(['get', 'svc', 'echo', '-n', 'bench', '-o', 'jsonpath={.spec.clusterIP}']);
    const direct = `http://${podIP}:8080/`;
    const viaService = `http://${clusterIP}:80/`;
    // Both paths answer before anything is timed (the proxy has programmed the Service).
    await until('both paths answering', async () => {
      for (const [c, u] of [['client', direct], ['client', viaService]] as const) {
        const r = await lab.kubectl(['exec', '-n', 'bench', c, '--', 'curl', '-s', '-m', '2', u]);
        if (r.stdout !== 'ok\n') return undefined;
      }
      return true;
    });
    // A connection per request at ten thousand a second: whichever side closes first holds the
    // connection in TIME_WAIT for 60 s. Which side that is, is a race between wrk's close and the
    // server's FIN, and it decided a round's rate: kernel counters (nstat) showed rounds whose
    // TIME_WAIT sockets sat mostly in the client running up to 40% slower than rounds where they
    // sat in the server (connect() searching a port space full of them), on either path. So the
    // pods keep no TIME_WAIT sockets (tcp_max_tw_buckets 0), reuse ports freely and use the whole
    // range: what is left to compare is the data path (the nodes' rules and conntrack, which still
    // track every connection). Per-namespace sysctls of the pods, as a pod's
    // securityContext.sysctls would set them; nothing outside the lab changes.
    for (const c of ['client', 'server'])
      await lab.kubectlOk(['exec', '-n', 'bench', c, '--', 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/tcp_tw_reuse && echo "1024 65535" > /proc/sys/net/ipv4/ip_local_port_range && echo 0 > /proc/sys/net/ipv4/tcp_max_tw_buckets']);
    const load = loadavg()[0];
    // Warm-up: both paths, both modes, a few seconds each.
    const clientOf = { direct: 'client', service: 'client' } as const;
    for (const close of [false, true]) {
      await wrk(lab, clientOf.direct, direct, close, 3);
      await wrk(lab, clientOf.service, viaService, close, 3);
    }
    const results = { direct: { keep: [] as WrkResult[], close: [] as WrkResult[] }, service: { keep: [] as WrkResult[], close: [] as WrkResult[] } };
    for (let r = 0; r < Rounds; r++) {
      for (const close of [false, true]) {
        // Alternate which path goes first, so neither always follows the other.
        const order: ['direct' | 'service', string][] = r % 2 === 0 ? [['direct', direct], ['service', viaService]] : [['service', viaService], ['direct', direct]];
        for (const [which, url] of order) {
          const res = await wrk(lab, clientOf[which], url, close, Seconds);
          console.error(`bench proxy datapath: round ${r + 1}, ${close ? 'connection per request' : 'keep-alive'}, ${which}: ${res.rps.toFixed(0)} req/s, p50 ${res.p50ms.toFixed(3)} ms, p99 ${res.p99ms.toFixed(3)} ms, ${res.errors} errors`);
          results[which][close ? 'close' : 'keep'].push(res);
        }
      }
    }
    const rows: Row[] = [];
    for (const mode of ['keep', 'close'] as const) {
      const label = mode === 'keep' ? 'keep-alive' : 'a new connection per request';
      const d = results.direct[mode];
      const s = results.service[mode];
      // results[path][mode][r] is round r's run of that path: the pairs line up by index.
      const pairRatio = (f: (x: WrkResult) => number): number[] => s.map((x, i) => f(x) / f(d[i]));
      const rpsR = pairRatio((x) => x.rps);
      const p50R = pairRatio((x) => x.p50ms);
      const p99R = pairRatio((x) => x.p99ms);
      const spread = (r: number[]): string => `${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}`;
      const errs = [...d, ...s].reduce((a, x) => a + x.errors, 0);
      const within = (ratio: number) => Math.abs(ratio - 1) <= 0.05;
      rows.push({
        metric: `requests/s, ${label} (median of ${Rounds} pairs of ${Seconds} s runs; ratio: median of the pairs' ratios, which ranged ${spread(rpsR)})`,
        svcnet: `${median(s.map((x) => x.rps)).toFixed(0)} through the ClusterIP`,
        peer: `${median(d.map((x) => x.rps)).toFixed(0)} to the pod IP`,
        ratio: median(rpsR).toFixed(3),
        target: `within 5%: ${within(median(rpsR)) ? 'met' : 'missed'}`,
      });
      rows.push({
        metric: `latency p50 / p99, ${label} (medians over rounds; ratios: medians of the pairs' ratios, p99 ranged ${spread(p99R)})`,
        svcnet: `${median(s.map((x) => x.p50ms)).toFixed(3)} / ${median(s.map((x) => x.p99ms)).toFixed(3)} ms through the ClusterIP`,
        peer: `${median(d.map((x) => x.p50ms)).toFixed(3)} / ${median(d.map((x) => x.p99ms)).toFixed(3)} ms to the pod IP`,
        ratio: `${median(p50R).toFixed(3)} / ${median(p99R).toFixed(3)}`,
        target: `within 5%: ${within(median(p50R)) && within(median(p99R)) ? 'met' : 'missed'}${errs ? ` (${errs} socket errors or non-2xx)` : ''}`,
      });
    }
    return {
      area: 'proxy-datapath',
      command: 'SVCNET_BENCH_PROXY_PARTS=datapath npm run bench:proxy',
      title: 'Service proxy: the data path (ClusterIP against the pod IP)',
      method: `A lab of three nodes (network namespaces on one bridge, real nftables rules of svcnet's proxy on each node). wrk (${Connections} connections, 1 thread) runs in a client pod on worker1 against a Node.js HTTP server pod on worker2 (the Service's only endpoint), through the ClusterIP (DNAT on worker1) and straight to the pod IP, in the same run: ${Rounds} rounds, each a pair of ${Seconds} s runs (one per path, back to back, which goes first alternating) per mode, after a 3 s warm-up of each; a ratio is the median of the pairs' ratios, since the machine's speed drifts between rounds far more than within a pair. The pods' namespaces keep no TIME_WAIT sockets (net.ipv4.tcp_max_tw_buckets=0) and use ports 1024-65535, so that a connection per request neither exhausts ports nor depends on which side happened to close first; the nodes' conntrack still tracks every connection.`,
      rows,
      notes: [
        `Client, server, wrk and the three agents share the machine's 2 cores with other work (1-minute load average ${load.toFixed(1)} at the start): the figures say how the two paths compare in one run, not what the hardware can do.`,
        "The ranges of the pairs' ratios show how far apart two back-to-back runs land on this machine, whichever path is faster: wider than the 5% the target asks to resolve, so a median just inside or outside 5% says little; a systematic cost of the ClusterIP path would show as medians on one side of 1 run after run.",
'Cross-node in both paths: pod → worker1 bridge → LAN bridge → worker2 bridge → pod. Through the ClusterIP, worker1 DNATs the first packet of each connection (nftables maps: service-ips, then the slot map) and conntrack rewrites the rest.',
      ],
    };
  }, { agents: true });
}
