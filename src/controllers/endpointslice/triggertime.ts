// The endpoints.kubernetes.io/last-change-trigger-time annotation, as k8s.io/endpointslice's
// TriggerTimeTracker computes it: the earliest change (a pod's Ready transition, the Service's
// creation) seen since the previous sync of the Service; its creation time on the first sync.
// Like Kubernetes', it can be off when one object changes several times between two syncs.
import type { Pod, Service } from 'kubernetes-types/core/v1.js';

interface ServiceState {
  serviceTime: number;
  podTimes: Map<string, number>;
}

function parseTime(t: string | undefined): number {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : ms;
}

function podTriggerTime(pod: Pod): number {
  return parseTime(pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime);
}

/** RFC 3339 with nanoseconds' trailing zeros dropped, as Go's time.RFC3339Nano prints UTC. */
export function formatTriggerTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // ...T00:00:00.120Z
  let end = iso.length - 1;
  while (iso[end - 1] === '0') end--;
  if (iso[end - 1] === '.') end--;
  return iso.slice(0, end) + 'Z';
}

export class TriggerTimeTracker {
  readonly #states = new Map<string, ServiceState>();

  /** The time to record for this sync of the Service ("" for none: the annotation is then removed). */
  compute(key: string, service: Service, pods: readonly Pod[]): string {
    const state = this.#states.get(key);
    let min = 0;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      if (!t) continue;
      const name = pod.metadata?.name ?? '';
      podTimes.set(name, t);
      if (t > (state?.podTimes.get(name) ?? 0) && (min === 0 || t < min)) min = t;
    }
    const serviceTime = parseTime(service.metadata?.creationTimestamp);
    if (serviceTime > (state?.serviceTime ?? 0) && (min === 0 || serviceTime < min)) min = serviceTime;
    this.#states.set(key, { serviceTime, podTimes });
    if (!state) return serviceTime ? formatTriggerTime(serviceTime) : '';
    return min ? formatTriggerTime(min) : '';
  }

  delete(key: string): void {
    this.#states.delete(key);
  }
}
