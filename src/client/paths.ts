// REST paths as kube-apiserver serves them: /api/v1 for the core group, /apis/<group>/<version>
// for the others; /namespaces/<ns>/ before namespaced resources; all namespaces without it.
import type { ResourceInfo } from '../api/index.ts';

/** "/api/v1" or "/apis/apps/v1". */
export function groupVersionPath(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
}

/**
 * The path of a collection, an object or an object's subresource. A namespaced resource
 * without a namespace is the all-namespaces collection (only valid without a name); a
 * cluster-scoped resource ignores the namespace.
 */
export function resourcePath(r: ResourceInfo, namespace: string | undefined, name?: string, subresource?: string): string {
  let p = groupVersionPath(r);
  if (r.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.resource}`;
  if (name !== undefined) {
    if (name === '') throw new TypeError(`A name is required to address one of ${r.resource}`);
    if (r.namespaced && !namespace) throw new TypeError(`${r.resource} are namespaced: a namespace is required to address ${JSON.stringify(name)}`);
    p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
  }
  return p;
}
