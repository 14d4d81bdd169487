// Registry strategies: what kube-apiserver does to an object between decoding (and defaulting)
// and validation, per type (pkg/registry/*/strategy.go, Kubernetes 1.33). All pure: they change
// the object passed in and return nothing else.
//
//   create:  defaultObject -> prepareForCreate -> [Service: allocate] -> validateCreate
//   update:  defaultObject -> prepareForUpdate(obj, old) -> validateUpdate
//            (Service: defaultObject -> patchAllocatedValues -> normalizeClusterIPs -> allocate
//             -> prepareForUpdate -> validateUpdate, the order of the Service registry)
//   status:  defaultObject -> prepareForUpdate(obj, old, 'status') -> validateUpdate(..., 'status')
import type { Namespace, Pod, PodSpec, Service, Toleration } from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { KubeObject, ResourceInfo } from '../index.ts';
import { semanticEqual } from '../validation/index.ts';
import { dropTypeDependentFields } from './service.ts';

export { dropTypeDependentFields, normalizeClusterIPs, patchAllocatedValues } from './service.ts';

type Loose = KubeObject & Record<string, unknown>;

function key(r: ResourceInfo): string {
  return `${r.group}/${r.kind}`;
}

/** Types whose metadata.generation counts changes of their desired state. */
const generationTracked = new Set(['apps/Deployment', 'apps/ReplicaSet', 'discovery.k8s.io/EndpointSlice', 'metallb.io/IPAddressPool', 'metallb.io/L2Advertisement']);

function setGeneration(obj: KubeObject, g: number | undefined): void {
  const meta = (obj.metadata ??= {}) as { generation?: number };
  if (g === undefined) delete meta.generation;
  else meta.generation = g;
}

function withoutMeta(obj: KubeObject, drop: readonly string[] = []): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...(obj as Loose) };
  for (const k of ['metadata', 'apiVersion', 'kind', ...drop]) delete rest[k];
  return rest;
}

// ---- Pods ----

function quantitiesOf(spec: PodSpec): { requests: Record<string, string>; limits: Record<string, string> }[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => ({
    requests: Object.fromEntries(Object.entries(c.resources?.requests ?? {}).map(([k, v]) => [k, String(v)])),
    limits: Object.fromEntries(Object.entries(c.resources?.limits ?? {}).map(([k, v]) => [k, String(v)])),
  }));
}

