// Reads a kubeconfig file (clientcmd's format) into what an HTTPS connection needs: the
// current context's cluster server and TLS trust, and the user's credentials. Relative file
// paths resolve against the kubeconfig's own directory, as clientcmd resolves them.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** What a connection to one API server needs, from a kubeconfig or given directly. */
export interface ConnectionConfig {
  /** "https://127.0.0.1:6443" (a path prefix is kept: "https://host/prefix"). */
  server: string;
  /** PEM certificate(s) that sign the server's certificate. */
  ca?: Buffer;
  insecureSkipTLSVerify?: boolean;
  /** SNI and certificate name to expect instead of the server URL's host. */
  tlsServerName?: string;
  token?: string;
  /** A file holding the bearer token; re-read when it changes (projected tokens rotate). */
  tokenFile?: string;
  username?: string;
  password?: string;
  /** PEM client certificate and key. */
  cert?: Buffer;
  key?: Buffer;
  /** The context's namespace, if it names one. */
  namespace?: string;
}

export class KubeconfigError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`kubeconfig ${file}: ${message}`);
    this.name = 'KubeconfigError';
  }
}

/** $KUBECONFIG's first entry, else ~/.kube/config. */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = env.KUBECONFIG?.split(':').find((p) => p !== '');
  return first ?? join(homedir(), '.kube', 'config');
}

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Finds `name` in a kubeconfig list of `{name, <field>: {...}}` entries. */
function named(file: string, doc: Dict, list: string, field: string, name: string, referrer: string): Dict {
  const entries = doc[list];
  if (entries !== undefined && entries !== null && !Array.isArray(entries)) throw new KubeconfigError(file, `${list} must be a list`);
  const entry = (entries ?? []).find((e: unknown) => isDict(e) && e.name === name) as unknown;
  if (!isDict(entry)) throw new KubeconfigError(file, `${referrer} names ${field} "${name}", which is not in ${list}`);
  const body = entry[field];
  if (!isDict(body)) throw new KubeconfigError(file, `${list} entry "${name}" has no ${field}`);
  return body;
}

