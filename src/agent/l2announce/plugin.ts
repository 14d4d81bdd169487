// LoadBalancer addresses on the LAN as a node plugin (MetalLB's speaker in layer 2 mode), in
// netns mode only: host mode's LoadBalancer addresses are loopback ones and need no announcing,
// and no ARP ever leaves a host-mode node.
import type { ConfigMap, Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ConfigMaps, EndpointSlices, IPAddressPools, L2Advertisements, Nodes, Services } from '../../api/index.ts';
import type { IPAddressPool, L2Advertisement } from '../../api/validation/index.ts';
import { EventRecorder } from '../../client/index.ts';
import type { NodePlugin, NodePluginContext, RunningPlugin } from '../plugins.ts';
import { L2Announcer } from './announcer.ts';
import { metallbNamespace } from './core.ts';
import { ArpExecutor, type L2Executor } from './executor.ts';
import { AddressExecutor } from './address-executor.ts';
import { PeerLiveness, defaultLivenessPort, type Liveness, type Peer } from './liveness.ts';

/** MetalLB's speaker signs its Events so ("From" in kubectl describe). */
export const eventComponent = 'metallb-speaker';

export type L2AnnounceMode = 'arp' | 'address';

export function parseL2AnnounceMode(s: string | undefined): L2AnnounceMode {
  if (s === undefined || s === 'arp') return 'arp';
  if (s === 'address') return s;
  throw new Error(`--l2-announce-mode ${JSON.stringify(s)}: expected arp or address`);
}

export interface L2AnnouncePluginOptions {
  /** UDP port of the announcers' heartbeats (MetalLB's memberlist port, 7946); 0: no heartbeats (Node Ready only). */
  livenessPort?: number;
  /** Heartbeat interval (default 1 s) and the silence after which a node counts as gone (default 5 s). */
  heartbeatIntervalMs?: number;
  deadAfterMs?: number;
  /**
   * How the LAN finds an address this node announces: "arp", an ARP responder without adding the
   * address (MetalLB's way, the default), or "address", the address added to the interface
   * (kube-vip's way). Gratuitous ARP on takeover either way.
   */
  mode?: L2AnnounceMode;
  /** For tests: the executor (default: per mode, in the agent's namespace). */
  executor?: (ctx: NodePluginContext) => L2Executor;
}

function peersOf(nodes: readonly Node[]): Peer[] {
  return nodes.map((n) => ({
    name: n.metadata?.name ?? '',
    addresses: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address),
  }));
}

export function l2AnnouncePlugin(o: L2AnnouncePluginOptions = {}): NodePlugin {
  return {
    name: 'l2announce',
    async start(ctx: NodePluginContext): Promise<RunningPlugin> {
      const log = ctx.log;
      const nodeIP = ctx.nodeIPs[0];
      if (ctx.mode !== 'netns' || !nodeIP) {
        log.debug({ mode: ctx.mode }, 'LoadBalancer addresses are announced in netns mode only');
        return { stop: async () => {} };
      }
      if (/^127\./.test(nodeIP) || nodeIP === '::1') {
        log.error({ nodeIP }, 'not announcing LoadBalancer addresses: the node\'s address is a loopback one (start the node with its LAN address)');
        return { stop: async () => {} };
      }
      const nodes = ctx.informers.informerFor<Node>(Nodes);
      const recorder = new EventRecorder(ctx.client, eventComponent, ctx.nodeName);
      // The heartbeats start first (the announcer needs them); they reach it through this.
      let onLivenessChange = () => {};
      let liveness: Liveness | undefined;
      const port = o.livenessPort ?? defaultLivenessPort;
      if (port !== 0) {
        try {
          liveness = await PeerLiveness.start({
            nodeName: ctx.nodeName,
            bindAddress: nodeIP,
            port,
            peers: () => peersOf(nodes.list()).filter((p) => p.name !== ctx.nodeName),
            onChange: () => onLivenessChange(),
            ...(o.heartbeatIntervalMs !== undefined ? { intervalMs: o.heartbeatIntervalMs } : {}),
            ...(o.deadAfterMs !== undefined ? { deadAfterMs: o.deadAfterMs } : {}),
            log,
          });
        } catch (e) {
          // Without heartbeats a node still announces, judging others by their Ready condition
          // (slower failover: the node lifecycle controller's grace period).
          log.error({ err: e, port }, 'cannot listen for announcer heartbeats; judging nodes by their Ready condition only');
        }
      }
      const announcer = new L2Announcer({
        nodeName: ctx.nodeName,
        nodeIP,
        services: ctx.informers.informerFor<Service>(Services),
        endpointSlices: ctx.informers.informerFor<EndpointSlice>(EndpointSlices),
        nodes,
        ipAddressPools: ctx.informers.informerFor<IPAddressPool>(IPAddressPools, { namespace: metallbNamespace }),
        l2Advertisements: ctx.informers.informerFor<L2Advertisement>(L2Advertisements, { namespace: metallbNamespace }),
        configMaps: ctx.informers.informerFor<ConfigMap>(ConfigMaps, { namespace: metallbNamespace }),
        executor: o.executor ? o.executor(ctx) : o.mode === 'address' ? new AddressExecutor({ log }) : new ArpExecutor({ log }),
        ...(liveness ? { liveness } : {}),
        event: (svc, reason, message) => void recorder.event(svc, 'Normal', reason, message),
        log,
      });
      onLivenessChange = () => announcer.trigger();
      announcer.start();
      log.info({ nodeIP, livenessPort: liveness ? port : undefined, mode: o.mode ?? 'arp' }, 'layer 2 announcer started');
      return {
        async stop() {
          await liveness?.stop();
          await announcer.stop();
        },
      };
    },
  };
}
