// LoadBalancer addresses on the LAN (MetalLB's layer 2 speaker): a pure plan of which node
// answers ARP for which address (core.ts), heartbeats between announcers (liveness.ts), the ARP
// responder and arping (executor.ts), the loop (announcer.ts) and the node plugin (plugin.ts).
export { l2AnnouncePlugin, eventComponent, type L2AnnouncePluginOptions } from './plugin.ts';
export { L2Announcer, type AnnouncerOptions } from './announcer.ts';
export { planL2, l2Config, addressesByInterface, nodeCanAnnounce, type L2Plan, type L2Inputs, type ServiceDecision, type Announcement } from './core.ts';
export { ArpExecutor, FakeL2Executor, type L2Executor } from './executor.ts';
export { PeerLiveness, LivenessTable, defaultLivenessPort, type Liveness, type Peer } from './liveness.ts';
