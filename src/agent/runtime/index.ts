// Pod runtimes: the interface the agent drives, the host runtime, and the process and address
// helpers a netns runtime reuses.
export type * from './types.ts';
export { HostRuntime, type HostRuntimeOptions } from './host.ts';
export { allocateAddress, cidrContains, parseCidr, formatAddress } from './ipam.ts';
export { launchShim, processAlive, procStat, findExecutable, pythonCommand, podShimPath, ptyShimPath, rfc3339Nano, type LaunchedShim, type ShimHandshake } from './process.ts';
