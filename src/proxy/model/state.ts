// The pure core: from Services, EndpointSlices and this node to the endpoints each Service port
// uses here for internal and for external traffic (kube-proxy's CategorizeEndpoints in
// pkg/proxy/topology.go, and the local-endpoint counts its health-check servers report).
import type {
  Endpoint,
  IPFamily,
  NamespacedName,
  NodeInfo,
  ProxyState,
  ServiceInfo,
  ServicePortInfo,
  ServicePortState,
  ServiceState,
  SliceInfo,
} from '../types.ts';

export const LabelTopologyZone = 'topology.kubernetes.io/zone';

export function familyOf(ip: string): IPFamily {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

/** The endpoints of one Service port in one family, merged over its slices (a duplicate: a ready copy wins). */
export function endpointsFor(port: ServicePortInfo, family: IPFamily, slices: Iterable<SliceInfo>): Endpoint[] {
  const out: Endpoint[] = [];
  let seen: Map<string, number> | undefined;
  let contributing = 0;
  for (const s of slices) {
    if (s.family !== family) continue;
    const sp = s.ports.find((p) => p.name === port.portName && p.protocol === port.protocol);
    if (!sp) continue;
    if (++contributing === 2) seen = new Map(out.map((e, i) => [`${e.ip}:${e.port}`, i]));
    for (const e of s.endpoints) {
      const ep: Endpoint = { ip: e.ip, port: sp.port, family, ready: e.ready, serving: e.serving, terminating: e.terminating, nodeName: e.nodeName, zone: e.zone, zoneHints: e.zoneHints };
      if (seen) {
        const key = `${e.ip}:${sp.port}`;
        const i = seen.get(key);
        if (i !== undefined) {
          if (!out[i].ready && e.ready) out[i] = ep;
          continue;
        }
        seen.set(key, out.length);
      }
      out.push(ep);
    }
  }
  return out.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port));
}

function canUseTopology(endpoints: readonly Endpoint[], info: ServicePortInfo, zone: string | undefined): boolean {
  if (!info.topologyAware || !zone) return false;
  let hasEndpointForZone = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    // One ready endpoint without hints and the hints are not trusted at all.
    if (!ep.zoneHints || ep.zoneHints.length === 0) return false;
    if (ep.zoneHints.includes(zone)) hasEndpointForZone = true;
  }
  return hasEndpointForZone;
}

export interface Categorized {
  clusterEndpoints: Endpoint[];
  localEndpoints: Endpoint[];
  allReachableEndpoints: Endpoint[];
  hasAnyEndpoints: boolean;
}

/**
 * kube-proxy's CategorizeEndpoints: the endpoints for Cluster policy (ready ones, topology-filtered,
 * else serving-terminating ones), those for Local policy (local ready ones, else local
 * serving-terminating ones), and whether the port has any usable endpoint anywhere.
 */
export function categorizeEndpoints(endpoints: readonly Endpoint[], info: ServicePortInfo, node: NodeInfo): Categorized {
  // The common case, cheaply: Cluster policies, no topology, every endpoint ready.
  if (!info.internalPolicyLocal && !info.externalPolicyLocal && !info.topologyAware && endpoints.every((ep) => ep.ready)) {
    const all = endpoints as Endpoint[];
    return { clusterEndpoints: all, localEndpoints: [], allReachableEndpoints: all, hasAnyEndpoints: all.length > 0 };
  }
  const isLocal = (ep: Endpoint): boolean => ep.nodeName !== undefined && ep.nodeName === node.name;
  const usesLocal = info.internalPolicyLocal || info.externalPolicyLocal;
  const externallyAccessible = info.nodePort > 0 || info.loadBalancerIPs.length > 0 || info.externalIPs.length > 0;
  const usesCluster = !info.internalPolicyLocal || (externallyAccessible && !info.externalPolicyLocal);
  const zone = node.labels?.[LabelTopologyZone];

  let clusterEndpoints: Endpoint[] = [];
  let useTopology = false;
  let hasAnyEndpoints = false;
  if (usesCluster) {
    useTopology = canUseTopology(endpoints, info, zone);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && (!useTopology || (ep.zoneHints ?? []).includes(zone ?? '')));
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }
  if (!usesLocal) return { clusterEndpoints, localEndpoints: [], allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (isLocal(ep)) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (isLocal(ep)) hasLocalServingTerminating = true;
    }
  }
  let localEndpoints: Endpoint[] = [];
  let useServingTerminating = false;
  if (hasLocalReady) localEndpoints = endpoints.filter((ep) => isLocal(ep) && ep.ready);
  else if (hasLocalServingTerminating) {
    useServingTerminating = true;
    localEndpoints = endpoints.filter((ep) => isLocal(ep) && ep.serving && ep.terminating);
  }
  if (!usesCluster) return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  if (!useTopology && !useServingTerminating) return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  const all = new Map<string, Endpoint>();
  for (const ep of [...clusterEndpoints, ...localEndpoints]) all.set(`${ep.ip}:${ep.port}`, ep);
  return { clusterEndpoints, localEndpoints, allReachableEndpoints: [...all.values()], hasAnyEndpoints };
}

/** The desired state of one Service on this node, for the families it proxies. */
export function computeServiceState(svc: ServiceInfo, slices: Iterable<SliceInfo>, node: NodeInfo, families: readonly IPFamily[]): ServiceState {
  const sliceList = [...slices];
  const ports: ServicePortState[] = [];
  const localReady = new Set<string>();
  let healthCheckNodePort = 0;
  for (const info of svc.ports) {
    if (info.healthCheckNodePort) healthCheckNodePort = info.healthCheckNodePort;
    for (const family of families) {
      if (!info.clusterIPs.some((ip) => familyOf(ip) === family)) continue;
      const eps = endpointsFor(info, family, sliceList);
      const c = categorizeEndpoints(eps, info, node);
      for (const ep of eps) if (ep.ready && ep.nodeName === node.name) localReady.add(ep.ip);
      ports.push({
        info,
        family,
        clusterEndpoints: c.clusterEndpoints,
        localEndpoints: c.localEndpoints,
        internalEndpoints: info.internalPolicyLocal ? c.localEndpoints : c.clusterEndpoints,
        externalEndpoints: info.externalPolicyLocal ? c.localEndpoints : c.clusterEndpoints,
        hasAnyEndpoints: c.hasAnyEndpoints,
        allReachableEndpoints: c.allReachableEndpoints,
      });
    }
  }
  return { name: svc.name, ports, healthCheckNodePort, localReadyEndpoints: localReady.size };
}

/** The whole desired state: every proxied Service with its slices. */
export function computeState(
  services: ReadonlyMap<NamespacedName, ServiceInfo>,
  slicesByService: ReadonlyMap<NamespacedName, ReadonlyMap<string, SliceInfo>>,
  node: NodeInfo,
  families: readonly IPFamily[],
): ProxyState {
  const out = new Map<NamespacedName, ServiceState>();
  for (const [name, svc] of services) out.set(name, computeServiceState(svc, slicesByService.get(name)?.values() ?? [], node, families));
  return { services: out };
}
