// svcnet lab: a closed multi-node cluster in network namespaces, for trying and testing what
// crosses nodes (see lab.ts and topology.ts).
export { labUp, labDown, labStatus, labExec, labRestart, labLink, listLabs, labUnavailable, namespacesWithPrefix, defaultLabName, type UpOptions, type DownOptions, type LabStatus } from './lab.ts';
export { runSupervisor } from './supervisor.ts';
export { startRelay, parseEndpoint, formatEndpoint, type Endpoint, type Relay } from './relay.ts';
export { labDir, labsRoot, readLab, type LabInfo, type MemberInfo, type ProcessInfo } from './state.ts';
export { labTopology, labPrefix, validateLabName, loadBalancerPool, lanCIDR, workstationIP, masterIP, type Topology, type Member } from './topology.ts';
