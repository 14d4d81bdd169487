// Every served resource's storage, by group/version/resource, plus the namespace lifecycle
// check that guards creates (kube's NamespaceLifecycle admission).
import { namespaceTerminating, notFound, Namespaces, allResources, type ResourceInfo } from '../../api/index.ts';
import type { Store } from '../../store/index.ts';
import { ResourceStorage, type ManagedFieldsUpdater } from './storage.ts';
import { decodeKv } from './codec.ts';
import type { StorageHooks, StrategyFactory } from './strategy.ts';

export interface RegistryOptions {
  store: Store;
  strategyFor: StrategyFactory;
  hooksFor?: (r: ResourceInfo, registry: Registry) => StorageHooks | undefined;
  managedFields?: ManagedFieldsUpdater;
  bookmarkIntervalMs?: number;
  resources?: readonly ResourceInfo[];
}

export class Registry {
  readonly store: Store;
  #byPath = new Map<string, ResourceStorage>();
  #byResource = new Map<ResourceInfo, ResourceStorage>();
  /** Whether a namespace is terminating, as of a revision of its key (for #checkNamespace). */
  #namespaces = new Map<string, { modRevision: number; terminating: boolean }>();

  constructor(opts: RegistryOptions) {
    this.store = opts.store;
    for (const r of opts.resources ?? allResources) {
      const s = new ResourceStorage({
        store: opts.store,
        resource: r,
        strategy: opts.strategyFor(r),
        namespaceCheck: (ns, gr, name) => this.#checkNamespace(ns, gr, name),
        managedFields: opts.managedFields,
        bookmarkIntervalMs: opts.bookmarkIntervalMs,
      });
      this.#byPath.set(`${r.group}/${r.version}/${r.resource}`, s);
      this.#byResource.set(r, s);
    }
    // Hooks may need other storages (e.g. Services write Events), so they come last.
    for (const [r, s] of this.#byResource) {
      const hooks = opts.hooksFor?.(r, this);
      if (hooks) s.setHooks(hooks);
    }
  }

  find(group: string, version: string, resource: string): ResourceStorage | undefined {
    return this.#byPath.get(`${group}/${version}/${resource}`);
  }

  storage(r: ResourceInfo): ResourceStorage {
    const s = this.#byResource.get(r);
    if (!s) throw new Error(`resource ${r.resource} is not served`);
    return s;
  }

  get storages(): ResourceStorage[] {
    return [...this.#byResource.values()];
  }

  /** Fills every watch cache (so the first request does not pay for it). */
  async start(): Promise<void> {
    await Promise.all(this.storages.map((s) => s.cacher.start()));
  }

  stop(): void {
    for (const s of this.storages) s.cacher.stop();
  }

  async #checkNamespace(namespace: string, gr: { group: string; resource: string }, name: string): Promise<void> {
    // Read from the store (a namespace deleted a moment ago must stop creates at once), but
    // decode a namespace only when it changed: every create in it asks.
    const storage = this.storage(Namespaces);
    const kv = await this.store.get(storage.key(undefined, namespace));
    if (!kv) throw notFound({ group: '', resource: 'namespaces' }, namespace);
    let seen = this.#namespaces.get(namespace);
    if (seen?.modRevision !== kv.modRevision) {
      seen = { modRevision: kv.modRevision, terminating: !!decodeKv(kv).metadata?.deletionTimestamp };
      if (this.#namespaces.size >= 4096) this.#namespaces.clear();
      this.#namespaces.set(namespace, seen);
    }
    if (seen.terminating) {
      throw namespaceTerminating(gr, name, namespace);
    }
  }
}
