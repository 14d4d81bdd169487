// pods/log and pods/exec: the API server relays them to the agent of the pod's node (kubelet's
// :10250 endpoints /containerLogs and /exec), as kube-apiserver does. It finds the agent from
// the Node (an InternalIP, else its Hostname, and daemonEndpoints.kubeletEndpoint.Port) and
// authenticates with a client certificate its CA signs (CN kube-apiserver-kubelet-client,
// O system:masters, as kubeadm issues it), kept in <data-dir>/pki. The agent's self-signed
// serving certificate is not verified (kube-apiserver without --kubelet-certificate-authority).
// Logs stream through; an exec upgrade is proxied byte for byte once the agent answers 101.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, Node, Pod } from 'kubernetes-types/core/v1.js';
import { badRequest, fieldErrors, internalError, invalid, serviceUnavailable, ApiError, type FieldError } from '../api/index.ts';
import { issueClientCertificate, type Pki } from './pki.ts';
import type { RequestContext, SubresourceHandler } from './http/resources.ts';

export interface PodProxyDeps {
  /** The server's PKI once it exists. */
  pki(): Pki | undefined;
  /** Where the kubelet-client certificate is kept (the PKI directory). */
  pkiDir: string;
}

interface KubeletClientCert {
  cert: string;
  key: string;
}

const kubeletClientUser = { name: 'kube-apiserver-kubelet-client', groups: ['system:masters'] };

function credentials(deps: PodProxyDeps): () => Promise<KubeletClientCert> {
  let p: Promise<KubeletClientCert> | undefined;
  return () => {
    p ??= (async () => {
      const certPath = join(deps.pkiDir, 'apiserver-kubelet-client.crt');
      const keyPath = join(deps.pkiDir, 'apiserver-kubelet-client.key');
      if (existsSync(certPath) && existsSync(keyPath)) return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
      const pki = deps.pki();
      if (!pki) throw serviceUnavailable('the API server is starting');
      const c = await issueClientCertificate(pki, kubeletClientUser, 365);
      writeFileSync(keyPath, c.key, { mode: 0o600 });
      writeFileSync(certPath, c.cert, { mode: 0o600 });
      return c;
    })();
    p.catch(() => {
      p = undefined;
    });
    return p;
  };
}

function containerNames(pod: Pod): string[] {
  const s = pod.spec;
  return [...(s?.containers ?? []), ...(s?.initContainers ?? []), ...((s?.ephemeralContainers ?? []) as Container[])].map((c) => c.name);
}

/** kube-apiserver's validateContainer for logs and exec. */
export function podContainer(pod: Pod, requested: string | null): string {
  const name = pod.metadata?.name ?? '';
  if (!requested) {
    const cs = pod.spec?.containers ?? [];
    if (cs.length === 1) return cs[0].name;
    if (cs.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containerNames(pod).join(' ')}]`);
  }
  if (!containerNames(pod).includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** The agent's address and port from its Node. */
export function agentEndpoint(node: Node): { host: string; port: number } | undefined {
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const addrs = node.status?.addresses ?? [];
  const host = addrs.find((a) => a.type === 'InternalIP')?.address ?? addrs.find((a) => a.type === 'Hostname')?.address ?? addrs[0]?.address;
  if (!port || !host) return undefined;
  return { host, port };
}

const logParams = ['follow', 'previous', 'timestamps', 'tailLines', 'limitBytes', 'sinceSeconds', 'sinceTime', 'insecureSkipTLSVerifyBackend'];

function checkLogOptions(q: URLSearchParams, name: string): void {
  const errs: FieldError[] = [];
  const num = (k: string) => (q.get(k) !== null && q.get(k) !== '' ? Number(q.get(k)) : undefined);
  const tail = num('tailLines');
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) errs.push(fieldErrors.invalid('tailLines', tail, 'must be greater than or equal to 0'));
  const limit = num('limitBytes');
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) errs.push(fieldErrors.invalid('limitBytes', limit, 'must be greater than 0'));
  const since = num('sinceSeconds');
  if (since !== undefined && (!Number.isInteger(since) || since < 1)) errs.push(fieldErrors.invalid('sinceSeconds', since, 'must be greater than 0'));
  if (since !== undefined && q.get('sinceTime')) errs.push(fieldErrors.forbidden('', 'at most one of `sinceTime` or `sinceSeconds` may be specified'));
  if (errs.length) throw invalid({ group: '', kind: 'PodLogOptions' }, name, errs);
}

async function podAndNode(ctx: RequestContext): Promise<{ pod: Pod; node: Node | undefined }> {
  const pod = (await ctx.storage.get(ctx.info.namespace, ctx.info.name ?? '')) as unknown as Pod;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) return { pod, node: undefined };
  const nodes = ctx.deps.registry.find('', 'v1', 'nodes');
  if (!nodes) throw internalError('nodes are not served');
  const node = (await nodes.get(undefined, nodeName)) as unknown as Node;
  return { pod, node };
}

function agentPath(verb: string, pod: Pod, container: string, q: URLSearchParams, keep: readonly string[] | undefined): string {
  const out = new URLSearchParams();
  for (const [k, v] of q) if (!keep || keep.includes(k)) out.append(k, v);
  const s = out.toString();
  const enc = encodeURIComponent;
  return `/${verb}/${enc(pod.metadata?.namespace ?? '')}/${enc(pod.metadata?.name ?? '')}/${enc(container)}${s ? `?${s}` : ''}`;
}

/** GenericHttpResponseChecker: the agent's error answer as the API's error. */
function agentError(code: number, body: string, name: string): ApiError {
  const text = body.trim();
  try {
    const parsed = JSON.parse(text) as { kind?: string; message?: string; reason?: string; code?: number };
    if (parsed.kind === 'Status' && parsed.message) return new ApiError(parsed.code ?? code, (parsed.reason ?? 'BadRequest') as ApiError['reason'], parsed.message);
  } catch {
    // plain text, as kubelet answers
  }
  if (code === 400) return badRequest(text);
  if (code === 500) return internalError(text);
  if (code === 404) return new ApiError(404, 'NotFound', `the server could not find the requested resource ( pods/log ${name})`, { causes: [{ reason: 'UnexpectedServerResponse', message: text }] });
  return new ApiError(code, 'InternalError', text || `the agent answered ${code}`);
}

function logHandler(creds: () => Promise<KubeletClientCert>): SubresourceHandler {
  return async (ctx) => {
    if (ctx.info.verb !== 'get') throw badRequest('pods/log only takes GET');
    const name = ctx.info.name ?? '';
    checkLogOptions(ctx.query, name);
    const { pod, node } = await podAndNode(ctx);
    const container = podContainer(pod, ctx.query.get('container'));
    if (!node) {
      // kube-apiserver answers an unscheduled pod's logs with nothing.
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
      ctx.res.end();
      return;
    }
    const ep = agentEndpoint(node);
    if (!ep) throw badRequest(`node ${JSON.stringify(node.metadata?.name)} has no agent endpoint (status.addresses and daemonEndpoints)`);
    const c = await creds();
    const path = agentPath('containerLogs', pod, container, ctx.query, logParams);
    await new Promise<void>((resolve, reject) => {
      const up = https.request({ host: ep.host, port: ep.port, path, method: 'GET', cert: c.cert, key: c.key, rejectUnauthorized: false, agent: false }, (ar) => {
        const code = ar.statusCode ?? 500;
        if (code !== 200) {
          const chunks: Buffer[] = [];
          ar.on('data', (d: Buffer) => chunks.push(d));
          ar.on('end', () => reject(agentError(code, Buffer.concat(chunks).toString('utf8'), name)));
          ar.on('error', reject);
          return;
        }
        ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' });
        ctx.res.flushHeaders();
        ar.pipe(ctx.res);
        ar.on('end', () => resolve());
        ar.on('error', () => {
          ctx.res.destroy();
          resolve();
        });
      });
      up.on('error', (e) => reject(internalError(`Get "https://${ep.host}:${ep.port}${path}": ${e.message}`)));
      ctx.res.on('close', () => {
        up.destroy();
        resolve();
      });
      up.end();
    });
  };
}

function rawHead(statusCode: number, statusMessage: string, rawHeaders: string[]): string {
  let s = `HTTP/1.1 ${statusCode} ${statusMessage}\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) s += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return `${s}\r\n`;
}

