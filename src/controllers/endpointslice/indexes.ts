// Informer indexes shared by the endpoint controllers, so that a pod change finds its Services
// and a Service finds its pods without scanning everything (issue 3, "Scale").
//
// - Services by one pair of their selector ("ns/key=value" of the selector's first key): a pod
//   can only match a Service whose every selector pair it carries, so looking up each of the
//   pod's own label pairs finds every candidate; the full selector is then checked.
// - Pods by each label pair ("ns/key=value"): a Service's pods are among those under any one
//   of its selector pairs; the smallest such set is scanned.
// - Pods by node name: a Node's zone label or arrival changes its pods' endpoints.
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { IndexFunc, Informer } from '../../client/index.ts';
import type { KubeObject } from '../../api/index.ts';
import { keyOf, labelManagedBy, labelServiceName, selectorMatches, serviceSelector } from './pods.ts';

export const servicesBySelectorIndex = 'svcnet.io/services-by-selector-pair';
export const podsByLabelIndex = 'svcnet.io/pods-by-label-pair';
export const podsByNodeIndex = 'svcnet.io/pods-by-node';

export function serviceSelectorIndexFunc(svc: Service): string[] {
  const sel = serviceSelector(svc);
  if (!sel) return [];
  const first = Object.keys(sel).sort()[0];
  return [`${svc.metadata?.namespace ?? ''}/${first}=${sel[first]}`];
}

export function podLabelIndexFunc(pod: Pod): string[] {
  const ns = pod.metadata?.namespace ?? '';
  const labels = pod.metadata?.labels ?? {};
  return Object.keys(labels).map((k) => `${ns}/${k}=${labels[k]}`);
}

export function podNodeIndexFunc(pod: Pod): string[] {
  return pod.spec?.nodeName ? [pod.spec.nodeName] : [];
}

/** An index of EndpointSlices by "ns/<service-name label>", for the slices one controller manages. */
export function sliceServiceIndexFunc(managedBy: string): IndexFunc<EndpointSlice> {
  return (s) => {
    const labels = s.metadata?.labels;
    const svc = labels?.[labelServiceName];
    if (!svc || labels[labelManagedBy] !== managedBy) return [];
    return [`${s.metadata?.namespace ?? ''}/${svc}`];
  };
}

const added = new WeakMap<object, Set<string>>();

/** Adds the index unless this module already added one of that name to the informer (informers are shared). */
export function ensureIndex<T extends KubeObject>(inf: Informer<T>, name: string, fn: IndexFunc<T>): void {
  let names = added.get(inf);
  if (!names) added.set(inf, (names = new Set()));
  if (names.has(name)) return;
  inf.addIndex(name, fn);
  names.add(name);
}

/** Adds the Service and Pod indexes the endpoint controllers look up. */
export function addEndpointIndexes(services: Informer<Service>, pods: Informer<Pod>): void {
  ensureIndex(services, servicesBySelectorIndex, serviceSelectorIndexFunc);
  ensureIndex(pods, podsByLabelIndex, podLabelIndexFunc);
  ensureIndex(pods, podsByNodeIndex, podNodeIndexFunc);
}

/** The keys of the Services in the pod's namespace whose selector matches its labels (GetPodServiceMemberships). */
export function serviceKeysForPod(services: Informer<Service>, pod: Pod): Set<string> {
  const out = new Set<string>();
  for (const v of podLabelIndexFunc(pod)) {
    for (const svc of services.byIndex(servicesBySelectorIndex, v)) {
      const sel = serviceSelector(svc);
      if (sel && selectorMatches(sel, pod.metadata?.labels)) out.add(keyOf(svc));
    }
  }
  return out;
}

/** The pods a Service's selector matches, from the label index (none without a selector). */
export function podsForService(pods: Informer<Pod>, svc: Service): Pod[] {
  const sel = serviceSelector(svc);
  if (!sel) return [];
  const ns = svc.metadata?.namespace ?? '';
  let smallest: Pod[] | undefined;
  for (const k of Object.keys(sel)) {
    const c = pods.byIndex(podsByLabelIndex, `${ns}/${k}=${sel[k]}`);
    if (!smallest || c.length < smallest.length) smallest = c;
    if (c.length === 0) break;
  }
  return (smallest ?? []).filter((p) => selectorMatches(sel, p.metadata?.labels));
}

/** The pods scheduled to a node. */
export function podsOnNode(pods: Informer<Pod>, node: Node | string): Pod[] {
  const name = typeof node === 'string' ? node : (node.metadata?.name ?? '');
  return pods.byIndex(podsByNodeIndex, name);
}
