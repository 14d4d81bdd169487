// The Client over HTTP(S) to any Kubernetes API server (svcnet's or a real kube-apiserver):
// JSON bodies, keep-alive connections shared by concurrent requests, watches as streaming GETs
// of newline-delimited JSON events, and errors decoded from the server's Status.
import http from 'node:http';
import https from 'node:https';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { ApiError, isPlainObject, type KubeObject, type ResourceInfo, type StatusReason } from '../api/index.ts';
import { loadKubeconfig, type ConnectionConfig, type LoadKubeconfigOptions } from './kubeconfig.ts';
import { resourcePath } from './paths.ts';
import type {
  Client,
  DeleteOptions,
  ListOptions,
  ObjectList,
  ObjectSubresource,
  PatchOptions,
  PatchType,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteOptions,
} from './types.ts';

export interface HttpClientOptions extends ConnectionConfig {
  /** Sent as User-Agent; kube-apiserver names the default field manager after its part before "/". */
  userAgent?: string;
  /** Time limit of one request (not of watches and streams), ms. Default 60 s. */
  timeoutMs?: number;
  /** Connections kept per client; default unlimited (every concurrent request gets one). */
  maxSockets?: number;
}

export type QueryValue = string | number | boolean | readonly string[] | undefined;
export type Query = Record<string, QueryValue>;

export interface RawRequest {
  method?: string;
  /** An absolute path on the server ("/api/v1/namespaces"); the server URL's path prefix is added. */
  path: string;
  query?: Query;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Overrides the client's request time limit; 0: none. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RawResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const patchContentTypes: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** The Content-Type a patch type travels as. */
export function patchContentType(type: PatchType): string {
  return patchContentTypes[type];
}

const goArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

function svcnetVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (isPlainObject(pkg) && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Not fatal: only the User-Agent shows it.
  }
  return '0.0.0';
}

/** "svcnet/v0.1.0 (linux/amd64)": client-go's shape, so the default field manager is "svcnet". */
export const defaultUserAgent = `svcnet/v${svcnetVersion()} (${process.platform}/${goArch[process.arch] ?? process.arch})`;

/** Builds "?a=1&b=x" from defined values; arrays repeat the key. */
export function queryString(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v as readonly string[]) p.append(k, x);
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

// Kubernetes' words for an error answer that is not a Status (apimachinery's
// NewGenericServerResponse), so callers and people see what client-go would report.
function genericReason(code: number, method: string): { reason: StatusReason; message: string | undefined } {
  switch (code) {
    case 409:
      return { reason: method === 'POST' ? 'AlreadyExists' : 'Conflict', message: 'the server reported a conflict' };
    case 404:
      return { reason: 'NotFound', message: 'the server could not find the requested resource' };
    case 400:
      return { reason: 'BadRequest', message: 'the server rejected our request for an unknown reason' };
    case 401:
      return { reason: 'Unauthorized', message: 'the server has asked for the client to provide credentials' };
    case 403:
      return { reason: 'Forbidden', message: undefined };
    case 405:
      return { reason: 'MethodNotAllowed', message: 'the server does not allow this method on the requested resource' };
    case 406:
      return { reason: 'NotAcceptable', message: undefined };
    case 410:
      return { reason: 'Gone', message: 'the server reported that the resource is gone' };
    case 415:
      return { reason: 'UnsupportedMediaType', message: undefined };
    case 422:
      return { reason: 'Invalid', message: 'the server rejected our request due to an error in our request' };
    case 429:
      return { reason: 'TooManyRequests', message: 'the server has received too many requests and has asked us to try again later' };
    case 503:
      return { reason: 'ServiceUnavailable', message: 'the server is currently unable to handle the request' };
    case 504:
      return { reason: 'Timeout', message: 'the server was unable to return a response in the time allotted, but may still be processing the request' };
    default:
      return code >= 500 ? { reason: 'InternalError', message: undefined } : { reason: '', message: undefined };
  }
}

/** An ApiError from a metav1.Status object (as an error answer or a watch ERROR event carries it). */
export function apiErrorFromStatus(s: Status, fallbackCode = 500): ApiError {
  const code = typeof s.code === 'number' && s.code > 0 ? s.code : fallbackCode;
  // The server may use reasons this union does not list (ServerTimeout, StoreReadError): keep them.
  const reason = (s.reason ?? '') as StatusReason;
  const message = s.message ?? `${code} ${reason || (http.STATUS_CODES[code] ?? 'error')}`;
  return new ApiError(code, reason, message, s.details);
}

/**
 * The ApiError for an error answer: the Status it carries, else Kubernetes' generic words for
 * the HTTP code with the body kept as an UnexpectedServerResponse cause.
 */