function str(file: string, where: string, d: Dict, key: string): string | undefined {
  const v = d[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new KubeconfigError(file, `${where}.${key} must be a string`);
  return v;
}

function bool(file: string, where: string, d: Dict, key: string): boolean | undefined {
  const v = d[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new KubeconfigError(file, `${where}.${key} must be true or false`);
  return v;
}

/** `<key>-data` (base64) wins over `<key>` (a file path relative to the kubeconfig). */
function pem(file: string, where: string, d: Dict, key: string): Buffer | undefined {
  const data = str(file, where, d, `${key}-data`);
  if (data !== undefined) return Buffer.from(data, 'base64');
  const path = str(file, where, d, key);
  if (path === undefined) return undefined;
  const full = isAbsolute(path) ? path : resolve(dirname(file), path);
  try {
    return readFileSync(full);
  } catch (e) {
    throw new KubeconfigError(file, `${where}.${key}: cannot read ${full}: ${(e as Error).message}`);
  }
}

export interface LoadKubeconfigOptions {
  /** A context other than current-context. */
  context?: string;
}

/** Parses kubeconfig text; `file` names it in errors and anchors relative paths. */
export function parseKubeconfig(text: string, file: string, opts: LoadKubeconfigOptions = {}): ConnectionConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new KubeconfigError(file, `not valid YAML: ${(e as Error).message}`);
  }
  if (!isDict(doc)) throw new KubeconfigError(file, 'not a kubeconfig (expected a mapping with clusters, users and contexts)');

  const contextName = opts.context ?? str(file, 'kubeconfig', doc, 'current-context');
  if (contextName === undefined) throw new KubeconfigError(file, 'current-context is not set and no context was given');
  const referrer = opts.context !== undefined ? 'the requested context' : 'current-context';
  const ctx = named(file, doc, 'contexts', 'context', contextName, referrer);
  const ctxWhere = `context "${contextName}"`;

  const clusterName = str(file, ctxWhere, ctx, 'cluster');
  if (clusterName === undefined) throw new KubeconfigError(file, `${ctxWhere} has no cluster`);
  const cluster = named(file, doc, 'clusters', 'cluster', clusterName, ctxWhere);
  const clWhere = `cluster "${clusterName}"`;
  const server = str(file, clWhere, cluster, 'server');
  if (server === undefined) throw new KubeconfigError(file, `${clWhere} has no server`);
  try {
    new URL(server);
  } catch {
    throw new KubeconfigError(file, `${clWhere}.server is not a URL: ${JSON.stringify(server)}`);
  }

  const cfg: ConnectionConfig = { server };
  const ca = pem(file, clWhere, cluster, 'certificate-authority');
  if (ca) cfg.ca = ca;
  const insecure = bool(file, clWhere, cluster, 'insecure-skip-tls-verify');
  if (insecure) cfg.insecureSkipTLSVerify = true;
  const sni = str(file, clWhere, cluster, 'tls-server-name');
  if (sni) cfg.tlsServerName = sni;
  const ns = str(file, ctxWhere, ctx, 'namespace');
  if (ns) cfg.namespace = ns;

  const userName = str(file, ctxWhere, ctx, 'user');
  if (userName === undefined) return cfg; // anonymous
  const user = named(file, doc, 'users', 'user', userName, ctxWhere);
  const uWhere = `user "${userName}"`;
  const token = str(file, uWhere, user, 'token');
  if (token) cfg.token = token;
  const tokenFile = str(file, uWhere, user, 'tokenFile');
  if (tokenFile && !token) cfg.tokenFile = isAbsolute(tokenFile) ? tokenFile : resolve(dirname(file), tokenFile);
  const username = str(file, uWhere, user, 'username');
  const password = str(file, uWhere, user, 'password');
  if (username !== undefined) {
    cfg.username = username;
    cfg.password = password ?? '';
  }
  const cert = pem(file, uWhere, user, 'client-certificate');
  const key = pem(file, uWhere, user, 'client-key');
  if (cert && !key) throw new KubeconfigError(file, `${uWhere} has client-certificate but no client-key(-data)`);
  if (key && !cert) throw new KubeconfigError(file, `${uWhere} has client-key but no client-certificate(-data)`);
  if (cert && key) {
    cfg.cert = cert;
    cfg.key = key;
  }
  const hasCreds = cfg.token !== undefined || cfg.tokenFile !== undefined || cfg.username !== undefined || cfg.cert !== undefined;
  if (!hasCreds && (user.exec !== undefined || user['auth-provider'] !== undefined)) {
    throw new KubeconfigError(file, `${uWhere} uses an exec or auth-provider plugin, which svcnet does not support; give token, tokenFile or client-certificate-data and client-key-data`);
  }
  return cfg;
}

/** Loads a kubeconfig file (default: $KUBECONFIG or ~/.kube/config). */
export function loadKubeconfig(file: string = defaultKubeconfigPath(), opts: LoadKubeconfigOptions = {}): ConnectionConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KubeconfigError(file, `cannot read: ${(e as Error).message}`);
  }
  return parseKubeconfig(text, resolve(file), opts);
}

/**
 * A kubeconfig for `server` with its CA and one credential (a bearer token, or a client
 * certificate and key), as kubectl and client libraries read it.
 */
export function kubeconfigYaml(opts: { server: string; caCert: string; token?: string; clientCert?: { cert: string; key: string }; name?: string; user?: string }): string {
  const name = opts.name ?? 'svcnet';
  const user = opts.user ?? 'admin';
  const b64 = (x: string) => Buffer.from(x).toString('base64');
  const credential = opts.clientCert
    ? [`    client-certificate-data: ${b64(opts.clientCert.cert)}`, `    client-key-data: ${b64(opts.clientCert.key)}`]
    : [`    token: ${opts.token ?? ''}`];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${opts.server}`,
    `    certificate-authority-data: ${b64(opts.caCert)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    ...credential,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${user}`,
    `current-context: ${name}`,
    '',
  ].join('\n');
}
