// `svcnet server`: the API server on its store (the embedded SQLite file by default), the
// controllers, and, as the parts land, this node's agent, the proxy and the cluster DNS, in one
// process. Prints one line saying how to use it; stops cleanly on SIGINT/SIGTERM.
import { resolve, join } from 'node:path';
import { openStore, startCompactor } from '../store/index.ts';
import { startServer } from '../apiserver/index.ts';
import { defaultControllers, startControllers } from '../controllers/index.ts';
import { logger } from '../util/index.ts';
import os from 'node:os';
import { defaultNodePlugins, parseL2AnnounceMode, startAgent, type RunningAgent } from '../agent/index.ts';
import { parseNodePortAddresses } from '../proxy/index.ts';
import { parseDurationMs, parseSize } from './agent.ts';
import { clusterDnsIP, type ClusterDnsInfo } from '../dns/index.ts';
import { dnsPluginOptions, dnsReadyText, type DnsFlags } from './dns.ts';

export type Mode = 'host' | 'netns';

export interface ServerFlags extends DnsFlags {
  dataDir: string;
  listen: string;
  store?: string;
  compactionInterval?: string;
  mode: string;
  serviceCidr?: string;
  serviceNodePortRange: string;
  clusterDomain: string;
  advertiseAddress?: string;
  /** --no-agent: run no agent for this node (agents join from elsewhere). */
  agent: boolean;
  nodeName?: string;
  clusterCidr?: string;
  imageTable?: string;
  crashloopBackoffInitial?: string;
  crashloopBackoffMax?: string;
  containerLogMaxSize?: string;
  proxyHealthz?: string;
  proxyMetrics?: string;
  nodeportAddresses?: string;
  l2AnnounceMode?: string;
  /** This node's addresses (the in-process agent's --node-ip; host mode default 127.0.0.1). */
  nodeIp?: string;
  /** Host mode's LoadBalancer pool when none is configured. */
  loadbalancerPool?: string;
  /** netns mode for this node's agent in the host's own network namespace (a dedicated node). */
  allowHostNetworkNamespace?: boolean;
}

/** Default Service CIDR per mode: kubeadm's in netns mode, a loopback range in host mode. */
export const defaultServiceCIDR: Record<Mode, string> = { host: '127.96.0.0/16', netns: '10.96.0.0/12' };

function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m) throw new Error(`${flag} ${JSON.stringify(s)}: expected a duration such as 500ms, 30s, 5m`);
  const n = Number(m[1]);
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

function parseMode(s: string): Mode {
  if (s !== 'host' && s !== 'netns') throw new Error(`--mode ${JSON.stringify(s)}: expected host or netns`);
  return s;
}

export async function runServer(flags: ServerFlags): Promise<void> {
  const log = logger('server');
  const started = performance.now();
  const mode = parseMode(flags.mode);
  // Checked before anything starts, also with --no-agent.
  const nodePortAddresses = parseNodePortAddresses(flags.nodeportAddresses ?? '');
  const l2announce = { mode: parseL2AnnounceMode(flags.l2AnnounceMode) };
  const dataDir = resolve(flags.dataDir);
  const storeSpec = flags.store ?? `sqlite:${dataDir}`;
  const serviceCIDRs = (flags.serviceCidr ?? defaultServiceCIDR[mode]).split(',').map((s) => s.trim()).filter(Boolean);
  const store = await openStore(storeSpec);
  const compactor = startCompactor(store, flags.compactionInterval ? { intervalMs: parseDuration(flags.compactionInterval, '--compaction-interval') } : {});
  const server = await startServer({
    dataDir,
    listen: flags.listen,
    store,
    serviceCIDRs,
    nodePortRange: flags.serviceNodePortRange,
    advertiseAddress: flags.advertiseAddress,
    loopbackAddresses: mode === 'host',
  });
  const clusterCIDRs = flags.clusterCidr ? flags.clusterCidr.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const controllers = await startControllers(server.client('system:kube-controller-manager', 'kube-controller-manager'), { serviceCIDRs, clusterDomain: flags.clusterDomain, mode, clusterCIDRs, loopbackLoadBalancerPool: flags.loadbalancerPool, rootCA: server.pki.caCert }, defaultControllers());
  // This node's agent, in-process (its endpoint on a free loopback port).
  let agent: RunningAgent | undefined;
  // The cluster DNS address (kube-dns's ClusterIP, which pods' resolv.conf names): the tenth of the Service CIDR.
  const dnsIP = clusterDnsIP(serviceCIDRs[0]);
  let dnsInfo: ClusterDnsInfo | undefined;
  if (flags.agent !== false) {
    const nodeName = (flags.nodeName ?? os.hostname()).toLowerCase();
    agent = await startAgent({
      client: server.client(`system:node:${nodeName}`, 'kubelet'),
      nodeName,
      mode,
      allowHostNetworkNamespace: flags.allowHostNetworkNamespace ?? false,
      dataDir: join(dataDir, 'agent'),
      nodeIPs: flags.nodeIp ? flags.nodeIp.split(',').map((s) => s.trim()).filter(Boolean) : mode === 'host' ? ['127.0.0.1'] : flags.advertiseAddress ? [flags.advertiseAddress] : undefined,
      port: 0,
      clientCA: server.pki.caCert,
      imageTablePath: flags.imageTable ? resolve(flags.imageTable) : undefined,
      clusterDomain: flags.clusterDomain,
      clusterDNS: mode === 'netns' ? [dnsIP] : undefined,
      backoffInitialMs: flags.crashloopBackoffInitial ? parseDurationMs(flags.crashloopBackoffInitial, '--crashloop-backoff-initial') : undefined,
      backoffMaxMs: flags.crashloopBackoffMax ? parseDurationMs(flags.crashloopBackoffMax, '--crashloop-backoff-max') : undefined,
      maxLogBytes: flags.containerLogMaxSize ? parseSize(flags.containerLogMaxSize, '--container-log-max-size') : undefined,
      plugins: defaultNodePlugins({
        proxy: { healthz: flags.proxyHealthz, metrics: flags.proxyMetrics, nodePortAddresses },
        l2announce,
        dns: dnsPluginOptions(flags, { clusterDomain: flags.clusterDomain, serviceIP: mode === 'netns' ? dnsIP : undefined, onServing: (i) => (dnsInfo = i) }),
      }),
    });
  }
  log.info({ url: server.url, store: storeSpec, mode, serviceCIDRs, ms: Math.round(performance.now() - started) }, 'svcnet server ready');
  process.stdout.write(`svcnet API server ready at ${server.url} (store ${storeSpec})${dnsReadyText(dnsInfo)}; use it with: export KUBECONFIG=${join(dataDir, 'kubeconfig')}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const hard = setTimeout(() => process.exit(1), 10_000);
    hard.unref();
    void (async () => {
      await agent?.stop();
      await controllers.stop();
      await server.close();
      await compactor.stop();
      await store.close();
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
