// The root CA certificate publisher's rule (pkg/controller/certificates/rootcacertpublisher):
// every active namespace holds the ConfigMap `kube-root-ca.crt` whose `ca.crt` is the bundle
// that verifies the API server, with an annotation describing it. One deleted is made again;
// one whose data differs gets exactly `ca.crt` back (and the annotation with it); one whose
// description annotation is missing or empty gets it back. Other labels and annotations stay.
// Nothing is done in a namespace that is gone or terminating.
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';

export const rootCACertConfigMapName = 'kube-root-ca.crt';
export const descriptionAnnotation = 'kubernetes.io/description';
export const description =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. ' +
  'No other usage is guaranteed across distributions of Kubernetes clusters.';

export type RootCAAction = { action: 'none' } | { action: 'create'; configMap: ConfigMap } | { action: 'update'; configMap: ConfigMap };

function sameData(have: Record<string, string> | undefined, want: Record<string, string>): boolean {
  const keys = Object.keys(have ?? {});
  return keys.length === Object.keys(want).length && keys.every((k) => Object.hasOwn(want, k) && have![k] === want[k]);
}

/**
 * What to do in a namespace given its root CA ConfigMap as cached (undefined: none). As kube, a
 * description annotation with another non-empty value is left alone while the data is right.
 */
export function rootCAConfigMapAction(ns: Namespace | undefined, existing: ConfigMap | undefined, rootCA: string): RootCAAction {
  if (!ns || ns.metadata?.deletionTimestamp || (ns.status?.phase ?? 'Active') !== 'Active') return { action: 'none' };
  const data = { 'ca.crt': rootCA };
  if (!existing) {
    return {
      action: 'create',
      configMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: rootCACertConfigMapName, annotations: { [descriptionAnnotation]: description } }, data },
    };
  }
  if (sameData(existing.data, data) && (existing.metadata?.annotations?.[descriptionAnnotation] ?? '') !== '') return { action: 'none' };
  const configMap = structuredClone(existing);
  configMap.data = data;
  configMap.metadata = { ...configMap.metadata, annotations: { ...configMap.metadata?.annotations, [descriptionAnnotation]: description } };
  return { action: 'update', configMap };
}
