// The thin shell: informers feed the model, UDP and TCP listeners feed the engine, the
// forwarder talks to the upstreams, and a health/ready handler reports on it all.
import dgram from 'node:dgram';
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { Namespace, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Informer } from '../client/index.ts';
import { AggregatorRegistry } from 'prom-client';
import { limitedErrorLog, log } from './log.ts';
import type { Listener } from './engine.ts';
import { parseUpstream, readResolvConf, type Upstream } from './forward.ts';
import { applyOp, DnsModel, modelDigest, namespaceName, toDnsPod, toDnsService, toDnsSlice, type ConvertOptions, type ModelOp } from './model.ts';
import type { DnsConfig, PodsMode } from './records.ts';
import { createEngine, serveUdp, type EngineSettings } from './setup.ts';
import { UdpWorkers, type WorkerInfo } from './workers.ts';
import { joinHostPort } from '../util/index.ts';

const logError = limitedErrorLog();

export interface ListenAddress {
  host: string;
  /** 0: any free port (the chosen one is reported in `addresses`). */
  port: number;
}

export interface DnsServerOptions {
  services: Informer<Service>;
  endpointSlices: Informer<EndpointSlice>;
  namespaces: Informer<Namespace>;
  /** Needed for `podsMode: 'verified'` only (CoreDNS watches pods only then). */
  pods?: Informer<Pod>;
  /** Call start() on the informers (default true); pass false when the caller starts shared ones. */
  startInformers?: boolean;
  /** Default "cluster.local". */
  clusterDomain?: string;
  /** Default ["in-addr.arpa", "ip6.arpa"]. */
  reverseZones?: string[];
  /** Unknown reverse names go to the upstreams (kubeadm's `fallthrough in-addr.arpa ip6.arpa`). Default true. */
  reverseFallthrough?: boolean;
  /** TTL of cluster records and SOA minimum, 0-3600 s. Default 5. */
  ttl?: number;
  /** Pod A records `a-b-c-d.<ns>.pod.<zone>`. Default "disabled" (CoreDNS's; kubeadm sets "insecure"). */
  podsMode?: PodsMode;
  /** Name hostname-less endpoints after their pods (CoreDNS `endpoint_pod_names`). Default false. */
  endpointPodNames?: boolean;
  /** Where to listen, UDP and TCP on each. Default 127.0.0.1, any free port. */
  listen?: ListenAddress[];
  /** The DNS service's own addresses (glue of the apex NS, `ns.dns.<zone>`). Default: the listen hosts. */
  nsAddresses?: string[];
  /** Upstream resolvers ("10.0.0.2", "10.0.0.2:53", "[fd00::1]:53"); default: `resolvConf`'s nameservers. */
  upstreams?: string[];
  /** Read when `upstreams` is not given. Default "/etc/resolv.conf". */
  resolvConf?: string;
  /** Entries of the cache of forwarded answers. Default 9984 (CoreDNS's). */
  cacheSize?: number;
  forward?: { maxFails?: number; healthCheckMs?: number; readTimeoutMs?: number; deadlineMs?: number; maxConcurrent?: number };
  /** Largest UDP answer whatever the client advertises. Default 1232. */
  maxUdpSize?: number;
  /** TCP: idle connections are closed after this long (default 10 s); at most this many at once (default 1000). */
  tcpIdleMs?: number;
  maxTcpConnections?: number;
  /** Where the metrics go; default a registry of its own. */
  metricsRegistry?: Registry;
  /**
   * Extra processes reading the UDP sockets, each with a replica of the model (Node.js serves
   * datagrams on one thread). Default 0: everything in this process (tests, small nodes).
   */
  udpWorkers?: number;
  /** How often UDP workers are pinged; one silent for three pings is restarted. Default 5 s. */
  udpWorkerHeartbeatMs?: number;
}

