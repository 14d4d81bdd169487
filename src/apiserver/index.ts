// The API server, composed: store, strategies, allocation hooks, patch engines, printers and
// OpenAPI wired into the HTTPS server, plus what kube-apiserver keeps in place by itself (system
// namespaces, the `kubernetes` Service) and the allocation repair pass. `startServer` is what
// `svcnet server` runs.
import { Services, gvkOf, type AnyObject } from '../api/index.ts';
import { EventRecorder } from '../client/index.ts';
import type { Store } from '../store/index.ts';
import { decodeProtobufObject } from './protobuf/index.ts';
import { startApiServer, type ApiServer } from './server.ts';
import { InProcessClient } from './inprocess-client.ts';
import { bindPod, getScale, subresourceHandlers, updateScale } from './subresources.ts';
import { fieldCheck, managedFields, openapi, patchApplier, patchPolicy, strategyFor, table } from './wiring.ts';
import { ServiceAllocator } from './services/allocator.ts';
import { serviceHooks } from './services/hooks.ts';
import { repairAllocations } from './services/repair.ts';
import { parsePortRange } from './services/ranges.ts';
import { startBootstrap } from './bootstrap.ts';
import { allowLoopbackAddresses } from '../api/validation/index.ts';
import { join } from 'node:path';
import { podProxyHandlers } from './podproxy.ts';
import type { Pki } from './pki.ts';

export { kubernetesVersion, type ApiServer } from './server.ts';
export { issueToken, issueClientCertificate, type UserInfo } from './pki.ts';
export type { Registry } from './registry/index.ts';
export type { InProcessClient } from './inprocess-client.ts';
export { systemNamespaces } from './bootstrap.ts';

export interface ServerConfig {
  dataDir: string;
  listen?: string;
  store: Store;
  /** Service CIDRs, primary first, at most one per family. */
  serviceCIDRs: string[];
  /** e.g. "30000-32767" */
  nodePortRange?: string;
  /** Host mode: pods, Services and LoadBalancer addresses are loopback addresses (allowed in Endpoints). */
  loopbackAddresses?: boolean;
  /** The address the `kubernetes` Endpoints carry (default: the listen host, or 127.0.0.1). */
  advertiseAddress?: string;
  extraSANs?: string[];
  bookmarkIntervalMs?: number;
}

export interface RunningServer extends ApiServer {
  /** An in-process client attributed to `user`, writing as `fieldManager`. */
  client(user: string, fieldManager: string): InProcessClient;
  allocator: ServiceAllocator;
}

export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  const patch = patchApplier;
  allowLoopbackAddresses(cfg.loopbackAddresses ?? false);
  const nodePortRange = cfg.nodePortRange ?? '30000-32767';
  const ports = parsePortRange(nodePortRange);
  const cluster = { serviceCIDRs: cfg.serviceCIDRs, nodePortRange: { base: ports.base, size: ports.size } };
  const allocator = new ServiceAllocator(cfg.store, { serviceCIDRs: cfg.serviceCIDRs, nodePortRange });
  await allocator.start();
  const pkiRef: { pki?: Pki } = {};
  const server = await startApiServer({
    dataDir: cfg.dataDir,
    listen: cfg.listen,
    store: cfg.store,
    extraSANs: cfg.extraSANs,
    bookmarkIntervalMs: cfg.bookmarkIntervalMs,
    strategyFor,
    managedFields,
    hooksFor: (r) => (r === Services ? serviceHooks({ allocator, cluster }) : undefined),
    openapi,
    handlers: {
      table,
      fields: fieldCheck,
      patch,
      patchPolicy,
      protobuf: (body, r) => decodeProtobufObject(body, gvkOf(r)) as AnyObject,
      subresources: new Map([...subresourceHandlers(), ...podProxyHandlers({ pki: () => pkiRef.pki, pkiDir: join(cfg.dataDir, 'pki') })]),
    },
  });
  pkiRef.pki = server.pki;
  const base = new InProcessClient({
    registry: server.registry,
    patch,
    subresourceCreators: new Map([['pods/binding', (s, ns, name, body, user) => bindPod(s, ns, name, body, user)]]),
    scale: { get: getScale, update: updateScale },
    user: 'system:apiserver',
    fieldManager: 'kube-apiserver',
  });
  const internal = base.as('system:apiserver', 'kube-apiserver');
  await repairAllocations(server.registry, cfg.store, allocator, {
    ip: new EventRecorder(internal, 'ipallocator-repair-controller'),
    port: new EventRecorder(internal, 'portallocator-repair-controller'),
  });
  const primary = allocator.ranges[0];
  if (!primary) throw new Error('--service-cidr: at least one CIDR is needed');
  const advertise = cfg.advertiseAddress ?? (server.host === '0.0.0.0' || server.host === '::' || server.host === 'localhost' ? '127.0.0.1' : server.host);
  const bootstrap = await startBootstrap({ client: internal, kubernetesServiceIP: primary.addressAt(1), advertiseAddress: advertise, port: server.port });
  return {
    ...server,
    allocator,
    client: (user, fieldManager) => base.as(user, fieldManager),
    close: async () => {
      bootstrap.stop();
      await server.close();
      allocator.stop();
    },
  };
}
