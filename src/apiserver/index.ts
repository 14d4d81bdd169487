// The API server, composed: store, strategies, hooks, patch engines, printers and OpenAPI
// wired into the HTTPS server. `startServer` is what `svcnet server` runs.
import { gvkOf, type AnyObject } from '../api/index.ts';
import type { Store } from '../store/index.ts';
import { decodeProtobufObject } from './protobuf/index.ts';
import { provisionalPatch } from './provisional.ts';
import { fieldCheck, openapi, strategyFor, table } from './wiring.ts';
import { startApiServer, type ApiServer } from './server.ts';
import { InProcessClient } from './inprocess-client.ts';
import { bindPod, getScale, subresourceHandlers, updateScale } from './subresources.ts';

export { kubernetesVersion, type ApiServer } from './server.ts';
export { issueToken, issueClientCertificate, kubeconfigYaml, type UserInfo } from './pki.ts';
export type { Registry } from './registry/registry.ts';
export type { InProcessClient } from './inprocess-client.ts';

export interface ServerConfig {
  dataDir: string;
  listen?: string;
  store: Store;
  extraSANs?: string[];
  bookmarkIntervalMs?: number;
}

export interface RunningServer extends ApiServer {
  /** An in-process client attributed to `user`, writing as `fieldManager`. */
  client(user: string, fieldManager: string): InProcessClient;
}

export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  const patch = provisionalPatch;
  const server = await startApiServer({
    dataDir: cfg.dataDir,
    listen: cfg.listen,
    store: cfg.store,
    extraSANs: cfg.extraSANs,
    bookmarkIntervalMs: cfg.bookmarkIntervalMs,
    strategyFor,
    openapi,
    handlers: {
      table,
      fields: fieldCheck,
      patch,
      protobuf: (body, r) => decodeProtobufObject(body, gvkOf(r)) as AnyObject,
      subresources: subresourceHandlers(),
    },
  });
  const base = new InProcessClient({
    registry: server.registry,
    patch,
    subresourceCreators: new Map([['pods/binding', (s, ns, name, body, user) => bindPod(s, ns, name, body, user)]]),
    scale: { get: getScale, update: updateScale },
    user: 'system:apiserver',
    fieldManager: 'kube-apiserver',
  });
  return { ...server, client: (user, fieldManager) => base.as(user, fieldManager) };
}
