// The Node object the agent registers and the status it posts, as kubelet fills them
// (pkg/kubelet/kubelet_node_status.go, pkg/kubelet/nodestatus/setters.go). machineInfo() reads
// the machine; the rest is pure.
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import type { Node, NodeCondition, NodeStatus } from 'kubernetes-types/core/v1.js';
import { metaTime } from './status.ts';

export const agentVersion = 'v1.33.0';
export const runtimeVersion = 'svcnet://0.1.0';

const goArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export interface MachineInfo {
  hostname: string;
  cpus: number;
  memoryBytes: number;
  freeMemoryBytes: number;
  ephemeralBytes: number;
  ephemeralFreeBytes: number;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  arch: string;
  os: string;
}

function readTrim(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

export function machineInfo(dataDir: string): MachineInfo {
  let ephemeralBytes = 0;
  let ephemeralFreeBytes = 0;
  try {
    const s = statfsSync(dataDir);
    ephemeralBytes = s.blocks * s.bsize;
    ephemeralFreeBytes = s.bavail * s.bsize;
  } catch {
    // unknown
  }
  const osRelease = readTrim('/etc/os-release');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? `${os.type()} ${os.release()}`;
  const machineID = readTrim('/etc/machine-id');
  return {
    hostname: os.hostname().toLowerCase(),
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    ephemeralBytes,
    ephemeralFreeBytes,
    machineID,
    systemUUID: readTrim('/sys/class/dmi/id/product_uuid') || machineID,
    bootID: readTrim('/proc/sys/kernel/random/boot_id'),
    kernelVersion: os.release(),
    osImage: pretty,
    arch: goArch[process.arch] ?? process.arch,
    os: process.platform,
  };
}

export interface NodeIdentity {
  name: string;
  hostname: string;
  machine: MachineInfo;
  extraLabels?: Record<string, string>;
}

/** The Node kubelet registers (metadata and spec; status follows). */
export function nodeToRegister(id: NodeIdentity): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: id.name,
      labels: {
        'beta.kubernetes.io/arch': id.machine.arch,
        'beta.kubernetes.io/os': id.machine.os,
        'kubernetes.io/arch': id.machine.arch,
        'kubernetes.io/hostname': id.hostname,
        'kubernetes.io/os': id.machine.os,
        ...id.extraLabels,
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {},
  };
}

export interface NodeHealth {
  /** Ready=False with this message when set (e.g. no pod CIDR yet). */
  notReadyMessage?: string;
}

const kib = (n: number) => `${Math.floor(n / 1024)}Ki`;
/** kubelet's default hard eviction threshold memory.available<100Mi. */
const evictionMemory = 100 * 1024 * 1024;

/** NodeStatus as kubelet's setters fill it; condition transition times kept from `prev`. */
export function nodeStatus(opts: {
  machine: MachineInfo;
  addresses: { type: string; address: string }[];
  port: number;
  health: NodeHealth;
  prev?: NodeStatus;
  now: Date;
  maxPods?: number;
}): NodeStatus {
  const m = opts.machine;
  const now = metaTime(opts.now)!;
  const pods = String(opts.maxPods ?? 110);
  const memPressure = m.freeMemoryBytes > 0 && m.freeMemoryBytes < evictionMemory;
  const diskPressure = m.ephemeralBytes > 0 && m.ephemeralFreeBytes < m.ephemeralBytes * 0.1;
  const cond = (type: string, status: boolean, reason: string, message: string): NodeCondition => {
    const s = status ? 'True' : 'False';
    const prev = opts.prev?.conditions?.find((c) => c.type === type);
    return { type, status: s, lastHeartbeatTime: now, lastTransitionTime: prev && prev.status === s ? prev.lastTransitionTime : now, reason, message };
  };
  const notReady = opts.health.notReadyMessage;
  return {
    capacity: {
      cpu: String(m.cpus),
      'ephemeral-storage': kib(m.ephemeralBytes),
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: kib(m.memoryBytes),
      pods,
    },
    allocatable: {
      cpu: String(m.cpus),
      'ephemeral-storage': String(Math.floor(m.ephemeralBytes * 0.9)),
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: kib(Math.max(0, m.memoryBytes - evictionMemory)),
      pods,
    },
    conditions: [
      memPressure
        ? cond('MemoryPressure', true, 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available')
        : cond('MemoryPressure', false, 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      diskPressure ? cond('DiskPressure', true, 'KubeletHasDiskPressure', 'kubelet has disk pressure') : cond('DiskPressure', false, 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', false, 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      notReady ? cond('Ready', false, 'KubeletNotReady', notReady) : cond('Ready', true, 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: opts.addresses,
    daemonEndpoints: { kubeletEndpoint: { Port: opts.port } },
    nodeInfo: {
      machineID: m.machineID,
      systemUUID: m.systemUUID,
      bootID: m.bootID,
      kernelVersion: m.kernelVersion,
      osImage: m.osImage,
      containerRuntimeVersion: runtimeVersion,
      kubeletVersion: agentVersion,
      kubeProxyVersion: '',
      operatingSystem: m.os,
      architecture: m.arch,
    },
  };
}

/** True when the status differs in more than heartbeat times (kubelet then posts at once). */
export function nodeStatusChanged(a: NodeStatus | undefined, b: NodeStatus): boolean {
  if (!a) return true;
  const strip = (s: NodeStatus) => JSON.stringify({ ...s, conditions: (s.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })) });
  return strip(a) !== strip(b);
}
