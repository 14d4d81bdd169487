// The namespace controller's pure parts (pkg/controller/namespace/deletion): which resources
// hold namespaced content, how long graceful pod termination may still take, and the status
// conditions a Terminating namespace reports (kube's types, reasons and messages).
import type { Namespace, NamespaceCondition, Pod } from 'kubernetes-types/core/v1.js';
import { allResources, type ResourceInfo } from '../../api/index.ts';
import { parseTime, rfc3339 } from '../controllerutil/index.ts';

export const KubernetesFinalizer = 'kubernetes';
/** finalizerEstimateSeconds: how long to wait for content that carries finalizers. */
export const finalizerEstimateSeconds = 15;

/** The resources a namespace's content is made of: namespaced, and deletable. */
export function namespacedResources(): ResourceInfo[] {
  return allResources.filter((r) => r.namespaced && r.verbs.includes('delete') && r.verbs.includes('list'));
}

/** "pods." / "deployments.apps": how kube names a group-resource in the conditions. */
export function groupResource(r: ResourceInfo): string {
  return `${r.resource}.${r.group}`;
}

/** estimateGracefulTerminationForPods, less the time since the namespace's deletion began. */
export function estimatePods(pods: readonly Pod[], deletedAt: string | undefined, now: number): number {
  let estimate = 0;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const grace = p.spec?.terminationGracePeriodSeconds ?? 30;
    if (grace > estimate) estimate = grace;
  }
  const since = now - (parseTime(deletedAt) ?? now);
  return since >= estimate * 1000 ? 0 : estimate;
}

export interface ContentTotals {
  /** group-resource → instances left. */
  remaining: Map<string, number>;
  /** finalizer → instances carrying it. */
  finalizers: Map<string, number>;
  /** Errors while deleting (one per resource). */
  errors: string[];
  /** An error discovering resources, if any. */
  discoveryError?: string;
}

const conditionTypes = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;

const okReasons: Record<(typeof conditionTypes)[number], [string, string]> = {
  NamespaceDeletionDiscoveryFailure: ['ResourcesDiscovered', 'All resources successfully discovered'],
  NamespaceDeletionGroupVersionParsingFailure: ['ParsedGroupVersions', 'All legacy kube types successfully parsed'],
  NamespaceDeletionContentFailure: ['ContentDeleted', 'All content successfully deleted, may be waiting on finalization'],
  NamespaceContentRemaining: ['ContentRemoved', 'All content successfully removed'],
  NamespaceFinalizersRemaining: ['ContentHasNoFinalizers', 'All content-preserving finalizers finished'],
};

/** The failing conditions the totals call for (namespaceConditionUpdater). */
function failures(t: ContentTotals, time: string): NamespaceCondition[] {
  const out: NamespaceCondition[] = [];
  if (t.discoveryError) out.push({ type: 'NamespaceDeletionDiscoveryFailure', status: 'True', lastTransitionTime: time, reason: 'DiscoveryFailed', message: t.discoveryError });
  const remaining = [...t.remaining].filter(([, n]) => n > 0).map(([gr, n]) => `${gr} has ${n} resource instances`).sort();
  if (t.remaining.size) out.push({ type: 'NamespaceContentRemaining', status: 'True', lastTransitionTime: time, reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${remaining.join(', ')}` });
  const fins = [...t.finalizers].filter(([, n]) => n > 0).map(([f, n]) => `${f} in ${n} resource instances`).sort();
  if (t.finalizers.size) out.push({ type: 'NamespaceFinalizersRemaining', status: 'True', lastTransitionTime: time, reason: 'SomeFinalizersRemain', message: `Some content in the namespace has finalizers remaining: ${fins.join(', ')}` });
  if (t.errors.length) {
    const msgs = [...t.errors].sort();
    out.push({ type: 'NamespaceDeletionContentFailure', status: 'True', lastTransitionTime: time, reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}` });
  }
  return out;
}

/**
 * updateConditions: every condition type present, the failing ones True with their message, the
 * rest False with kube's "all is well" reason; lastTransitionTime moves only when a status
 * flips. Returns the new list, or undefined when nothing changed.
 */
export function deletionConditions(ns: Namespace, t: ContentTotals, now: number): NamespaceCondition[] | undefined {
  const time = rfc3339(new Date(now));
  const bad = failures(t, time);
  const conds = (ns.status?.conditions ?? []).map((c) => ({ ...c }));
  let changed = false;
  for (const type of conditionTypes) {
    const want = bad.find((c) => c.type === type) ?? { type, status: 'False', lastTransitionTime: time, reason: okReasons[type][0], message: okReasons[type][1] };
    const cur = conds.find((c) => c.type === type);
    if (!cur) {
      conds.push(want);
      changed = true;
    } else if (cur.status !== want.status || cur.message !== want.message || cur.reason !== want.reason) {
      if (cur.status !== want.status) cur.lastTransitionTime = time;
      cur.status = want.status;
      cur.reason = want.reason;
      cur.message = want.message;
      changed = true;
    }
  }
  return changed ? conds : undefined;
}

/** The namespace's spec.finalizers without `kubernetes` (finalizeNamespace). */
export function finalizedSpecFinalizers(ns: Namespace): string[] {
  return (ns.spec?.finalizers ?? []).filter((f) => f !== KubernetesFinalizer);
}

export function isFinalized(ns: Namespace): boolean {
  return !(ns.spec?.finalizers ?? []).includes(KubernetesFinalizer);
}