export function decodeErrorResponse(statusCode: number, body: Buffer | string, method = 'GET'): ApiError {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (isPlainObject(parsed) && parsed.kind === 'Status') return apiErrorFromStatus(parsed, statusCode);
  } catch {
    // Not JSON: fall through to the generic error.
  }
  const serverMessage = text.trim().slice(0, 1024);
  const g = genericReason(statusCode, method);
  const message =
    g.message ??
    (statusCode >= 500
      ? `an error on the server (${JSON.stringify(serverMessage || 'unknown')}) has prevented the request from succeeding`
      : serverMessage || `the server responded with the status code ${statusCode} but did not return more information`);
  return new ApiError(statusCode, g.reason, message, serverMessage ? { causes: [{ reason: 'UnexpectedServerResponse', message: serverMessage }] } : undefined);
}

function writeQuery(opts: WriteOptions | undefined): Query {
  return {
    dryRun: opts?.dryRun ? 'All' : undefined,
    fieldManager: opts?.fieldManager,
    fieldValidation: opts?.fieldValidation,
  };
}

function nameOf(obj: KubeObject, what: string): string {
  const name = obj.metadata?.name;
  if (!name) throw new TypeError(`Cannot ${what}: the object has no metadata.name`);
  return name;
}

function isRetryableReuseError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

