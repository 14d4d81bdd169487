// The API client every component uses (DESIGN.md rule 1): controllers, the node agent, the
// proxy and DNS read and write only through this. Two transports implement it with the same
// semantics: HTTPS to any Kubernetes API server, and in-process calls into svcnet's own.
import type { KubeObject } from '../api/index.ts';
import type { ResourceInfo } from '../api/index.ts';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  /** "" or absent: most recent; "0": any (served from cache). */
  resourceVersion?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Events after this resourceVersion; "0" or absent: current state first, as ADDED events. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
}

export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: PropagationPolicy;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** json: RFC 6902; merge: RFC 7386; strategic: Kubernetes' strategic merge; apply: server-side apply. */
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take over conflicting fields. */
  force?: boolean;
}

export interface ObjectList<T extends KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  /** The object; for ERROR a metav1.Status; for BOOKMARK only metadata.resourceVersion is set. */
  object: T;
}

export interface WatchHandle {
  stop(): void;
  /**
   * Settles when the watch ends: resolves on a clean end (timeout, stop(), server closed the
   * stream), rejects with an ApiError for an error (410 Expired among them).
   */
  readonly done: Promise<void>;
}

/** Subresources that read and write through the same object kinds. */
export type ObjectSubresource = 'status' | 'scale' | 'finalize';

export interface Client {
  get<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string): Promise<T>;
  list<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, opts?: ListOptions): Promise<ObjectList<T>>;
  watch<T extends KubeObject>(
    r: ResourceInfo,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (e: WatchEvent<T>) => void,
  ): WatchHandle;
  create<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T>;
  /** PUT; the object's metadata names it. With a subresource, PUT .../{name}/{subresource}. */
  update<T extends KubeObject>(r: ResourceInfo, obj: T, opts?: WriteOptions, subresource?: ObjectSubresource): Promise<T>;
  patch<T extends KubeObject>(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts?: PatchOptions,
    subresource?: ObjectSubresource,
  ): Promise<T>;
  /** Returns the object as the server answered (the deleted object, or one now terminating). */
  delete(r: ResourceInfo, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KubeObject>;
  /** POST to a subresource that takes another kind, e.g. pods/binding (a Binding). */
  createSubresource<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string, subresource: string, body: KubeObject): Promise<T>;
}

// ---- informers ----

export interface ResourceEventHandler<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** The last state known of the object (after a relist, possibly older than its deletion). */
  onDelete?(obj: T): void;
}

/** A function of an object to the index values it is found under. */
export type IndexFunc<T extends KubeObject> = (obj: T) => string[];

/**
 * List, then watch from the list's resourceVersion; keep a local cache; call handlers; relist
 * on 410 Gone/Expired or a broken watch (client-go's shared informer, without resync).
 */
export interface Informer<T extends KubeObject> {
  addEventHandler(handler: ResourceEventHandler<T>): void;
  /** Adds an index; call before start(). */
  addIndex(name: string, fn: IndexFunc<T>): void;
  start(): void;
  stop(): void;
  hasSynced(): boolean;
  /** Resolves once the first list has been delivered to the handlers. */
  waitForSync(): Promise<void>;
  /** Looks up by "namespace/name" (or "name" when cluster-scoped). */
  get(key: string): T | undefined;
  list(): T[];
  byIndex(name: string, value: string): T[];
  /** The resourceVersion of the latest event seen. */
  lastResourceVersion(): string;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}
