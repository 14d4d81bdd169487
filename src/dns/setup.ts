// What the serving process and its UDP workers build alike: an engine over a model (forwarder,
// cache and metrics of its own), and the UDP listener that feeds it.
import type dgram from 'node:dgram';
import type { Registry } from 'prom-client';
import { DnsEngine, type Listener } from './engine.ts';
import { Forwarder, type ForwardOptions, type Upstream } from './forward.ts';
import { limitedErrorLog } from './log.ts';
import { CacheMetrics, DnsStats, ForwardMetrics } from './metrics.ts';
import type { DnsModel } from './model.ts';
import type { DnsConfig } from './records.ts';
import { joinHostPort } from '../util/index.ts';

const logError = limitedErrorLog();

/** Everything an engine needs besides its model; plain data, so it can go to a worker process. */
export interface EngineSettings {
  config: DnsConfig;
  upstreams: Upstream[];
  forward: Omit<ForwardOptions, 'upstreams' | 'metrics'>;
  cacheSize: number;
  maxUdpSize: number;
  /** CoreDNS's "server" label of each listener, e.g. "dns://127.0.0.1:53". */
  servers: string[];
}

export interface EngineParts {
  engine: DnsEngine;
  forwarder: Forwarder;
  close(): void;
}

export function createEngine(model: DnsModel, s: EngineSettings, registry: Registry): EngineParts {
  const forwarder = new Forwarder({ upstreams: s.upstreams, ...s.forward, metrics: new ForwardMetrics(registry) });
  const engine = new DnsEngine({
    model,
    config: s.config,
    forwarder,
    stats: new DnsStats(registry, s.servers),
    cacheSize: s.cacheSize,
    cacheMetrics: new CacheMetrics(registry),
    maxUdpSize: s.maxUdpSize,
    servers: s.servers,
  });
  return {
    engine,
    forwarder,
    close() {
      forwarder.close();
      engine.close();
    },
  };
}

type UdpPeer = { address: string; port: number };

/** Answers the queries arriving on a UDP socket; `stopped()` silences late answers. */
export function serveUdp(engine: DnsEngine, sock: dgram.Socket, index: number, v6: boolean, server: string, stopped: () => boolean): void {
  const l: Listener<UdpPeer> = {
    index,
    tcp: false,
    v6,
    send: (out, peer) => {
      if (!stopped()) sock.send(out, peer.port, peer.address);
    },
    client: (peer) => joinHostPort(peer.address, peer.port),
  };
  sock.on('message', (msg, rinfo) => {
    if (rinfo.port === 0) return;
    const out = engine.handle(msg, l, rinfo);
    if (out) sock.send(out, rinfo.port, rinfo.address);
  });
  sock.on('error', (err) => logError({ err: err.message, listener: server }, 'dns: udp socket error'));
}
