// A TCP listener of the userspace backend: accepts on one Service address, picks an endpoint,
// connects to it and streams bytes both ways until both sides are done.
//
// - The client socket is accepted paused and read only once the endpoint has accepted, so a
//   refused or timed-out connect can be retried on another endpoint without losing a byte (an
//   endpoint whose pod just exited, before the EndpointSlice says so, costs nothing).
// - Streaming is 'data' → write, pausing the reader when the writer's buffer is full and resuming
//   on 'drain' (what pipe() does, without its per-event bookkeeping); no allocation of ours per
//   chunk. Half-closes pass through (allowHalfOpen), resets pass through as resets.
// - A closed listener stops accepting; its open connections continue until they close (draining).
import { BlockList, createServer, connect, Socket, type NetConnectOpts, type OnReadOpts, type Server, type SocketConstructorOpts } from 'node:net';
import type { Logger } from '../../util/index.ts';
import { endpointKey, type Route } from './balancer.ts';
import type { ListenerSpec } from './plan.ts';

export interface ProxyListener {
  readonly spec: ListenerSpec;
  readonly route: Route;
  listen(): Promise<void>;
  /** Takes a new route or new source ranges; open connections and flows are untouched. */
  retarget(spec: ListenerSpec, route: Route): void;
  /** The route's endpoints changed (UDP flows to endpoints gone are dropped). */
  endpointsChanged(): void;
  /** Periodic housekeeping (idle UDP flows). */
  sweep(now: number): void;
  /** Stops accepting; open TCP connections continue until they close. */
  close(): void;
  /** Closes the listener and every connection or flow now. */
  destroy(): void;
  /** Open connections (TCP) or flows (UDP). */
  readonly active: number;
}

export interface TcpListenerOptions {
  /** Time for an endpoint to accept before the next one is tried (ms). */
  connectTimeoutMs: number;
  /** Endpoints tried per client connection before it is reset. */
  connectAttempts: number;
  log: Logger;
}

/** Default source of a connection to a loopback address: no need to bind it explicitly. */
const defaultSource = (ip: string): boolean => ip === '127.0.0.1' || ip === '::1';
const isLoopbackSource = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';

export function blockListFor(ranges: readonly string[]): BlockList | undefined {
  if (ranges.length === 0) return undefined;
  const bl = new BlockList();
  for (const r of ranges) {
    const [net, bits] = r.split('/');
    if (!net) continue;
    const type = net.includes(':') ? 'ipv6' : 'ipv4';
    bl.addSubnet(net, bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits), type);
  }
  return bl;
}

/** One client connection and its endpoint connection. */
class Conn {
  backend: Socket | undefined;
  tried: Set<string> | undefined;
  attempts = 0;
  constructor(
    readonly client: Socket,
    readonly clientIP: string,
  ) {}
}

function reset(s: Socket | undefined): void {
  if (!s || s.destroyed) return;
  // Without a handle there is nothing to reset; resetAndDestroy would emit ERR_SOCKET_CLOSED.
  if (s.connecting || s.readyState === 'closed') s.destroy();
  else s.resetAndDestroy();
}

const ReadBufferSize = 64 * 1024;
/**
 * The buffer every endpoint connection reads into (net's onread): a chunk read is written to the
 * client at once, and almost always leaves with that write (the kernel takes it whole); only when
 * it must wait in the client's write queue does the buffer go with it and a new one take its
 * place. This spares an allocation and a stream push per chunk on the reply path.
 */
let shared = Buffer.allocUnsafe(ReadBufferSize);
const readBuffer = (): Buffer => shared;

/** Writes what a connection read (into the shared buffer) to the other side. */
function forward(dst: Socket, n: number, buf: Buffer): boolean {
  const ok = dst.write(n === buf.length ? buf : buf.subarray(0, n));
  if (buf === shared && dst.writableLength > 0) shared = Buffer.allocUnsafe(ReadBufferSize);
  // false pauses the reading connection until dst drains.
  return ok;
}

/** The onread callback of an endpoint connection: what it reads goes to the client. */
function forwardTo(client: Socket): (n: number, buf: Buffer) => boolean {
  return (n, buf) => !client.destroyed && forward(client, n, buf);
}

/** What net keeps of an accepted socket internally (Node 20): its libuv handle and its server. */
interface AcceptedInternals {
  _handle: object | null;
  _server: unknown;
}

/**
 * The accepted socket, re-made around the same handle with net's onread (which only connect()
 * offers): the client's bytes are read into the shared buffer and handed to `onread`, sparing a
 * Buffer allocation and a readable-stream push per chunk, as on the endpoint side. The new socket
 * starts paused and takes over the server's connection count; the old one is left without a
 * handle and never used again.
 */
function withOnread(s: Socket, callback: (n: number, buf: Buffer) => boolean): Socket {
  const old = s as unknown as AcceptedInternals;
  const handle = old._handle;
  if (!handle) {
    // Not expected (a socket just accepted has its handle); the plain stream path then.
    s.on('data', (chunk: Buffer) => {
      if (!callback(chunk.length, chunk)) s.pause();
    });
    return s;
  }
  old._handle = null;
  const onread: OnReadOpts = { buffer: readBuffer, callback };
  const opts = { handle, allowHalfOpen: true, pauseOnCreate: true, onread } as SocketConstructorOpts;
  const n = new Socket(opts);
  (n as unknown as AcceptedInternals)._server = old._server;
  return n;
}

