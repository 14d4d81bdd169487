// The cluster DNS as a node plugin: one server per node, fed by the agent's informers (over the
// agent's client, so it works against any API server). In netns mode it answers on the node's
// address, port 53, UDP and TCP, and marks its Node with that address once it has synced; the
// kubedns controller keeps the kube-dns Service's endpoints to the marked, Ready nodes, so the
// proxy carries the cluster DNS address (10.96.0.10:53) to them. In host mode it answers on a
// loopback address and port (--dns-listen; default 127.0.0.1:1053, a free port when that is
// taken). Metrics, /health and /ready are served over HTTP beside it (CoreDNS's :9153).
import http from 'node:http';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Namespace, Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { EndpointSlices, Namespaces, Nodes, Pods, Services } from '../api/index.ts';
import type { NodePlugin, NodePluginContext, RunningPlugin } from '../agent/index.ts';
import type { PodsMode } from './records.ts';
import { startDnsServer, type DnsServer, type ListenAddress } from './server.ts';
import { joinHostPort } from '../util/index.ts';

/**
 * On a Node: the address its cluster DNS answers on (port 53), set once the server has synced and
 * removed when it stops. The kubedns controller lists the Ready nodes carrying it as kube-dns's endpoints.
 */
export const servingAddressAnnotation = 'dns.svcnet.io/serving-address';

/** Host mode's listener when --dns-listen gives none. */
export const defaultHostListen: ListenAddress = { host: '127.0.0.1', port: 1053 };

/** CoreDNS's prometheus port, also kube-dns's `metrics` Service port. */
export const metricsPort = 9153;

export interface ClusterDnsOptions {
  /** false: no cluster DNS on this node. Default true. */
  enabled?: boolean;
  /** Default "cluster.local". */
  clusterDomain?: string;
  /**
   * --dns-listen: listeners added in every mode. In host mode they replace the default one
   * (`defaultHostListen`); in netns mode they come besides the node's address, port 53.
   */
  listen?: ListenAddress[];
  /** --dns-upstream; default the nameservers of `resolvConf`. */
  upstreams?: string[];
  /** Where the node's nameservers are read when no upstreams are given. Default /etc/resolv.conf. */
  resolvConf?: string;
  /** --dns-workers: UDP worker processes besides the agent's. Default 0. */
  udpWorkers?: number;
  /** Default "insecure" (kubeadm's Corefile). */
  podsMode?: PodsMode;
  /** Default 5 s. */
  ttl?: number;
  /** The kube-dns ClusterIP, given as the glue of the apex NS (ns.dns.<zone>). */
  serviceIP?: string;
  /** Where metrics, /health and /ready are served; default the first listener's host, port 9153 (a free one in host mode when taken). */
  metricsListen?: ListenAddress;
  /** Told where the server answers, once it does (the CLI prints it). */
  onServing?: (info: ClusterDnsInfo) => void;
}

export interface ClusterDnsInfo {
  addresses: ListenAddress[];
  /** http://host:port of /metrics, /health and /ready. */
  metricsUrl: string;
}

export function formatListen(a: ListenAddress): string {
  return joinHostPort(a.host, a.port);
}