/** qos.GetPodQOS over cpu and memory: BestEffort, Guaranteed or Burstable. */
export function podQOSClass(pod: Pod): 'BestEffort' | 'Burstable' | 'Guaranteed' {
  const cs = quantitiesOf(pod.spec ?? { containers: [] });
  const compute = ['cpu', 'memory'];
  const any = cs.some((c) => compute.some((r) => r in c.requests || r in c.limits));
  if (!any) return 'BestEffort';
  const guaranteed = cs.every((c) => compute.every((r) => r in c.limits && (c.requests[r] ?? c.limits[r]) === c.limits[r]));
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function tolerates(list: readonly Toleration[], taintKey: string, effect: string): boolean {
  return list.some((t) => (t.key === taintKey || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === effect));
}

/**
 * What the admission plugins kube-apiserver enables by default add to a new Pod: Priority
 * (priority 0, preemptionPolicy PreemptLowerPriority), ServiceAccount (serviceAccountName
 * "default"; the token volume is not added) and DefaultTolerationSeconds (300s for not-ready
 * and unreachable nodes).
 */
function admitPod(pod: Pod): void {
  const spec = (pod.spec ??= { containers: [] });
  if (!spec.priorityClassName && (spec.priority === undefined || spec.priority === null)) spec.priority = 0;
  if (!spec.preemptionPolicy) spec.preemptionPolicy = 'PreemptLowerPriority';
  if (!spec.serviceAccountName) spec.serviceAccountName = 'default';
  spec.serviceAccount = spec.serviceAccountName;
  const tol = (spec.tolerations ??= []);
  for (const k of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerates(tol, k, 'NoExecute')) tol.push({ key: k, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
}

function preparePodForCreate(pod: Pod): void {
  admitPod(pod);
  const status: NonNullable<Pod['status']> = { phase: 'Pending', qosClass: podQOSClass(pod) };
  if ((pod.spec?.schedulingGates ?? []).length > 0) {
    status.conditions = [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates' }];
  }
  (pod as { status?: Pod['status'] }).status = status;
}

// ---- Namespaces ----

function canonicalizeNamespace(ns: Namespace): void {
  const name = ns.metadata?.name;
  if (name) {
    ns.metadata ??= {};
    ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
  }
}

function prepareNamespaceForCreate(ns: Namespace): void {
  (ns as { status?: Namespace['status'] }).status = { phase: 'Active' };
  const spec = (ns.spec ??= {});
  // The kubernetes finalizer is required at creation; it may be removed later.
  if (!(spec.finalizers ?? []).includes('kubernetes')) spec.finalizers = [...(spec.finalizers ?? []), 'kubernetes'];
  canonicalizeNamespace(ns);
}

/**
 * PrepareForCreate: clears what a client may not set on create and sets generation 1 where
 * Kubernetes tracks it. Run after defaultObject and before validateCreate.
 */
export function prepareForCreate(r: ResourceInfo, obj: KubeObject): void {
  const o = obj as Loose;
  switch (key(r)) {
    case '/Service':
      o.status = { loadBalancer: {} };
      break;
    case '/Pod':
      preparePodForCreate(obj as Pod);
      break;
    case '/Namespace':
      prepareNamespaceForCreate(obj as Namespace);
      break;
    case 'apps/Deployment':
      o.status = {};
      break;
    case 'apps/ReplicaSet':
      o.status = { replicas: 0 };
      break;
    case 'metallb.io/IPAddressPool':
      delete o.status;
      break;
    default:
      // Nodes keep the status they register with; other types have no status subresource.
      break;
  }
  if (generationTracked.has(key(r))) setGeneration(obj, 1);
}

function bumpGeneration(obj: KubeObject, old: KubeObject, changed: boolean): void {
  if (changed) setGeneration(obj, (old.metadata?.generation ?? 0) + 1);
}

function prepareMainUpdate(r: ResourceInfo, obj: KubeObject, old: KubeObject): void {
  const o = obj as Loose;
  const p = old as Loose;
  switch (key(r)) {
    case '/Service':
      o.status = structuredClone(p.status);
      dropTypeDependentFields(obj as Service, old as Service);
      break;
    case '/Pod':
    case '/Node':
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'metallb.io/IPAddressPool':
      o.status = structuredClone(p.status);
      break;
    case '/Namespace': {
      const ns = obj as Namespace;
      const oldNs = old as Namespace;
      ns.spec = { ...(ns.spec ?? {}) };
      if (oldNs.spec?.finalizers) ns.spec.finalizers = [...oldNs.spec.finalizers];
      else delete ns.spec.finalizers;
      o.status = structuredClone(p.status);
      canonicalizeNamespace(ns);
      break;
    }
    default:
      break;
  }
  switch (key(r)) {
    case 'apps/Deployment': {
      // Annotations bump too: the Deployment controller copies them to ReplicaSets.
      const d = obj as Deployment;
      const od = old as Deployment;
      bumpGeneration(obj, old, !semanticEqual(d.spec, od.spec) || !semanticEqual(d.metadata?.annotations, od.metadata?.annotations));
      break;
    }
    case 'apps/ReplicaSet':
      bumpGeneration(obj, old, !semanticEqual((obj as ReplicaSet).spec, (old as ReplicaSet).spec));
      break;
    case 'discovery.k8s.io/EndpointSlice':
      bumpGeneration(obj, old, !semanticEqual(withoutMeta(obj), withoutMeta(old)) || !semanticEqual(obj.metadata?.labels, old.metadata?.labels));
      break;
    case 'metallb.io/IPAddressPool':
    case 'metallb.io/L2Advertisement':
      bumpGeneration(obj, old, !semanticEqual(withoutMeta(obj, ['status']), withoutMeta(old, ['status'])));
      break;
    default:
      break;
  }
}

function prepareStatusUpdate(r: ResourceInfo, obj: KubeObject, old: KubeObject): void {
  const o = obj as Loose;
  const p = old as Loose;
  switch (key(r)) {
    case 'metallb.io/IPAddressPool': {
      // A custom resource's status update changes its status (and managedFields) only.
      const status = o.status;
      const managed = obj.metadata?.managedFields;
      for (const k of Object.keys(o)) delete o[k];
      Object.assign(o, structuredClone(p));
      if (managed !== undefined) (obj.metadata ??= {}).managedFields = managed;
      if (status === undefined) delete o.status;
      else o.status = status;
      return;
    }
    case 'apps/Deployment':
      o.spec = structuredClone(p.spec);
      obj.metadata ??= {};
      if (old.metadata?.labels) obj.metadata.labels = { ...old.metadata.labels };
      else delete obj.metadata.labels;
      return;
    case '/Pod':
      o.spec = structuredClone(p.spec);
      // The pods/status endpoint may not touch owner references (old kubelets corrupted them).
      obj.metadata ??= {};
      if (old.metadata?.ownerReferences) obj.metadata.ownerReferences = structuredClone(old.metadata.ownerReferences);
      else delete obj.metadata.ownerReferences;
      return;
    default:
      o.spec = structuredClone(p.spec);
      return;
  }
}

/**
 * PrepareForUpdate. `obj` is the new object (defaulted), `old` the stored one. For the main
 * resource the status is kept from `old` (and Service type changes drop unused fields); for the
 * "status" subresource the spec (and what else Kubernetes protects) is kept from `old`; for a
 * namespace's "finalize" the status is kept. Generation never goes back and is bumped where the
 * type tracks it. Run before validateUpdate.
 */
export function prepareForUpdate(r: ResourceInfo, obj: KubeObject, old: KubeObject, subresource?: string): void {
  // Requests cannot set generation (rest.BeforeUpdate).
  setGeneration(obj, old.metadata?.generation);
  if (subresource === 'status') prepareStatusUpdate(r, obj, old);
  else if (subresource === 'finalize') (obj as Loose).status = structuredClone((old as Loose).status);
  else prepareMainUpdate(r, obj, old);
}
