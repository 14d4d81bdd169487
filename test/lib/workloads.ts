// In-process clusters for controller tests: svcnet's API server on a memory store (host mode:
// loopback pod addresses allowed), the controllers under test, and a fake kubelet.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Namespaces } from '../../src/api/index.ts';
import { FakeClient, type Client } from '../../src/client/index.ts';
import type { Controller, RunningControllers } from '../../src/controllers/index.ts';
import { FakeKubelet, type FakeKubeletOptions } from './fake-kubelet.ts';
import { eventually } from '../../src/util/index.ts';

process.env.SVCNET_LOG_LEVEL ??= 'warn';
const { startServer } = await import('../../src/apiserver/index.ts');
const { MemoryStore } = await import('../../src/store/index.ts');
const { startControllers } = await import('../../src/controllers/index.ts');

export interface Cluster {
  /** The controller manager's client. */
  client: Client;
  /** A client acting as a user. */
  user: Client;
  kubelet: FakeKubelet;
  controllers: RunningControllers;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /**
   * 'apiserver' (default): svcnet's API server in-process. 'fake': the client package's
   * FakeClient, an in-memory API without validation or defaults (objects must be complete).
   */
  backend?: 'apiserver' | 'fake';
}

export async function startCluster(controllers: Controller[], kubeletOpts: FakeKubeletOptions = {}, opts: ClusterOptions = {}): Promise<Cluster> {
  if (opts.backend === 'fake') {
    const fake = new FakeClient();
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) await fake.create(Namespaces, undefined, { metadata: { name } });
    const running = await startControllers(fake, { serviceCIDRs: ['127.96.0.0/16'], clusterDomain: 'cluster.local', mode: 'host' }, controllers);
    const kubelet = new FakeKubelet(fake, kubeletOpts);
    await kubelet.start();
    return {
      client: fake,
      user: fake,
      kubelet,
      controllers: running,
      stop: async () => {
        await kubelet.stop();
        await running.stop();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-workloads-'));
  const server = await startServer({ dataDir: dir, listen: '127.0.0.1:0', store: new MemoryStore(), serviceCIDRs: ['127.96.0.0/16'], loopbackAddresses: true });
  const client = server.client('system:kube-controller-manager', 'kube-controller-manager');
  const user = server.client('admin', 'kubectl');
  const running = await startControllers(client, { serviceCIDRs: ['127.96.0.0/16'], clusterDomain: 'cluster.local', mode: 'host' }, controllers);
  const kubelet = new FakeKubelet(server.client('system:node', 'kubelet'), kubeletOpts);
  await kubelet.start();
  return {
    client,
    user,
    kubelet,
    controllers: running,
    stop: async () => {
      await kubelet.stop();
      await running.stop();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls fn until it returns a value other than undefined/false (src/util's eventually, with this file's defaults). */
export function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  return eventually(what, fn, timeoutMs, 50);
}

/**
 * Runs a user's write again on 409 Conflict. svcnet's API server answers Conflict to a patch
 * that carries no resourceVersion when a controller wrote the object meanwhile, where kube
 * retries such patches itself (reported with the workloads controllers).
 */
export async function retryOnConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const conflict = (e as { status?: { reason?: string } } | undefined)?.status?.reason === 'Conflict';
      if (!conflict || i >= 20) throw e;
    }
  }
}
