// A byte relay between two stream endpoints (TCP or unix socket). The lab reaches its API
// server from the host through two of them: host 127.0.0.1:<port> -> a unix socket in the
// lab's folder (unix sockets are not network-namespaced) -> a relay inside master-node ->
// 192.168.1.100:6443. Bytes only: TLS runs end to end between the client and the API server.
import net from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';

export type Endpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** "tcp:127.0.0.1:0", "tcp:192.168.1.100:6443", "unix:/path/to/sock". */
export function parseEndpoint(s: string): Endpoint {
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    if (!path) throw new Error(`endpoint ${JSON.stringify(s)}: no socket path`);
    return { kind: 'unix', path };
  }
  const m = /^tcp:(.+):(\d+)$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw new Error(`endpoint ${JSON.stringify(s)}: expected tcp:<host>:<port> or unix:<path>`);
  return { kind: 'tcp', host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

export function formatEndpoint(e: Endpoint): string {
  return e.kind === 'unix' ? `unix:${e.path}` : `tcp:${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

export interface Relay {
  /** Where it listens (the bound port when 0 was asked). */
  address: Endpoint;
  /** Connections relayed so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startRelay(listen: Endpoint, target: Endpoint, onError: (e: Error) => void = () => {}): Promise<Relay> {
  let count = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    count++;
    const upstream = target.kind === 'unix' ? net.connect({ path: target.path, allowHalfOpen: true }) : net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    open.add(client);
    open.add(upstream);
    client.setNoDelay(true);
    if (target.kind === 'tcp') upstream.setNoDelay(true);
    const done = (e?: Error) => {
      if (e && (e as NodeJS.ErrnoException).code !== 'ECONNRESET' && (e as NodeJS.ErrnoException).code !== 'EPIPE') onError(e);
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', () => done());
    upstream.on('close', () => done());
    // Half-close is passed on (pipe ends the other side's writable on 'end').
    client.pipe(upstream);
    upstream.pipe(client);
  });
  if (listen.kind === 'unix' && existsSync(listen.path)) unlinkSync(listen.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.kind === 'unix') server.listen(listen.path, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  server.on('error', onError);
  const bound = server.address();
  const address: Endpoint = listen.kind === 'unix' || bound === null || typeof bound === 'string' ? listen : { kind: 'tcp', host: bound.address, port: bound.port };
  return {
    address,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
