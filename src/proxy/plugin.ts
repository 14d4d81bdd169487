// The service proxy as a node plugin (svcnet's kube-proxy, one per node, started by the agent):
// the proxier on the agent's informers, with the userspace backend in host mode and the nftables
// backend (real nft) in netns mode; /healthz and /livez on --proxy-healthz (kube-proxy's :10256),
// Prometheus metrics on --proxy-metrics (kube-proxy's :10249), healthCheckNodePort servers.
//
// Host mode binds loopback addresses only (docs/design.md, network safety): health and metrics
// default to 127.0.0.1, and a non-loopback address given for them is refused with a log line.
// A port already taken (several svcnet servers on one machine) costs that server its health or
// metrics endpoint, with a warning, never the proxy itself.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { Registry } from 'prom-client';
import { EndpointSlices, Nodes, Services } from '../api/index.ts';
import { ipString, parseCIDRSloppy } from '../api/validation/index.ts';
import type { NodePlugin, NodePluginContext, RunningPlugin } from '../agent/index.ts';
import type { Logger } from '../util/index.ts';
import type { Nftables } from './nftables/index.ts';
import { startProxier, type Proxier, type ProxierOptions } from './proxier.ts';
import { UserspaceBackend, isLoopback } from './userspace/index.ts';

export interface ProxyPluginOptions {
  /** --proxy-healthz host:port ("" or "0": none); default 127.0.0.1:10256 in host mode, 0.0.0.0:10256 in netns mode. */
  healthz?: string;
  /** --proxy-metrics host:port ("" or "0": none); default 127.0.0.1:10249. */
  metrics?: string;
  /** kube-proxy's --min-sync-period (default 1 s) and --sync-period (default 30 s). */
  minSyncPeriodMs?: number;
  syncPeriodMs?: number;
  /** netns mode: how long to wait for the node's pod CIDR before starting without it (default 60 s). */
  podCIDRWaitMs?: number;
  /** netns mode: an nftables executor other than the real nft (a fake, in tests). */
  nftables?: Nftables;
  /** kube-proxy's --nodeport-addresses, parsed (parseNodePortAddresses): the CIDRs whose node IPs NodePorts answer on; empty: every node IP. */
  nodePortAddresses?: string[];
}

export const DefaultProxyHealthzPort = 10256;
export const DefaultProxyMetricsPort = 10249;

