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

/**
 * A deep copy of a JSON-shaped value, as structuredClone makes it but several times faster for
 * plain objects and arrays (every write copies objects a few times). Anything else inside (a
 * Date, a typed array) is copied by structuredClone.
 */
export function copyObject<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copyObject(v[i] as unknown);
    return out as T;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(v);
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src)) {
    const x = copyObject(src[k]);
    // An own "__proto__" key stays a key (an assignment would set the prototype).
    if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
    else out[k] = x;
  }
  return out as T;
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
