// client-go's shared informer over any Client: a reflector lists (in pages) and watches from the
// list's resourceVersion, a cache with indexes mirrors what it saw, and handlers hear of every
// change in order. A watch that ends cleanly is resumed from the last resourceVersion; one that
// fails (410 Expired/Gone, a broken stream) is replaced by a relist whose differences reach the
// handlers as adds, updates and deletes, with backoff while failures repeat.
import { isExpired, namespacedName, type KubeObject, type ResourceInfo } from '../api/index.ts';
import { logger, type Logger } from '../util/index.ts';
import type { Client, IndexFunc, Informer, InformerOptions, ResourceEventHandler, WatchEvent, WatchHandle } from './types.ts';

export interface SharedInformerOptions extends InformerOptions {
  /** Items per list page (limit/continue); 0: one unpaged list. Default 500. */
  pageSize?: number;
  /** Watch timeoutSeconds: a random value in [min, 2·min) as client-go picks. Default min 300 s. */
  minWatchTimeoutSeconds?: number;
  /** First delay after repeated failures, doubling up to maxBackoffMs. Default 800 ms. */
  initialBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** A watch that lived this long before failing resets the backoff. Default 60 s. */
  backoffResetMs?: number;
  log?: Logger;
}

/** Why one list-and-watch round ended. */
type RoundEnd = { kind: 'stopped' } | { kind: 'closed' } | { kind: 'failed'; err: unknown; relist: true };

