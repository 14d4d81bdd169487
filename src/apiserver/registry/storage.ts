// Generic REST storage for one resource, as kube-apiserver's genericregistry.Store: create,
// get, list (consistent, paged), watch, update and patch with optimistic concurrency, delete
// with preconditions, finalizers, graceful deletion and propagation policies. Resource
// specifics come in through a ResourceStrategy and StorageHooks.
import { randomUUID, randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  invalid,
  notFound,
  resourceExpired,
  timeoutError,
  fieldErrors,
  writableMeta,
  resourceApiVersion,
  type AnyObject,
  type GroupResource,
  type ResourceInfo,
} from '../../api/index.ts';
import { isStoreError, type KeyValue, type Store } from '../../store/index.ts';
import type { DeleteOptions, PropagationPolicy } from '../../client/index.ts';
import { Cacher, type DeliveredEvent, type ObjectFilter } from './cacher.ts';
import { copyObject, decodeKv, encodeForStore, nowTime, objectKey, resourcePrefix } from './codec.ts';
import { buildMatcher, type Matcher } from './filters.ts';
import type { ResourceStrategy, StorageHooks, WriteContext } from './strategy.ts';

export interface ListRequest {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListItem {
  obj: AnyObject;
  /** The object's JSON, when the cache already has it. */
  json?: string;
}

export interface ListResponse {
  items: ListItem[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WatchRequest {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
}

/** Where a watch writes. `end` is called once, with an error Status or without. */
export interface WatchSink {
  event(e: DeliveredEvent): void;
  bookmark(rv: number, initialEventsEnd: boolean): void;
  end(err?: ApiError): void;
}

export interface WriteRequest {
  dryRun?: boolean;
  fieldManager?: string;
  user?: string;
  /** managedFields are already recorded for this write (apply creating an object). */
  managed?: boolean;
}

/** Computes the object a patch produces from the live one (undefined when absent). */
export type Patcher = (live: AnyObject | undefined) => AnyObject | Promise<AnyObject>;

/** Keeps managedFields up to date on every write (server-side apply bookkeeping). */
export type ManagedFieldsUpdater = (before: AnyObject | undefined, after: AnyObject, ctx: WriteContext, subresource: string | undefined) => void;

/** Checks the namespace a new object goes into: exists, not terminating. */
export type NamespaceCheck = (namespace: string, gr: GroupResource, name: string) => Promise<void>;

export interface StorageDeps {
  store: Store;
  resource: ResourceInfo;
  strategy: ResourceStrategy;
  hooks?: StorageHooks;
  namespaceCheck?: NamespaceCheck;
  managedFields?: ManagedFieldsUpdater;
  /** How often watches that allow them get a BOOKMARK (kube: about a minute). */
  bookmarkIntervalMs?: number;
  clock?: () => Date;
}

const maxRetries = 16;
// names.SimpleNameGenerator: 5 characters from an alphabet without vowels and confusables.
const nameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

function generateName(base: string): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += nameAlphabet[randomInt(nameAlphabet.length)];
  // Kubernetes trims the base so the result fits 63 characters.
  const maxBase = 63 - 5;
  return (base.length > maxBase ? base.slice(0, maxBase) : base) + s;
}

function parseRv(rv: string | undefined, what = 'resourceVersion'): number | undefined {
  if (rv === undefined || rv === '') return undefined;
  if (!/^\d+$/.test(rv)) throw badRequest(`invalid ${what}: ${JSON.stringify(rv)}`);
  return Number(rv);
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

function encodeContinue(rv: number, startKeySuffix: string): string {
  const t: ContinueToken = { v: 'meta.k8s.io/v1', rv, start: startKeySuffix };
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string' || t.start.includes('..')) throw new Error('bad token');
    return t as ContinueToken;
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

const continueTooOld =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

function stripForCompare(o: AnyObject): AnyObject {
  const c = { ...o, metadata: { ...o.metadata } };
  delete (c.metadata as { resourceVersion?: string }).resourceVersion;
  // managedFields timestamps alone do not make a change (kube ignores timestamp-only updates).
  if (c.metadata.managedFields) c.metadata.managedFields = c.metadata.managedFields.map((m) => ({ ...m, time: undefined }));
  return c;
}

export class ResourceStorage {
  readonly resource: ResourceInfo;
  readonly gr: GroupResource;
  readonly cacher: Cacher;
  readonly #store: Store;
  readonly #strategy: ResourceStrategy;
  #hooks: StorageHooks;
  readonly #namespaceCheck: NamespaceCheck | undefined;
  readonly #managedFields: ManagedFieldsUpdater | undefined;
  readonly #bookmarkIntervalMs: number;
  readonly #clock: () => Date;

  constructor(deps: StorageDeps) {
    this.resource = deps.resource;
    this.gr = { group: deps.resource.group, resource: deps.resource.resource };
    this.#store = deps.store;
    this.#strategy = deps.strategy;
    this.#hooks = deps.hooks ?? {};
    this.#namespaceCheck = deps.namespaceCheck;
    this.#managedFields = deps.managedFields;
    this.#bookmarkIntervalMs = deps.bookmarkIntervalMs ?? 60_000;
    this.#clock = deps.clock ?? (() => new Date());
    this.cacher = new Cacher(deps.store, deps.resource, resourcePrefix(deps.resource));
  }

  setHooks(hooks: StorageHooks): void {
    this.#hooks = hooks;
  }

  get strategy(): ResourceStrategy {
    return this.#strategy;
  }

  key(namespace: string | undefined, name: string): string {
    return objectKey(this.resource, namespace, name);
  }

  #ctx(req: WriteRequest): WriteContext {
    return { dryRun: req.dryRun ?? false, fieldManager: req.fieldManager ?? '', user: req.user ?? '', now: this.#clock() };
  }

  #gk() {
    return { group: this.resource.group, kind: this.resource.kind };
  }

  // ---------------------------------------------------------------- reads

  async get(namespace: string | undefined, name: string): Promise<AnyObject> {
    const kv = await this.#store.get(this.key(namespace, name));
    if (!kv) throw notFound(this.gr, name);
    return decodeKv(kv);
  }

  /** The object and its store entry, or undefined. */
  async getKv(namespace: string | undefined, name: string): Promise<{ obj: AnyObject; kv: KeyValue } | undefined> {
    const kv = await this.#store.get(this.key(namespace, name));
    return kv ? { obj: decodeKv(kv), kv } : undefined;
  }

  async list(namespace: string | undefined, req: ListRequest): Promise<ListResponse> {
    const matches = buildMatcher(this.resource, req.labelSelector, req.fieldSelector);
    const prefix = resourcePrefix(this.resource, namespace);
    const limit = req.limit && req.limit > 0 ? req.limit : 0;
    await this.cacher.start();
    if (req.continue) {
      const token = decodeContinue(req.continue);
      return this.#listFromStore(prefix, matches, limit, token.rv, prefix + token.start);
    }
    const rv = parseRv(req.resourceVersion);
    if (req.resourceVersionMatch === 'Exact' && rv !== undefined) return this.#listFromStore(prefix, matches, limit, rv, undefined);
    if (rv === 0) {
      // resourceVersion=0: any recent state, straight from the watch cache and whole, as
      // kube-apiserver's cacher serves it (limit is not honoured there).
      const page = this.cacher.list({ prefix, matches });
      return { items: page.items.map((c) => ({ obj: c.obj, json: c.json })), resourceVersion: String(this.cacher.revision) };
    }
    // A consistent read: the cache serves it once it has seen everything the store has.
    const current = rv === undefined ? await this.#store.currentRevision() : rv;
    const fresh = await this.cacher.waitUntilFresh(current, rv === undefined ? 250 : 3000);
    if (!fresh) {
      if (rv !== undefined) throw tooLargeResourceVersion(rv, this.cacher.revision);
      return this.#listFromStore(prefix, matches, limit, undefined, undefined);
    }
    const listRv = this.cacher.revision;
    const page = this.cacher.list({ prefix, matches }, { limit });
    const out: ListResponse = { items: page.items.map((c) => ({ obj: c.obj, json: c.json })), resourceVersion: String(listRv) };
    if (page.more && page.nextKey) {
      out.continue = encodeContinue(listRv, page.nextKey.slice(prefix.length));
      if (!matches) out.remainingItemCount = page.remaining;
    }
    return out;
  }

  async #listFromStore(prefix: string, matches: Matcher | undefined, limit: number, revision: number | undefined, startKey: string | undefined): Promise<ListResponse> {
    const items: ListItem[] = [];
    let start = startKey;
    let rev = revision;
    for (;;) {
      let res;
      try {
        res = await this.#store.list(prefix, { limit: limit ? Math.max(limit, 64) : 0, startKey: start, revision: rev });
      } catch (e) {
        if (isStoreError(e, 'Compacted')) throw resourceExpired(continueTooOld);
        throw e;
      }
      rev = res.revision;
      for (let i = 0; i < res.items.length; i++) {
        const kv = res.items[i];
        const obj = decodeKv(kv);
        if (matches && !matches(obj)) continue;
        if (limit && items.length >= limit) {
          return { items, resourceVersion: String(rev), continue: encodeContinue(rev, kv.key.slice(prefix.length)) };
        }
        items.push({ obj });
      }
      if (!res.more || res.items.length === 0) return { items, resourceVersion: String(rev) };
      start = res.items[res.items.length - 1].key + '\u0000';
    }
  }

  /**
   * Starts a watch. Resolves to a stop function once the watch is established (initial
   * events already sent); rejects with an ApiError (410 Expired, 504 too large RV, 400).
   */
  async watch(namespace: string | undefined, req: WatchRequest, sink: WatchSink): Promise<() => void> {
    const matches = buildMatcher(this.resource, req.labelSelector, req.fieldSelector);
    const filter: ObjectFilter = { prefix: resourcePrefix(this.resource, namespace), matches };
    await this.cacher.start();
    const rv = parseRv(req.resourceVersion);
    const initial = req.sendInitialEvents ?? (rv === undefined || rv === 0);
    let fromRv = rv ?? 0;
    if (initial && req.sendInitialEvents === undefined && rv === undefined) {
      // Unset resourceVersion: start from the most recent state (consistent).
      const cur = await this.#store.currentRevision();
      await this.cacher.waitUntilFresh(cur, 250);
    }
    if (!initial && rv !== undefined && rv > 0) {
      // History the watch needs is compacted away: 410, and the client lists again. A watch
      // whose resource did not change since the compacted revision loses nothing and goes on.
      const compacted = await this.#store.compactRevision();
      if (rv < compacted && this.cacher.changedBetween(rv, compacted)) throw resourceExpired(`too old resource version: ${rv} (${compacted})`);
    }
    if (!initial && rv !== undefined && rv > this.cacher.revision) {
      const ok = await this.cacher.waitUntilFresh(rv, 3000);
      if (!ok) throw tooLargeResourceVersion(rv, this.cacher.revision);
    }
    let ended = false;
    let stopTimer: NodeJS.Timeout | undefined;
    const end = (err?: ApiError) => {
      if (ended) return;
      ended = true;
      if (stopTimer) clearInterval(stopTimer);
      stopCache();
      sink.end(err);
    };
    let lastRv = fromRv;
    const send = (e: DeliveredEvent) => {
      if (ended) return;
      lastRv = e.rv;
      sink.event(e);
    };
    let stopCache: () => void = () => {};
    const cw = this.cacher.watch(filter, fromRv, initial, send, () => end());
    if (cw === 'tooOld') {
      // Older than the cache's window: follow the store itself (it keeps history until compaction).
      try {
        const w = await this.#store.watch(filter.prefix, fromRv, {
          onEvents: (events) => {
            for (const ev of events) {
              if (ev.type === 'PUT') {
                const obj = decodeKv(ev.kv);
                const prev = ev.prev ? decodeKv(ev.prev) : undefined;
                deliverWithFilter(send, matches, ev.kv.createRevision === ev.kv.modRevision ? 'ADDED' : 'MODIFIED', obj, prev, ev.kv.modRevision);
              } else {
                const last = decodeKv({ ...ev.prev, modRevision: ev.modRevision });
                deliverWithFilter(send, matches, 'DELETED', last, undefined, ev.modRevision);
              }
            }
          },
          onError: () => end(),
        });
        stopCache = () => w.stop();
      } catch (e) {
        if (isStoreError(e, 'Compacted')) {
          throw resourceExpired(`too old resource version: ${fromRv} (${e.compactRevision ?? 0})`);
        }
        throw e;
      }
    } else {
      stopCache = () => cw.stop();
      if (initial) {
        fromRv = this.cacher.revision;
        lastRv = Math.max(lastRv, fromRv);
        if (req.sendInitialEvents && req.allowWatchBookmarks) sink.bookmark(this.cacher.revision, true);
      }
    }
    if (req.allowWatchBookmarks) {
      stopTimer = setInterval(() => {
        if (!ended) sink.bookmark(Math.max(lastRv, this.cacher.revision), false);
      }, this.#bookmarkIntervalMs);
      stopTimer.unref();
    }
    return () => end();
  }