export interface DnsServer {
  /** The addresses actually listened on (ports resolved). */
  addresses: ListenAddress[];
  /** The registry holding this process's coredns_* metrics (without the UDP workers'). */
  registry: Registry;
  /** The Prometheus text of every process's metrics, summed (what /metrics serves). */
  metricsText(): Promise<string>;
  /** The UDP worker processes (empty without `udpWorkers`). */
  workers(): WorkerInfo[];
  /** Digests of the model and of every worker's replica (the model's first); equal when consistent. */
  replicaDigests(): Promise<string[]>;
  /** Tests: makes a UDP worker exit as a crash would, or hang as an endless loop would. */
  crashWorker(slot: number, how?: 'crash' | 'hang'): void;
  /** The model being answered from (read-only use: tests, debugging). */
  model: DnsModel;
  /** Serving: every listener is up. */
  healthy(): boolean;
  /** Synced: every informer has delivered its first list (NXDOMAIN is trustworthy). */
  ready(): boolean;
  /** Resolves once the informers have synced. */
  synced: Promise<void>;
  /**
   * Serves `/health` ("OK" while serving, as CoreDNS's health plugin), `/ready` ("OK" once
   * synced, else 503) and `/metrics` on an HTTP server of the caller's; false for other paths.
   */
  httpHandler(req: IncomingMessage, res: ServerResponse): boolean;
  stop(): Promise<void>;
}

function wildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function upstreamsOf(opts: DnsServerOptions): Upstream[] {
  if (opts.upstreams) return opts.upstreams.map(parseUpstream);
  const file = opts.resolvConf ?? '/etc/resolv.conf';
  try {
    return readResolvConf(file).map(parseUpstream);
  } catch (e) {
    log.warn({ err: (e as Error).message, file }, 'dns: cannot read the upstream resolvers');
    return [];
  }
}

/** Feeds the model from the informers, as changes given to `apply`; resolves when all have synced. */
function feed(apply: (op: ModelOp) => void, opts: DnsServerOptions, conv: ConvertOptions, verifiedPods: boolean): Promise<void> {
  const setService = (s: Service): void => {
    const svc = toDnsService(s);
    if (svc) apply({ op: 'service', svc });
  };
  opts.services.addEventHandler({
    onAdd: setService,
    onUpdate: (_o, s) => setService(s),
    onDelete: (s) => {
      if (s.metadata?.name && s.metadata.namespace) apply({ op: 'service-', name: s.metadata.name, namespace: s.metadata.namespace });
    },
  });
  const sliceKey = (s: EndpointSlice): string => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
  const setSlice = (s: EndpointSlice): void => {
    const slice = toDnsSlice(s, conv);
    apply(slice ? { op: 'slice', slice } : { op: 'slice-', key: sliceKey(s) });
  };
  opts.endpointSlices.addEventHandler({ onAdd: setSlice, onUpdate: (_o, s) => setSlice(s), onDelete: (s) => apply({ op: 'slice-', key: sliceKey(s) }) });
  opts.namespaces.addEventHandler({
    onAdd: (n) => {
      const name = namespaceName(n);
      if (name) apply({ op: 'namespace', name, exists: true });
    },
    onDelete: (n) => {
      const name = namespaceName(n);
      if (name) apply({ op: 'namespace', name, exists: false });
    },
  });
  const informers: { hasSynced(): boolean; waitForSync(): Promise<void>; start(): void }[] = [opts.services, opts.endpointSlices, opts.namespaces];
  if (verifiedPods) {
    if (!opts.pods) throw new Error('podsMode "verified" needs the pods informer');
    const setPod = (p: Pod): void => {
      const pod = toDnsPod(p);
      if (pod) apply({ op: 'pod', pod });
    };
    opts.pods.addEventHandler({
      onAdd: setPod,
      onUpdate: (_o, p) => setPod(p),
      onDelete: (p) => apply({ op: 'pod-', key: `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}` }),
    });
    informers.push(opts.pods);
  }
  if (opts.startInformers !== false) for (const i of informers) i.start();
  return Promise.all(informers.map((i) => i.waitForSync())).then(() => apply({ op: 'synced' }));
}

async function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  const v6 = net.isIPv6(host);
  const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, lookup: (a, _o, cb) => cb(null, a, v6 ? 6 : 4) });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: host, port, exclusive: true }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  // A deep receive buffer rides out bursts while the event loop is busy.
  try {
    sock.setRecvBufferSize(4 * 1024 * 1024);
    sock.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    // The kernel caps these (net.core.rmem_max); what it grants is fine.
  }
  return sock;
}