const idempotent = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export class HttpClient implements Client {
  readonly server: URL;
  readonly userAgent: string;
  readonly #agent: http.Agent;
  readonly #transport: typeof http | typeof https;
  readonly #timeoutMs: number;
  readonly #config: ConnectionConfig;
  #tokenCache: { token: string; mtimeMs: number; checkedAt: number } | undefined;

  /** A client for the kubeconfig's current (or given) context. */
  static fromKubeconfig(file?: string, opts: LoadKubeconfigOptions & Omit<HttpClientOptions, keyof ConnectionConfig> = {}): HttpClient {
    const { context, ...rest } = opts;
    return new HttpClient({ ...loadKubeconfig(file, context !== undefined ? { context } : {}), ...rest });
  }

  constructor(opts: HttpClientOptions) {
    this.#config = opts;
    this.server = new URL(opts.server);
    if (this.server.protocol !== 'https:' && this.server.protocol !== 'http:') {
      throw new TypeError(`Cannot use server ${JSON.stringify(opts.server)}: the scheme must be https or http`);
    }
    this.userAgent = opts.userAgent ?? defaultUserAgent;
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    const agentOpts: https.AgentOptions = { keepAlive: true, scheduling: 'lifo' };
    if (opts.maxSockets !== undefined) agentOpts.maxSockets = opts.maxSockets;
    if (this.server.protocol === 'https:') {
      this.#transport = https;
      if (opts.ca) agentOpts.ca = opts.ca;
      if (opts.cert) agentOpts.cert = opts.cert;
      if (opts.key) agentOpts.key = opts.key;
      if (opts.insecureSkipTLSVerify) agentOpts.rejectUnauthorized = false;
      if (opts.tlsServerName) agentOpts.servername = opts.tlsServerName;
      this.#agent = new https.Agent(agentOpts);
    } else {
      this.#transport = http;
      this.#agent = new http.Agent(agentOpts);
    }
  }

  /** Closes idle connections and ends open ones; the client must not be used afterwards. */
  close(): void {
    this.#agent.destroy();
  }

  // ---- Client ----

  async get<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string): Promise<T> {
    return this.#json<T>('GET', resourcePath(r, namespace, name));
  }

  async list<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const list = await this.#json<ObjectList<T>>('GET', resourcePath(r, namespace), {
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      limit: opts.limit,
      continue: opts.continue,
      resourceVersion: opts.resourceVersion,
    });
    list.items ??= []; // Go's nil slice is "items": null
    list.metadata ??= {};
    return list;
  }

  watch<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle {
    return this.#watch(resourcePath(r, namespace), opts, onEvent);
  }

  async create<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T> {
    const ns = namespace ?? obj.metadata?.namespace;
    if (r.namespaced && !ns) throw new TypeError(`Cannot create ${r.resource}: they are namespaced and no namespace was given`);
    return this.#json<T>('POST', resourcePath(r, ns), writeQuery(opts), JSON.stringify(obj));
  }

  async update<T extends KubeObject>(r: ResourceInfo, obj: T, opts?: WriteOptions, subresource?: ObjectSubresource): Promise<T> {
    const path = resourcePath(r, obj.metadata?.namespace, nameOf(obj, `update ${r.resource}`), subresource);
    return this.#json<T>('PUT', path, writeQuery(opts), JSON.stringify(obj));
  }

  async patch<T extends KubeObject>(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts?: PatchOptions,
    subresource?: ObjectSubresource,
  ): Promise<T> {
    if (type === 'apply' && !opts?.fieldManager) {
      throw new TypeError(`Cannot apply ${r.resource} ${JSON.stringify(name)}: server-side apply requires a fieldManager`);
    }
    const q = writeQuery(opts);
    q.force = opts?.force;
    const body = typeof patch === 'string' || Buffer.isBuffer(patch) ? patch : JSON.stringify(patch);
    return this.#json<T>('PATCH', resourcePath(r, namespace, name, subresource), q, body, patchContentTypes[type]);
  }

  async delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    if (opts.dryRun) body.dryRun = ['All'];
    return this.#json<KubeObject>('DELETE', resourcePath(r, namespace, name), undefined, JSON.stringify(body));
  }

  async createSubresource<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string, subresource: string, body: KubeObject): Promise<T> {
    return this.#json<T>('POST', resourcePath(r, namespace, name, subresource), undefined, JSON.stringify(body));
  }

  // ---- raw access (logs, discovery, tests) ----

  /** One request; answers whatever status the server gave (no ApiError for 4xx/5xx). */
  async request(req: RawRequest): Promise<RawResponse> {
    const res = await this.#send(req);
    const body = await readBody(res);
    return { statusCode: res.statusCode ?? 0, headers: res.headers, body };
  }

  /**
   * A GET whose answer is read as a stream (pod logs with follow=true): resolves once the
   * headers arrive; rejects with the decoded ApiError for a non-2xx answer. No time limit;
   * destroy the stream or abort the signal to end it.
   */
  async streamGet(path: string, query?: Query, opts: { signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<IncomingMessage> {
    const req: RawRequest = { method: 'GET', path, timeoutMs: 0 };
    if (query) req.query = query;
    if (opts.signal) req.signal = opts.signal;
    if (opts.headers) req.headers = opts.headers;
    const res = await this.#send(req);
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw decodeErrorResponse(code, await readBody(res), 'GET');
    return res;
  }

  // ---- internals ----

  async #json<T>(method: string, path: string, query?: Query, body?: string | Buffer, contentType = 'application/json'): Promise<T> {
    const req: RawRequest = { method, path, headers: { Accept: 'application/json' } };
    if (query) req.query = query;
    if (body !== undefined) {
      req.body = body;
      req.headers!['Content-Type'] = contentType;
    }
    const res = await this.request(req);
    if (res.statusCode < 200 || res.statusCode >= 300) throw decodeErrorResponse(res.statusCode, res.body, method);
    if (res.body.length === 0) return {} as T;
    try {
      return JSON.parse(res.body.toString('utf8')) as T;
    } catch (e) {
      throw new ApiError(500, 'InternalError', `${method} ${path}: the server answered ${res.statusCode} with a body that is not JSON: ${(e as Error).message}`);
    }
  }

  #authorization(): string | undefined {
    const c = this.#config;
    if (c.token) return `Bearer ${c.token}`;
    if (c.tokenFile) return `Bearer ${this.#fileToken(c.tokenFile)}`;
    if (c.username !== undefined) return `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    return undefined;
  }

  // Projected service-account tokens rotate: look at the file again at most once a minute.
  #fileToken(file: string): string {
    const now = Date.now();
    const cached = this.#tokenCache;
    if (cached && now - cached.checkedAt < 60_000) return cached.token;
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) {
      if (cached) return cached.token;
      throw new Error(`Cannot read the token file ${file}: it does not exist`);
    }
    if (cached && cached.mtimeMs === st.mtimeMs) {
      cached.checkedAt = now;
      return cached.token;
    }
    const token = readFileSync(file, 'utf8').trim();
    this.#tokenCache = { token, mtimeMs: st.mtimeMs, checkedAt: now };
    return token;
  }

  #url(path: string, query?: Query): URL {
    const prefix = this.server.pathname.replace(/\/+$/, '');
    return new URL(`${prefix}${path}${queryString(query)}`, this.server);
  }

  /** Sends a request and resolves with the response once its headers arrive. */
  #send(req: RawRequest, retried = false): Promise<IncomingMessage> {
    const method = req.method ?? 'GET';
    const url = this.#url(req.path, req.query);
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...req.headers };
    const auth = this.#authorization();
    if (auth && headers.Authorization === undefined) headers.Authorization = auth;
    if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
    const timeoutMs = req.timeoutMs ?? this.#timeoutMs;

    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let response: IncomingMessage | undefined;
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        reject(e);
      };
      const r = this.#transport.request(url, { method, headers, agent: this.#agent, ...(req.signal ? { signal: req.signal } : {}) }, (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        response = res;
        // The time limit covers the whole exchange: keep it running while the body is read.
        if (timer) res.once('close', () => clearTimeout(timer));
        resolve(res);
      });
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          const e = new Error(`${method} ${url.href}: no answer within ${timeoutMs} ms`);
          (e as NodeJS.ErrnoException).code = 'ETIMEDOUT';
          if (response) {
            response.destroy(e); // the body reader sees this error
            return;
          }
          r.destroy(e);
          fail(e);
        }, timeoutMs);
      }
      r.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) return;
        // A kept-alive connection the server closed meanwhile: once more on a fresh one.
        if (r.reusedSocket && !retried && idempotent.has(method) && isRetryableReuseError(e)) {
          settled = true;
          if (timer) clearTimeout(timer);
          this.#send(req, true).then(resolve, reject);
          return;
        }
        if (e.name === 'AbortError') {
          fail(e);
          return;
        }
        const wrapped = new Error(`${method} ${url.href}: ${e.message}`, { cause: e });
        if (e.code) (wrapped as NodeJS.ErrnoException).code = e.code;
        fail(wrapped);
      });
      r.end(req.body);
    });
  }

  #watch<T extends KubeObject>(path: string, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle {
    const ac = new AbortController();
    let stopped = false;
    let ended = false; // the server ended the response: its connection goes back to the pool
    let finish!: (err?: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      let settled = false;
      finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        if (err === undefined || stopped) resolve();
        else reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        if (!ended) ac.abort();
      };
    });

    const query: Query = {
      watch: 'true',
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: opts.allowWatchBookmarks ? 'true' : undefined,
      timeoutSeconds: opts.timeoutSeconds,
    };
    // The server ends the stream after timeoutSeconds; end it here too should it not.
    const timer = opts.timeoutSeconds !== undefined && opts.timeoutSeconds > 0 ? setTimeout(() => finish(), opts.timeoutSeconds * 1000) : undefined;
    void done.finally(() => clearTimeout(timer)).catch(() => {});

    this.#send({ method: 'GET', path, query, headers: { Accept: 'application/json' }, timeoutMs: 0, signal: ac.signal }).then(
      async (res) => {
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          finish(decodeErrorResponse(code, await readBody(res).catch(() => Buffer.alloc(0)), 'GET'));
          return;
        }
        const lines = new LineSplitter();
        const deliver = (line: string): boolean => {
          let ev: WatchEvent<T>;
          try {
            ev = JSON.parse(line) as WatchEvent<T>;
          } catch (e) {
            finish(new Error(`watch ${path}: cannot decode an event: ${(e as Error).message}: ${line.slice(0, 200)}`));
            return false;
          }
          if (!isPlainObject(ev) || typeof ev.type !== 'string' || !isPlainObject(ev.object)) {
            finish(new Error(`watch ${path}: not a watch event: ${line.slice(0, 200)}`));
            return false;
          }
          if (ev.type === 'ERROR') {
            finish(apiErrorFromStatus(ev.object));
            return false;
          }
          try {
            onEvent(ev);
          } catch (e) {
            finish(e);
            return false;
          }
          return true;
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (stopped) return;
          for (const line of lines.push(chunk)) if (!deliver(line)) return;
        });
        res.on('end', () => {
          ended = true;
          const rest = lines.end();
          if (rest !== undefined && !stopped && !deliver(rest)) return;
          finish();
        });
        res.on('error', () => {}); // 'close' below reports it
        res.on('close', () => {
          if (!res.complete) finish(new Error(`watch ${path}: the stream broke before the server ended it`));
        });
      },
      (e: unknown) => finish(e),
    );

    return {
      stop: () => {
        stopped = true;
        finish();
      },
      done,
    };
  }
}

/** Splits a text stream into lines, holding a partial last line until its newline arrives. */
export class LineSplitter {
  #buf = '';

  /** Complete, non-empty lines in this chunk (plus what was held). */
  push(chunk: string): string[] {
    this.#buf += chunk;
    const out: string[] = [];
    let start = 0;
    for (let i = this.#buf.indexOf('\n'); i >= 0; i = this.#buf.indexOf('\n', start)) {
      const line = this.#buf.slice(start, i).trim();
      if (line) out.push(line);
      start = i + 1;
    }
    this.#buf = this.#buf.slice(start);
    return out;
  }

  /** A last line the stream did not end with a newline. */
  end(): string | undefined {
    const rest = this.#buf.trim();
    this.#buf = '';
    return rest || undefined;
  }
}

function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the whole answer arrived'));
    });
  });
}
