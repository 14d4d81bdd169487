// Pod runtimes: the interface the agent drives, the host runtime, and the process and address
// helpers a netns runtime reuses.
export type * from './types.ts';
export { HostRuntime, type HostRuntimeOptions } from './host.ts';
export { allocateAddress, cidrContains, parseCidr, formatAddress } from './ipam.ts';
export { launchShim, processAlive, procStat, findExecutable, pythonCommand, podShimPath, ptyShimPath, rfc3339Nano, type LaunchedShim, type ShimHandshake } from './process.ts';

import type { Logger } from '../../util/index.ts';
import type { PodRuntime } from './types.ts';
import { HostRuntime as Host } from './host.ts';
import { NetnsRuntime } from './netns/index.ts';

export interface RuntimeContext {
  /** The runtime's own state directory (<agent data-dir>/runtime). */
  dataDir: string;
  nodeName: string;
  nodeIPs: readonly string[];
  log: Logger;
}

export type RuntimeFactory = (ctx: RuntimeContext) => PodRuntime;

/** The runtime of each data-plane mode; the netns runtime registers itself here. */
export const runtimeFactories: Partial<Record<'host' | 'netns', RuntimeFactory>> = {
  host: (ctx) => new Host({ dataDir: ctx.dataDir, nodeIPs: ctx.nodeIPs, log: ctx.log }),
  netns: (ctx) => new NetnsRuntime({ dataDir: ctx.dataDir, nodeIPs: ctx.nodeIPs, log: ctx.log }),
};