  // ---------------------------------------------------------------- writes

  async create(namespace: string | undefined, obj: AnyObject, req: WriteRequest = {}): Promise<AnyObject> {
    const r = this.resource;
    const meta = writableMeta(obj);
    obj.apiVersion = resourceApiVersion(r);
    obj.kind = r.kind;
    if (r.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace ?? meta.namespace;
      if (!meta.namespace) throw badRequest('the server could not find the requested resource');
    } else {
      delete meta.namespace;
    }
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    const generated = !meta.name && !!meta.generateName;
    if (generated) meta.name = generateName(meta.generateName!);
    const ctx = this.#ctx(req);
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTime(ctx.now);
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    this.#strategy.defaults(obj);
    if (!meta.name) {
      throw invalid(this.#gk(), '', [fieldErrors.required('metadata.name', 'name or generateName is required')]);
    }
    const name = meta.name;
    const key = this.key(meta.namespace, name);
    // As kube's handlers: managedFields record the request as decoded and defaulted, before
    // the registry allocates anything.
    if (!req.managed) this.#managedFields?.(undefined, obj, ctx, undefined);
    // Hooks (allocators) change the object; a retry starts again from what was asked.
    const pristine = copyObject(obj);
    for (let attempt = 0; ; attempt++) {
      const cur = attempt === 0 ? obj : copyObject(pristine);
      // As kube's registry: BeginCreate (allocation) first, then PrepareForCreate and validation.
      const hook = await this.#hooks.beforeCreate?.(ctx, cur);
      try {
        this.#strategy.prepareForCreate(cur);
        const errs = this.#strategy.validateCreate(cur);
        if (errs.length) throw invalid(this.#gk(), name, errs);
        if (r.namespaced && this.#namespaceCheck) await this.#namespaceCheck(meta.namespace!, this.gr, name);
        if (ctx.dryRun) {
          if (await this.#store.get(key)) throw alreadyExists(this.gr, name);
          hook?.committed?.(true);
          return cur;
        }
        const res = await this.#store.txn([{ op: 'create', key, value: encodeForStore(cur) }, ...(hook?.ops ?? [])]);
        hook?.committed?.(false);
        writableMeta(cur).resourceVersion = String(res.revision);
        return cur;
      } catch (e) {
        const retry = hook?.aborted?.(e) ?? false;
        if (isStoreError(e, 'KeyExists') && e.key === key) {
          throw generated
            ? new ApiError(409, 'AlreadyExists', `${r.resource} "${name}" already exists, the server was not able to generate a unique name for the object`, {
                name,
                kind: r.resource,
              })
            : alreadyExists(this.gr, name);
        }
        if (retry && attempt < maxRetries) continue;
        throw e;
      }
    }
  }

  /**
   * PUT. Returns the stored object and whether it was created (create-on-update).
   * The object's metadata.resourceVersion, when set, is a precondition.
   */
  async update(namespace: string | undefined, name: string, input: AnyObject, req: WriteRequest = {}, subresource?: string): Promise<{ obj: AnyObject; created: boolean }> {
    const r = this.resource;
    const meta = writableMeta(input);
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    if (r.namespaced && meta.namespace && namespace && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.name = name;
    const preconditionRv = parseRv(meta.resourceVersion, 'resourceVersion');
    return this.#guaranteedUpdate(namespace, name, req, subresource, preconditionRv !== undefined, (live) => {
      if (!live) {
        if (this.#strategy.allowCreateOnUpdate && !subresource) return { create: copyObject(input) };
        throw notFound(this.gr, name);
      }
      if (preconditionRv !== undefined && String(preconditionRv) !== live.metadata?.resourceVersion) throw conflict(this.gr, name);
      if (preconditionRv === undefined && !this.#strategy.allowUnconditionalUpdate) {
        throw invalid(this.#gk(), name, [fieldErrors.invalid('metadata.resourceVersion', 0, 'must be specified for an update')]);
      }
      return { update: copyObject(input) };
    });
  }

  /** PATCH (any patch type): `patcher` turns the live object into the new one. */
  async patch(namespace: string | undefined, name: string, patcher: Patcher, req: WriteRequest = {}, subresource?: string, createIfMissing = false): Promise<{ obj: AnyObject; created: boolean }> {
    return this.#guaranteedUpdate(namespace, name, req, subresource, false, async (live) => {
      if (!live) {
        if (!createIfMissing || subresource) throw notFound(this.gr, name);
        const obj = await patcher(undefined);
        return { create: obj, managed: true };
      }
      const obj = await patcher(copyObject(live));
      const m = writableMeta(obj);
      if (m.name !== undefined && m.name !== name) throw badRequest(`the name of the object (${m.name}) does not match the name on the URL (${name})`);
      // A resourceVersion the patch carries is a precondition.
      if (m.resourceVersion !== undefined && m.resourceVersion !== live.metadata?.resourceVersion) throw conflict(this.gr, name);
      // A resourceVersion the patch sets is checked against the live object on every attempt
      // (above); without one the patch is simply applied again to the newer object, as kube does.
      // The patch engine already recorded managedFields for this write.
      return { update: obj, managed: true };
    });
  }

  /**
   * Read-modify-write with retries on conflict (kube's GuaranteedUpdate). `decide` sees the
   * live object (a copy, or undefined) and returns the new object or one to create.
   */
  async #guaranteedUpdate(
    namespace: string | undefined,
    name: string,
    req: WriteRequest,
    subresource: string | undefined,
    hasPrecondition: boolean,
    decide: (live: AnyObject | undefined) => Decision | Promise<Decision>,
  ): Promise<{ obj: AnyObject; created: boolean }> {
    const key = this.key(namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.#store.get(key);
      const live = kv ? decodeKv(kv) : undefined;
      const d = await decide(live ? copyObject(live) : undefined);
      if (d.create) {
        const cm = writableMeta(d.create);
        cm.name = name;
        delete cm.resourceVersion;
        try {
          return { obj: await this.create(namespace, d.create, { ...req, managed: d.managed ?? false }), created: true };
        } catch (e) {
          if (e instanceof ApiError && e.reason === 'AlreadyExists' && attempt < maxRetries) continue;
          throw e;
        }
      }
      const obj = d.update!;
      const res = await this.#writeUpdate(key, kv!, live!, obj, req, subresource, d.internal ?? false, d.managed ?? false);
      if (res !== 'conflict') return { obj: res, created: false };
      if (hasPrecondition || d.precondition || attempt >= maxRetries) throw conflict(this.gr, name);
    }
  }

  /** Validates and writes an update of `live` to `obj`; 'conflict' when the store moved on. */
  async #writeUpdate(key: string, kv: KeyValue, live: AnyObject, obj: AnyObject, req: WriteRequest, subresource: string | undefined, internal: boolean, managed: boolean): Promise<AnyObject | 'conflict'> {
    const r = this.resource;
    const ctx = this.#ctx(req);
    obj.apiVersion = resourceApiVersion(r);
    obj.kind = r.kind;
    const meta = writableMeta(obj);
    const lm = live.metadata ?? {};
    if (meta.uid && meta.uid !== lm.uid) {
      throw conflict(this.gr, lm.name ?? '', `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${lm.uid ?? ''}`);
    }
    // System fields a client cannot change.
    meta.uid = lm.uid;
    meta.creationTimestamp = lm.creationTimestamp;
    meta.namespace = lm.namespace;
    if (lm.deletionTimestamp) meta.deletionTimestamp = lm.deletionTimestamp;
    else delete meta.deletionTimestamp;
    if (lm.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = lm.deletionGracePeriodSeconds;
    else delete meta.deletionGracePeriodSeconds;
    if (lm.generation !== undefined) meta.generation = lm.generation;
    meta.resourceVersion = lm.resourceVersion;
    this.#strategy.defaults(obj);
    // An object being deleted whose last finalizer went away is deleted now.
    if (meta.deletionTimestamp && !(meta.finalizers?.length) && !this.#waitsForGrace(obj) && !this.#extraPending(obj)) {
      if (!internal) this.#strategy.prepareForUpdate(obj, live, subresource);
      const errs = this.#strategy.validateUpdate(obj, live, subresource);
      if (errs.length) throw invalid(this.#gk(), lm.name ?? '', errs);
      if (ctx.dryRun) return obj;
      const hook = await this.#hooks.beforeDelete?.(ctx, live);
      try {
        const res = await this.#store.txn([{ op: 'delete', key, expectedModRevision: kv.modRevision }, ...(hook?.ops ?? [])]);
        hook?.committed?.(false);
        meta.resourceVersion = String(res.revision);
        return obj;
      } catch (e) {
        hook?.aborted?.(e);
        if (isStoreError(e, 'Conflict') || isStoreError(e, 'NotFound')) return 'conflict';
        throw e;
      }
    }
    if (!managed && !internal) this.#managedFields?.(live, obj, ctx, subresource);
    // As kube's registry: BeginUpdate (allocation) first, then PrepareForUpdate and validation.
    const hook = await this.#hooks.beforeUpdate?.(ctx, obj, live, subresource);
    try {
      // Internal writes (pods/binding) go straight to storage, as kube's binding REST does:
      // no update strategy, no update validation (a Pod update may not change nodeName).
      if (!internal) {
        this.#strategy.prepareForUpdate(obj, live, subresource);
        const errs = this.#strategy.validateUpdate(obj, live, subresource);
        if (errs.length) throw invalid(this.#gk(), lm.name ?? '', errs);
      }
      if (isDeepStrictEqual(stripForCompare(obj), stripForCompare(live))) {
        hook?.aborted?.(undefined);
        return live;
      }
      if (ctx.dryRun) {
        hook?.committed?.(true);
        return obj;
      }
      const res = await this.#store.txn([{ op: 'update', key, value: encodeForStore(obj), expectedModRevision: kv.modRevision }, ...(hook?.ops ?? [])]);
      hook?.committed?.(false);
      meta.resourceVersion = String(res.revision);
      return obj;
    } catch (e) {
      const retry = hook?.aborted?.(e) ?? false;
      if (isStoreError(e, 'Conflict') || isStoreError(e, 'NotFound')) return 'conflict';
      if (retry && isStoreError(e)) return 'conflict';
      throw e;
    }
  }

  /** Pods on a node stay until their kubelet confirms (a delete with grace 0). */
  #waitsForGrace(obj: AnyObject): boolean {
    return this.resource.resource === 'pods' && (obj.metadata?.deletionGracePeriodSeconds ?? 0) > 0;
  }

  /**
   * DELETE. Returns the object and whether it is gone (false: it now carries a
   * deletionTimestamp and waits for finalizers or its grace period).
   */
  async delete(namespace: string | undefined, name: string, opts: DeleteOptions & WriteRequest = {}): Promise<{ obj: AnyObject; deleted: boolean }> {
    const key = this.key(namespace, name);
    const ctx = this.#ctx(opts);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.#store.get(key);
      if (!kv) throw notFound(this.gr, name);
      const live = decodeKv(kv);
      const lm = live.metadata ?? {};
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== lm.uid) {
        throw conflict(this.gr, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${lm.uid ?? ''}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== lm.resourceVersion) {
        throw conflict(this.gr, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${lm.resourceVersion ?? ''}`);
      }
      const next = copyObject(live);
      const nm = writableMeta(next);
      let pending = this.#applyPropagation(nm, opts.propagationPolicy, !!lm.deletionTimestamp);
      const grace = this.#gracePeriod(live, opts.gracePeriodSeconds);
      if (grace > 0) pending = true;
      if (this.#extraPending(live)) pending = true;
      if (!pending) {
        if (ctx.dryRun) return { obj: live, deleted: true };
        const hook = await this.#hooks.beforeDelete?.(ctx, live);
        try {
          const res = await this.#store.txn([{ op: 'delete', key, expectedModRevision: kv.modRevision }, ...(hook?.ops ?? [])]);
          hook?.committed?.(false);
          writableMeta(live).resourceVersion = String(res.revision);
          return { obj: live, deleted: true };
        } catch (e) {
          const retry = hook?.aborted?.(e) ?? false;
          if ((isStoreError(e, 'Conflict') || isStoreError(e, 'NotFound') || retry) && attempt < maxRetries) continue;
          throw e;
        }
      }
      // Graceful: mark it; finalizers, the kubelet or the namespace controller finish the job.
      const now = this.#clock();
      if (!nm.deletionTimestamp || (grace > 0 && (lm.deletionGracePeriodSeconds ?? Infinity) > grace)) {
        // A deletion under way may only be shortened, counted from when it began (kube's
        // rest.BeforeDelete: old deletionTimestamp - old grace period + new grace period).
        const began = lm.deletionTimestamp && lm.deletionGracePeriodSeconds !== undefined ? Date.parse(lm.deletionTimestamp) - lm.deletionGracePeriodSeconds * 1000 : now.getTime();
        nm.deletionTimestamp = nowTime(new Date(began + grace * 1000));
        nm.deletionGracePeriodSeconds = grace;
      }
      this.#markTerminating(next);
      if (isDeepStrictEqual(next, live)) return { obj: live, deleted: false };
      if (ctx.dryRun) return { obj: next, deleted: false };
      try {
        const res = await this.#store.txn([{ op: 'update', key, value: encodeForStore(next), expectedModRevision: kv.modRevision }]);
        nm.resourceVersion = String(res.revision);
        return { obj: next, deleted: false };
      } catch (e) {
        if ((isStoreError(e, 'Conflict') || isStoreError(e, 'NotFound')) && attempt < maxRetries) continue;
        throw e;
      }
    }
  }

  /** Sets the orphan/foregroundDeletion finalizers a propagation policy asks for; true when any finalizer remains. */
  #applyPropagation(meta: { finalizers?: string[] }, policy: PropagationPolicy | undefined, alreadyDeleting: boolean): boolean {
    const fin = new Set(meta.finalizers ?? []);
    if (policy === 'Orphan') {
      fin.add('orphan');
      fin.delete('foregroundDeletion');
    } else if (policy === 'Foreground') {
      fin.add('foregroundDeletion');
      fin.delete('orphan');
    } else if (policy === 'Background' && !alreadyDeleting) {
      fin.delete('orphan');
      fin.delete('foregroundDeletion');
    }
    // Orphan and foreground only matter when something may depend on the object; the GC
    // controller clears them. Keep them as Kubernetes does.
    if (fin.size) meta.finalizers = [...fin];
    else delete meta.finalizers;
    return fin.size > 0;
  }

  #gracePeriod(obj: AnyObject, requested: number | undefined): number {
    if (this.resource.resource !== 'pods') return 0;
    const spec = obj.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
    const phase = (obj.status as { phase?: string } | undefined)?.phase;
    // Unscheduled or finished pods have nothing to stop: they go at once.
    if (!spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
    const g = requested ?? obj.metadata?.deletionGracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
    // A negative grace period counts as 1 s on the delete path (rest.BeforeDelete).
    return g < 0 ? 1 : g;
  }

  /** Namespaces wait for spec.finalizers (the namespace controller empties them). */
  #extraPending(obj: AnyObject): boolean {
    if (this.resource.resource !== 'namespaces') return false;
    return ((obj.spec as { finalizers?: string[] } | undefined)?.finalizers?.length ?? 0) > 0;
  }

  #markTerminating(obj: AnyObject): void {
    if (this.resource.resource === 'namespaces') {
      const st = ((obj as { status?: { phase?: string } }).status ??= {});
      st.phase = 'Terminating';
    }
  }

  /**
   * DELETE on a collection: deletes each object the selectors list and answers, as kube's
   * DeleteCollection does, with that list (its resourceVersion, the items as listed).
   */
  async deleteCollection(namespace: string | undefined, list: ListRequest, opts: DeleteOptions & WriteRequest): Promise<{ items: AnyObject[]; resourceVersion: string }> {
    const res = await this.list(namespace, { labelSelector: list.labelSelector, fieldSelector: list.fieldSelector });
    for (const item of res.items) {
      const m = item.obj.metadata ?? {};
      try {
        await this.delete(m.namespace, m.name ?? '', opts);
      } catch (e) {
        if (e instanceof ApiError && e.reason === 'NotFound') continue;
        throw e;
      }
    }
    return { items: res.items.map((i) => i.obj), resourceVersion: res.resourceVersion };
  }

  /** For code inside the API server (bootstrap, subresources): update through fn with retries. */
  /** `internal` skips the strategy's prepareForUpdate: the caller decides what changes (e.g. pods/binding sets spec and status). */
  async updateWith(
    namespace: string | undefined,
    name: string,
    fn: (live: AnyObject) => AnyObject | Promise<AnyObject>,
    req: WriteRequest = {},
    subresource?: string,
    internal = false,
  ): Promise<AnyObject> {
    const res = await this.#guaranteedUpdate(namespace, name, req, subresource, false, async (live) => {
      if (!live) throw notFound(this.gr, name);
      return { update: await fn(live), internal };
    });
    return res.obj;
  }
}

interface Decision {
  update?: AnyObject;
  create?: AnyObject;
  /** The new object carries a resourceVersion precondition (no retry on conflict). */
  precondition?: boolean;
  /** Skip prepareForUpdate (writes from inside the API server). */
  internal?: boolean;
  /** managedFields are already recorded (patches and apply). */
  managed?: boolean;
}

function tooLargeResourceVersion(rv: number, current: number): ApiError {
  const e = timeoutError(`Too large resource version: ${rv}, current: ${current}`);
  e.status.details = { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 };
  return e;
}

function deliverWithFilter(send: (e: DeliveredEvent) => void, m: Matcher | undefined, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: AnyObject, prev: AnyObject | undefined, rv: number): void {
  if (!m) return send({ type, obj, json: undefined, rv });
  if (type === 'DELETED') {
    if (m(obj)) send({ type, obj, json: undefined, rv });
    return;
  }
  const cur = m(obj);
  const was = prev !== undefined && m(prev);
  if (cur && (was || type === 'ADDED')) send({ type: was ? 'MODIFIED' : 'ADDED', obj, json: undefined, rv });
  else if (cur) send({ type: 'ADDED', obj, json: undefined, rv });
  else if (was) {
    writableMeta(prev).resourceVersion = String(rv);
    send({ type: 'DELETED', obj: prev, json: undefined, rv });
  }
}