/** "host:port", "[v6]:port" or ":port" → host and port; undefined for "" or "0" (disabled). */
export function parseHostPort(s: string, defaultHost: string): { host: string; port: number } | undefined {
  const v = s.trim();
  if (v === '' || v === '0') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) throw new Error(`${JSON.stringify(s)}: expected host:port, e.g. 127.0.0.1:10256`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${JSON.stringify(s)}: port out of range`);
  return { host: m[1] ?? (m[2] || defaultHost), port };
}

/**
 * kube-proxy's --nodeport-addresses: comma-separated CIDRs, or "primary" (the node's own IPs,
 * which is also what an empty value means here). Returns the CIDRs in canonical form.
 */
export function parseNodePortAddresses(s: string): string[] {
  const v = s.trim();
  if (v === '' || v === 'primary') return [];
  return v.split(',').map((part) => {
    const c = part.trim();
    // Parsed as kube-proxy parses it (ParseCIDRSloppy).
    const cidr = parseCIDRSloppy(c);
    if (!cidr) throw new Error(`--nodeport-addresses ${JSON.stringify(c)}: must be a valid CIDR, e.g. 192.168.0.0/16, or "primary"`);
    return `${ipString(cidr.ip)}/${cidr.prefix}`;
  });
}

function address(spec: string | undefined, mode: 'host' | 'netns', defaultPort: number, what: string, log: Logger): { host: string; port: number } | undefined {
  const defaultHost = mode === 'host' ? '127.0.0.1' : '0.0.0.0';
  const a = spec === undefined ? { host: what === 'metrics' ? '127.0.0.1' : defaultHost, port: defaultPort } : parseHostPort(spec, defaultHost);
  if (a && mode === 'host' && !isLoopback(a.host)) {
    log.error({ address: a.host }, `not serving proxy ${what} on ${a.host}: host mode listens on loopback addresses only`);
    return undefined;
  }
  return a;
}

const podCIDRsOf = (n: Node | undefined): string[] => (n?.spec?.podCIDRs?.length ? n.spec.podCIDRs : n?.spec?.podCIDR ? [n.spec.podCIDR] : []);

async function serveMetrics(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(body),
      (e: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(e)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** The proxy plugin: registered in defaultNodePlugins(). */
export function proxyPlugin(o: ProxyPluginOptions = {}): NodePlugin {
  return {
    name: 'proxy',
    async start(ctx: NodePluginContext): Promise<RunningPlugin> {
      const log = ctx.log;
      const services = ctx.informers.informerFor<Service>(Services);
      const slices = ctx.informers.informerFor<EndpointSlice>(EndpointSlices);
      const nodes = ctx.informers.informerFor<Node>(Nodes, { fieldSelector: `metadata.name=${ctx.nodeName}` });
      const healthz = address(o.healthz, ctx.mode, DefaultProxyHealthzPort, 'healthz', log);
      const metricsAt = address(o.metrics, ctx.mode, DefaultProxyMetricsPort, 'metrics', log);
      const registry = new Registry();
      let userspace: UserspaceBackend | undefined;
      let proxier: Proxier | undefined;
      let metricsServer: Server | undefined;
      let stopped = false;

      const start = async (): Promise<void> => {
        await nodes.waitForSync();
        const self = nodes.get(ctx.nodeName);
        const opts: ProxierOptions = {
          services,
          endpointSlices: slices,
          nodeName: ctx.nodeName,
          nodeIPs: [...ctx.nodeIPs],
          podCIDRs: podCIDRsOf(self),
          ...(self?.metadata?.labels ? { nodeLabels: self.metadata.labels } : {}),
          registry,
          // Bound below, so that a port in use costs only the health endpoint.
          healthz: false,
          serviceHealthHost: ctx.mode === 'host' ? (ctx.nodeIPs.find(isLoopback) ?? '127.0.0.1') : '0.0.0.0',
          ...(o.minSyncPeriodMs !== undefined ? { minSyncPeriodMs: o.minSyncPeriodMs } : {}),
          ...(o.syncPeriodMs !== undefined ? { syncPeriodMs: o.syncPeriodMs } : {}),
          ...(o.nodePortAddresses?.length ? { nodePortAddresses: o.nodePortAddresses } : {}),
          log,
        };
        if (ctx.mode === 'host') opts.backend = (config, node) => (userspace = new UserspaceBackend({ config, node, log: log.child({ backend: 'userspace' }) }));
        // netns mode: the default backend, nftables through the real nft, in the namespace the agent runs in.
        else if (o.nftables) opts.nftables = o.nftables;
        const p = startProxier(opts);
        if (stopped) {
          await p.stop();
          return;
        }
        proxier = p;
        if (healthz) {
          await p.health.listen(healthz.host, healthz.port).then(
            (a) => log.info({ address: `${a.address}:${a.port}` }, 'proxy healthz serving'),
            (e: unknown) => log.warn({ err: e, address: `${healthz.host}:${healthz.port}` }, 'cannot serve proxy /healthz and /livez; the proxy runs without them'),
          );
        }
        if (metricsAt) {
          await serveMetrics(registry, metricsAt.host, metricsAt.port).then(
            (s) => {
              metricsServer = s;
              const a = s.address() as AddressInfo;
              log.info({ address: `${a.address}:${a.port}` }, 'proxy metrics serving');
            },
            (e: unknown) => log.warn({ err: e, address: `${metricsAt.host}:${metricsAt.port}` }, 'cannot serve proxy metrics; the proxy runs without them'),
          );
        }
        log.info({ mode: ctx.mode, backend: ctx.mode === 'host' ? 'userspace' : 'nftables', nodeIPs: ctx.nodeIPs, podCIDRs: opts.podCIDRs }, 'service proxy started');
      };

      let starting: Promise<void>;
      if (ctx.mode === 'host') {
        starting = start();
        await starting;
      } else {
        // kube-proxy waits for the node's pod CIDR (its local-traffic detector) before proxying;
        // the agent goes on meanwhile.
        starting = (async () => {
          const deadline = Date.now() + (o.podCIDRWaitMs ?? 60_000);
          await nodes.waitForSync();
          while (!stopped && podCIDRsOf(nodes.get(ctx.nodeName)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
          if (stopped) return;
          if (podCIDRsOf(nodes.get(ctx.nodeName)).length === 0) log.warn('the node has no pod CIDR yet; starting the proxy without a local-traffic detector');
          await start();
        })().catch((e: unknown) => log.error({ err: e }, 'service proxy did not start'));
      }

      return {
        async stop() {
          stopped = true;
          await starting.catch(() => undefined);
          await proxier?.stop();
          await userspace?.close();
          const ms = metricsServer;
          if (ms) await new Promise<void>((r) => ms.close(() => r()));
        },
      };
    },
  };
}
