// A TEST FAKE: an in-memory Client for unit tests of informers and components, not an API
// server. It keeps objects per resource with one resourceVersion counter, an event history for
// watches from a resourceVersion, watch fan-out, label and field selectors, and paged lists;
// tests force what real servers do now and then: 410 Expired (compact(), expireWatches()),
// broken streams (breakWatches()), clean ends (closeWatches()), failed calls (failNext()).
// It does no validation or defaulting; strategic merge patches are applied as merge patches.
import { randomUUID } from 'node:crypto';
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  deepCopy,
  isPlainObject,
  methodNotSupported,
  namespacedName,
  notFound,
  resourceApiVersion,
  resourceExpired,
  type AnyObject,
  type KubeObject,
  type ResourceInfo,
} from '../api/index.ts';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type {
  Client,
  DeleteOptions,
  ListOptions,
  ObjectList,
  ObjectSubresource,
  PatchOptions,
  PatchType,
  WatchEvent,
  WatchEventType,
  WatchHandle,
  WatchOptions,
  WriteOptions,
} from './types.ts';

/** ObjectMeta with the fields the server sets writable. */
type Meta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

export type FakeVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'createSubresource';

/** One call the fake received, for assertions. */
export interface FakeCall {
  verb: FakeVerb;
  resource: string;
  namespace: string | undefined;
  name?: string;
  subresource?: string;
  opts?: unknown;
}

interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: AnyObject;
  /** The object before a MODIFIED, to tell selector transitions apart. */
  old?: AnyObject;
}

interface FakeWatch {
  resource: string;
  namespace: string | undefined;
  opts: WatchOptions;
  deliver(e: WatchEvent<AnyObject>): void;
  end(err?: Error): void;
}

// ---- selectors (labels.Parse and fields.ParseSelector, as far as tests need them) ----

type LabelRequirement = { key: string; op: 'exists' | '!exists' | 'in' | 'notin'; values: string[] };

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

export function parseLabelSelector(sel: string): LabelRequirement[] {
  return splitTopLevel(sel).map((term): LabelRequirement => {
    let m = /^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$/.exec(term);
    if (m) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) };
    m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
    m = /^!\s*(\S+)$/.exec(term);
    if (m) return { key: m[1], op: '!exists', values: [] };
    if (/^\S+$/.test(term)) return { key: term, op: 'exists', values: [] };
    throw badRequest(`unable to parse requirement: ${JSON.stringify(term)}`);
  });
}

function matchesLabels(obj: KubeObject, reqs: readonly LabelRequirement[]): boolean {
  const labels = obj.metadata?.labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(labels[r.key]);
      case 'notin':
        return !has || !r.values.includes(labels[r.key]);
    }
  });
}

function fieldValue(obj: AnyObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur)) return '';
    cur = cur[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : JSON.stringify(cur);
}

function matchesFields(obj: AnyObject, sel: string): boolean {
  return splitTopLevel(sel).every((term) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: ${JSON.stringify(sel)}; can't understand ${JSON.stringify(term)}`);
    const v = fieldValue(obj, m[1].trim());
    return m[2] === '!=' ? v !== m[3] : v === m[3];
  });
}

