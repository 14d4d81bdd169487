// The netns pod runtime (a network namespace per pod on the node's bridge).
export { NetnsRuntime, runCommand, type NetnsRuntimeOptions, type CommandRunner, type IpResult } from './netns.ts';
export { podNamespaceName, vethName, bridgeName } from './plan.ts';
