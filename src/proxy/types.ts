// The service proxy's shared vocabulary (kube-proxy's pkg/proxy/types.go, stripped down): what
// the model makes of Services and EndpointSlices, and the desired per-node state every backend
// (nftables, userspace) programs. Objects are converted to these at the informer boundary so
// that change detection compares only what the proxy uses.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type IPFamily = 'IPv4' | 'IPv6';

/** "namespace/name" of a Service. */
export type NamespacedName = string;

/**
 * One port of one Service: "namespace/name:portName" (kube-proxy's ServicePortName.String();
 * an unnamed port gives "namespace/name:").
 */
export type ServicePortName = string;

/** What the proxy needs of one Service port (kube-proxy's BaseServicePortInfo). */
export interface ServicePortInfo {
  name: ServicePortName;
  service: NamespacedName;
  portName: string;
  protocol: Protocol;
  port: number;
  /** ClusterIPs of every family the Service has. */
  clusterIPs: string[];
  /** 0 when the Service has no node port. */
  nodePort: number;
  /** status.loadBalancer.ingress IPs whose ipMode is VIP (Proxy-mode addresses are not captured). */
  loadBalancerIPs: string[];
  externalIPs: string[];
  /** loadBalancerSourceRanges as CIDRs; empty: no firewall. */
  loadBalancerSourceRanges: string[];
  /** sessionAffinity ClientIP timeout in seconds; 0: no affinity. */
  affinityTimeoutSeconds: number;
  /** externalTrafficPolicy Local, for a Service reachable from outside (kube-proxy's ExternalPolicyLocal). */
  externalPolicyLocal: boolean;
  /** internalTrafficPolicy Local. */
  internalPolicyLocal: boolean;
  /** spec.healthCheckNodePort; 0 when none. */
  healthCheckNodePort: number;
  /** Topology-aware routing asked for (topology-mode annotation Auto, or trafficDistribution). */
  topologyAware: boolean;
}

/** A Service as the proxy keeps it: its ports in spec order. */
export interface ServiceInfo {
  name: NamespacedName;
  ports: ServicePortInfo[];
}

/** One endpoint of an EndpointSlice port (kube-proxy's BaseEndpointInfo). */
export interface Endpoint {
  ip: string;
  port: number;
  family: IPFamily;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
  /** hints.forZones; undefined when the endpoint has no hints. */
  zoneHints?: string[];
}

/** An EndpointSlice as the proxy keeps it: endpoints per port name and protocol. */
export interface SliceInfo {
  /** "namespace/name" of the EndpointSlice. */
  name: string;
  /** The Service it belongs to (label kubernetes.io/service-name); "" when none. */
  service: NamespacedName;
  family: IPFamily | 'FQDN';
  ports: { name: string; protocol: Protocol; port: number }[];
  endpoints: Omit<Endpoint, 'port' | 'family'>[];
}

/** This node, as the proxy sees it. */
export interface NodeInfo {
  name: string;
  labels?: Record<string, string>;
}

/** The endpoints one Service port uses on this node for one IP family (kube-proxy's CategorizeEndpoints). */
export interface ServicePortState {
  info: ServicePortInfo;
  family: IPFamily;
  /** Endpoints for traffic with Cluster policy: ready ones (topology-filtered), else serving-terminating ones. */
  clusterEndpoints: Endpoint[];
  /** Endpoints on this node for traffic with Local policy: ready ones, else serving-terminating ones. */
  localEndpoints: Endpoint[];
  /** Endpoints for internal traffic (ClusterIP): local ones when internalTrafficPolicy is Local. */
  internalEndpoints: Endpoint[];
  /** Endpoints for external traffic (NodePort, LoadBalancer, externalIPs). */
  externalEndpoints: Endpoint[];
  /** Whether the Service port has any usable endpoint anywhere in the cluster. */
  hasAnyEndpoints: boolean;
  /** Every endpoint the port may send to (for conntrack cleanup). */
  allReachableEndpoints: Endpoint[];
}

/** The desired state of one Service on this node. */
export interface ServiceState {
  name: NamespacedName;
  ports: ServicePortState[];
  /** healthCheckNodePort (0: none) and the count of local ready endpoints it reports. */
  healthCheckNodePort: number;
  localReadyEndpoints: number;
}

/** The desired per-node state: every proxied Service. */
export interface ProxyState {
  services: ReadonlyMap<NamespacedName, ServiceState>;
}

/** Node-wide settings the model and the backends use. */
export interface ProxyConfig {
  /** IP families this node proxies (dual-stack: both). */
  families: IPFamily[];
  /** This node's IPs (the NodePort addresses unless nodePortAddresses narrows them). */
  nodeIPs: string[];
  /** CIDRs whose node IPs serve NodePorts (kube-proxy's --nodeport-addresses); empty: every node IP. */
  nodePortAddresses: string[];
  /**
   * Local-traffic detector (kube-proxy's detect-local-mode): sources inside these CIDRs are pods
   * (cluster CIDRs, else this node's pod CIDRs). Empty: nothing is treated as pod traffic.
   */
  localTrafficCIDRs: string[];
  /** Masquerade all traffic to Services (kube-proxy's --masquerade-all). */
  masqueradeAll: boolean;
  /** Service CIDRs: traffic to an unallocated IP inside them is dropped (optional). */
  serviceCIDRs: string[];
}
