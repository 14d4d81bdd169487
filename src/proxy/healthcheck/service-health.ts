// kube-proxy's ServiceHealthServer: one HTTP server per healthCheckNodePort of a Service with
// externalTrafficPolicy Local. 200 when this node has local endpoints and the proxy is healthy,
// else 503, so that a load balancer sends traffic only to nodes that can serve it locally.
import { createServer, type Server } from 'node:http';
import type { NamespacedName } from '../types.ts';

export interface ServiceHealthEntry {
  port: number;
  localEndpoints: number;
}

interface Listener {
  port: number;
  server: Server;
  ready: Promise<void>;
}

export class ServiceHealthServer {
  readonly #host: string;
  readonly #proxyHealthy: () => boolean;
  readonly #onError: (e: unknown, svc: NamespacedName, port: number) => void;
  #entries = new Map<NamespacedName, ServiceHealthEntry>();
  readonly #listeners = new Map<NamespacedName, Listener>();

  /** host: the address the servers bind (kube-proxy binds the nodePortAddresses; tests use loopback). */
  constructor(host: string, proxyHealthy: () => boolean, onError: (e: unknown, svc: NamespacedName, port: number) => void = () => {}) {
    this.#host = host;
    this.#proxyHealthy = proxyHealthy;
    this.#onError = onError;
  }

  /** Starts servers for new ports, stops those of Services gone, and updates the counts. */
  async sync(entries: ReadonlyMap<NamespacedName, ServiceHealthEntry>): Promise<void> {
    this.#entries = new Map(entries);
    const waits: Promise<void>[] = [];
    for (const [svc, l] of [...this.#listeners]) {
      const e = entries.get(svc);
      if (!e || e.port !== l.port) {
        this.#listeners.delete(svc);
        waits.push(new Promise((r) => l.server.close(() => r())));
      }
    }
    await Promise.all(waits);
    for (const [svc, e] of entries) if (!this.#listeners.has(svc)) this.#listeners.set(svc, this.#listen(svc, e.port));
    await Promise.all([...this.#listeners.values()].map((l) => l.ready));
  }

  #listen(svc: NamespacedName, port: number): Listener {
    const [namespace = '', name = ''] = svc.split('/');
    const server = createServer((_req, res) => {
      const count = this.#entries.get(svc)?.localEndpoints ?? 0;
      const healthy = this.#proxyHealthy();
      const body = JSON.stringify({ service: { namespace, name }, localEndpoints: count, serviceProxyHealthy: healthy }, null, 2);
      res
        .writeHead(count > 0 && healthy ? 200 : 503, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'X-Load-Balancing-Endpoint-Weight': String(count) })
        .end(body);
    });
    const ready = new Promise<void>((resolve) => {
      server.once('error', (e) => {
        this.#onError(e, svc, port);
        resolve();
      });
      server.listen(port, this.#host, () => resolve());
    });
    return { port, server, ready };
  }

  /** Ports served now, by Service. */
  ports(): Map<NamespacedName, number> {
    return new Map([...this.#listeners].map(([s, l]) => [s, l.port]));
  }

  async close(): Promise<void> {
    await this.sync(new Map());
  }
}
