// The Deployment controller's decisions (sync.go, rolling.go, recreate.go, progress.go) as pure
// functions of the Deployment, its ReplicaSets and the time: which ReplicaSet to scale to what
// (in the order kube does it, each step an action the shell carries out and records as a
// ScalingReplicaSet Event), the new ReplicaSet to create, which old ones to delete, and the status.
import type { Deployment, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { computeHash, newControllerRef, parseTime } from '../controllerutil/index.ts';
import {
  DefaultDeploymentUniqueLabelKey,
  MinimumReplicasAvailable,
  MinimumReplicasUnavailable,
  NewRSAvailableReason,
  PausedDeployReason,
  ReplicaSetUpdatedReason,
  ResumedDeployReason,
  TimedOutReason,
  actualReplicaCount,
  availableReplicaCount,
  byCreation,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  desiredReplicasAnnotation,
  filterActiveReplicaSets,
  findActiveOrLatest,
  getCondition,
  getProportion,
  hasProgressDeadline,
  hasRevisionHistoryLimit,
  isRollingUpdate,
  isSaturated,
  maxSurge,
  maxUnavailable,
  newCondition,
  newRSNewReplicas,
  readyReplicaCount,
  removeCondition,
  replicaCount,
  replicaSetToDeploymentCondition,
  replicasOf,
  revision,
  setCondition,
  setNewReplicaSetAnnotations,
} from './util.ts';

/** One step: set the named ReplicaSet's replicas from `from` to `to` ("up"/"down" names the Event). */
export interface ScaleAction {
  name: string;
  from: number;
  to: number;
  operation: 'up' | 'down';
}

/** Applies actions to copies of the ReplicaSets (what the shell's updates will leave). */
export function applyActions(rss: readonly ReplicaSet[], actions: readonly ScaleAction[]): ReplicaSet[] {
  return rss.map((rs) => {
    let out = rs;
    for (const a of actions) {
      if (a.name !== rs.metadata?.name) continue;
      out = { ...out, spec: { ...out.spec!, replicas: a.to } };
    }
    return out;
  });
}

function scaleTo(rs: ReplicaSet, to: number, operation?: 'up' | 'down'): ScaleAction {
  const from = replicasOf(rs);
  return { name: rs.metadata?.name ?? '', from, to, operation: operation ?? (from < to ? 'up' : 'down') };
}

/** scaleReplicaSetAndRecordEvent: nothing when the size is already right. */
function scaleIfNeeded(rs: ReplicaSet, to: number): ScaleAction[] {
  return replicasOf(rs) === to ? [] : [scaleTo(rs, to)];
}

/**
 * sync.go's scale(): one active (or the latest) ReplicaSet takes the full count; a saturated new
 * ReplicaSet empties the old ones; otherwise a rolling Deployment's surplus or shortfall is
 * spread over the active ReplicaSets in proportion (larger first; newer first when growing,
 * older first when shrinking), leftovers to the first. In the proportional case every active
 * ReplicaSet gets an action (its replicas annotations may need refreshing even at the same size).
 */
export function scalePlan(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): ScaleAction[] {
  const want = replicasOf(d);
  const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
  if (activeOrLatest) return replicasOf(activeOrLatest) === want ? [] : [scaleTo(activeOrLatest, want)];
  if (isSaturated(d, newRS)) return filterActiveReplicaSets(oldRSs).flatMap((rs) => scaleIfNeeded(rs, 0));
  if (!isRollingUpdate(d)) return [];
  const all = filterActiveReplicaSets([...oldRSs, newRS]);
  const allowed = want > 0 ? want + maxSurge(d) : 0;
  const toAdd = allowed - replicaCount(all);
  let operation: 'up' | 'down' | undefined;
  const size = (rs: ReplicaSet) => replicasOf(rs);
  const created = (rs: ReplicaSet) => parseTime(rs.metadata?.creationTimestamp) ?? 0;
  if (toAdd > 0) {
    // ReplicaSetsBySizeNewer: larger first, then newer.
    all.sort((a, b) => size(b) - size(a) || created(b) - created(a) || (b.metadata?.name ?? '').localeCompare(a.metadata?.name ?? ''));
    operation = 'up';
  } else if (toAdd < 0) {
    // ReplicaSetsBySizeOlder: larger first, then older.
    all.sort((a, b) => size(b) - size(a) || created(a) - created(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    operation = 'down';
  }
  const target = new Map<string, number>();
  let added = 0;
  for (const rs of all) {
    if (toAdd !== 0) {
      const p = getProportion(rs, d, toAdd, added);
      target.set(rs.metadata?.name ?? '', size(rs) + p);
      added += p;
    } else {
      target.set(rs.metadata?.name ?? '', size(rs));
    }
  }
  return all.map((rs, i) => {
    const name = rs.metadata?.name ?? '';
    let to = target.get(name) ?? size(rs);
    if (i === 0 && toAdd !== 0) to = Math.max(0, to + toAdd - added);
    return { name, from: size(rs), to, operation: operation ?? (size(rs) < to ? 'up' : 'down') };
  });
}

/** isScalingEvent: an active ReplicaSet's desired-replicas annotation disagrees with the Deployment. */
export function isScalingEvent(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): boolean {
  for (const rs of filterActiveReplicaSets([...oldRSs, newRS])) {
    const desired = desiredReplicasAnnotation(rs);
    if (desired !== undefined && desired !== replicasOf(d)) return true;
  }
  return false;
}

/** rolling.go reconcileNewReplicaSet: shrink to the desired count, or grow as far as the surge allows. */
export function reconcileNewReplicaSet(d: Deployment, allRSs: readonly ReplicaSet[], newRS: ReplicaSet): ScaleAction[] {
  const want = replicasOf(d);
  if (replicasOf(newRS) === want) return [];
  if (replicasOf(newRS) > want) return scaleIfNeeded(newRS, want);
  return scaleIfNeeded(newRS, newRSNewReplicas(d, allRSs, newRS));
}

/**
 * rolling.go reconcileOldReplicaSets: first scale away old pods that are not available
 * (cleanupUnhealthyReplicas), then scale old ReplicaSets down as far as availability allows
 * (scaleDownOldReplicaSetsForRollingUpdate). `oldRSs` are the active old ReplicaSets.
 */
export function reconcileOldReplicaSets(d: Deployment, allRSs: readonly ReplicaSet[], oldRSs: readonly ReplicaSet[], newRS: ReplicaSet): ScaleAction[] {
  const oldPods = replicaCount(oldRSs);
  if (oldPods === 0) return [];
  const allPods = replicaCount(allRSs);
  const minAvail = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = allPods - minAvail - newUnavailable;
  if (maxScaledDown <= 0) return [];
  const actions: ScaleAction[] = [];
  // cleanupUnhealthyReplicas
  const olds = [...oldRSs].sort(byCreation).map((rs) => structuredClone(rs));
  let cleaned = 0;
  for (const rs of olds) {
    if (cleaned >= maxScaledDown) break;
    const n = replicasOf(rs);
    const available = rs.status?.availableReplicas ?? 0;
    if (n === 0 || n === available) continue;
    const down = Math.min(maxScaledDown - cleaned, n - available);
    actions.push(scaleTo(rs, n - down));
    rs.spec = { ...rs.spec!, replicas: n - down };
    cleaned += down;
  }
  // scaleDownOldReplicaSetsForRollingUpdate, over the ReplicaSets as cleanup left them
  const availableNow = availableReplicaCount([...olds, newRS]);
  if (availableNow <= minAvail) return actions;
  const total = availableNow - minAvail;
  let scaled = 0;
  for (const rs of olds) {
    if (scaled >= total) break;
    const n = replicasOf(rs);
    if (n === 0) continue;
    const down = Math.min(n, total - scaled);
    actions.push(scaleTo(rs, n - down));
    rs.spec = { ...rs.spec!, replicas: n - down };
    scaled += down;
  }
  return actions;
}

/** recreate.go: every active old ReplicaSet to zero. */
export function scaleDownOldForRecreate(oldRSs: readonly ReplicaSet[]): ScaleAction[] {
  return oldRSs.flatMap((rs) => (replicasOf(rs) === 0 ? [] : [scaleTo(rs, 0)]));
}

/** oldPodsRunning: old ReplicaSets report pods, or pods of old ReplicaSets are not yet finished. */
export function oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[], podsByRS: ReadonlyMap<string, readonly Pod[]>): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  for (const [uid, pods] of podsByRS) {
    if (newRS && newRS.metadata?.uid === uid) continue;
    for (const p of pods) {
      const phase = p.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') continue;
      return true;
    }
  }
  return false;
}

/** cleanupDeployment: the oldest surplus ReplicaSets beyond revisionHistoryLimit that are empty and settled. */
export function replicaSetsToCleanUp(d: Deployment, oldRSs: readonly ReplicaSet[]): ReplicaSet[] {
  if (!hasRevisionHistoryLimit(d)) return [];
  const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
  const diff = cleanable.length - (d.spec?.revisionHistoryLimit ?? 10);
  if (diff <= 0) return [];
  // ReplicaSetsByRevision: lower revision first, then by creation.
  const sorted = [...cleanable].sort((a, b) => {
    const ra = revision(a);
    const rb = revision(b);
    if (ra !== rb && !Number.isNaN(ra) && !Number.isNaN(rb)) return ra - rb;
    return byCreation(a, b);
  });
  return sorted.slice(0, diff).filter((rs) => (rs.status?.replicas ?? 0) === 0 && replicasOf(rs) === 0 && (rs.metadata?.generation ?? 0) <= (rs.status?.observedGeneration ?? 0) && !rs.metadata?.deletionTimestamp);
}

/** The new ReplicaSet for the Deployment's template: named `<deployment>-<hash>`, labeled and selected by the hash. */
export function newReplicaSet(d: Deployment, oldRSs: readonly ReplicaSet[], newRevision: string): ReplicaSet {
  const template = structuredClone(d.spec?.template ?? {});
  const hash = computeHash(template, d.status?.collisionCount);
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [DefaultDeploymentUniqueLabelKey]: hash } };
  const selector = structuredClone(d.spec?.selector ?? {});
  selector.matchLabels = { ...selector.matchLabels, [DefaultDeploymentUniqueLabelKey]: hash };
  const rs: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata?.name ?? ''}-${hash}`,
      namespace: d.metadata?.namespace,
      ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
      labels: { ...template.metadata.labels },
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
  };
  rs.spec!.replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
  setNewReplicaSetAnnotations(d, rs, newRevision, false);
  return rs;
}

/** calculateStatus. */
export function calculateStatus(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment, now: number): DeploymentStatus {
  const available = availableReplicaCount(allRSs);
  const total = replicaCount(allRSs);
  // Every count is omitempty: a zero is absent, as kube serialises DeploymentStatus.
  const status: DeploymentStatus = omitZero({
    observedGeneration: d.metadata?.generation ?? 0,
    replicas: actualReplicaCount(allRSs),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(allRSs),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
  });
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions?.length) status.conditions = d.status.conditions.map((c) => ({ ...c }));
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(status, newCondition('Available', 'True', MinimumReplicasAvailable, 'Deployment has minimum availability.', now));
  } else {
    setCondition(status, newCondition('Available', 'False', MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', now));
  }
  return status;
}

function omitZero<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0)) as T;
}

/** getReplicaFailures: the new ReplicaSet's ReplicaFailure conditions first, else any old one's. */
function replicaFailures(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined) {
  const of = (rs: ReplicaSet | undefined) => (rs?.status?.conditions ?? []).filter((c) => c.type === 'ReplicaFailure').map(replicaSetToDeploymentCondition);
  const fromNew = of(newRS);
  if (fromNew.length) return fromNew;
  return allRSs.flatMap(of);
}

export interface RolloutStatus {
  status: DeploymentStatus;
  /** Requeue for a progress check after this many ms (requeueStuckDeployment), when nothing changed. */
  requeueAfterMs?: number;
}

/**
 * progress.go syncRolloutStatus: the status plus the Progressing condition (NewReplicaSetAvailable,
 * ReplicaSetUpdated, ProgressDeadlineExceeded) and ReplicaFailure carried up from ReplicaSets.
 */
export function rolloutStatus(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment, now: number): RolloutStatus {
  const s = calculateStatus(allRSs, newRS, d, now);
  if (!hasProgressDeadline(d)) removeCondition(s, 'Progressing');
  const current = getCondition(d.status, 'Progressing');
  const complete = s.replicas === s.updatedReplicas && current?.reason === NewRSAvailableReason;
  if (hasProgressDeadline(d) && !complete) {
    const name = d.metadata?.name ?? '';
    if (deploymentComplete(d, s)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata?.name ?? ''}" has successfully progressed.` : `Deployment "${name}" has successfully progressed.`;
      setCondition(s, newCondition('Progressing', 'True', NewRSAvailableReason, msg, now));
    } else if (deploymentProgressing(d, s)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata?.name ?? ''}" is progressing.` : `Deployment "${name}" is progressing.`;
      const cond = newCondition('Progressing', 'True', ReplicaSetUpdatedReason, msg, now);
      // Progress refreshes lastUpdateTime even with the same reason; the transition time stays while True.
      if (current) {
        if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
        removeCondition(s, 'Progressing');
      }
      setCondition(s, cond);
    } else if (deploymentTimedOut(d, s, now)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata?.name ?? ''}" has timed out progressing.` : `Deployment "${name}" has timed out progressing.`;
      setCondition(s, newCondition('Progressing', 'False', TimedOutReason, msg, now));
    }
  }
  const failures = replicaFailures(allRSs, newRS);
  if (failures[0]) setCondition(s, failures[0]);
  else removeCondition(s, 'ReplicaFailure');
  if (!statusChanged(d.status, s)) return { status: s, requeueAfterMs: stuckRequeue(d, s, now) };
  return { status: s };
}

