// LoadBalancer addresses on the LAN (MetalLB's layer 2 speaker): a pure plan of which node
// answers ARP for which address (core.ts), heartbeats between announcers (liveness.ts), the ARP
// responder and arping (executor.ts) or the address on the interface (address-executor.ts), the
// loop (announcer.ts) and the node plugin (plugin.ts).
export { l2AnnouncePlugin, eventComponent, parseL2AnnounceMode, type L2AnnouncePluginOptions, type L2AnnounceMode } from './plugin.ts';
export { L2Announcer, type AnnouncerOptions } from './announcer.ts';
export { planL2, l2Config, addressesByInterface, nodeCanAnnounce, type L2Plan, type L2Inputs, type ServiceDecision, type Announcement } from './core.ts';
export { ArpExecutor, FakeL2Executor, type L2Executor } from './executor.ts';
export { AddressExecutor } from './address-executor.ts';
export { PeerLiveness, LivenessTable, defaultLivenessPort, type Liveness, type Peer } from './liveness.ts';
