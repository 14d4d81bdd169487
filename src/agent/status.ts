// A pod's status as kubelet reports it (pkg/kubelet/kubelet_pods.go generateAPIPodStatus and
// getPhase, pkg/kubelet/status/generate.go), from the agent's view of its containers. Pure.
import type { ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';

/** One container instance as the agent saw it end (or run). */
export interface InstanceView {
  id: string;
  state: 'running' | 'exited';
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  signal?: number;
  reason?: string;
  message?: string;
}

export interface ContainerView {
  name: string;
  image: string;
  imageID: string;
  /** The latest instance (restartCount = its attempt). */
  current?: InstanceView & { attempt: number };
  /** The instance before it. */
  previous?: InstanceView;
  /** Why no instance runs (ContainerCreating, PodInitializing, CrashLoopBackOff, ImageNotMapped ...). */
  waiting?: { reason: string; message?: string };
  ready: boolean;
  started: boolean;
}

export interface PodView {
  pod: Pod;
  hostIPs: readonly string[];
  podIPs: readonly string[];
  /** The sandbox exists (PodReadyToStartContainers). */
  sandboxReady: boolean;
  /** RFC 3339, when the agent first accepted the pod. */
  startTime: string;
  initContainers: readonly ContainerView[];
  containers: readonly ContainerView[];
  /** The pod is done: its containers will not run again (restart policy, or it is being deleted). */
  terminal: boolean;
  now: Date;
}

/** RFC 3339 at second precision, as metav1.Time serializes. */
export function metaTime(s: string | Date | undefined): string | undefined {
  if (s === undefined) return undefined;
  const d = typeof s === 'string' ? new Date(s) : s;
  if (Number.isNaN(d.getTime())) return undefined;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const containerIDPrefix = 'svcnet://';

function terminatedOf(i: InstanceView): ContainerStateTerminated {
  const t: ContainerStateTerminated = {
    exitCode: i.exitCode ?? 0,
    reason: i.reason ?? (i.exitCode === 0 ? 'Completed' : 'Error'),
    startedAt: metaTime(i.startedAt),
    finishedAt: metaTime(i.finishedAt),
    containerID: containerIDPrefix + i.id,
  };
  if (i.signal) t.signal = i.signal;
  if (i.message) t.message = i.message;
  return t;
}

export function containerStatus(v: ContainerView): ContainerStatus {
  let state: ContainerState;
  let lastState: ContainerState = {};
  const cur = v.current;
  if (cur?.state === 'running') {
    state = { running: { startedAt: metaTime(cur.startedAt) } };
    if (v.previous) lastState = { terminated: terminatedOf(v.previous) };
  } else if (cur && !v.waiting) {
    state = { terminated: terminatedOf(cur) };
    if (v.previous) lastState = { terminated: terminatedOf(v.previous) };
  } else {
    const w = v.waiting ?? { reason: 'ContainerCreating' };
    state = { waiting: w.message ? { reason: w.reason, message: w.message } : { reason: w.reason } };
    if (cur) lastState = { terminated: terminatedOf(cur) };
  }
  const s: ContainerStatus = {
    name: v.name,
    state,
    lastState,
    ready: cur?.state === 'running' && v.ready,
    restartCount: cur?.attempt ?? 0,
    image: v.image,
    imageID: v.imageID,
    started: cur?.state === 'running' && v.started,
  };
  if (cur) s.containerID = containerIDPrefix + cur.id;
  return s;
}

type Phase = NonNullable<PodStatus['phase']>;

/** kubelet's getPhase. */
export function podPhase(pod: Pod, init: readonly ContainerStatus[], main: readonly ContainerStatus[], podIsTerminal: boolean): Phase {
  const spec = pod.spec;
  const restartPolicy = spec?.restartPolicy ?? 'Always';
  let pendingInitialization = 0;
  let failedInitialization = 0;
  for (const c of spec?.initContainers ?? []) {
    if (c.restartPolicy === 'Always') continue; // sidecars neither pend nor fail initialization
    const st = init.find((s) => s.name === c.name);
    if (!st) {
      pendingInitialization++;
      continue;
    }
    if (st.state?.running) pendingInitialization++;
    else if (st.state?.terminated) {
      if (st.state.terminated.exitCode !== 0) failedInitialization++;
    } else if (st.state?.waiting) {
      if (st.lastState?.terminated) {
        if (st.lastState.terminated.exitCode !== 0) failedInitialization++;
      } else pendingInitialization++;
    } else pendingInitialization++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec?.containers ?? []) {
    const st = main.find((s) => s.name === c.name);
    if (!st) {
      unknown++;
      continue;
    }
    if (st.state?.running) running++;
    else if (st.state?.terminated) {
      stopped++;
      if (st.state.terminated.exitCode === 0) succeeded++;
    } else if (st.state?.waiting) {
      if (st.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInitialization > 0 && restartPolicy === 'Never') return 'Failed';
  const anyRegularStarted = main.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
  if ((pendingInitialization > 0 && !anyRegularStarted) || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function goList(names: readonly string[]): string {
  return `[${names.join(' ')}]`;
}

function condition(type: string, ok: boolean, reason?: string, message?: string): PodCondition {
  const c: PodCondition = { type, status: ok ? 'True' : 'False' };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/** The kubelet-owned conditions, in kubelet's order. */
export function podConditions(pod: Pod, phase: Phase, init: readonly ContainerStatus[], main: readonly ContainerStatus[], sandboxReady: boolean): PodCondition[] {
  const spec = pod.spec;
  const conds: PodCondition[] = [condition('PodReadyToStartContainers', sandboxReady)];
  // Initialized
  {
    const unknownC: string[] = [];
    const incomplete: string[] = [];
    for (const c of spec?.initContainers ?? []) {
      const st = init.find((s) => s.name === c.name);
      if (!st) unknownC.push(c.name);
      else if (!st.state?.terminated || st.state.terminated.exitCode !== 0) incomplete.push(c.name);
    }
    const anyRegularStarted = main.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
    if (phase === 'Succeeded' && unknownC.length === 0) conds.push(condition('Initialized', true, 'PodCompleted'));
    else if (anyRegularStarted || (!unknownC.length && !incomplete.length)) conds.push(condition('Initialized', true));
    else {
      const msgs: string[] = [];
      if (unknownC.length) msgs.push(`containers with unknown status: ${goList(unknownC)}`);
      if (incomplete.length) msgs.push(`containers with incomplete status: ${goList(incomplete)}`);
      conds.push(condition('Initialized', false, 'ContainersNotInitialized', msgs.join(', ')));
    }
  }
  // ContainersReady and Ready
  let ready: PodCondition;
  {
    const unknownC: string[] = [];
    const unready: string[] = [];
    for (const c of spec?.containers ?? []) {
      const st = main.find((s) => s.name === c.name);
      if (!st) unknownC.push(c.name);
      else if (!st.ready) unready.push(c.name);
    }
    if (phase === 'Succeeded' && unknownC.length === 0) ready = condition('ContainersReady', false, 'PodCompleted');
    else {
      const msgs: string[] = [];
      if (unknownC.length) msgs.push(`containers with unknown status: ${goList(unknownC)}`);
      if (unready.length) msgs.push(`containers with unready status: ${goList(unready)}`);
      ready = msgs.length ? condition('ContainersReady', false, 'ContainersNotReady', msgs.join(', ')) : condition('ContainersReady', true);
    }
  }
  let podReady: PodCondition = { ...ready, type: 'Ready' };
  if (ready.status === 'True') {
    const gates = (spec?.readinessGates ?? []).map((g) => g.conditionType);
    const missing = gates.filter((g) => pod.status?.conditions?.find((c) => c.type === g)?.status !== 'True');
    if (missing.length) {
      podReady = condition('Ready', false, 'ReadinessGatesNotReady', `corresponding condition of pod readiness gate ${missing.map((g) => JSON.stringify(g)).join(', ')} does not exist.`);
    }
  }
  conds.push(podReady, ready, condition('PodScheduled', true));
  return conds;
}

const kubeletConditions = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);

/** The whole status to write, keeping others' conditions and each condition's transition time. */
export function podStatus(v: PodView): PodStatus {
  const init = v.initContainers.map(containerStatus);
  const main = v.containers.map(containerStatus);
  const phase = podPhase(v.pod, init, main, v.terminal);
  const now = metaTime(v.now)!;
  const old = v.pod.status?.conditions ?? [];
  const conds = podConditions(v.pod, phase, init, main, v.sandboxReady).map((c) => {
    const prev = old.find((o) => o.type === c.type);
    const keepTime = prev && prev.status === c.status;
    const out: PodCondition = { ...c, lastTransitionTime: keepTime ? prev.lastTransitionTime : now };
    if (c.type === 'PodScheduled' && prev?.status === 'True') return { ...prev };
    return out;
  });
  for (const o of old) if (!kubeletConditions.has(o.type)) conds.push(o);
  const status: PodStatus = {
    phase,
    conditions: conds,
    hostIP: v.hostIPs[0],
    hostIPs: v.hostIPs.map((ip) => ({ ip })),
    startTime: metaTime(v.startTime),
    containerStatuses: main,
  };
  if (v.podIPs.length) {
    status.podIP = v.podIPs[0];
    status.podIPs = v.podIPs.map((ip) => ({ ip }));
  }
  if (init.length) status.initContainerStatuses = init;
  if (v.pod.status?.qosClass) status.qosClass = v.pod.status.qosClass;
  if (v.pod.status?.nominatedNodeName) status.nominatedNodeName = v.pod.status.nominatedNodeName;
  return status;
}

/** kubelet's fmt of a pod for messages: name_namespace(uid). */
export function podDesc(pod: Pod): string {
  return `${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}(${pod.metadata?.uid ?? ''})`;
}
