// The agent's endpoint (kubelet's :10250): container logs and exec, for the API server to relay
// `kubectl logs` and `kubectl exec` to. HTTPS with a client certificate signed by the cluster CA
// (the API server's kubelet-client certificate) on every request but /healthz.
//   GET  /containerLogs/{namespace}/{pod}/{container}?follow&previous&timestamps&tailLines&...
//   GET  /exec/{namespace}/{pod}/{container}?command=...&stdin&stdout&stderr&tty  (WebSocket)
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { Logger } from '../util/index.ts';
import { pickProtocol, serveExec, streamProtocols } from './exec.ts';
import { streamLogs, type LogOptions } from './logs.ts';
import type { PodRuntime } from './runtime/index.ts';
import type { PodWorker } from './podworker.ts';

export interface AgentServerOptions {
  host: string;
  port: number;
  cert: string;
  key: string;
  /** PEM of the CA whose client certificates are accepted (the cluster CA). */
  clientCA?: string;
  runtime: PodRuntime;
  findPod(namespace: string, name: string): PodWorker | undefined;
  log: Logger;
}

export interface AgentServer {
  port: number;
  close(): Promise<void>;
}

/** Who may use the endpoint: the API server's kubelet client, or a cluster admin. */
function authorized(req: IncomingMessage): { ok: true } | { ok: false; why: string } {
  const sock = req.socket as TLSSocket;
  if (!sock.authorized) return { ok: false, why: 'Unauthorized' };
  const subject = sock.getPeerCertificate().subject;
  const o = subject?.O;
  const groups = Array.isArray(o) ? o : o ? [o] : [];
  const cn = Array.isArray(subject?.CN) ? subject.CN.join(',') : (subject?.CN ?? '');
  if (cn === 'kube-apiserver-kubelet-client' || groups.includes('system:masters')) return { ok: true };
  return { ok: false, why: `Forbidden (user=${cn}, verb=get, resource=nodes, subresource=proxy)` };
}

function text(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function rawText(socket: Duplex, code: number, body: string): void {
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[code] ?? 'Error';
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}

/** /containerLogs/... and /exec/...: the path's parts after the verb. */
function route(url: URL): { verb: string; namespace: string; pod: string; container: string } | undefined {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length !== 4) return undefined;
  return { verb: parts[0], namespace: parts[1], pod: parts[2], container: parts[3] };
}

export async function startAgentServer(opts: AgentServerOptions): Promise<AgentServer> {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => pickProtocol(protocols) ?? false });
  const server: Server = createServer({ cert: opts.cert, key: opts.key, ca: opts.clientCA ? [opts.clientCA] : undefined, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      opts.log.warn({ err }, 'agent request failed');
      if (!res.headersSent) text(res, 500, err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://agent');
    if (url.pathname === '/healthz') return text(res, 200, 'ok');
    const auth = authorized(req);
    if (!auth.ok) return text(res, auth.why === 'Unauthorized' ? 401 : 403, auth.why);
    const r = route(url);
    if (!r) return text(res, 404, '404 page not found');
    if (r.verb !== 'containerLogs') {
      if (r.verb === 'exec' || r.verb === 'attach') return text(res, 400, 'exec needs a WebSocket upgrade (Sec-WebSocket-Protocol: v5.channel.k8s.io)');
      return text(res, 404, '404 page not found');
    }
    const w = opts.findPod(r.namespace, r.pod);
    if (!w) return text(res, 404, `pod ${JSON.stringify(`${r.namespace}/${r.pod}`)} not found`);
    const q = url.searchParams;
    const target = w.logTarget(r.container, q.get('previous') === 'true');
    if ('error' in target) return text(res, 400, target.error);
    const lo: LogOptions = { follow: q.get('follow') === 'true', timestamps: q.get('timestamps') === 'true' };
    const tail = intParam(q, 'tailLines');
    if (tail !== undefined && tail >= 0) lo.tailLines = tail;
    const limit = intParam(q, 'limitBytes');
    if (limit !== undefined && limit > 0) lo.limitBytes = limit;
    const since = intParam(q, 'sinceSeconds');
    if (since !== undefined && since > 0) lo.sinceTime = new Date(Date.now() - since * 1000);
    const sinceTime = q.get('sinceTime');
    if (sinceTime) {
      const d = new Date(sinceTime);
      if (!Number.isNaN(d.getTime())) lo.sinceTime = d;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    await streamLogs(target.path, res, { ...lo, running: target.running, signal: ac.signal });
    res.end();
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'https://agent');
    const auth = authorized(req);
    if (!auth.ok) return rawText(socket, auth.why === 'Unauthorized' ? 401 : 403, auth.why);
    const r = route(url);
    if (!r || (r.verb !== 'exec' && r.verb !== 'attach')) return rawText(socket, 404, '404 page not found');
    const w = opts.findPod(r.namespace, r.pod);
    if (!w) return rawText(socket, 404, `pod ${JSON.stringify(`${r.namespace}/${r.pod}`)} not found`);
    const target = w.execTarget(r.container);
    if ('error' in target) return rawText(socket, 500, target.error);
    if (r.verb === 'attach') return rawText(socket, 400, 'svcnet cannot attach to a container: its output goes to its log file (use kubectl logs -f) and it reads no input');
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return rawText(socket, 400, `svcnet streams exec over WebSockets only (${streamProtocols.join(', ')}); use kubectl 1.30 or newer`);
    }
    const q = url.searchParams;
    const argv = q.getAll('command');
    if (!argv.length) return rawText(socket, 400, 'you must specify at least 1 command');
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    const protocol = pickProtocol(offered);
    if (!protocol) return rawText(socket, 400, `none of the requested protocols is supported: ${offered.join(', ')} (supported: ${streamProtocols.join(', ')})`);
    const tty = q.get('tty') === 'true' || q.get('tty') === '1';
    const stdin = q.get('stdin') === 'true' || q.get('stdin') === '1';
    wss.handleUpgrade(req, socket, head, (ws) => {
      const proc = opts.runtime.exec(target.id, { argv, tty, stdin });
      opts.log.debug({ pod: `${r.namespace}/${r.pod}`, container: r.container, argv, tty, protocol }, 'exec');
      void serveExec(ws, protocol, argv, proc);
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
