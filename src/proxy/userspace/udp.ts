// A UDP listener of the userspace backend: one socket on the Service address; each client
// (address and port) gets a flow, a socket connected to the endpoint picked for it, whose replies
// go back to the client from the Service address. A flow ends when idle for the idle timeout,
// when its endpoint leaves the route (kube-proxy deletes such conntrack entries: stale UDP flows
// are a classic blackhole), when the endpoint answers with port unreachable, or when the
// listener closes.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from '../../util/index.ts';
import { endpointKey, type Route } from './balancer.ts';
import type { ListenerSpec } from './plan.ts';
import { blockListFor, type ProxyListener } from './tcp.ts';
import type { BlockList } from 'node:net';

export interface UdpListenerOptions {
  /** A flow without a packet either way for this long is closed (ms). */
  idleTimeoutMs: number;
  /** At most this many flows per listener; the oldest goes first. */
  maxFlows: number;
  log: Logger;
  now?: () => number;
}

class Flow {
  readonly socket: Socket;
  last: number;
  connected = false;
  closed = false;
  /** Datagrams from the client before the flow's socket was connected. */
  pending: Buffer[] | undefined = [];
  constructor(
    readonly client: string,
    readonly clientPort: number,
    readonly endpoint: string,
    socket: Socket,
    now: number,
  ) {
    this.socket = socket;
    this.last = now;
  }
}

const isLoopbackSource = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';

export class UdpListener implements ProxyListener {
  #spec: ListenerSpec;
  #route: Route;
  #blocked: BlockList | undefined;
  readonly #o: UdpListenerOptions;
  readonly #now: () => number;
  readonly #socket: Socket;
  /** Client address → client port → flow. */
  readonly #flows = new Map<string, Map<number, Flow>>();
  #count = 0;
  #closed = false;

  constructor(spec: ListenerSpec, route: Route, o: UdpListenerOptions) {
    this.#spec = spec;
    this.#route = route;
    this.#blocked = blockListFor(spec.sourceRanges);
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#socket = createSocket({ type: spec.family === 'IPv6' ? 'udp6' : 'udp4' });
  }

  get spec(): ListenerSpec {
    return this.#spec;
  }

  get route(): Route {
    return this.#route;
  }

  get active(): number {
    return this.#count;
  }

  listen(): Promise<void> {
    const s = this.#socket;
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      s.once('error', onError);
      s.bind({ address: this.#spec.ip, port: this.#spec.port, exclusive: true }, () => {
        s.off('error', onError);
        s.on('error', (e) => this.#o.log.warn({ err: e, listener: this.#spec.key }, 'listener error'));
        s.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
        resolve();
      });
    });
  }

  retarget(spec: ListenerSpec, route: Route): void {
    const routeChanged = route !== this.#route;
    this.#spec = spec;
    this.#route = route;
    this.#blocked = blockListFor(spec.sourceRanges);
    if (routeChanged) this.endpointsChanged();
  }

  endpointsChanged(): void {
    for (const byPort of this.#flows.values()) for (const f of byPort.values()) if (!this.#route.has(f.endpoint)) this.#closeFlow(f);
  }

  sweep(now: number): void {
    const limit = now - this.#o.idleTimeoutMs;
    for (const byPort of this.#flows.values()) for (const f of byPort.values()) if (f.last <= limit) this.#closeFlow(f);
  }

  close(): void {
    this.destroy();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const byPort of [...this.#flows.values()]) for (const f of [...byPort.values()]) this.#closeFlow(f);
    try {
      this.#socket.close();
    } catch {
      // never bound
    }
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed) return;
    const now = this.#now();
    let flow = this.#flows.get(rinfo.address)?.get(rinfo.port);
    if (!flow) {
      if (this.#blocked && !this.#blocked.check(rinfo.address, rinfo.family === 'IPv6' ? 'ipv6' : 'ipv4')) return;
      flow = this.#openFlow(rinfo, now);
      if (!flow) return;
    }
    flow.last = now;
    if (flow.connected) flow.socket.send(msg);
    else if (flow.pending && flow.pending.length < 64) flow.pending.push(msg);
  }

  #openFlow(rinfo: RemoteInfo, now: number): Flow | undefined {
    const ep = this.#route.pick(rinfo.address);
    if (!ep) return undefined;
    if (this.#count >= this.#o.maxFlows) {
      const oldest = this.#flows.values().next().value?.values().next().value;
      if (oldest) this.#closeFlow(oldest);
    }
    const sameFamily = rinfo.address.includes(':') === ep.ip.includes(':');
    // Bound explicitly (never the wildcard address): to the client's own loopback address, so the
    // endpoint sees who asked, else to the Service address.
    const source = sameFamily && isLoopbackSource(rinfo.address) ? rinfo.address : this.#spec.ip;
    const socket = createSocket({ type: ep.ip.includes(':') ? 'udp6' : 'udp4' });
    const flow = new Flow(rinfo.address, rinfo.port, endpointKey(ep), socket, now);
    let byPort = this.#flows.get(rinfo.address);
    if (!byPort) this.#flows.set(rinfo.address, (byPort = new Map<number, Flow>()));
    byPort.set(rinfo.port, flow);
    this.#count++;
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.#o.log.debug({ listener: this.#spec.key, endpoint: flow.endpoint, code: e.code }, 'UDP flow ended by an error');
      this.#closeFlow(flow);
    });
    socket.on('message', (reply) => {
      flow.last = this.#now();
      if (!this.#closed) this.#socket.send(reply, flow.clientPort, flow.client);
    });
    socket.bind({ address: source, port: 0, exclusive: true }, () => {
      if (flow.closed) return;
      socket.connect(ep.port, ep.ip, () => {
        if (flow.closed) return;
        flow.connected = true;
        const q = flow.pending ?? [];
        flow.pending = undefined;
        for (const m of q) socket.send(m);
      });
    });
    return flow;
  }

  #closeFlow(f: Flow): void {
    if (f.closed) return;
    f.closed = true;
    f.pending = undefined;
    const byPort = this.#flows.get(f.client);
    if (byPort?.get(f.clientPort) === f) {
      byPort.delete(f.clientPort);
      if (byPort.size === 0) this.#flows.delete(f.client);
      this.#count--;
    }
    try {
      f.socket.close();
    } catch {
      // already closed
    }
  }
}
