// The API server: HTTPS on loopback by default, its own CA, a token or client certificate on
// every request (health endpoints excepted), discovery, OpenAPI, and the resource handlers
// over the registry. A plain-HTTP request to the HTTPS port gets Go's 400 answer.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allResources, unauthorized, type ResourceInfo } from '../api/index.ts';
import type { Store } from '../store/index.ts';
import { logger } from '../util/index.ts';
import { ensurePki, servingNames, type Pki, type UserInfo } from './pki.ts';
import { kubeconfigYaml } from '../client/index.ts';
import { parseRequestInfo } from './request-info.ts';
import { Registry } from './registry/registry.ts';
import type { StorageHooks, StrategyFactory } from './registry/strategy.ts';
import type { ManagedFieldsUpdater } from './registry/storage.ts';
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from './http/discovery.ts';
import { handleResourceRequest, type HandlerDeps } from './http/resources.ts';
import { writeError, writeJson, writeRaw } from './http/respond.ts';
import { openApiV2, openApiV2ProtoType, wantsV2Protobuf } from './openapi-v2.ts';

const log = logger('apiserver');

/** The Kubernetes version svcnet speaks (kubectl's dispatcher picks its binary by the minor). */
export const kubernetesVersion = { major: '1', minor: '33', gitVersion: 'v1.33.0' };

export interface OpenApiProvider {
  root(): object;
  /** A group-version's document as served and its hash (ETag, ?hash=). */
  document(path: string): { json: string; hash: string } | undefined;
}

export interface ApiServerOptions {
  dataDir: string;
  /** host:port; port 0 picks a free port. Default 127.0.0.1:6443. */
  listen?: string;
  store: Store;
  strategyFor: StrategyFactory;
  hooksFor?: (r: ResourceInfo, registry: Registry) => StorageHooks | undefined;
  managedFields?: ManagedFieldsUpdater;
  handlers: Omit<HandlerDeps, 'registry'>;
  openapi?: OpenApiProvider;
  /** Extra names or addresses for the serving certificate. */
  extraSANs?: string[];
  resources?: readonly ResourceInfo[];
  bookmarkIntervalMs?: number;
}

export interface ApiServer {
  /** https://host:port */
  url: string;
  host: string;
  port: number;
  kubeconfigPath: string;
  pki: Pki;
  registry: Registry;
  close(): Promise<void>;
}

