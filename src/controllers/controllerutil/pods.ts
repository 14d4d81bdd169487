// Pod predicates and orderings the workload controllers share (k8s.io/kubernetes/pkg/api/v1/pod
// and pkg/controller's controller_utils.go): readiness, availability, activity, and the order
// in which a ReplicaSet gives up pods when it scales down.
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { parseTime } from './time.ts';

export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/**
 * podutil.IsPodAvailable: ready for at least minReadySeconds (by the Ready condition's
 * lastTransitionTime), at `now` (ms).
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const c = podCondition(pod, 'Ready');
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const t = parseTime(c.lastTransitionTime);
  return t !== undefined && t + minReadySeconds * 1000 <= now;
}

/**
 * When a ready pod turns available (ms since the epoch), or undefined when it is not ready.
 * Controllers requeue themselves for that moment.
 */
export function podAvailableAt(pod: Pod, minReadySeconds: number): number | undefined {
  const c = podCondition(pod, 'Ready');
  if (c?.status !== 'True') return undefined;
  return (parseTime(c.lastTransitionTime) ?? 0) + minReadySeconds * 1000;
}

/** controller.IsPodActive: not Succeeded, not Failed, not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

/** controller.FilterActivePods. */
export function filterActivePods(pods: readonly Pod[]): Pod[] {
  return pods.filter(isPodActive);
}

function maxRestarts(pod: Pod): number {
  let m = 0;
  for (const cs of pod.status?.containerStatuses ?? []) m = Math.max(m, cs.restartCount ?? 0);
  return m;
}

function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.['controller.kubernetes.io/pod-deletion-cost'];
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isInteger(n) ? n : 0;
}

const phaseOrdinal: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** log2 of the nanoseconds since t, rounded down; -1 for none or a future time (LogarithmicScaleDown). */
function logRank(t: number | undefined, now: number): number {
  if (t === undefined) return -1;
  const ns = (now - t) * 1e6;
  return ns > 0 ? Math.floor(Math.log2(ns)) : -1;
}

/** afterOrZero: an empty time sorts first, then the later one. */
function afterOrZero(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === undefined;
  return a > b;
}

export interface RankedPod {
  pod: Pod;
  /** Active pods of the same owner family on this pod's node (more sorts first). */
  rank: number;
}

/**
 * controller.ActivePodsWithRanks' Less: true when `a` should be deleted before `b`.
 * Unassigned < assigned; Pending < Unknown < Running; not ready < ready; lower deletion cost;
 * more doubled-up; ready for less time (log scale); more restarts; newer (log scale); uid.
 */
export function deleteBefore(a: RankedPod, b: RankedPod, now: number): boolean {
  const pa = a.pod;
  const pb = b.pod;
  const na = pa.spec?.nodeName ?? '';
  const nb = pb.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '';
  const oa = phaseOrdinal[pa.status?.phase ?? ''] ?? 0;
  const ob = phaseOrdinal[pb.status?.phase ?? ''] ?? 0;
  if (oa !== ob) return oa < ob;
  const ra = isPodReady(pa);
  const rb = isPodReady(pb);
  if (ra !== rb) return !ra;
  const ca = deletionCost(pa);
  const cb = deletionCost(pb);
  if (ca !== cb) return ca < cb;
  if (a.rank !== b.rank) return a.rank > b.rank;
  if (ra && rb) {
    const ta = parseTime(podCondition(pa, 'Ready')?.lastTransitionTime);
    const tb = parseTime(podCondition(pb, 'Ready')?.lastTransitionTime);
    if (ta !== tb) {
      if (ta === undefined || tb === undefined) return afterOrZero(ta, tb);
      const d = logRank(ta, now) - logRank(tb, now);
      if (d === 0) return (pa.metadata?.uid ?? '') < (pb.metadata?.uid ?? '');
      return d < 0;
    }
  }
  const xa = maxRestarts(pa);
  const xb = maxRestarts(pb);
  if (xa !== xb) return xa > xb;
  const ka = parseTime(pa.metadata?.creationTimestamp);
  const kb = parseTime(pb.metadata?.creationTimestamp);
  if (ka !== kb) {
    if (ka === undefined || kb === undefined) return afterOrZero(ka, kb);
    const d = logRank(ka, now) - logRank(kb, now);
    if (d === 0) return (pa.metadata?.uid ?? '') < (pb.metadata?.uid ?? '');
    return d < 0;
  }
  return false;
}

/** Sorts pods so the best candidates for deletion come first (a stable sort by deleteBefore). */
export function rankForDeletion(pods: readonly RankedPod[], now: number): RankedPod[] {
  return [...pods].sort((a, b) => (deleteBefore(a, b, now) ? -1 : deleteBefore(b, a, now) ? 1 : 0));
}