/** reflect.DeepEqual of two statuses as JSON. */
export function statusChanged(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  return JSON.stringify(normalize(a ?? {})) !== JSON.stringify(normalize(b));
}

function normalize(s: DeploymentStatus): DeploymentStatus {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(s).sort()) {
    const v = (s as Record<string, unknown>)[k];
    if (v === undefined || v === 0 || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = k === 'conditions' ? (v as object[]).map((c) => Object.fromEntries(Object.entries(c).sort(([x], [y]) => x.localeCompare(y)))) : v;
  }
  return out;
}

/** requeueStuckDeployment: when to look again for a timeout; undefined when there is nothing to wait for. */
function stuckRequeue(d: Deployment, s: DeploymentStatus, now: number): number | undefined {
  const current = getCondition(d.status, 'Progressing');
  if (!hasProgressDeadline(d) || !current) return undefined;
  if (deploymentComplete(d, s) || current.reason === TimedOutReason) return undefined;
  const after = (parseTime(current.lastUpdateTime) ?? 0) + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 - now;
  // Less than a second left: look again in a second (kube requeues rate-limited).
  if (after < 1000) return 1000;
  return after + 1000;
}

/** checkPausedConditions: Progressing Unknown DeploymentPaused / DeploymentResumed; undefined when nothing changes. */
export function pausedConditionsStatus(d: Deployment, now: number): DeploymentStatus | undefined {
  if (!hasProgressDeadline(d)) return undefined;
  const cond = getCondition(d.status, 'Progressing');
  if (cond?.reason === TimedOutReason) return undefined;
  const pausedExists = cond?.reason === PausedDeployReason;
  const s: DeploymentStatus = structuredClone(d.status ?? {});
  if (d.spec?.paused && !pausedExists) {
    setCondition(s, newCondition('Progressing', 'Unknown', PausedDeployReason, 'Deployment is paused', now));
    return s;
  }
  if (!d.spec?.paused && pausedExists) {
    setCondition(s, newCondition('Progressing', 'Unknown', ResumedDeployReason, 'Deployment is resumed', now));
    return s;
  }
  return undefined;
}
