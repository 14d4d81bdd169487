// How objects sit in the Store: JSON without metadata.resourceVersion, which is the key's
// modRevision and is put back on every read. Keys follow etcd's /registry layout.
import { writableMeta, type AnyObject, type ResourceInfo } from '../../api/index.ts';
import type { KeyValue } from '../../store/index.ts';

const registryPrefix = '/registry/';

/** "/registry/core/services/" or "/registry/apps/deployments/ns/": all keys of a resource (in a namespace). */
export function resourcePrefix(r: ResourceInfo, namespace?: string): string {
  const base = `${registryPrefix}${r.group || 'core'}/${r.resource}/`;
  return r.namespaced && namespace ? `${base}${namespace}/` : base;
}

export function objectKey(r: ResourceInfo, namespace: string | undefined, name: string): string {
  return r.namespaced ? `${resourcePrefix(r)}${namespace ?? ''}/${name}` : `${resourcePrefix(r)}${name}`;
}

/** The serialized form kept in the store (resourceVersion left out). */
export function encodeForStore(obj: AnyObject): string {
  const rv = obj.metadata?.resourceVersion;
  if (rv === undefined) return JSON.stringify(obj);
  const m = writableMeta(obj);
  delete m.resourceVersion;
  try {
    return JSON.stringify(obj);
  } finally {
    m.resourceVersion = rv;
  }
}

/** Decodes a stored value and stamps it with the given revision as its resourceVersion. */
export function decodeFromStore(value: string, revision: number): AnyObject {
  const obj = JSON.parse(value) as AnyObject;
  writableMeta(obj).resourceVersion = String(revision);
  return obj;
}

export function decodeKv(kv: KeyValue): AnyObject {
  return decodeFromStore(kv.value, kv.modRevision);
}

/** Freezes a JSON object deeply: cached objects are shared and must never be mutated. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** metav1.Time: RFC 3339 in UTC with seconds. */
export function nowTime(now: Date = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
