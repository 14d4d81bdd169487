// The kube-dns Service and its Endpoints, from observed state (pure). kubeadm installs
// kube-system/kube-dns in front of CoreDNS pods; svcnet's cluster DNS runs on every node instead
// (src/dns/plugin.ts), so the Service has no selector and its Endpoints list the nodes whose DNS
// serves (annotated with its address): Ready nodes as addresses, the others as notReadyAddresses.
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Node, Service } from 'kubernetes-types/core/v1.js';
import { servingAddressAnnotation } from '../../dns/index.ts';

export const kubeDnsNamespace = 'kube-system';
export const kubeDnsName = 'kube-dns';

const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' };

/** kubeadm's kube-dns Service (ports dns, dns-tcp, metrics), at the cluster DNS address, without a selector. */
export function kubeDnsService(clusterIP: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: kubeDnsName,
      namespace: kubeDnsNamespace,
      labels: { ...labels },
      annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  };
}

const ports: EndpointPort[] = [
  { name: 'dns', port: 53, protocol: 'UDP' },
  { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  { name: 'metrics', port: 9153, protocol: 'TCP' },
];

function nodeReady(n: Node): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The subsets kube-dns's Endpoints should hold for these nodes (sorted, as the endpoints controller sorts). */
export function kubeDnsSubsets(nodes: readonly Node[]): EndpointSubset[] {
  const ready: EndpointAddress[] = [];
  const notReady: EndpointAddress[] = [];
  for (const n of nodes) {
    const ip = n.metadata?.annotations?.[servingAddressAnnotation];
    const name = n.metadata?.name;
    if (!ip || !name || n.metadata?.deletionTimestamp) continue;
    const a: EndpointAddress = { ip, nodeName: name, targetRef: { kind: 'Node', name, uid: n.metadata?.uid } };
    (nodeReady(n) ? ready : notReady).push(a);
  }
  if (ready.length === 0 && notReady.length === 0) return [];
  const byIP = (a: EndpointAddress, b: EndpointAddress) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);
  const subset: EndpointSubset = { ports: ports.map((p) => ({ ...p })) };
  if (ready.length) subset.addresses = ready.sort(byIP);
  if (notReady.length) subset.notReadyAddresses = notReady.sort(byIP);
  return [subset];
}

/** The Endpoints to write, or undefined when the current ones already say so. */
export function kubeDnsEndpoints(current: Endpoints | undefined, nodes: readonly Node[]): Endpoints | undefined {
  const subsets = kubeDnsSubsets(nodes);
  const want: Endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { ...(current?.metadata ?? {}), name: kubeDnsName, namespace: kubeDnsNamespace, labels: { ...(current?.metadata?.labels ?? {}), ...labels } },
    subsets,
  };
  if (current && JSON.stringify(current.subsets ?? []) === JSON.stringify(subsets) && Object.entries(labels).every(([k, v]) => current.metadata?.labels?.[k] === v)) return undefined;
  return want;
}

/** Whether the Service is svcnet's to keep endpoints for (a selector means someone runs DNS pods behind it). */
export function managesEndpoints(svc: Service | undefined): boolean {
  return !!svc && !svc.spec?.selector && svc.spec?.type !== 'ExternalName';
}
