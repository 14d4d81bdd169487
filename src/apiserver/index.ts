// The API server, composed: store, strategies, hooks, patch engines, printers and OpenAPI
// wired into the HTTPS server. `startServer` is what `svcnet server` runs.
import { gvkOf, type AnyObject } from '../api/index.ts';
import type { Store } from '../store/index.ts';
import { decodeProtobufObject } from './protobuf/index.ts';
import { provisionalPatch, provisionalStrategy, provisionalTable } from './provisional.ts';
import { startApiServer, type ApiServer } from './server.ts';

export { kubernetesVersion, type ApiServer } from './server.ts';
export { issueToken, issueClientCertificate, kubeconfigYaml, type UserInfo } from './pki.ts';
export type { Registry } from './registry/registry.ts';

export interface ServerConfig {
  dataDir: string;
  listen?: string;
  store: Store;
  extraSANs?: string[];
  bookmarkIntervalMs?: number;
}

export async function startServer(cfg: ServerConfig): Promise<ApiServer> {
  return startApiServer({
    dataDir: cfg.dataDir,
    listen: cfg.listen,
    store: cfg.store,
    extraSANs: cfg.extraSANs,
    bookmarkIntervalMs: cfg.bookmarkIntervalMs,
    strategyFor: provisionalStrategy,
    handlers: {
      table: provisionalTable,
      patch: provisionalPatch,
      protobuf: (body, r) => decodeProtobufObject(body, gvkOf(r)) as AnyObject,
      subresources: new Map(),
    },
  });
}
