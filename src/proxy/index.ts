// The service proxy: a shared model (Services and EndpointSlices → per-node desired state), a
// pluggable backend (nftables here; userspace beside it later), health and metrics, and the
// proxier that ties them to informers. docs/proxy.md has the nftables design.
export { startProxier, AnnotationLastChangeTriggerTime, type Proxier, type ProxierOptions } from './proxier.ts';
export type { ProxyBackend, SyncResult } from './backend.ts';
export type * from './types.ts';
export { computeState, computeServiceState, categorizeEndpoints, toServiceInfo, toSliceInfo, ChangeTracker, ProxyInputs } from './model/index.ts';
export { BoundedFrequencyRunner } from './runner.ts';
export { NftablesBackend, RealNftables, FakeNftables, RealExec, FakeExec, RealConntrack, FakeConntrack, type Nftables, type Conntrack, type Exec } from './nftables/index.ts';
export { ProxyHealth, ServiceHealthServer } from './healthcheck/index.ts';
export { ProxyMetrics } from './metrics/index.ts';
export { UserspaceBackend, type UserspaceBackendOptions } from './userspace/index.ts';
export { proxyPlugin, parseNodePortAddresses, type ProxyPluginOptions } from './plugin.ts';
