// Raw HTTPS access to a running `svcnet server` for tests that need exact status codes, headers
// and bodies (bad input, watches, fuzzing): the server's CA and admin token from its data dir,
// keep-alive connections, and a reader for watch streams.
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Svcnet } from './svcnet.ts';

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Overrides the admin token; null sends no Authorization header. */
  token?: string | null;
  timeoutMs?: number;
}

export interface ApiClient {
  url: string;
  token: string;
  ca: string;
  request(method: string, path: string, opts?: RequestOptions): Promise<ApiResponse>;
  /** JSON body of a request that must succeed with one of `ok` (default 2xx). */
  json<T = Record<string, unknown>>(method: string, path: string, body?: unknown, ok?: number[]): Promise<T>;
  /** Opens a watch; events arrive as parsed lines. */
  watch(path: string, opts?: { headers?: Record<string, string> }): Promise<WatchStream>;
  close(): void;
}

export interface WatchEvent {
  type: string;
  object: { kind?: string; metadata?: { name?: string; resourceVersion?: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };
}

export interface WatchStream {
  status: number;
  events: WatchEvent[];
  /** Resolves when at least `n` events have arrived (rejects after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export function adminToken(s: Pick<Svcnet, 'kubeconfig'>): string {
  const m = /token:\s*(\S+)/.exec(readFileSync(s.kubeconfig, 'utf8'));
  if (!m) throw new Error('no token in kubeconfig');
  return m[1];
}

export function apiClient(s: Pick<Svcnet, 'url' | 'kubeconfig' | 'dataDir'>, opts: { maxSockets?: number } = {}): ApiClient {
  const ca = readFileSync(join(s.dataDir, 'pki', 'ca.crt'), 'utf8');
  const token = adminToken(s);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 8, ca });
  const base = new URL(s.url);
  const open = (method: string, path: string, o: RequestOptions): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...o.headers };
      const tok = o.token === undefined ? token : o.token;
      if (tok !== null) headers.Authorization = `Bearer ${tok}`;
      if (o.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(o.body));
      const req = httpsRequest({ host: base.hostname, port: base.port, method, path, headers, agent, ca }, resolve);
      req.on('error', reject);
      if (o.timeoutMs) req.setTimeout(o.timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer in ${o.timeoutMs} ms`)));
      req.end(o.body);
    });
  const client: ApiClient = {
    url: s.url,
    token,
    ca,
    async request(method, path, o = {}) {
      const res = await open(method, path, { timeoutMs: 30_000, ...o });
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') };
    },
    async json<T>(method: string, path: string, body?: unknown, ok?: number[]): Promise<T> {
      const res = await client.request(method, path, {
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json', Accept: 'application/json' },
      });
      const good = ok ? ok.includes(res.status) : res.status >= 200 && res.status < 300;
      if (!good) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
      return JSON.parse(res.body) as T;
    },
    async watch(path, o = {}) {
      const res = await open('GET', path, { headers: { Accept: 'application/json', ...o.headers } });
      const events: WatchEvent[] = [];
      let buf = '';
      let waiters: (() => void)[] = [];
      const ended = new Promise<void>((resolve) => {
        res.on('end', resolve);
        res.on('close', resolve);
        res.on('error', () => resolve());
      });
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) events.push(JSON.parse(line) as WatchEvent);
        }
        const w = waiters;
        waiters = [];
        w.forEach((f) => f());
      });
      return {
        status: res.statusCode ?? 0,
        events,
        ended,
        waitFor: (n, timeoutMs = 20_000) =>
          new Promise<void>((resolve, reject) => {
            const deadline = setTimeout(() => reject(new Error(`watch ${path}: ${events.length} of ${n} events after ${timeoutMs} ms`)), timeoutMs);
            const check = () => {
              if (events.length >= n) {
                clearTimeout(deadline);
                resolve();
              } else waiters.push(check);
            };
            void ended.then(() => {
              if (events.length < n) {
                clearTimeout(deadline);
                reject(new Error(`watch ${path} ended after ${events.length} of ${n} events`));
              }
            });
            check();
          }),
        close: () => res.destroy(),
      };
    },
    close: () => agent.destroy(),
  };
  return client;
}

/** A Service body for tests. */
export function serviceBody(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, ...(extra.metadata as object) }, spec: { ports: [{ port: 80 }], ...(extra.spec as object) } };
}