export class SharedInformer<T extends KubeObject> implements Informer<T> {
  readonly resource: ResourceInfo;
  readonly #client: Client;
  readonly #opts: SharedInformerOptions;
  readonly #log: Logger;
  readonly #items = new Map<string, T>();
  readonly #handlers: ResourceEventHandler<T>[] = [];
  readonly #indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys */
  readonly #indices = new Map<string, Map<string, Set<string>>>();
  #rv = '';
  #started = false;
  #stopped = false;
  #synced = false;
  #syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #watch: WatchHandle | undefined;
  #wakeSleep: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(client: Client, resource: ResourceInfo, opts: SharedInformerOptions = {}) {
    this.#client = client;
    this.resource = resource;
    this.#opts = opts;
    const bindings: Record<string, string> = { resource: resource.group ? `${resource.resource}.${resource.group}` : resource.resource };
    if (opts.namespace) bindings.namespace = opts.namespace;
    if (opts.labelSelector) bindings.labelSelector = opts.labelSelector;
    if (opts.fieldSelector) bindings.fieldSelector = opts.fieldSelector;
    this.#log = (opts.log ?? logger('informer')).child(bindings);
  }

  addEventHandler(handler: ResourceEventHandler<T>): void {
    this.#handlers.push(handler);
    // A late handler first hears of what is already known, as client-go's does.
    if (this.#synced) for (const o of this.#items.values()) this.#call(handler, 'onAdd', o);
  }

  /** Adds an index. Best before start(); added later, it is built from the cache at once. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.#indexers.has(name)) throw new Error(`Cannot add index ${JSON.stringify(name)}: it already exists`);
    this.#indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.#indices.set(name, index);
    for (const [k, o] of this.#items) this.#indexOne(name, fn, index, k, o);
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#loop = this.#run().catch((e: unknown) => this.#log.error({ err: e }, 'informer loop failed'));
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watch?.stop();
    this.#wakeSleep?.();
    const err = new Error(`informer for ${this.resource.resource} stopped before it synced`);
    for (const w of this.#syncWaiters.splice(0)) w.reject(err);
  }

  /** Resolves once the loop has ended after stop() (for tests and orderly shutdown). */
  async stopped(): Promise<void> {
    this.stop();
    await this.#loop;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list has reached the handlers; rejects if stopped before. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (this.#stopped) return Promise.reject(new Error(`informer for ${this.resource.resource} stopped before it synced`));
    return new Promise((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  byIndex(name: string, value: string): T[] {
    const index = this.#indices.get(name);
    if (!index) throw new Error(`no index named ${JSON.stringify(name)}`);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.#items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** The keys ("ns/name") under an index value. */
  indexKeys(name: string, value: string): string[] {
    const index = this.#indices.get(name);
    if (!index) throw new Error(`no index named ${JSON.stringify(name)}`);
    return [...(index.get(value) ?? [])];
  }

  lastResourceVersion(): string {
    return this.#rv;
  }

  // ---- the reflector ----

  async #run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!this.#stopped) {
      if (needList) {
        try {
          await this.#listAndReplace();
        } catch (e) {
          if (this.#stopped) return;
          failures++;
          const delay = this.#backoff(failures);
          this.#log.warn({ err: e, failures, retryInMs: delay }, `failed to list ${this.resource.resource}`);
          await this.#sleep(delay);
          continue;
        }
        needList = false;
      }
      if (this.#stopped) return;
      const startedAt = Date.now();
      const end = await this.#watchOnce();
      if (end.kind === 'stopped') return;
      if (end.kind === 'closed') {
        failures = 0;
        continue; // resume from the last resourceVersion
      }
      needList = true;
      if (Date.now() - startedAt >= (this.#opts.backoffResetMs ?? 60_000)) failures = 0;
      failures++;
      const delay = this.#backoff(failures);
      if (isExpired(end.err)) {
        this.#log.info({ reason: errorText(end.err), retryInMs: delay }, `watch of ${this.resource.resource} expired; relisting`);
      } else {
        this.#log.warn({ err: end.err, failures, retryInMs: delay }, `watch of ${this.resource.resource} failed; relisting`);
      }
      await this.#sleep(delay);
    }
  }

  /** No wait for the first failure (a relist after 410 should be prompt), then exponential. */
  #backoff(failures: number): number {
    if (failures <= 1) return 0;
    const initial = this.#opts.initialBackoffMs ?? 800;
    const max = this.#opts.maxBackoffMs ?? 30_000;
    const base = Math.min(initial * 2 ** (failures - 2), max);
    return Math.round(base * (0.5 + Math.random() / 2)); // jitter, so many informers do not relist in step
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wakeSleep = () => {
        this.#wakeSleep = undefined;
        done();
      };
    });
  }

  /** Lists everything (page by page), then makes the cache equal to it, telling the handlers. */
  async #listAndReplace(): Promise<void> {
    const o = this.#opts;
    const pageSize = o.pageSize ?? 500;
    const items: T[] = [];
    let rv = '';
    let cont: string | undefined;
    let paged = pageSize > 0;
    for (;;) {
      const opts: Parameters<Client['list']>[2] = {};
      if (o.labelSelector) opts.labelSelector = o.labelSelector;
      if (o.fieldSelector) opts.fieldSelector = o.fieldSelector;
      if (paged) opts.limit = pageSize;
      if (cont) opts.continue = cont;
      // The first list takes any recent state, served whole from the server's watch cache
      // (client-go's reflector lists with resourceVersion=0); relists ask for the latest.
      else if (this.#rv === '') opts.resourceVersion = '0';
      let page;
      try {
        page = await this.#client.list<T>(this.resource, o.namespace, opts);
      } catch (e) {
        // An expired continue token: the list is redone whole, unpaged (client-go's pager does so).
        if (cont && isExpired(e) && !this.#stopped) {
          this.#log.info({ reason: errorText(e) }, `list of ${this.resource.resource} expired between pages; listing unpaged`);
          items.length = 0;
          cont = undefined;
          paged = false;
          continue;
        }
        throw e;
      }
      if (this.#stopped) return;
      items.push(...page.items);
      rv = page.metadata.resourceVersion ?? rv;
      cont = page.metadata.continue || undefined;
      if (!cont) break;
    }
    this.#replace(items, rv);
  }

  #replace(items: readonly T[], rv: string): void {
    const seen = new Set<string>();
    for (const o of items) {
      const k = namespacedName(o);
      seen.add(k);
      const old = this.#items.get(k);
      this.#store(k, o, old);
      if (!old) this.#notify('onAdd', o);
      else if (changed(old, o)) this.#notify('onUpdate', old, o);
    }
    for (const [k, old] of [...this.#items]) {
      if (seen.has(k)) continue;
      this.#unstore(k, old);
      this.#notify('onDelete', old);
    }
    this.#rv = rv;
    if (!this.#synced) {
      this.#synced = true;
      this.#log.debug({ items: items.length, resourceVersion: rv }, 'synced');
      for (const w of this.#syncWaiters.splice(0)) w.resolve();
    }
  }

  #watchOnce(): Promise<RoundEnd> {
    const o = this.#opts;
    const min = o.minWatchTimeoutSeconds ?? 300;
    let failed: unknown;
    let handle: WatchHandle | undefined;
    try {
      handle = this.#client.watch<T>(
        this.resource,
        o.namespace,
        {
          resourceVersion: this.#rv,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.floor(min * (1 + Math.random())),
          ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
          ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}),
        },
        (e) => {
          if (this.#stopped || failed !== undefined) return;
          const err = this.#apply(e);
          if (err !== undefined) {
            failed = err;
            handle?.stop(); // an in-process client may call back before watch() returns
          }
        },
      );
    } catch (e) {
      return Promise.resolve({ kind: 'failed', err: e, relist: true });
    }
    if (failed !== undefined || this.#stopped) handle.stop();
    this.#watch = handle;
    return handle.done.then(
      (): RoundEnd => {
        this.#watch = undefined;
        if (this.#stopped) return { kind: 'stopped' };
        if (failed !== undefined) return { kind: 'failed', err: failed, relist: true };
        return { kind: 'closed' };
      },
      (err: unknown): RoundEnd => {
        this.#watch = undefined;
        if (this.#stopped) return { kind: 'stopped' };
        return { kind: 'failed', err, relist: true };
      },
    );
  }

  /** Applies one watch event; answers an error that must end the watch. */
  #apply(e: WatchEvent<T>): unknown {
    const rv = e.object.metadata?.resourceVersion;
    switch (e.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const k = namespacedName(e.object);
        const old = this.#items.get(k);
        this.#store(k, e.object, old);
        if (!old) this.#notify('onAdd', e.object);
        else if (changed(old, e.object)) this.#notify('onUpdate', old, e.object); // not a replayed duplicate
        break;
      }
      case 'DELETED': {
        const k = namespacedName(e.object);
        const old = this.#items.get(k);
        if (old) {
          this.#unstore(k, old);
          this.#notify('onDelete', e.object);
        }
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR':
        // Clients report ERROR events through done; should one pass it on, treat it alike.
        return new Error(`watch error event: ${JSON.stringify(e.object)}`);
      default:
        return new Error(`unknown watch event type ${JSON.stringify(e.type)}`);
    }
    if (rv) this.#rv = rv;
    return undefined;
  }

  // ---- cache and indexes ----

  #store(k: string, o: T, old: T | undefined): void {
    if (old) this.#unindex(k, old);
    this.#items.set(k, o);
    for (const [name, fn] of this.#indexers) this.#indexOne(name, fn, this.#indices.get(name)!, k, o);
  }

  #unstore(k: string, old: T): void {
    this.#unindex(k, old);
    this.#items.delete(k);
  }

  #indexOne(name: string, fn: IndexFunc<T>, index: Map<string, Set<string>>, k: string, o: T): void {
    let values: string[];
    try {
      values = fn(o);
    } catch (e) {
      this.#log.error({ err: e, index: name, key: k }, 'index function threw; object left out of the index');
      return;
    }
    for (const v of values) {
      let keys = index.get(v);
      if (!keys) index.set(v, (keys = new Set()));
      keys.add(k);
    }
  }

  #unindex(k: string, old: T): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indices.get(name)!;
      let values: string[];
      try {
        values = fn(old);
      } catch {
        values = [...index.keys()]; // the function threw before: look everywhere
      }
      for (const v of values) {
        const keys = index.get(v);
        if (!keys) continue;
        keys.delete(k);
        if (keys.size === 0) index.delete(v);
      }
    }
  }

  // ---- handlers ----

  #notify(kind: 'onAdd' | 'onDelete', o: T): void;
  #notify(kind: 'onUpdate', old: T, o: T): void;
  #notify(kind: keyof ResourceEventHandler<T>, a: T, b?: T): void {
    for (const h of this.#handlers) this.#call(h, kind, a, b);
  }

  /** Calls one handler; its exceptions are logged, never allowed to break the informer. */
  #call(h: ResourceEventHandler<T>, kind: keyof ResourceEventHandler<T>, a: T, b?: T): void {
    try {
      if (kind === 'onUpdate') h.onUpdate?.(a, b!);
      else h[kind]?.(a);
    } catch (e) {
      this.#log.error({ err: e, handler: kind, key: namespacedName(b ?? a) }, 'event handler threw; continuing');
    }
  }
}

