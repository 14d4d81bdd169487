// The userspace backend's pure core: from the desired per-node state to the sockets that must
// listen (one per ClusterIP:port, node port, LoadBalancer IP:port and external IP:port) and the
// routes behind them (the endpoints internal or external traffic of one Service port goes to).
// A Service port without endpoints gets no listener at all, so that the kernel refuses its
// clients at once (ECONNREFUSED, or ICMP port unreachable for UDP): kube-proxy's reject rule.
import type { Endpoint, IPFamily, NamespacedName, ServicePortName, ServiceState } from '../types.ts';

export type ListenerProtocol = 'TCP' | 'UDP';
export type Traffic = 'internal' | 'external';
export type ListenerKind = 'clusterIP' | 'nodePort' | 'loadBalancer' | 'externalIP';

/** Where one Service port's traffic of one kind goes. */
export interface RouteSpec {
  /** "ns/name:port/IPv4/internal". */
  key: string;
  service: NamespacedName;
  portName: ServicePortName;
  protocol: ListenerProtocol;
  traffic: Traffic;
  endpoints: readonly Endpoint[];
  /** sessionAffinity ClientIP timeout; 0: none. */
  affinityTimeoutSeconds: number;
}

/** One socket to listen on. */
export interface ListenerSpec {
  /** "TCP/127.96.0.10/5000" ("TCP/[::1]/5000" for IPv6). */
  key: string;
  protocol: ListenerProtocol;
  ip: string;
  port: number;
  family: IPFamily;
  kind: ListenerKind;
  service: NamespacedName;
  /** The RouteSpec key its connections are balanced over. */
  route: string;
  /** loadBalancerSourceRanges (LoadBalancer IPs only, as kube-proxy); empty: any client. */
  sourceRanges: readonly string[];
}

/** An address the Service asks for that this backend does not serve, and why. */
export interface Skipped {
  service: NamespacedName;
  ip: string;
  port: number;
  protocol: string;
  kind: ListenerKind;
  reason: string;
}

export interface ServicePlan {
  listeners: ListenerSpec[];
  routes: RouteSpec[];
  skipped: Skipped[];
}

export interface PlanOptions {
  /** The node IPs node ports answer on (already narrowed by nodePortAddresses). */
  nodePortIPs: readonly string[];
  /** Whether this backend may bind ip (host mode: loopback addresses only). */
  bindable(ip: string): boolean;
}

export function listenerKey(protocol: string, ip: string, port: number): string {
  return `${protocol}/${ip.includes(':') ? `[${ip}]` : ip}/${port}`;
}

const familyOfIP = (ip: string): IPFamily => (ip.includes(':') ? 'IPv6' : 'IPv4');

/** The listeners and routes one Service needs on this node. */
export function planService(svc: ServiceState, o: PlanOptions): ServicePlan {
  const listeners: ListenerSpec[] = [];
  const routes: RouteSpec[] = [];
  const skipped: Skipped[] = [];
  for (const p of svc.ports) {
    const info = p.info;
    const want: { ip: string; port: number; kind: ListenerKind; traffic: Traffic }[] = [];
    for (const ip of info.clusterIPs) if (familyOfIP(ip) === p.family) want.push({ ip, port: info.port, kind: 'clusterIP', traffic: 'internal' });
    if (info.nodePort > 0) for (const ip of o.nodePortIPs) if (familyOfIP(ip) === p.family) want.push({ ip, port: info.nodePort, kind: 'nodePort', traffic: 'external' });
    for (const ip of info.loadBalancerIPs) if (familyOfIP(ip) === p.family) want.push({ ip, port: info.port, kind: 'loadBalancer', traffic: 'external' });
    for (const ip of info.externalIPs) if (familyOfIP(ip) === p.family) want.push({ ip, port: info.port, kind: 'externalIP', traffic: 'external' });
    if (info.protocol !== 'TCP' && info.protocol !== 'UDP') {
      for (const w of want) skipped.push({ service: svc.name, ip: w.ip, port: w.port, protocol: info.protocol, kind: w.kind, reason: `${info.protocol} is not proxied by the userspace backend` });
      continue;
    }
    const protocol: ListenerProtocol = info.protocol;
    const made = new Set<Traffic>();
    for (const w of want) {
      if (!o.bindable(w.ip)) {
        skipped.push({ service: svc.name, ip: w.ip, port: w.port, protocol, kind: w.kind, reason: 'not a loopback address: host mode serves loopback addresses only' });
        continue;
      }
      const endpoints = w.traffic === 'internal' ? p.internalEndpoints : p.externalEndpoints;
      // No endpoints (or, with a Local policy, none on this node): no listener, so clients are refused at once.
      if (endpoints.length === 0) continue;
      const route = `${info.name}/${p.family}/${w.traffic}`;
      if (!made.has(w.traffic)) {
        made.add(w.traffic);
        routes.push({ key: route, service: svc.name, portName: info.name, protocol, traffic: w.traffic, endpoints, affinityTimeoutSeconds: info.affinityTimeoutSeconds });
      }
      listeners.push({
        key: listenerKey(protocol, w.ip, w.port),
        protocol,
        ip: w.ip,
        port: w.port,
        family: p.family,
        kind: w.kind,
        service: svc.name,
        route,
        sourceRanges: w.kind === 'loadBalancer' ? info.loadBalancerSourceRanges : [],
      });
    }
  }
  return { listeners, routes, skipped };
}

export interface ListenerDiff {
  add: ListenerSpec[];
  remove: ListenerSpec[];
  /** Same socket, different route or source ranges: updated in place, connections untouched. */
  retarget: ListenerSpec[];
}

const sameRanges = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function diffListeners(current: ReadonlyMap<string, ListenerSpec>, desired: ReadonlyMap<string, ListenerSpec>): ListenerDiff {
  const add: ListenerSpec[] = [];
  const remove: ListenerSpec[] = [];
  const retarget: ListenerSpec[] = [];
  for (const [k, spec] of current) if (!desired.has(k)) remove.push(spec);
  for (const [k, spec] of desired) {
    const cur = current.get(k);
    if (!cur) add.push(spec);
    else if (cur.route !== spec.route || !sameRanges(cur.sourceRanges, spec.sourceRanges) || cur.service !== spec.service) retarget.push(spec);
  }
  return { add, remove, retarget };
}

/** Whether ip is a loopback address (127.0.0.0/8, ::1): the only addresses host mode binds. */
export function isLoopback(ip: string): boolean {
  if (ip.includes(':')) return ip === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(ip);
  const parts = ip.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255);
}