function endsAndErrors(src: Socket, dst: Socket): void {
  dst.on('drain', () => src.resume());
  src.on('end', () => dst.end());
  src.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'ECONNRESET') reset(dst);
    else dst.destroy();
  });
  // Destroyed without an error and dst still open both ways: nothing more will come.
  src.on('close', () => {
    if (!dst.destroyed && !dst.writableEnded) dst.destroy();
  });
}

export class TcpListener implements ProxyListener {
  #spec: ListenerSpec;
  #route: Route;
  #blocked: BlockList | undefined;
  readonly #o: TcpListenerOptions;
  readonly #server: Server;
  readonly #conns = new Set<Conn>();
  #closed = false;

  constructor(spec: ListenerSpec, route: Route, o: TcpListenerOptions) {
    this.#spec = spec;
    this.#route = route;
    this.#blocked = blockListFor(spec.sourceRanges);
    this.#o = o;
    this.#server = createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (c) => this.#accept(c));
  }

  get spec(): ListenerSpec {
    return this.#spec;
  }

  get route(): Route {
    return this.#route;
  }

  get active(): number {
    return this.#conns.size;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#spec.ip, port: this.#spec.port, exclusive: true, backlog: 4096 }, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (e) => this.#o.log.warn({ err: e, listener: this.#spec.key }, 'listener error'));
        resolve();
      });
    });
  }

  retarget(spec: ListenerSpec, route: Route): void {
    this.#spec = spec;
    this.#route = route;
    this.#blocked = blockListFor(spec.sourceRanges);
  }

  endpointsChanged(): void {
    // Open connections drain; new ones see the new endpoints.
  }

  sweep(): void {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
  }

  destroy(): void {
    this.close();
    for (const c of this.#conns) {
      c.client.destroy();
      c.backend?.destroy();
    }
    this.#conns.clear();
  }

  #accept(accepted: Socket): void {
    let client = accepted;
    const ip = client.remoteAddress;
    if (this.#closed || !ip) {
      client.destroy();
      return;
    }
    if (this.#blocked && !this.#blocked.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4')) {
      // loadBalancerSourceRanges: not an allowed client (kube-proxy drops; a reset never hangs).
      client.on('error', () => {});
      reset(client);
      return;
    }
    // Paused until the endpoint accepted, so the callback never runs before conn exists.
    client = withOnread(client, (n, buf) => {
      const b = conn.backend;
      return b !== undefined && !b.destroyed && forward(b, n, buf);
    });
    const conn = new Conn(client, ip);
    this.#conns.add(conn);
    const early = (): void => {
      // The client went away while its endpoint was being dialled.
      conn.backend?.destroy();
      this.#conns.delete(conn);
    };
    client.on('error', early);
    client.once('close', early);
    this.#dial(conn, early);
  }

  #dial(conn: Conn, early: () => void): void {
    const ep = this.#route.pick(conn.clientIP, conn.tried);
    if (!ep || conn.client.destroyed) {
      conn.client.off('error', early);
      conn.client.off('close', early);
      conn.client.on('error', () => {});
      reset(conn.client);
      this.#conns.delete(conn);
      return;
    }
    conn.attempts++;
    const opts: NetConnectOpts = { host: ep.ip, port: ep.port, allowHalfOpen: true, noDelay: true, onread: { buffer: readBuffer, callback: forwardTo(conn.client) } };
    // The endpoint sees the client's own loopback address (a pod's 127.244.x.y), as behind
    // kube-proxy; 127.0.0.1 is what the kernel picks anyway.
    if (isLoopbackSource(conn.clientIP) && !defaultSource(conn.clientIP) && conn.clientIP.includes(':') === ep.ip.includes(':')) opts.localAddress = conn.clientIP;
    const b = connect(opts);
    conn.backend = b;
    const timer = setTimeout(() => b.destroy(Object.assign(new Error(`connect ETIMEDOUT ${ep.ip}:${ep.port}`), { code: 'ETIMEDOUT' })), this.#o.connectTimeoutMs);
    b.once('close', () => clearTimeout(timer));
    const onConnectError = (e: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      conn.backend = undefined;
      if (conn.client.destroyed) return;
      const key = endpointKey(ep);
      (conn.tried ??= new Set()).add(key);
      if (conn.attempts < this.#o.connectAttempts && !conn.client.destroyed) {
        this.#o.log.debug({ listener: this.#spec.key, endpoint: key, code: e.code }, 'endpoint refused a connection; trying another');
        this.#dial(conn, early);
        return;
      }
      this.#o.log.warn({ listener: this.#spec.key, endpoint: key, code: e.code, attempts: conn.attempts }, 'no endpoint accepted the connection; resetting it');
      conn.client.off('error', early);
      conn.client.off('close', early);
      conn.client.on('error', () => {});
      reset(conn.client);
      this.#conns.delete(conn);
    };
    b.once('error', onConnectError);
    b.once('connect', () => {
      clearTimeout(timer);
      b.off('error', onConnectError);
      const client = conn.client;
      client.off('error', early);
      client.off('close', early);
      if (client.destroyed) {
        b.destroy();
        this.#conns.delete(conn);
        return;
      }
      let open = 2;
      const closed = (): void => {
        if (--open === 0) this.#conns.delete(conn);
      };
      client.once('close', closed);
      b.once('close', closed);
      // The client's bytes reach b through its onread callback.
      endsAndErrors(client, b);
      endsAndErrors(b, client);
      client.resume();
    });
  }
}
