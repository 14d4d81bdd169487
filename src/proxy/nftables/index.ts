// The nftables data plane (netns mode, root): render, apply, adopt, and the fakes for tests.
export { NftablesBackend, type NftablesBackendOptions } from './backend.ts';
export { RealNftables, NftError, isNotFound, isExists, type Nftables, type NftElement, type NftFamily } from './nftables.ts';
export { RealExec, FakeExec, inNetns, type Exec, type ExecResult } from './exec.ts';
export { RealConntrack, FakeConntrack, type Conntrack, type FlowFilter } from './conntrack.ts';
export { FakeNftables } from './fake.ts';
export { tracePacket, traceAll, describe, type TracePacket, type TraceResult } from './tracer.ts';
export { TableName } from './render.ts';
