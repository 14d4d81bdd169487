// `svcnet agent`: one more node. Connects to the API server (a kubeconfig, or --server with
// --token), registers the Node and runs the pods bound to it; stops cleanly on SIGINT/SIGTERM,
// leaving its pods running for the next agent to re-adopt.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { HttpClient, loadKubeconfig, type ConnectionConfig } from '../client/index.ts';
import { defaultNodePlugins, parseL2AnnounceMode, startAgent, type AgentMode, type RunningAgent } from '../agent/index.ts';
import { parseNodePortAddresses } from '../proxy/index.ts';
import { logger } from '../util/index.ts';
import type { ClusterDnsInfo } from '../dns/index.ts';
import { addDnsOptions, dnsPluginOptions, dnsReadyText, type DnsFlags } from './dns.ts';

export interface AgentFlags extends DnsFlags {
  /** netns mode in the host's own network namespace (this machine is a dedicated node). */
  allowHostNetworkNamespace?: boolean;
  server?: string;
  token?: string;
  kubeconfig?: string;
  certificateAuthority?: string;
  insecureSkipTlsVerify?: boolean;
  nodeName?: string;
  mode: string;
  dataDir: string;
  nodeIp?: string;
  address?: string;
  port: string;
  clientCaFile?: string;
  imageTable?: string;
  podCidr?: string;
  clusterDns?: string;
  clusterDomain: string;
  nodeLabels?: string;
  crashloopBackoffInitial?: string;
  crashloopBackoffMax?: string;
  containerLogMaxSize?: string;
  nodeStatusUpdateFrequency?: string;
  nodeLeaseDurationSeconds?: string;
  proxyHealthz?: string;
  proxyMetrics?: string;
  nodeportAddresses?: string;
  l2AnnounceMode?: string;
}

/** "500ms", "10s", "5m" → ms. */
export function parseDurationMs(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m) throw new Error(`${flag} ${JSON.stringify(s)}: expected a duration such as 500ms, 10s, 5m`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/** "10Mi", "100Ki", "5000000" → bytes. */
export function parseSize(s: string, flag: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(s.trim());
  if (!m) throw new Error(`${flag} ${JSON.stringify(s)}: expected a size such as 10Mi`);
  return Number(m[1]) * (m[2] ? { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] as 'Ki' | 'Mi' | 'Gi'] : 1);
}

