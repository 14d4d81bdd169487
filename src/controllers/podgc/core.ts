// The pod garbage collector's rules (pkg/controller/podgc): pods bound to a node that no longer
// exists, and terminating pods that were never scheduled, are deleted at once (grace 0).
import type { Pod } from 'kubernetes-types/core/v1.js';

export type PodGCReason = 'orphaned' | 'unscheduledTerminating';

/** Which rule, if any, collects the pod, given whether its node exists. */
export function podGCReason(pod: Pod, nodeExists: (name: string) => boolean): PodGCReason | undefined {
  const node = pod.spec?.nodeName;
  if (node) return nodeExists(node) ? undefined : 'orphaned';
  if (pod.metadata?.deletionTimestamp) return 'unscheduledTerminating';
  return undefined;
}
