// The ReplicaSet controller's pure core (pkg/controller/replicaset): how many pods to create or
// which to delete, the pod made from the template, and the status the pods add up to.
import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { isPodActive, isPodAvailable, isPodReady, podAvailableAt, rankForDeletion, rfc3339 } from '../controllerutil/index.ts';
import { matches, selectorFromSet } from '../../api/selectors/index.ts';

/** kube-controller-manager's burstReplicas: at most this many creations or deletions per sync. */
export const burstReplicas = 500;
/** controller.SlowStartInitialBatchSize. */
export const slowStartInitialBatchSize = 1;

export type ManageDecision = { kind: 'none' } | { kind: 'create'; count: number } | { kind: 'delete'; pods: Pod[] };

/**
 * manageReplicas' arithmetic: too few active pods → create the difference (capped at burst);
 * too many → delete the best candidates (getPodsToDelete), ranking by how doubled-up each pod's
 * node is with `related` pods (the active pods of sibling ReplicaSets under the same owner).
 */
export function manageReplicas(rs: ReplicaSet, active: readonly Pod[], related: readonly Pod[], now: number, burst = burstReplicas): ManageDecision {
  const want = rs.spec?.replicas ?? 1;
  const diff = active.length - want;
  if (diff < 0) return { kind: 'create', count: Math.min(-diff, burst) };
  if (diff === 0) return { kind: 'none' };
  const n = Math.min(diff, burst);
  return { kind: 'delete', pods: podsToDelete(active, related, n, now) };
}

/** getPodsToDelete with getPodsRankedByRelatedPodsOnSameNode. */
export function podsToDelete(pods: readonly Pod[], related: readonly Pod[], n: number, now: number): Pod[] {
  if (n >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const node = p.spec?.nodeName ?? '';
    onNode.set(node, (onNode.get(node) ?? 0) + 1);
  }
  const ranked = rankForDeletion(
    pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 })),
    now,
  );
  return ranked.slice(0, n).map((r) => r.pod);
}

/** The sizes of slowStartBatch's rounds: 1, 2, 4 ... until n pods are covered. */
export function slowStartBatches(n: number, initial = slowStartInitialBatchSize): number[] {
  const out: number[] = [];
  let remaining = n;
  for (let size = Math.min(remaining, initial); size > 0; size = Math.min(2 * size, remaining)) {
    out.push(size);
    remaining -= size;
  }
  return out;
}

/** controller.getPodsPrefix: "<name>-" (kube falls back to the bare name when that is no valid prefix). */
export function podNamePrefix(name: string): string {
  return `${name}-`;
}

/** controller.GetPodFromTemplate: labels, annotations, finalizers and spec of the template, owned by `ref`. */
export function podFromTemplate(rs: ReplicaSet, ref: OwnerReference): Pod {
  const t = rs.spec?.template ?? {};
  const meta: NonNullable<Pod['metadata']> = { generateName: podNamePrefix(rs.metadata?.name ?? ''), ownerReferences: [ref] };
  if (t.metadata?.labels) meta.labels = { ...t.metadata.labels };
  if (t.metadata?.annotations) meta.annotations = { ...t.metadata.annotations };
  if (t.metadata?.finalizers) meta.finalizers = [...t.metadata.finalizers];
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: structuredClone(t.spec ?? { containers: [] }) };
}

/**
 * calculateStatus: replicas, fullyLabeledReplicas (pods carrying every template label),
 * readyReplicas, availableReplicas (ready for minReadySeconds), and the ReplicaFailure
 * condition while creations or deletions fail.
 */
export function calculateStatus(rs: ReplicaSet, active: readonly Pod[], manageError: string | undefined, now: number): ReplicaSetStatus {
  const status: ReplicaSetStatus = structuredClone(rs.status ?? { replicas: 0 });
  const templateLabels = selectorFromSet(rs.spec?.template?.metadata?.labels ?? {});
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fully = 0;
  let ready = 0;
  let available = 0;
  for (const p of active) {
    if (matches(templateLabels, p.metadata?.labels)) fully++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, now)) available++;
    }
  }
  const failure = status.conditions?.find((c) => c.type === 'ReplicaFailure');
  if (manageError !== undefined && !failure) {
    const diff = active.length - (rs.spec?.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    const cond: ReplicaSetCondition = { type: 'ReplicaFailure', status: 'True', lastTransitionTime: rfc3339(new Date(now)), reason, message: manageError };
    status.conditions = [...(status.conditions ?? []), cond];
  } else if (manageError === undefined && failure) {
    status.conditions = status.conditions?.filter((c) => c.type !== 'ReplicaFailure');
    if (!status.conditions?.length) delete status.conditions;
  }
  status.replicas = active.length;
  // replicas is always serialised; the other counts are omitempty.
  const counts = { fullyLabeledReplicas: fully, readyReplicas: ready, availableReplicas: available };
  for (const [k, v] of Object.entries(counts) as [keyof typeof counts, number][]) {
    if (v) status[k] = v;
    else delete status[k];
  }
  return status;
}

/** updateReplicaSetStatus' steady-state check: nothing to write when counts, generation and conditions agree. */
export function statusNeedsUpdate(rs: ReplicaSet, next: ReplicaSetStatus): boolean {
  const cur = rs.status ?? { replicas: 0 };
  return (
    (cur.replicas ?? 0) !== (next.replicas ?? 0) ||
    (cur.fullyLabeledReplicas ?? 0) !== (next.fullyLabeledReplicas ?? 0) ||
    (cur.readyReplicas ?? 0) !== (next.readyReplicas ?? 0) ||
    (cur.availableReplicas ?? 0) !== (next.availableReplicas ?? 0) ||
    (rs.metadata?.generation ?? 0) !== (cur.observedGeneration ?? 0) ||
    JSON.stringify(cur.conditions ?? []) !== JSON.stringify(next.conditions ?? [])
  );
}

/**
 * When the next ready-but-not-yet-available pod turns available (ms from now), so the
 * controller can recount then; undefined when no pod is waiting for minReadySeconds.
 */
export function nextAvailabilityCheck(rs: ReplicaSet, active: readonly Pod[], now: number): number | undefined {
  const minReady = rs.spec?.minReadySeconds ?? 0;
  if (!minReady) return undefined;
  let next: number | undefined;
  for (const p of active) {
    const at = podAvailableAt(p, minReady);
    if (at === undefined || at <= now) continue;
    if (next === undefined || at < next) next = at;
  }
  return next === undefined ? undefined : next - now;
}
