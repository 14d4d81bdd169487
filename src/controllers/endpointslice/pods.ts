// What the EndpointSlice and Endpoints controllers read from Pods and Services, as
// k8s.io/endpointslice/util and pkg/api/v1/pod compute it: readiness, membership, ports,
// hostnames, and which pod changes matter to which Services.
import type { Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';

export const labelServiceName = 'kubernetes.io/service-name';
export const labelManagedBy = 'endpointslice.kubernetes.io/managed-by';
export const labelSkipMirror = 'endpointslice.kubernetes.io/skip-mirror';
export const labelHeadless = 'service.kubernetes.io/headless';
export const labelTopologyZone = 'topology.kubernetes.io/zone';
export const annotationTriggerTime = 'endpoints.kubernetes.io/last-change-trigger-time';
export const annotationOverCapacity = 'endpoints.kubernetes.io/over-capacity';
export const annotationLastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
export const annotationLeaderElection = 'control-plane.alpha.kubernetes.io/leader';

/** The pod's Ready condition is True (podutil.IsPodReady). */
export function isPodReady(pod: Pod): boolean {
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready');
  return c?.status === 'True';
}

/** Succeeded or Failed: every container stopped for good. */
export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * ShouldPodBeInEndpoints: not terminal, has an IP, and (unless includeTerminating) not
 * terminating.
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && !pod.status?.podIPs?.length) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** A pod whose hostname is set and whose subdomain names the Service gets a DNS hostname. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && svc.metadata?.namespace === pod.metadata?.namespace;
}

/**
 * FindPort: a numeric targetPort as is; a named one looked up among the pod's container ports
 * (and restartable init containers, i.e. sidecars) with the same protocol. undefined: no match.
 */
export function findPort(pod: Pod, svcPort: ServicePort): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  const protocol = svcPort.protocol ?? 'TCP';
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy !== 'Always') continue;
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/**
 * The Service's selector, or undefined when it selects nothing. An empty map counts as none:
 * Kubernetes stores Services as protobuf, where an empty selector reads back as nil.
 */
export function serviceSelector(svc: Service): Readonly<Record<string, string>> | undefined {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return undefined;
  return sel;
}

/** labels.SelectorFromSet(selector).Matches(labels). */
export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!labels) return false;
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** A ClusterIP that is neither empty nor "None" (helper.IsServiceIPSet). */
export function isServiceIPSet(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

function sameLabels(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}

/**
 * podEndpointsChanged: podChanged when something an endpoint shows changed (deletion,
 * readiness, IPs); labelsChanged when the Services it belongs to may differ (labels, or the
 * hostname and subdomain that decide its endpoint hostname).
 */
export function podEndpointsChanged(oldPod: Pod, newPod: Pod): { podChanged: boolean; labelsChanged: boolean } {
  const labelsChanged =
    !sameLabels(oldPod.metadata?.labels, newPod.metadata?.labels) || oldPod.spec?.hostname !== newPod.spec?.hostname || oldPod.spec?.subdomain !== newPod.spec?.subdomain;
  let podChanged = false;
  if (oldPod.metadata?.deletionTimestamp !== newPod.metadata?.deletionTimestamp) podChanged = true;
  else if (isPodReady(oldPod) !== isPodReady(newPod)) podChanged = true;
  else {
    const a = oldPod.status?.podIPs ?? [];
    const b = newPod.status?.podIPs ?? [];
    if (a.length !== b.length || a.some((ip, i) => ip.ip !== b[i]?.ip)) podChanged = true;
    // Beyond Kubernetes' list: a phase turning terminal drops the endpoint, and an IP set
    // only in status.podIP (no podIPs) must count too.
    else if (isPodTerminal(oldPod) !== isPodTerminal(newPod) || oldPod.status?.podIP !== newPod.status?.podIP) podChanged = true;
  }
  return { podChanged, labelsChanged };
}

/**
 * The Services (keys "ns/name") a pod update concerns (GetServicesToUpdateOnPodChange): those
 * of its current labels, and when its labels changed those of the old ones too (all of them if
 * the pod changed as well, else only those gained or lost).
 */
export function servicesToUpdateOnPodChange(servicesFor: (pod: Pod) => Set<string>, oldPod: Pod, newPod: Pod): Set<string> {
  if (oldPod.metadata?.resourceVersion && oldPod.metadata.resourceVersion === newPod.metadata?.resourceVersion) return new Set();
  const { podChanged, labelsChanged } = podEndpointsChanged(oldPod, newPod);
  if (!podChanged && !labelsChanged) return new Set();
  const now = servicesFor(newPod);
  if (!labelsChanged) return now;
  const before = servicesFor(oldPod);
  if (podChanged) return new Set([...now, ...before]);
  const out = new Set<string>();
  for (const k of now) if (!before.has(k)) out.add(k);
  for (const k of before) if (!now.has(k)) out.add(k);
  return out;
}

/** "namespace/name" */
export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Splits "namespace/name". */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