function splitHostPort(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen ${JSON.stringify(listen)}: expected host:port, e.g. 127.0.0.1:6443`);
  return { host: m[1], port: Number(m[2]) };
}

/** As kube-apiserver's authenticator chain: a client certificate signed by the CA first, then a bearer token. */
function authenticate(req: IncomingMessage, pki: Pki): UserInfo | undefined {
  const sock = req.socket as TLSSocket;
  if (sock.authorized) {
    const cert = sock.getPeerCertificate();
    const cn = cert.subject?.CN;
    if (typeof cn === 'string' && cn) {
      const o = cert.subject.O;
      const groups = Array.isArray(o) ? o : o ? [o] : [];
      return { name: cn, groups: [...groups, 'system:authenticated'] };
    }
  }
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? pki.tokens.get(m[1]) : undefined;
  }
  return undefined;
}

const anonymousPaths = new Set(['/healthz', '/livez', '/readyz']);

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { host, port } = splitHostPort(opts.listen ?? '127.0.0.1:6443');
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const pki = await ensurePki(join(opts.dataDir, 'pki'), servingNames(host, opts.extraSANs));
  const resources = opts.resources ?? allResources;
  const registry = new Registry({
    store: opts.store,
    strategyFor: opts.strategyFor,
    hooksFor: opts.hooksFor,
    managedFields: opts.managedFields,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    resources,
  });
  // Watch caches fill while the server already listens (as kube-apiserver's do): /healthz and
  // /livez answer at once, /readyz once every cache is filled; a list or watch waits for its own.
  let cachesFilled = false;
  const filling = registry.start().then(() => {
    cachesFilled = true;
  });
  filling.catch((err: unknown) => log.error({ err }, 'filling the watch caches failed'));
  const deps: HandlerDeps = { ...opts.handlers, registry };
  const servedGroupVersions = new Set(resources.map((r) => `${r.group}/${r.version}`));
  let serverAddress = `${host}:${port}`;
  let ready = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      const raw = req.url ?? '/';
      url = new URL(`https://localhost${raw.startsWith('/') ? raw : `/${raw}`}`);
      decodeURIComponent(url.pathname);
    } catch {
      return writeMalformed(res);
    }
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const base = '/' + (path.split('/')[1] ?? '');
    if (anonymousPaths.has(base)) {
      const ok = base !== '/readyz' || (ready && cachesFilled);
      if (url.searchParams.has('verbose')) {
        writeRaw(res, ok ? 200 : 500, `[+]ping ok\n[${ok ? '+' : '-'}]storage ${ok ? 'ok' : 'not ready'}\n${base.slice(1)} check ${ok ? 'passed' : 'failed'}\n`, 'text/plain; charset=utf-8');
      } else writeRaw(res, ok ? 200 : 500, ok ? 'ok' : 'not ready', 'text/plain; charset=utf-8');
      return;
    }
    const user = authenticate(req, pki);
    if (!user) {
      writeJson(res, 401, unauthorized().status);
      return;
    }
    const accept = req.headers.accept;
    if (path === '/version') {
      writeJson(res, 200, {
        ...kubernetesVersion,
        gitCommit: 'svcnet',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: `node${process.versions.node}`,
        compiler: 'tsx',
        platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
      });
      return;
    }
    if (path === '/api' || path === '/apis') {
      const agg = wantsAggregated(accept);
      if (agg) {
        const doc = aggregatedDiscovery(resources, path === '/api') as { apiVersion: string };
        doc.apiVersion = `apidiscovery.k8s.io/${agg}`;
        writeJson(res, 200, doc, { 'Content-Type': `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList` });
      } else writeJson(res, 200, path === '/api' ? apiVersions(serverAddress) : apiGroupList(resources));
      return;
    }
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts.length === 2) {
      const doc = apiResourceList(resources, '', parts[1]);
      return doc ? writeJson(res, 200, doc) : writeNotFound(res);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const doc = apiGroup(resources, parts[1]);
      return doc ? writeJson(res, 200, doc) : writePageNotFound(res);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const doc = apiResourceList(resources, parts[1], parts[2]);
      return doc ? writeJson(res, 200, doc) : writePageNotFound(res);
    }
    // A group/version nobody serves falls through kube's handler chain to Go's plain 404.
    if (parts[0] === 'apis' && !servedGroupVersions.has(`${parts[1]}/${parts[2]}`)) return writePageNotFound(res);
    if (parts[0] === 'openapi' && parts[1] === 'v3' && opts.openapi) {
      if (parts.length === 2) return writeJson(res, 200, opts.openapi.root());
      const gv = parts.slice(2).join('/');
      const doc = opts.openapi.document(gv);
      if (!doc) return writePageNotFound(res);
      return serveOpenApi(req, res, url, doc.json, 'application/json', doc.hash, `/openapi/v3/${gv}`);
    }
    if (path === '/openapi/v2') {
      const v2 = openApiV2(kubernetesVersion.gitVersion);
      const proto = wantsV2Protobuf(accept);
      return serveOpenApi(req, res, url, proto ? v2.proto : JSON.stringify(v2.json), proto ? openApiV2ProtoType : 'application/json', v2.etag.slice(1, -1), undefined);
    }
    const info = parseRequestInfo(req.method ?? 'GET', path, url.searchParams);
    if (!info.isResourceRequest) return writeNotFound(res);
    await handleResourceRequest(deps, req, res, info, url.searchParams, user);
  };

  const https: HttpsServer = createHttpsServer(
    { key: pki.serverKey, cert: pki.serverCert, ca: [pki.caCert], requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      handle(req, res).catch((e: unknown) => writeError(req, res, e));
    },
  );
  // Upgrade requests (kubectl exec's WebSocket) go through the same handler, with a response
  // bound to the socket; a handler that takes the connection over detaches it (pods/exec).
  https.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (head.length) socket.unshift(head);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => socket.end());
    handle(req, res).catch((e: unknown) => writeError(req, res, e));
  });
  https.keepAliveTimeout = 65_000;
  https.headersTimeout = 70_000;
  // Requests stay open as long as watches need; a body must still arrive within 5 minutes.
  https.requestTimeout = 300_000;
  // A request Node's parser refuses (bad method, header or framing) gets Go's plain 400, as a
  // malformed request does from kube-apiserver, instead of a silently closed connection.
  https.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    log.debug({ err }, 'client error');
    if (socket.writable && err.code !== 'ECONNRESET') {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
    } else socket.destroy();
  });

  // A plain-HTTP request on the TLS port gets the answer Go's server gives, not a reset.
  const front: NetServer = createNetServer({ pauseOnConnect: true }, (socket: Socket) => {
    socket.on('error', () => socket.destroy());
    // No Nagle (as Go's net package, so kube-apiserver): a watch event written while the
    // previous one is unacknowledged would otherwise wait for the client's delayed ACK (~40 ms).
    socket.setNoDelay(true);
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (!first) {
        socket.destroy();
        return;
      }
      socket.unshift(first);
      if (first[0] === 0x16) https.emit('connection', socket);
      else socket.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen({ host, port }, () => resolve());
  });
  const addr = front.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `https://${urlHost}:${boundPort}`;
  serverAddress = `${urlHost}:${boundPort}`;
  const kubeconfigPath = join(opts.dataDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml({ server: url, caCert: pki.caCert, token: pki.adminToken }), { mode: 0o600 });
  ready = true;
  const sockets = new Set<Socket>();
  front.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    url,
    host,
    port: boundPort,
    kubeconfigPath,
    pki,
    registry,
    close: async () => {
      ready = false;
      await new Promise<void>((resolve) => {
        front.close(() => resolve());
        https.close();
        for (const s of sockets) s.destroy();
      });
      registry.stop();
    },
  };
}