/** "a=b,c=d" → {a: b, c: d}. */
export function parseLabels(s: string | undefined): Record<string, string> | undefined {
  if (!s) return undefined;
  const out: Record<string, string> = {};
  for (const kv of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--node-labels ${JSON.stringify(kv)}: expected key=value`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export function parseAgentMode(s: string): AgentMode {
  if (s !== 'host' && s !== 'netns') throw new Error(`--mode ${JSON.stringify(s)}: expected host or netns`);
  return s;
}

function connection(f: AgentFlags): ConnectionConfig {
  if (f.kubeconfig) {
    const c = loadKubeconfig(resolve(f.kubeconfig));
    if (f.server) c.server = f.server;
    if (f.token) c.token = f.token;
    return c;
  }
  if (!f.server) throw new Error('give --kubeconfig FILE, or --server URL with --token TOKEN');
  const c: ConnectionConfig = { server: f.server };
  if (f.token) c.token = f.token;
  if (f.certificateAuthority) c.ca = readFileSync(resolve(f.certificateAuthority));
  if (f.insecureSkipTlsVerify) c.insecureSkipTLSVerify = true;
  return c;
}

export async function runAgent(f: AgentFlags): Promise<void> {
  const log = logger('agent');
  const mode = parseAgentMode(f.mode);
  const nodePortAddresses = parseNodePortAddresses(f.nodeportAddresses ?? '');
  const l2announce = { mode: parseL2AnnounceMode(f.l2AnnounceMode) };
  const conn = connection(f);
  // kubelet's User-Agent shape, so its writes' field manager is "kubelet".
  const client = new HttpClient({ ...conn, userAgent: `kubelet/v1.33.0 (${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}) svcnet` });
  const nodeName = (f.nodeName ?? os.hostname()).toLowerCase();
  const clientCA = f.clientCaFile ? readFileSync(resolve(f.clientCaFile), 'utf8') : conn.ca?.toString('utf8');
  if (!clientCA) log.warn('no client CA (--client-ca-file, or a CA in the kubeconfig): the agent endpoint will refuse the API server, so kubectl logs and exec will not work');
  const nodeIPs = f.nodeIp ? f.nodeIp.split(',').map((s) => s.trim()) : mode === 'host' ? ['127.0.0.1'] : undefined;
  const clusterDNS = f.clusterDns ? f.clusterDns.split(',').map((s) => s.trim()) : undefined;
  let dnsInfo: ClusterDnsInfo | undefined;
  const agent: RunningAgent = await startAgent({
    client,
    nodeName,
    mode,
    allowHostNetworkNamespace: f.allowHostNetworkNamespace ?? false,
    dataDir: f.dataDir,
    nodeIPs,
    listenAddress: f.address,
    port: Number(f.port),
    clientCA,
    imageTablePath: f.imageTable ? resolve(f.imageTable) : undefined,
    podCIDR: f.podCidr,
    clusterDNS,
    clusterDomain: f.clusterDomain,
    nodeLabels: parseLabels(f.nodeLabels),
    backoffInitialMs: f.crashloopBackoffInitial ? parseDurationMs(f.crashloopBackoffInitial, '--crashloop-backoff-initial') : undefined,
    backoffMaxMs: f.crashloopBackoffMax ? parseDurationMs(f.crashloopBackoffMax, '--crashloop-backoff-max') : undefined,
    maxLogBytes: f.containerLogMaxSize ? parseSize(f.containerLogMaxSize, '--container-log-max-size') : undefined,
    nodeStatusUpdateMs: f.nodeStatusUpdateFrequency ? parseDurationMs(f.nodeStatusUpdateFrequency, '--node-status-update-frequency') : undefined,
    leaseDurationSeconds: f.nodeLeaseDurationSeconds ? Number(f.nodeLeaseDurationSeconds) : undefined,
    plugins: defaultNodePlugins({
      proxy: { healthz: f.proxyHealthz, metrics: f.proxyMetrics, nodePortAddresses },
      l2announce,
      dns: dnsPluginOptions(f, { clusterDomain: f.clusterDomain, serviceIP: clusterDNS?.[0], onServing: (i) => (dnsInfo = i) }),
    }),
  });
  process.stdout.write(`svcnet agent ready: node ${nodeName} (${mode} mode), endpoint port ${agent.port}${dnsReadyText(dnsInfo)}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping (pods keep running)');
    const hard = setTimeout(() => process.exit(1), 10_000);
    hard.unref();
    void agent.stop().finally(() => {
      client.close();
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Options an agent takes that `svcnet server` passes to its own node's agent too. */
export function addAgentRuntimeOptions(cmd: Command): Command {
  return cmd
    .option('--image-table <file>', 'YAML mapping images to command lines (default <data-dir>/images.yaml)')
    .option('--crashloop-backoff-initial <duration>', 'first CrashLoopBackOff delay (kubelet: 10s)')
    .option('--crashloop-backoff-max <duration>', 'longest CrashLoopBackOff delay (kubelet: 5m)')
    .option('--container-log-max-size <size>', 'container log size before rotation (one rotated file is kept)', '10Mi')
    .option('--proxy-healthz <host:port>', 'service proxy /healthz and /livez (kube-proxy\'s healthz-bind-address; default 127.0.0.1:10256 in host mode, 0.0.0.0:10256 in netns mode; 0: none)')
    .option('--proxy-metrics <host:port>', 'service proxy Prometheus /metrics (kube-proxy\'s metrics-bind-address; default 127.0.0.1:10249; 0: none)')
    .option('--nodeport-addresses <cidrs>', 'node IPs NodePorts answer on: comma-separated CIDRs, or "primary" (kube-proxy\'s nodeport-addresses; default: every node IP)')
    .option('--l2-announce-mode <mode>', 'how the LAN finds a LoadBalancer address this node announces (netns mode): arp (answer ARP for it, MetalLB\'s way) or address (add it to the interface, kube-vip\'s way)', 'arp');
}

export function registerAgent(program: Command): void {
  const cmd = program
    .command('agent')
    .description('run a node agent: register this node and run the pods bound to it')
    .option('--server <url>', 'the API server (with --token), e.g. https://127.0.0.1:6443')
    .option('--token <token>', 'bearer token for the API server')
    .option('--kubeconfig <file>', 'kubeconfig to reach the API server (instead of --server/--token)')
    .option('--certificate-authority <file>', 'CA of the API server\'s certificate (with --server)')
    .option('--insecure-skip-tls-verify', 'do not verify the API server\'s certificate (with --server)')
    .option('--node-name <name>', 'the Node\'s name (default: the hostname)')
    .option('--mode <mode>', 'pod runtime: host (no root; loopback addresses) or netns (root; network namespaces)', 'host')
    .option('--allow-host-network-namespace', 'netns mode in this machine\'s own network namespace (a dedicated node; without it netns mode runs only inside another namespace, e.g. a lab)')
    .option('--data-dir <dir>', 'pods\' state and logs, the runtime\'s state, the endpoint\'s certificate', './.svcnet-agent')
    .option('--node-ip <ips>', 'the node\'s addresses, comma-separated (default 127.0.0.1 in host mode)')
    .option('--address <ip>', 'where the agent endpoint listens (default: the first node IP)')
    .option('--port <port>', 'the agent endpoint\'s port (kubelet\'s 10250; 0 picks a free one)', '10250')
    .option('--client-ca-file <file>', 'CA whose client certificates may use the endpoint (default: the API server\'s CA)')
    .option('--pod-cidr <cidr>', 'pod CIDR to use until the node IPAM controller assigns one')
    .option('--cluster-dns <ips>', 'cluster DNS addresses for the pods\' resolv.conf, comma-separated')
    .option('--cluster-domain <domain>', 'DNS domain of the cluster', 'cluster.local')
    .option('--node-labels <labels>', 'extra labels of the Node, key=value,...')
    .option('--node-status-update-frequency <duration>', 'how often node status is computed (and posted when it changed)', '10s')
    .option('--node-lease-duration-seconds <n>', 'the node Lease\'s duration; it is renewed every quarter of it', '40');
  addDnsOptions(addAgentRuntimeOptions(cmd)).action(async (o: AgentFlags) => {
    await runAgent(o);
  });
}
