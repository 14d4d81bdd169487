// kube-proxy's ProxyHealthServer: /healthz and /livez (port 10256 by default). Unhealthy when an
// update has waited longer than the health timeout (twice the sync period) without a sync;
// /healthz is also 503 while the node is not eligible (being deleted), as kube-proxy's.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProxyMetrics } from '../metrics/index.ts';

export interface ProxyHealthOptions {
  healthTimeoutMs: number;
  now?: () => number;
  metrics?: ProxyMetrics;
}

export class ProxyHealth {
  readonly #timeout: number;
  readonly #now: () => number;
  readonly #metrics: ProxyMetrics | undefined;
  #lastUpdated = 0;
  #oldestPending: number | undefined;
  #nodeEligible = true;
  #server: Server | undefined;

  constructor(o: ProxyHealthOptions) {
    this.#timeout = o.healthTimeoutMs;
    this.#now = o.now ?? Date.now;
    this.#metrics = o.metrics;
  }

  /** A change waits for a sync (kube-proxy's QueuedUpdate). */
  queued(): void {
    this.#oldestPending ??= this.#now();
  }

  /** A sync finished (kube-proxy's Updated). */
  updated(): void {
    this.#oldestPending = undefined;
    this.#lastUpdated = this.#now();
  }

  setNodeEligible(eligible: boolean): void {
    this.#nodeEligible = eligible;
  }

  isHealthy(): boolean {
    return this.#oldestPending === undefined || this.#now() - this.#oldestPending < this.#timeout;
  }

  #body(withEligible: boolean): string {
    const fields = [`"lastUpdated": ${JSON.stringify(new Date(this.#lastUpdated).toISOString())}`, `"currentTime": ${JSON.stringify(new Date(this.#now()).toISOString())}`];
    if (withEligible) fields.push(`"nodeEligible": ${this.#nodeEligible}`);
    return `{${fields.join(',')}}`;
  }

  /** Serves /healthz and /livez on host:port (port 0: any); resolves with the bound address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const healthy = this.isHealthy();
      let code: number;
      let body: string;
      if (path === '/healthz') {
        code = healthy && this.#nodeEligible ? 200 : 503;
        body = this.#body(true);
        this.#metrics?.healthzTotal.inc({ code: String(code) });
      } else if (path === '/livez') {
        code = healthy ? 200 : 503;
        body = this.#body(false);
        this.#metrics?.livezTotal.inc({ code: String(code) });
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
        return;
      }
      res.writeHead(code, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' }).end(body);
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
