// The node agent: svcnet's kubelet. `startAgent` runs it (svcnet agent, and svcnet server for
// its own node); PodRuntime is what a runtime implements (host here, netns elsewhere).
export { startAgent, type AgentOptions, type RunningAgent, type AgentMode } from './agent.ts';
export { defaultNodePlugins, type NodePlugin, type NodePluginContext, type RunningPlugin } from './plugins.ts';
export { parseL2AnnounceMode } from './l2announce/index.ts';
export { kubeletDnsProvider, podResolvConf, parseResolvConf, formatResolvConf, type PodDnsProvider, type PodDnsSettings } from './dns.ts';
export type { PodRuntime, Sandbox, SandboxConfig, ContainerSpec, ContainerInfo, ExecOptions, ExecProcess, ExecResult } from './runtime/index.ts';
export { HostRuntime, launchShim, processAlive, allocateAddress, runtimeFactories, type HostRuntimeOptions, type RuntimeContext, type RuntimeFactory } from './runtime/index.ts';
export { streamProtocols } from './exec.ts';