const hopHeaders = new Set(['authorization', 'host', 'content-length', 'transfer-encoding', 'impersonate-user', 'impersonate-group']);

function execHandler(creds: () => Promise<KubeletClientCert>): SubresourceHandler {
  return async (ctx) => {
    const name = ctx.info.name ?? '';
    const { pod, node } = await podAndNode(ctx);
    const container = podContainer(pod, ctx.query.get('container'));
    if (!node) throw badRequest(`pod ${name} does not have a host assigned`);
    const req: IncomingMessage = ctx.req;
    if (!req.headers.upgrade) throw badRequest('Upgrade request required');
    const ep = agentEndpoint(node);
    if (!ep) throw badRequest(`node ${JSON.stringify(node.metadata?.name)} has no agent endpoint (status.addresses and daemonEndpoints)`);
    const c = await creds();
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !hopHeaders.has(k)) headers[k] = v;
    headers.host = `${ep.host}:${ep.port}`;
    const path = agentPath('exec', pod, container, ctx.query, undefined);
    const client = req.socket;
    await new Promise<void>((resolve, reject) => {
      const up = https.request({ host: ep.host, port: ep.port, path, method: req.method, headers, cert: c.cert, key: c.key, rejectUnauthorized: false, agent: false });
      up.on('upgrade', (ar, agentSocket: Socket, head: Buffer) => {
        ctx.res.detachSocket(client);
        client.write(rawHead(101, ar.statusMessage ?? 'Switching Protocols', ar.rawHeaders));
        if (head.length) client.write(head);
        agentSocket.pipe(client);
        client.pipe(agentSocket);
        const end = () => {
          agentSocket.destroy();
          client.destroy();
          resolve();
        };
        agentSocket.on('close', end);
        client.on('close', end);
        agentSocket.on('error', end);
        client.on('error', end);
      });
      up.on('response', (ar) => {
        // The agent refused the upgrade: pass its answer on as it is (kubectl prints it).
        const chunks: Buffer[] = [];
        ar.on('data', (d: Buffer) => chunks.push(d));
        ar.on('end', () => {
          const body = Buffer.concat(chunks);
          ctx.res.writeHead(ar.statusCode ?? 500, { 'Content-Type': ar.headers['content-type'] ?? 'text/plain', 'Content-Length': body.length });
          ctx.res.end(body);
          resolve();
        });
      });
      up.on('error', (e) => reject(internalError(`error dialing backend: ${e.message}`)));
      up.end();
    });
  };
}

/** Handlers for the subresource map: "pods/log" and "pods/exec". */
export function podProxyHandlers(deps: PodProxyDeps): Map<string, SubresourceHandler> {
  const creds = credentials(deps);
  // Issue the certificate early so the first kubectl logs does not wait for it.
  setTimeout(() => void creds().catch(() => undefined), 500).unref();
  return new Map<string, SubresourceHandler>([
    ['pods/log', logHandler(creds)],
    ['pods/exec', execHandler(creds)],
  ]);
}

/** For tests: the kubelet-client identity the relay presents. */
export const podProxyUser = kubeletClientUser;
