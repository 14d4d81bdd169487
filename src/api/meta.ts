// The shapes every served object shares. Objects travel as plain JSON (kubernetes-types
// shapes); these helpers read the few fields the machinery needs without casting everywhere.
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';

export type { ObjectMeta, OwnerReference };

/** Any Kubernetes object: apiVersion, kind and metadata, plus whatever its type holds. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** A Kubernetes object whose other fields are not known statically. */
export type AnyObject = KubeObject & { [field: string]: unknown };

/** Group, version and kind, e.g. { group: 'apps', version: 'v1', kind: 'Deployment' }. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** "namespace/name", or "name" for cluster-scoped objects: the informer and cache key. */
export function namespacedName(obj: KubeObject): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** A deep copy of a JSON value (objects here are always plain JSON). */
export function deepCopy<T>(value: T): T {
  return structuredClone(value);
}

/** True when the value is a plain JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** T without readonly modifiers (kubernetes-types marks server-set fields readonly). */
export type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The object's metadata, created if absent, for server-side code that sets server fields. */
export function writableMeta(obj: KubeObject): Writable<ObjectMeta> {
  const o = obj as { metadata?: ObjectMeta };
  o.metadata ??= {};
  return o.metadata;
}