async function bindTcp(server: net.Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: net.isIPv6(host), exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts the cluster DNS: listeners up and answering when this resolves (sync may still be under way). */
export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const listen = opts.listen ?? [{ host: '127.0.0.1', port: 0 }];
  if (listen.length === 0) throw new Error('dns: nothing to listen on');
  for (const l of listen) if (!net.isIP(l.host)) throw new Error(`dns: listen host ${JSON.stringify(l.host)} is not an IP address`);
  const ttl = opts.ttl ?? 5;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new Error('dns: ttl must be 0-3600 seconds');
  const registry = opts.metricsRegistry ?? new Registry();
  const model = new DnsModel();
  const podsMode = opts.podsMode ?? 'disabled';

  const udps: dgram.Socket[] = [];
  const tcps: net.Server[] = [];
  const conns = new Set<net.Socket>();
  const addresses: ListenAddress[] = [];
  const closeAll = (): void => {
    for (const u of udps) u.close();
    for (const t of tcps) t.close();
    for (const c of conns) c.destroy();
  };
  try {
    for (const l of listen) {
      // Port 0: take the UDP port the kernel picks and the same for TCP (retrying if TCP's is taken).
      for (let attempt = 0; ; attempt++) {
        const u = await bindUdp(l.host, l.port);
        const port = u.address().port;
        const t = net.createServer();
        try {
          await bindTcp(t, l.host, port);
        } catch (e) {
          u.close();
          if (l.port === 0 && attempt < 20) continue;
          throw e;
        }
        udps.push(u);
        tcps.push(t);
        addresses.push({ host: l.host, port });
        break;
      }
    }
  } catch (e) {
    closeAll();
    throw e;
  }

  const servers = addresses.map((a) => `dns://${net.isIPv6(a.host) ? `[${a.host}]` : a.host}:${a.port}`);
  const own = new Set(addresses.map((a) => `${a.host}:${a.port}`));
  const upstreams = upstreamsOf(opts).filter((u) => {
    const self = own.has(`${u.host}:${u.port}`) || addresses.some((a) => wildcard(a.host) && a.port === u.port && (u.host.startsWith('127.') || u.host === '::1'));
    if (self) log.warn({ upstream: u.label }, 'dns: not forwarding to itself');
    return !self;
  });
  if (upstreams.length === 0) log.warn('dns: no upstream resolvers; names outside the cluster get SERVFAIL');
  const config: DnsConfig = {
    clusterDomain: (opts.clusterDomain ?? 'cluster.local').replace(/\.$/, '').toLowerCase(),
    reverseZones: opts.reverseZones ?? ['in-addr.arpa', 'ip6.arpa'],
    ttl,
    podsMode,
    nsAddresses: opts.nsAddresses ?? addresses.map((a) => a.host).filter((h) => !wildcard(h)),
    reverseFallthrough: opts.reverseFallthrough ?? true,
  };
  const settings: EngineSettings = {
    config,
    upstreams,
    forward: opts.forward ?? {},
    cacheSize: opts.cacheSize ?? 9984,
    maxUdpSize: opts.maxUdpSize ?? 1232,
    servers,
  };
  const parts = createEngine(model, settings, registry);
  const engine = parts.engine;

  let stopped = false;
  const idleMs = opts.tcpIdleMs ?? 10_000;
  const maxConns = opts.maxTcpConnections ?? 1000;
  addresses.forEach((a, index) => {
    const v6 = net.isIPv6(a.host);
    serveUdp(engine, udps[index], index, v6, servers[index], () => stopped);

    const tl: Listener<net.Socket> = {
      index,
      tcp: true,
      v6,
      send: (out, sock) => writeFrame(sock, out),
      client: (sock) => joinHostPort(sock.remoteAddress ?? '', sock.remotePort ?? 0),
    };
    tcps[index].on('connection', (sock) => {
      if (conns.size >= maxConns || stopped) {
        sock.destroy();
        return;
      }
      conns.add(sock);
      sock.setNoDelay(true);
      sock.setTimeout(idleMs, () => sock.destroy());
      let buf: Buffer = Buffer.alloc(0);
      sock.on('data', (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        while (buf.length >= 2) {
          const len = buf.readUInt16BE(0);
          if (len < 12) {
            // Not even a header: nothing to answer, and the stream cannot be trusted further.
            sock.destroy();
            return;
          }
          if (buf.length < 2 + len) break;
          const msg = Buffer.from(buf.subarray(2, 2 + len));
          buf = buf.subarray(2 + len);
          const out = engine.handle(msg, tl, sock);
          if (out) writeFrame(sock, out);
          if (sock.destroyed) return;
        }
      });
      sock.on('error', () => sock.destroy());
      sock.on('close', () => conns.delete(sock));
    });
    tcps[index].on('error', (err) => logError({ err: err.message, listener: servers[index] }, 'dns: tcp listener error'));
  });

  const nWorkers = opts.udpWorkers ?? 0;
  if (!Number.isInteger(nWorkers) || nWorkers < 0 || nWorkers > 64) throw new Error('dns: udpWorkers must be 0-64');
  const workers = nWorkers > 0 ? new UdpWorkers({ count: nWorkers, sockets: udps.map((sock, index) => ({ sock, index, v6: net.isIPv6(addresses[index].host), server: servers[index] })), settings, model, heartbeatMs: opts.udpWorkerHeartbeatMs }) : undefined;
  // Every change goes to this process's model first, then (when it changed anything) to the workers.
  const apply = (op: ModelOp): void => {
    if (applyOp(model, op)) workers?.push(op);
  };
  const synced = feed(apply, opts, { endpointPodNames: opts.endpointPodNames }, podsMode === 'verified');
  synced.catch((err: unknown) => log.error({ err: (err as Error).message }, 'dns: informers failed to sync'));
  if (workers && !(await workers.ready())) log.warn({ workers: workers.list() }, 'dns: UDP workers not ready yet; this process answers meanwhile');
  log.info({ listen: addresses, zone: config.clusterDomain, upstreams: upstreams.map((u) => u.label), udpWorkers: nWorkers }, 'dns: serving');

  const metricsText = async (): Promise<string> => {
    const own = await registry.getMetricsAsJSON();
    if (!workers) return registry.metrics();
    return AggregatorRegistry.aggregate([own, ...(await workers.metrics())]).metrics();
  };

  return {
    addresses,
    registry,
    model,
    synced,
    metricsText,
    workers: () => workers?.list() ?? [],
    replicaDigests: async () => (workers ? workers.digests() : [modelDigest(model)]),
    crashWorker: (slot, how) => workers?.crash(slot, how),
    healthy: () => !stopped,
    ready: () => !stopped && model.synced,
    httpHandler(req, res) {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/health' || path === '/ready') {
        const ok = path === '/health' ? !stopped : !stopped && model.synced;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(ok ? 'OK' : 'not ready');
        return true;
      }
      if (path === '/metrics') {
        metricsText().then(
          (text) => {
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(text);
          },
          (err: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(String(err));
          },
        );
        return true;
      }
      return false;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await workers?.stop();
      parts.close();
      for (const c of conns) c.destroy();
      await Promise.all([
        ...udps.map((u) => new Promise<void>((r) => u.close(() => r()))),
        ...tcps.map((t) => new Promise<void>((r) => t.close(() => r()))),
      ]);
      if (opts.startInformers !== false) {
        opts.services.stop();
        opts.endpointSlices.stop();
        opts.namespaces.stop();
        if (podsMode === 'verified') opts.pods?.stop();
      }
      log.info('dns: stopped');
    },
  };
}

function writeFrame(sock: net.Socket, out: Buffer): void {
  if (sock.destroyed) return;
  // A client that does not read its answers is not kept (bounded memory).
  if (sock.writableLength > 1 << 20) {
    sock.destroy();
    return;
  }
  const frame = Buffer.allocUnsafe(out.length + 2);
  frame.writeUInt16BE(out.length, 0);
  out.copy(frame, 2);
  sock.write(frame);
}
