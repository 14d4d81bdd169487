// Node-level plugins: components that run once per node beside the agent, with its client and
// node name. The service proxy (src/proxy, startProxier) and the cluster DNS (src/dns,
// startDnsServer) are meant to be started here; `defaultNodePlugins` lists what `svcnet agent`
// and `svcnet server` start on every node.
import type { Client, InformerFactory } from '../client/index.ts';
import type { Logger } from '../util/index.ts';
import { proxyPlugin, type ProxyPluginOptions } from '../proxy/index.ts';
import { l2AnnouncePlugin, type L2AnnouncePluginOptions } from './l2announce/index.ts';
import { clusterDnsPlugin, type ClusterDnsOptions } from '../dns/index.ts';

export interface NodePluginContext {
  client: Client;
  nodeName: string;
  mode: 'host' | 'netns';
  /** The node's addresses, primary first. */
  nodeIPs: readonly string[];
  /** A directory of the plugin's own under the agent's data dir. */
  dataDir: string;
  /** The agent's informers (already started): share them rather than watching twice. */
  informers: InformerFactory;
  log: Logger;
}

export interface RunningPlugin {
  stop(): Promise<void>;
}

export interface NodePlugin {
  readonly name: string;
  start(ctx: NodePluginContext): Promise<RunningPlugin>;
}

/** Settings of the default plugins (from the command line). */
export interface DefaultPluginOptions {
  proxy?: ProxyPluginOptions;
  /** LoadBalancer addresses on the LAN (netns mode). */
  l2announce?: L2AnnouncePluginOptions;
  dns?: ClusterDnsOptions;
}

/** The plugins every node runs; add the proxy and DNS here (one entry each). */
export function defaultNodePlugins(o: DefaultPluginOptions = {}): NodePlugin[] {
  return [proxyPlugin(o.proxy), clusterDnsPlugin(o.dns), l2AnnouncePlugin(o.l2announce)];
}
