// The cluster DNS: records from Services, EndpointSlices, Pods and Namespaces as CoreDNS's
// kubernetes plugin gives them, everything else forwarded and cached.
export { startDnsServer, type DnsServer, type DnsServerOptions, type ListenAddress } from './server.ts';
export type { PodsMode } from './records.ts';
export { clusterDnsIP, clusterDnsPlugin, defaultHostListen, formatListen, metricsPort, parseListen, servingAddressAnnotation, type ClusterDnsInfo, type ClusterDnsOptions } from './plugin.ts';