/**
 * kube-openapi's handlers: the document's hash as ETag (304 for If-None-Match), and for v3 a
 * stale ?hash= redirected (301) to the current one, a current one cached for a year.
 */
function serveOpenApi(req: IncomingMessage, res: ServerResponse, url: URL, body: string | Buffer, contentType: string, hash: string, location: string | undefined): void {
  const headers: Record<string, string> = { ETag: `"${hash}"`, 'Last-Modified': startedAt };
  const asked = url.searchParams.get('hash');
  if (location && asked) {
    if (asked !== hash) {
      res.writeHead(301, { Location: `${location}?hash=${hash}`, 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<a href="${location}?hash=${hash}">Moved Permanently</a>.\n\n`);
      return;
    }
    headers.Vary = 'Accept';
    headers['Cache-Control'] = 'public, immutable';
    headers.Expires = new Date(Date.now() + 365 * 86_400_000).toUTCString();
  }
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === `"${hash}"` || t.trim() === '*')) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  writeRaw(res, 200, body, contentType, headers);
}

const startedAt = new Date().toUTCString();

/** Go's answer to a request line it cannot parse (a bad %-escape): 400, connection closed. */
function writeMalformed(res: ServerResponse): void {
  res.shouldKeepAlive = false;
  writeRaw(res, 400, '400 Bad Request', 'text/plain; charset=utf-8', { Connection: 'close' });
}

/** Go's http.NotFound, what kube-apiserver's last handler answers for paths no API serves. */
function writePageNotFound(res: ServerResponse): void {
  writeRaw(res, 404, '404 page not found\n', 'text/plain; charset=utf-8', { 'X-Content-Type-Options': 'nosniff' });
}

function writeNotFound(res: ServerResponse): void {
  writeJson(res, 404, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server could not find the requested resource',
    reason: 'NotFound',
    details: {},
    code: 404,
  });
}