/** "127.0.0.1:1053", "[::1]:53", "10.0.0.1" (port 53). */
export function parseListen(s: string): ListenAddress {
  const t = s.trim();
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(t) ?? /^([^:]+)(?::(\d+))?$/.exec(t);
  const host = m?.[1] ?? t;
  const port = m?.[2] !== undefined ? Number(m[2]) : 53;
  if (!net.isIP(host)) throw new Error(`--dns-listen ${JSON.stringify(s)}: expected ADDRESS:PORT with an IP address`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--dns-listen ${JSON.stringify(s)}: bad port`);
  return { host, port };
}

function isAddrInUse(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

function listenHttp(server: http.Server, at: ListenAddress): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: at.host, port: at.port, exclusive: true }, () => {
      server.off('error', reject);
      const a = server.address() as net.AddressInfo;
      resolve({ host: at.host, port: a.port });
    });
  });
}

export function clusterDnsPlugin(opts: ClusterDnsOptions = {}): NodePlugin {
  return {
    name: 'dns',
    async start(ctx: NodePluginContext): Promise<RunningPlugin> {
      if (opts.enabled === false) {
        ctx.log.info('cluster DNS disabled on this node');
        return { stop: async () => undefined };
      }
      const netns = ctx.mode === 'netns';
      const extra = opts.listen ?? [];
      const nodeAddress = ctx.nodeIPs[0];
      let listen: ListenAddress[];
      if (netns) listen = [{ host: nodeAddress, port: 53 }, ...extra.filter((a) => !(a.host === nodeAddress && a.port === 53))];
      else listen = extra.length ? extra : [defaultHostListen];
      const podsMode = opts.podsMode ?? 'insecure';
      const start = (at: ListenAddress[]): Promise<DnsServer> =>
        startDnsServer({
          services: ctx.informers.informerFor<Service>(Services),
          endpointSlices: ctx.informers.informerFor<EndpointSlice>(EndpointSlices),
          namespaces: ctx.informers.informerFor<Namespace>(Namespaces),
          pods: podsMode === 'verified' ? ctx.informers.informerFor<Pod>(Pods) : undefined,
          // The agent's factory starts (and stops) them; others on this node may share them.
          startInformers: false,
          clusterDomain: opts.clusterDomain,
          ttl: opts.ttl,
          podsMode,
          listen: at,
          upstreams: opts.upstreams?.length ? opts.upstreams : undefined,
          resolvConf: opts.resolvConf,
          nsAddresses: opts.serviceIP ? [opts.serviceIP] : undefined,
          udpWorkers: opts.udpWorkers,
        });
      let dns: DnsServer | undefined;
      for (let attempt = 0; !dns; attempt++) {
        try {
          dns = await start(listen);
        } catch (e) {
          if (!isAddrInUse(e)) throw e;
          if (!netns && !extra.length) {
            // Host mode's default port may be another server's on this machine: take a free one
            // (printed in the ready line).
            ctx.log.warn({ listen: formatListen(defaultHostListen) }, 'cluster DNS: the default port is taken; listening on a free one');
            listen = [{ host: defaultHostListen.host, port: 0 }];
          } else if (attempt < 50) {
            // A listener of the node (or asked for by flag) is not second-guessed, but the
            // previous agent's processes may still be letting go of it after a restart.
            await new Promise((r) => setTimeout(r, 200));
          } else {
            throw e;
          }
        }
      }

      const web = http.createServer((req, res) => {
        if (!dns.httpHandler(req, res)) {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('404 page not found\n');
        }
      });
      const wantMetrics = opts.metricsListen ?? { host: dns.addresses[0].host, port: metricsPort };
      let metricsAt: ListenAddress | undefined;
      try {
        metricsAt = await listenHttp(web, wantMetrics);
      } catch (e) {
        if (!isAddrInUse(e) || netns || opts.metricsListen) {
          ctx.log.warn({ err: (e as Error).message, listen: formatListen(wantMetrics) }, 'cluster DNS: metrics not served');
        } else {
          metricsAt = await listenHttp(web, { host: wantMetrics.host, port: 0 }).catch(() => undefined);
        }
      }
      const metricsUrl = metricsAt ? `http://${formatListen(metricsAt)}` : '';

      // netns mode: kube-dns's endpoints are the nodes that carry their serving address.
      let annotated = false;
      let stopping = false;
      const annotate = async (value: string | null): Promise<void> => {
        await ctx.client.patch<Node>(Nodes, undefined, ctx.nodeName, 'merge', { metadata: { annotations: { [servingAddressAnnotation]: value } } });
      };
      if (netns) {
        void dns.synced
          .then(async () => {
            // The Node may not be registered quite yet: retry a while.
            for (let i = 0; i < 60 && !stopping; i++) {
              try {
                await annotate(nodeAddress);
                annotated = true;
                ctx.log.info({ address: nodeAddress }, 'cluster DNS: serving; node marked for kube-dns endpoints');
                return;
              } catch (e) {
                ctx.log.debug({ err: (e as Error).message }, 'cluster DNS: marking the node failed; retrying');
                await new Promise((r) => setTimeout(r, 500));
              }
            }
          })
          .catch((e: unknown) => ctx.log.warn({ err: (e as Error).message }, 'cluster DNS: could not mark the node'));
      }
      ctx.log.info({ listen: dns.addresses.map(formatListen), metrics: metricsUrl, mode: ctx.mode }, 'cluster DNS started');
      opts.onServing?.({ addresses: dns.addresses, metricsUrl });

      return {
        async stop() {
          stopping = true;
          if (annotated) {
            // Out of kube-dns's endpoints before the listeners close.
            await Promise.race([annotate(null).catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
          }
          web.closeAllConnections();
          await new Promise<void>((r) => web.close(() => r()));
          await dns.stop();
        },
      };
    },
  };
}

/** The cluster DNS address of a Service CIDR: its tenth address (kubeadm's GetDNSIP), e.g. 10.96.0.10. */
export function clusterDnsIP(cidr: string): string {
  const [addr, bits] = ipaddr.parseCIDR(cidr.trim());
  const bytes = addr.toByteArray();
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  const hostBits = BigInt(bytes.length * 8 - bits);
  n = ((n >> hostBits) << hostBits) + 10n;
  const out: number[] = [];
  for (let i = bytes.length - 1; i >= 0; i--) out[i] = Number((n >> BigInt((bytes.length - 1 - i) * 8)) & 0xffn);
  return ipaddr.fromByteArray(out).toString();
}