/** Different resourceVersions (or, without them, different content). */
function changed(a: KubeObject, b: KubeObject): boolean {
  const ra = a.metadata?.resourceVersion;
  const rb = b.metadata?.resourceVersion;
  if (ra && rb) return ra !== rb;
  return JSON.stringify(a) !== JSON.stringify(b);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---- the factory ----

export interface InformerFactoryOptions {
  /** Options every informer of the factory gets (namespace and selectors come per informer). */
  defaults?: Omit<SharedInformerOptions, keyof InformerOptions>;
}

/**
 * One informer per (resource, namespace, selectors), shared by every component that asks, so a
 * process lists and watches each once. start() starts those made so far; one made after
 * start() starts by itself on the next microtask (after the caller added handlers and indexes).
 */
export class InformerFactory {
  readonly #client: Client;
  readonly #defaults: Omit<SharedInformerOptions, keyof InformerOptions>;
  readonly #informers = new Map<string, SharedInformer<KubeObject>>();
  #started = false;
  #stopped = false;

  constructor(client: Client, opts: InformerFactoryOptions = {}) {
    this.#client = client;
    this.#defaults = opts.defaults ?? {};
  }

  /** The shared informer for the resource (and namespace, selectors), made on first request. */
  informerFor<T extends KubeObject>(resource: ResourceInfo, opts: InformerOptions = {}): SharedInformer<T> {
    const k = [resource.group, resource.version, resource.resource, opts.namespace ?? '', opts.labelSelector ?? '', opts.fieldSelector ?? ''].join('|');
    let inf = this.#informers.get(k);
    if (!inf) {
      const io: SharedInformerOptions = { ...this.#defaults };
      if (opts.namespace) io.namespace = opts.namespace;
      if (opts.labelSelector) io.labelSelector = opts.labelSelector;
      if (opts.fieldSelector) io.fieldSelector = opts.fieldSelector;
      inf = new SharedInformer<KubeObject>(this.#client, resource, io);
      this.#informers.set(k, inf);
      if (this.#started && !this.#stopped) {
        const started = inf;
        queueMicrotask(() => {
          if (!this.#stopped) started.start();
        });
      }
    }
    // One cache serves every T a caller names for the resource; T is the caller's promise.
    return inf as unknown as SharedInformer<T>;
  }

  start(): void {
    if (this.#stopped) return;
    this.#started = true;
    for (const inf of this.#informers.values()) inf.start();
  }

  /** Resolves once every informer made so far has synced. */
  async waitForSync(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync()));
  }

  stop(): void {
    this.#stopped = true;
    for (const inf of this.#informers.values()) inf.stop();
  }

  /** Stops every informer and waits for their loops to end. */
  async stopped(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#informers.values()].map((i) => i.stopped()));
  }
}
