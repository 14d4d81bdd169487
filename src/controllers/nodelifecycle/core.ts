// The node lifecycle controller's pure core (pkg/controller/nodelifecycle and
// pkg/controller/tainteviction): heartbeats (the node's Ready condition and its Lease in
// kube-node-lease) observed on the controller's own clock, the Unknown conditions of a node
// silent past its grace period, the taints that follow its Ready condition, and when a pod on a
// NoExecute-tainted node must go given its tolerations.
import type { Node, NodeCondition, Pod, PodCondition, Taint } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { parseTime, rfc3339 } from '../controllerutil/index.ts';

export const NotReadyTaintKey = 'node.kubernetes.io/not-ready';
export const UnreachableTaintKey = 'node.kubernetes.io/unreachable';
export const UnschedulableTaintKey = 'node.kubernetes.io/unschedulable';

/** Conditions the kubelet posts and the controller turns Unknown (Ready first). */
export const nodeConditionTypes = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

/** doNoScheduleTaintingPass's map of condition status to NoSchedule taint. */
const conditionTaints: Record<string, Record<string, string>> = {
  Ready: { False: NotReadyTaintKey, Unknown: UnreachableTaintKey },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
};

const managedNoSchedule = new Set([...Object.values(conditionTaints).flatMap((m) => Object.values(m)), UnschedulableTaintKey]);

export interface NodeHealth {
  /** When (controller clock, ms) a heartbeat was last seen to change. */
  probeTimestamp: number;
  readyHeartbeat: string | undefined;
  leaseRenew: string | undefined;
}

export function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

/**
 * tryUpdateNodeHealth's bookkeeping: a changed Ready heartbeat or a renewed Lease moves the
 * probe time to now; a node seen first starts from its creation.
 */
export function observeHealth(prev: NodeHealth | undefined, node: Node, lease: Lease | undefined, now: number): NodeHealth {
  const readyHeartbeat = readyCondition(node)?.lastHeartbeatTime;
  const leaseRenew = lease?.spec?.renewTime;
  if (!prev) return { probeTimestamp: parseTime(node.metadata?.creationTimestamp) ?? now, readyHeartbeat, leaseRenew };
  const next: NodeHealth = { ...prev, readyHeartbeat, leaseRenew };
  if (readyHeartbeat !== prev.readyHeartbeat || (leaseRenew !== undefined && leaseRenew !== prev.leaseRenew)) next.probeTimestamp = now;
  return next;
}

/**
 * The conditions of a node whose kubelet went silent: past the grace period (the startup grace
 * period while it never posted Ready), every kubelet condition not yet Unknown turns Unknown
 * with kube's reason and message. Undefined when nothing changes.
 */
export function silentNodeConditions(node: Node, health: NodeHealth, now: number, graceMs: number, startupGraceMs: number): NodeCondition[] | undefined {
  const ready = readyCondition(node);
  const grace = ready ? graceMs : startupGraceMs;
  if (now <= health.probeTimestamp + grace) return undefined;
  const t = rfc3339(new Date(now));
  const conds = (node.status?.conditions ?? []).map((c) => ({ ...c }));
  let changed = false;
  for (const type of nodeConditionTypes) {
    const c = conds.find((x) => x.type === type);
    if (!c) {
      conds.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata?.creationTimestamp, lastTransitionTime: t });
      changed = true;
    } else if (c.status !== 'Unknown') {
      c.status = 'Unknown';
      c.reason = 'NodeStatusUnknown';
      c.message = 'Kubelet stopped posting node status.';
      c.lastTransitionTime = t;
      changed = true;
    }
  }
  return changed ? conds : undefined;
}

function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

/**
 * The node's taints as the controller wants them: the NoSchedule taints of its conditions and
 * spec.unschedulable (doNoScheduleTaintingPass) and, for a Ready condition that is False or
 * Unknown, the not-ready or unreachable NoExecute taint (processTaintBaseEviction). Taints the
 * controller does not manage are kept as they are; a taint it keeps keeps its timeAdded.
 */
export function desiredTaints(node: Node, now: number): Taint[] {
  const cur = node.spec?.taints ?? [];
  const want: Taint[] = [];
  for (const c of node.status?.conditions ?? []) {
    const key = conditionTaints[c.type]?.[c.status];
    if (key) want.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable) want.push({ key: UnschedulableTaintKey, effect: 'NoSchedule' });
  const ready = readyCondition(node)?.status;
  if (ready === 'False') want.push({ key: NotReadyTaintKey, effect: 'NoExecute', timeAdded: rfc3339(new Date(now)) });
  else if (ready === 'Unknown') want.push({ key: UnreachableTaintKey, effect: 'NoExecute', timeAdded: rfc3339(new Date(now)) });
  const managed = (t: Taint) => (t.effect === 'NoSchedule' && managedNoSchedule.has(t.key)) || (t.effect === 'NoExecute' && (t.key === NotReadyTaintKey || t.key === UnreachableTaintKey));
  const out = cur.filter((t) => !managed(t) || want.some((w) => sameTaint(w, t)));
  for (const w of want) if (!out.some((t) => sameTaint(t, w))) out.push(w);
  return out;
}

export function taintsEqual(a: readonly Taint[] | undefined, b: readonly Taint[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

/** MarkPodsNotReady for one pod: its conditions with Ready False, or undefined when already so. */
export function notReadyConditions(pod: Pod, now: number): PodCondition[] | undefined {
  const conds = pod.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  if (!ready || ready.status === 'False') return undefined;
  return conds.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: rfc3339(new Date(now)) } : c));
}

export type Eviction = { kind: 'keep' } | { kind: 'now' } | { kind: 'at'; at: number };

/**
 * tainteviction: a pod on a node with NoExecute taints goes now when a taint is not tolerated;
 * otherwise after the shortest tolerationSeconds among the tolerations that apply (counted from
 * when the taints were added), or never when none of them is bounded (getMinTolerationTime).
 */
export function evictionFor(pod: Pod, taints: readonly Taint[], now: number): Eviction {
  const noExecute = taints.filter((t) => t.effect === 'NoExecute');
  if (!noExecute.length) return { kind: 'keep' };
  const tolerations = pod.spec?.tolerations ?? [];
  const used = new Set<number>();
  for (const taint of noExecute) {
    let any = false;
    tolerations.forEach((t, i) => {
      if (t.effect && t.effect !== taint.effect) return;
      if (t.key && t.key !== taint.key) return;
      if ((t.operator || 'Equal') !== 'Exists' && (t.value ?? '') !== (taint.value ?? '')) return;
      used.add(i);
      any = true;
    });
    if (!any) return { kind: 'now' };
  }
  let min: number | undefined;
  for (const i of used) {
    const secs = tolerations[i]?.tolerationSeconds;
    if (secs === undefined || secs === null) continue;
    if (secs <= 0) return { kind: 'now' };
    if (min === undefined || secs < min) min = secs;
  }
  if (min === undefined) return { kind: 'keep' };
  const start = Math.min(...noExecute.map((t) => parseTime(t.timeAdded) ?? now));
  const at = start + min * 1000;
  return at <= now ? { kind: 'now' } : { kind: 'at', at };
}