function matcher(namespace: string | undefined, opts: { labelSelector?: string; fieldSelector?: string }): (o: AnyObject) => boolean {
  const labels = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : [];
  const fields = opts.fieldSelector;
  return (o) =>
    (!namespace || o.metadata?.namespace === namespace) && matchesLabels(o, labels) && (!fields || matchesFields(o, fields));
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return deepCopy(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function randomSuffix(): string {
  const chars = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

interface ContinueToken {
  rv: number;
  offset: number;
}

export class FakeClient implements Client {
  /** Every call received, in order. */
  readonly calls: FakeCall[] = [];
  #rv = 0;
  /** resourceVersions at or below this are compacted: watches and continue tokens from them get 410. */
  #compacted = 0;
  readonly #objects = new Map<string, Map<string, AnyObject>>();
  readonly #history = new Map<string, HistoryEntry[]>();
  readonly #watches = new Set<FakeWatch>();
  /** Paged lists' snapshots by resourceVersion. */
  readonly #snapshots = new Map<string, AnyObject[]>();
  readonly #failures: { verb: FakeVerb; resource: string | undefined; error: Error }[] = [];

  // ---- test controls ----

  /** The current resourceVersion (of the latest write). */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Stored objects of a resource (copies), sorted by namespace/name. */
  objects<T extends KubeObject = AnyObject>(r: ResourceInfo): T[] {
    return [...this.#store(r).values()].sort(byKey).map((o) => deepCopy(o) as unknown as T);
  }

  /** Forgets the event history: watches and continue tokens from an older resourceVersion get 410 Expired. */
  compact(): void {
    this.#compacted = this.#rv;
    this.#history.clear();
    this.#snapshots.clear();
  }

  /** Open watches end with an ERROR event carrying 410 Expired (their done rejects). */
  expireWatches(r?: ResourceInfo): void {
    this.#endWatches(r, () => resourceExpired(`too old resource version: ${this.#compacted} (${this.#rv})`));
  }

  /** Open watches break as a dropped connection would (done rejects with a plain Error). */
  breakWatches(r?: ResourceInfo): void {
    this.#endWatches(r, () => new Error('watch stream broken (FakeClient.breakWatches)'));
  }

  /** Open watches end cleanly, as after timeoutSeconds. */
  closeWatches(r?: ResourceInfo): void {
    this.#endWatches(r, () => undefined);
  }

  /** Sends a BOOKMARK with the current resourceVersion to watches that allow bookmarks. */
  bookmark(r?: ResourceInfo): void {
    for (const w of this.#watches) {
      if (r && w.resource !== resourceKey(r)) continue;
      if (!w.opts.allowWatchBookmarks) continue;
      w.deliver({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.#rv) } } });
    }
  }

  /** Open watches, of one resource or all. */
  watchCount(r?: ResourceInfo): number {
    return [...this.#watches].filter((w) => !r || w.resource === resourceKey(r)).length;
  }

  /** The next call of this verb (on this resource, if given) rejects with the error. */
  failNext(verb: FakeVerb, error: Error, r?: ResourceInfo): void {
    this.#failures.push({ verb, resource: r ? resourceKey(r) : undefined, error });
  }

  // ---- Client ----

  async get<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string): Promise<T> {
    this.#call({ verb: 'get', resource: r.resource, namespace, name }, r);
    const o = this.#store(r).get(key(r, namespace, name));
    if (!o) throw notFound(r, name);
    return deepCopy(o) as unknown as T;
  }

  async list<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<ObjectList<T>> {
    this.#call({ verb: 'list', resource: r.resource, namespace, opts: { ...opts } }, r);
    let items: AnyObject[];
    let rv: number;
    let offset = 0;
    if (opts.continue) {
      const tok = decodeContinue(opts.continue);
      const snap = this.#snapshots.get(opts.continue.split('.')[0]);
      if (tok.rv <= this.#compacted || !snap) {
        throw resourceExpired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      items = snap;
      rv = tok.rv;
      offset = tok.offset;
    } else {
      const match = matcher(namespace, opts);
      items = [...this.#store(r).values()].filter(match).sort(byKey);
      rv = this.#rv;
    }
    const list: ObjectList<T> = {
      apiVersion: resourceApiVersion(r),
      kind: r.listKind,
      metadata: { resourceVersion: String(rv) },
      items: [],
    };
    const end = opts.limit && opts.limit > 0 ? Math.min(items.length, offset + opts.limit) : items.length;
    list.items = items.slice(offset, end).map((o) => deepCopy(o) as unknown as T);
    if (end < items.length) {
      const id = opts.continue ? opts.continue.split('.')[0] : `${rv}-${randomSuffix()}`;
      this.#snapshots.set(id, items);
      list.metadata.continue = `${id}.${Buffer.from(JSON.stringify({ rv, offset: end } satisfies ContinueToken)).toString('base64url')}`;
      list.metadata.remainingItemCount = items.length - end;
    }
    return list;
  }

  watch<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle {
    const call: FakeCall = { verb: 'watch', resource: r.resource, namespace, opts: { ...opts } };
    const rk = resourceKey(r);
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    let ended = false;
    // Events travel asynchronously, in order, as over a connection.
    const pending: { e?: WatchEvent<AnyObject>; end?: { err?: Error } }[] = [];
    let scheduled = false;
    const flush = (): void => {
      scheduled = false;
      while (pending.length && !ended) {
        const p = pending.shift()!;
        if (p.end) {
          ended = true;
          this.#watches.delete(w);
          if (p.end.err) reject(p.end.err);
          else resolve();
          return;
        }
        try {
          onEvent(p.e as unknown as WatchEvent<T>);
        } catch (e) {
          ended = true;
          this.#watches.delete(w);
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
      }
    };
    const enqueue = (p: (typeof pending)[number]): void => {
      if (ended) return;
      pending.push(p);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    };
    const w: FakeWatch = {
      resource: rk,
      namespace,
      opts,
      deliver: (e) => enqueue({ e: deepCopy(e) }),
      end: (err) => enqueue({ end: err ? { err } : {} }),
    };
    const handle: WatchHandle = {
      stop: () => {
        if (ended) return;
        ended = true;
        pending.length = 0;
        this.#watches.delete(w);
        resolve();
      },
      done,
    };

    try {
      this.#call(call, r);
    } catch (e) {
      w.end(e as Error);
      return handle;
    }
    const match = matcher(namespace, opts);
    const from = opts.resourceVersion;
    if (from === undefined || from === '' || from === '0') {
      for (const o of [...this.#store(r).values()].filter(match).sort(byKey)) w.deliver({ type: 'ADDED', object: o });
    } else {
      const n = Number(from);
      if (!Number.isInteger(n) || n < 0) {
        w.end(badRequest(`invalid resource version: ${from}`));
        return handle;
      }
      if (n < this.#compacted) {
        w.end(resourceExpired(`too old resource version: ${n} (${this.#compacted})`));
        return handle;
      }
      for (const h of this.#history.get(rk) ?? []) if (h.rv > n) this.#send(w, match, h);
    }
    this.#watches.add(w);
    if (opts.timeoutSeconds && opts.timeoutSeconds > 0) {
      const t = setTimeout(() => w.end(), opts.timeoutSeconds * 1000);
      void done.finally(() => clearTimeout(t)).catch(() => {});
    }
    return handle;
  }

  async create<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, obj: T, opts: WriteOptions = {}): Promise<T> {
    const o = deepCopy(obj) as unknown as AnyObject;
    const meta: Meta = (o.metadata ??= {});
    const ns = r.namespaced ? (namespace ?? meta.namespace) : undefined;
    this.#call({ verb: 'create', resource: r.resource, namespace: ns, name: meta.name, opts }, r);
    if (r.namespaced && !ns) throw badRequest('the server could not find the requested resource: a namespace is required');
    if (namespace && meta.namespace && namespace !== meta.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    if (!meta.name) throw new ApiError(422, 'Invalid', `${r.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (ns) meta.namespace = ns;
    const k = key(r, ns, meta.name);
    if (this.#store(r).has(k)) throw alreadyExists(r, meta.name);
    o.apiVersion = resourceApiVersion(r);
    o.kind = r.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    meta.generation = 1;
    delete meta.deletionTimestamp;
    if (opts.dryRun) return deepCopy(o) as unknown as T;
    return this.#write(r, k, 'ADDED', o, undefined) as unknown as T;
  }

  async update<T extends KubeObject>(r: ResourceInfo, obj: T, opts: WriteOptions = {}, subresource?: ObjectSubresource): Promise<T> {
    const name = obj.metadata?.name ?? '';
    const ns = r.namespaced ? obj.metadata?.namespace : undefined;
    this.#call({ verb: 'update', resource: r.resource, namespace: ns, name, subresource, opts }, r);
    const k = key(r, ns, name);
    const old = this.#store(r).get(k);
    if (!old) throw notFound(r, name);
    const rv = obj.metadata?.resourceVersion;
    if (rv && rv !== old.metadata?.resourceVersion) throw conflict(r, name);
    return this.#replace(r, k, old, deepCopy(obj) as unknown as AnyObject, subresource, opts) as unknown as T;
  }

  async patch<T extends KubeObject>(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: PatchOptions = {},
    subresource?: ObjectSubresource,
  ): Promise<T> {
    const ns = r.namespaced ? namespace : undefined;
    this.#call({ verb: 'patch', resource: r.resource, namespace: ns, name, subresource, opts: { ...opts, type } }, r);
    const body: unknown = typeof patch === 'string' ? JSON.parse(patch) : patch;
    if (type === 'apply' && !opts.fieldManager) throw badRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    const k = key(r, ns, name);
    const old = this.#store(r).get(k);
    if (!old) {
      if (type === 'apply' && !subresource) {
        const created = mergePatch({}, body) as AnyObject;
        return this.create(r, ns, created as unknown as T, opts);
      }
      throw notFound(r, name);
    }
    let next: AnyObject;
    if (type === 'json') {
      if (!Array.isArray(body)) throw badRequest('json patch must be a list of operations');
      try {
        next = jsonpatch.applyPatch(deepCopy(old), body as Operation[], true, false).newDocument;
      } catch (e) {
        throw new ApiError(422, 'Invalid', `the json patch could not be applied: ${(e as Error).message}`);
      }
    } else {
      next = mergePatch(old, body) as AnyObject;
      const rv = isPlainObject(body) && isPlainObject(body.metadata) ? body.metadata.resourceVersion : undefined;
      if (typeof rv === 'string' && rv !== old.metadata?.resourceVersion) throw conflict(r, name);
    }
    return this.#replace(r, k, old, next, subresource, opts) as unknown as T;
  }

  async delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    const ns = r.namespaced ? namespace : undefined;
    this.#call({ verb: 'delete', resource: r.resource, namespace: ns, name, opts }, r);
    const k = key(r, ns, name);
    const old = this.#store(r).get(k);
    if (!old) throw notFound(r, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata?.uid) {
      throw conflict(r, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata?.uid ?? ''}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata?.resourceVersion) {
      throw conflict(r, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata?.resourceVersion ?? ''}`);
    }
    if (opts.dryRun) return deepCopy(old);
    if (old.metadata?.finalizers?.length) {
      // Finalizers hold the object: it is only marked terminating.
      if (old.metadata.deletionTimestamp) return deepCopy(old);
      const next = deepCopy(old);
      const meta: Meta = next.metadata!;
      meta.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      meta.deletionGracePeriodSeconds = opts.gracePeriodSeconds ?? 0;
      return this.#write(r, k, 'MODIFIED', next, old);
    }
    return this.#write(r, k, 'DELETED', deepCopy(old), old);
  }

  async createSubresource<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string, subresource: string, body: KubeObject): Promise<T> {
    const ns = r.namespaced ? namespace : undefined;
    this.#call({ verb: 'createSubresource', resource: r.resource, namespace: ns, name, subresource }, r);
    if (r.resource !== 'pods' || subresource !== 'binding') throw methodNotSupported(r, `create ${subresource}`);
    const k = key(r, ns, name);
    const old = this.#store(r).get(k);
    if (!old) throw notFound(r, name);
    const target = (body as AnyObject).target;
    const node = isPlainObject(target) && typeof target.name === 'string' ? target.name : '';
    const spec = isPlainObject(old.spec) ? old.spec : {};
    if (spec.nodeName) throw conflict(r, name, `pod ${name} is already assigned to node ${JSON.stringify(spec.nodeName)}`);
    const next = deepCopy(old);
    next.spec = { ...spec, nodeName: node };
    this.#write(r, k, 'MODIFIED', next, old);
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as unknown as T;
  }

  // ---- internals ----

  #call(c: FakeCall, r: ResourceInfo): void {
    this.calls.push(c);
    const rk = resourceKey(r);
    const i = this.#failures.findIndex((f) => f.verb === c.verb && (f.resource === undefined || f.resource === rk));
    if (i >= 0) throw this.#failures.splice(i, 1)[0].error;
  }

  #store(r: ResourceInfo): Map<string, AnyObject> {
    const rk = resourceKey(r);
    let m = this.#objects.get(rk);
    if (!m) this.#objects.set(rk, (m = new Map<string, AnyObject>()));
    return m;
  }

  /** An update of the main resource keeps the status; one of status changes only the status. */
  #replace(r: ResourceInfo, k: string, old: AnyObject, next: AnyObject, subresource: ObjectSubresource | undefined, opts: WriteOptions): AnyObject {
    if (subresource === 'scale') throw methodNotSupported(r, 'scale (FakeClient)');
    const hasStatus = r.subresources.some((s) => s.name === 'status');
    let result: AnyObject;
    if (subresource === 'status') {
      result = deepCopy(old);
      if (next.status === undefined) delete result.status;
      else result.status = next.status;
    } else {
      result = next;
      if (hasStatus) {
        if (old.status === undefined) delete result.status;
        else result.status = deepCopy(old.status);
      }
    }
    // Identity and bookkeeping stay the server's.
    const om = old.metadata ?? {};
    const meta: Meta = (result.metadata ??= {});
    result.apiVersion = resourceApiVersion(r);
    result.kind = r.kind;
    meta.name = om.name;
    if (om.namespace) meta.namespace = om.namespace;
    meta.uid = om.uid;
    meta.creationTimestamp = om.creationTimestamp;
    if (om.deletionTimestamp) meta.deletionTimestamp = om.deletionTimestamp;
    meta.generation = om.generation ?? 1;
    if (JSON.stringify(result.spec) !== JSON.stringify(old.spec)) meta.generation++;
    if (opts.dryRun) return deepCopy({ ...result, metadata: { ...meta, resourceVersion: om.resourceVersion } });
    // A terminating object whose last finalizer goes is deleted.
    if (meta.deletionTimestamp && !meta.finalizers?.length) return this.#write(r, k, 'DELETED', result, old);
    const { resourceVersion: _a, ...restNew } = meta;
    const { resourceVersion: _b, ...restOld } = om;
    // A no-op write changes nothing, not even the resourceVersion (as kube-apiserver).
    if (JSON.stringify({ ...result, metadata: restNew }) === JSON.stringify({ ...old, metadata: restOld })) return deepCopy(old);
    return this.#write(r, k, 'MODIFIED', result, old);
  }

  #write(r: ResourceInfo, k: string, type: HistoryEntry['type'], obj: AnyObject, old: AnyObject | undefined): AnyObject {
    this.#rv++;
    obj.metadata = { ...obj.metadata, resourceVersion: String(this.#rv) };
    const store = this.#store(r);
    if (type === 'DELETED') store.delete(k);
    else store.set(k, obj);
    const rk = resourceKey(r);
    const entry: HistoryEntry = { rv: this.#rv, type, obj: deepCopy(obj) };
    if (old) entry.old = old;
    let h = this.#history.get(rk);
    if (!h) this.#history.set(rk, (h = []));
    h.push(entry);
    for (const w of this.#watches) if (w.resource === rk) this.#send(w, matcher(w.namespace, w.opts), entry);
    return deepCopy(obj);
  }

  /** Sends a history entry to a watch, as the selector sees it (leaving it is a DELETED). */
  #send(w: FakeWatch, match: (o: AnyObject) => boolean, h: HistoryEntry): void {
    const now = match(h.obj);
    let type: WatchEventType = h.type;
    if (h.type === 'MODIFIED') {
      const before = h.old ? match(h.old) : now;
      if (!now && !before) return;
      if (now && !before) type = 'ADDED';
      if (!now && before) type = 'DELETED';
    } else if (!now) return;
    w.deliver({ type, object: h.obj });
  }

  #endWatches(r: ResourceInfo | undefined, err: () => Error | undefined): void {
    for (const w of [...this.#watches]) {
      if (r && w.resource !== resourceKey(r)) continue;
      this.#watches.delete(w);
      w.end(err());
    }
  }
}

function resourceKey(r: ResourceInfo): string {
  return `${r.group}/${r.resource}`;
}

function key(r: ResourceInfo, namespace: string | undefined, name: string): string {
  return r.namespaced ? `${namespace ?? ''}/${name}` : name;
}

function byKey(a: KubeObject, b: KubeObject): number {
  const ka = namespacedName(a);
  const kb = namespacedName(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function decodeContinue(token: string): ContinueToken {
  try {
    const body = token.split('.')[1] ?? '';
    const t: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    if (isPlainObject(t) && typeof t.rv === 'number' && typeof t.offset === 'number') return { rv: t.rv, offset: t.offset };
  } catch {
    // fall through
  }
  throw badRequest(`continue key is not valid: ${token}`);
}
