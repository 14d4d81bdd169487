// What kube-apiserver keeps in place by itself: the system namespaces, and the `kubernetes`
// Service in `default` (the first address of the Service CIDR, port 443) with Endpoints and an
// EndpointSlice pointing at the API server. Re-checked periodically, as kube's controllers do.
import type { Endpoints as EndpointsT, Namespace, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { Endpoints, EndpointSlices, Namespaces, Services, isAlreadyExists, isNotFound, type KubeObject, type ResourceInfo } from '../api/index.ts';
import type { Client } from '../client/index.ts';
import { logger } from '../util/index.ts';

export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** svcnet bundles MetalLB: its namespace exists from the start, as after MetalLB's install. */
export const bundledNamespaces = ['metallb-system'];

const log = logger('bootstrap');
let warnedEndpoints = false;

export interface BootstrapOptions {
  client: Client;
  /** The `kubernetes` Service's cluster IP (first address of the primary Service CIDR). */
  kubernetesServiceIP: string;
  /** Where clients reach the API server: its address and port. */
  advertiseAddress: string;
  port: number;
  intervalMs?: number;
}

async function ensure<T extends KubeObject>(client: Client, r: ResourceInfo, ns: string | undefined, obj: T, same: (cur: T) => boolean): Promise<void> {
  const name = obj.metadata?.name ?? '';
  try {
    const cur = await client.get<T>(r, ns, name);
    if (same(cur)) return;
    await client.update(r, { ...structuredClone(cur), ...structuredClone(obj), metadata: { ...cur.metadata, ...obj.metadata, resourceVersion: cur.metadata?.resourceVersion } });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    try {
      await client.create(r, ns, obj);
    } catch (e2) {
      if (!isAlreadyExists(e2)) throw e2;
    }
  }
}

export async function reconcileSystemObjects(o: BootstrapOptions): Promise<void> {
  const { client } = o;
  for (const name of [...systemNamespaces, ...bundledNamespaces]) {
    const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
    await ensure(client, Namespaces, undefined, ns, () => true);
  }
  const family = o.advertiseAddress.includes(':') ? 'IPv6' : 'IPv4';
  const svc: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: o.kubernetesServiceIP,
      clusterIPs: [o.kubernetesServiceIP],
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: o.port }],
      sessionAffinity: 'None',
    },
  };
  await ensure(client, Services, 'default', svc, (cur) => {
    const p = cur.spec?.ports?.[0];
    return cur.spec?.ports?.length === 1 && p?.port === 443 && p.targetPort === o.port && p.name === 'https';
  });
  const ep: EndpointsT = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: o.advertiseAddress }], ports: [{ name: 'https', port: o.port, protocol: 'TCP' }] }],
  };
  // A loopback advertise address is refused in Endpoints outside host mode (as in Kubernetes):
  // the Service then stays without endpoints, and the server keeps running.
  try {
    await ensure(client, Endpoints, 'default', ep, (cur) => JSON.stringify(cur.subsets) === JSON.stringify(ep.subsets));
  } catch (err) {
    if (!warnedEndpoints) log.warn({ err, advertiseAddress: o.advertiseAddress }, 'cannot publish the kubernetes Endpoints; set --advertise-address');
    warnedEndpoints = true;
    return;
  }
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: family,
    endpoints: [{ addresses: [o.advertiseAddress], conditions: { ready: true } }],
    ports: [{ name: 'https', port: o.port, protocol: 'TCP' }],
  };
  await ensure(client, EndpointSlices, 'default', slice, (cur) => JSON.stringify(cur.endpoints) === JSON.stringify(slice.endpoints) && JSON.stringify(cur.ports) === JSON.stringify(slice.ports));
}

/** Runs the reconciliation now and every interval; stop() ends it. */
export async function startBootstrap(o: BootstrapOptions): Promise<{ stop(): void }> {
  await reconcileSystemObjects(o);
  const t = setInterval(() => {
    reconcileSystemObjects(o).catch((err: unknown) => log.warn({ err }, 'reconciling system objects failed'));
  }, o.intervalMs ?? 10_000);
  t.unref();
  return { stop: () => clearInterval(t) };
}
