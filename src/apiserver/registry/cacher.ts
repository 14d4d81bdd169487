// The watch cache of one resource (kube-apiserver's cacher): the current objects in memory,
// kept by one store watch, and a window of recent events. Lists are served from it when it is
// as fresh as the store; watches replay the window and then follow live events, each exactly
// once and in order. A watch from before the window falls back to a store watch, so 410 Expired
// is answered only when the store has compacted the revisions the watch needs.
import { writableMeta, type AnyObject, type ResourceInfo } from '../../api/index.ts';
import type { Store, StoreEvent, Watch } from '../../store/index.ts';
import { copyObject, decodeKv, deepFreeze } from './codec.ts';
import { logger } from '../../util/index.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** An object as the cache holds it: frozen, with its JSON form made once. */
export interface CachedObject {
  key: string;
  obj: AnyObject;
  json: string;
  rv: number;
}

/** One change, as the cache records it. For DELETED, `obj` is the last state stamped with the delete's revision. */
export interface CacheEvent {
  type: EventType;
  key: string;
  obj: AnyObject;
  json: string;
  prev: AnyObject | undefined;
  rv: number;
}

/** Which objects a list or watch wants. */
export interface ObjectFilter {
  /** Keys must start with this (the resource or namespace prefix). */
  prefix: string;
  /** Further selection (labels, fields); absent: all under the prefix. */
  matches?: (obj: AnyObject) => boolean;
}

/**
 * Encodings of one cache event that every watcher it reaches can share (e.g. the JSON watch
 * line for a type), made by the first watcher that needs one. Lives only while the event is
 * being dispatched, so the window does not keep encoded bytes.
 */
export type SharedEncodings = Partial<Record<EventType, Buffer>>;

/** What a watcher receives: an event already resolved against its filter. */
export interface DeliveredEvent {
  type: EventType;
  obj: AnyObject;
  /** The object's JSON when it is the cached form (absent when it had to be re-stamped). */
  json: string | undefined;
  rv: number;
  /** Shared by the watchers of this event when `json` is the cached form. */
  encoded?: SharedEncodings;
}

export interface CacheWatcher {
  stop(): void;
}

const log = logger('cacher');

function stamp(obj: AnyObject, rv: number): AnyObject {
  const copy = copyObject(obj);
  writableMeta(copy).resourceVersion = String(rv);
  return deepFreeze(copy);
}

interface Waiter {
  rev: number;
  resolve: () => void;
}

interface LiveWatcher {
  filter: ObjectFilter;
  send: (e: DeliveredEvent) => void;
  /** The cache lost its store watch: the watcher must end (clients relist and watch again). */
  end: () => void;
}

export class Cacher {
  readonly resource: ResourceInfo;
  readonly prefix: string;
  #store: Store;
  #objects = new Map<string, CachedObject>();
  #sortedKeys: string[] | undefined;
  #window: CacheEvent[] = [];
  #windowSize: number;
  /** Every event with rv > #windowStart is in #window. */
  #windowStart = 0;
  #revision = 0;
  #watchers = new Set<LiveWatcher>();
  #storeWatch: Watch | undefined;
  #waiters: Waiter[] = [];
  #ready: Promise<void> | undefined;
  #stopped = false;

  constructor(store: Store, resource: ResourceInfo, prefix: string, opts: { windowSize?: number } = {}) {
    this.#store = store;
    this.resource = resource;
    this.prefix = prefix;
    this.#windowSize = opts.windowSize ?? 10_000;
  }

  /** Lists the store and starts following it. Idempotent. */
  start(): Promise<void> {
    this.#ready ??= this.#init();
    return this.#ready;
  }

  async #init(): Promise<void> {
    const list = await this.#store.list(this.prefix);
    for (const kv of list.items) {
      const obj = deepFreeze(decodeKv(kv));
      this.#objects.set(kv.key, { key: kv.key, obj, json: JSON.stringify(obj), rv: kv.modRevision });
    }
    this.#revision = list.revision;
    this.#windowStart = list.revision;
    this.#storeWatch = await this.#store.watch(this.prefix, list.revision, {
      onEvents: (events) => this.#apply(events),
      onProgress: (rev) => this.#advance(rev),
      onError: (err) => {
        if (this.#stopped) return;
        log.error({ err, resource: this.resource.resource }, 'store watch ended; restarting the cache');
        this.#restart();
      },
    });
  }

  #restart(): void {
    this.#storeWatch?.stop();
    for (const w of this.#watchers) w.end();
    this.#watchers.clear();
    this.#objects.clear();
    this.#sortedKeys = undefined;
    this.#window = [];
    this.#ready = this.#init();
  }

  stop(): void {
    this.#stopped = true;
    this.#storeWatch?.stop();
    for (const w of this.#watchers) w.end();
    this.#watchers.clear();
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
  }

  /** The revision up to which this cache has seen every change of its resource. */
  get revision(): number {
    return this.#revision;
  }

  get size(): number {
    return this.#objects.size;
  }

  #advance(rev: number): void {
    if (rev <= this.#revision) return;
    this.#revision = rev;
    if (this.#waiters.length) {
      const still: Waiter[] = [];
      for (const w of this.#waiters) {
        if (w.rev <= rev) w.resolve();
        else still.push(w);
      }
      this.#waiters = still;
    }
  }

  #apply(events: StoreEvent[]): void {
    let maxRev = this.#revision;
    for (const ev of events) {
      let ce: CacheEvent;
      if (ev.type === 'PUT') {
        const obj = deepFreeze(decodeKv(ev.kv));
        const json = JSON.stringify(obj);
        const old = this.#objects.get(ev.kv.key);
        if (!old) this.#sortedKeys = undefined;
        this.#objects.set(ev.kv.key, { key: ev.kv.key, obj, json, rv: ev.kv.modRevision });
        ce = { type: old ? 'MODIFIED' : 'ADDED', key: ev.kv.key, obj, json, prev: old?.obj, rv: ev.kv.modRevision };
        maxRev = Math.max(maxRev, ev.kv.modRevision);
      } else {
        const old = this.#objects.get(ev.prev.key);
        this.#objects.delete(ev.prev.key);
        this.#sortedKeys = undefined;
        const last = stamp(old?.obj ?? decodeKv(ev.prev), ev.modRevision);
        ce = { type: 'DELETED', key: ev.prev.key, obj: last, json: JSON.stringify(last), prev: old?.obj, rv: ev.modRevision };
        maxRev = Math.max(maxRev, ev.modRevision);
      }
      this.#window.push(ce);
      const encoded: SharedEncodings = {};
      for (const w of this.#watchers) {
        try {
          dispatch(w, ce, encoded);
        } catch (err) {
          // One watcher's failure (e.g. encoding its event) ends that watcher, not the others.
          log.warn({ err, resource: this.resource.resource }, 'watcher failed; ending it');
          this.#watchers.delete(w);
          w.end();
        }
      }
    }
    if (this.#window.length > this.#windowSize * 1.25) {
      const drop = this.#window.length - this.#windowSize;
      // Keep whole revisions together: never split the events of one transaction.
      let cut = drop;
      while (cut < this.#window.length && this.#window[cut].rv === this.#window[cut - 1].rv) cut++;
      this.#windowStart = this.#window[cut - 1].rv;
      this.#window = this.#window.slice(cut);
    }
    this.#advance(maxRev);
  }

  /** Whether this resource changed after `from` and at or before `to` (true when the window cannot tell). */
  changedBetween(from: number, to: number): boolean {
    if (from < this.#windowStart) return true;
    let lo = 0;
    let hi = this.#window.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#window[mid].rv <= from) lo = mid + 1;
      else hi = mid;
    }
    const next = this.#window[lo];
    return next !== undefined && next.rv <= to;
  }

  /** Resolves once the cache has seen every change up to `rev`, or rejects after `timeoutMs`. */
  waitUntilFresh(rev: number, timeoutMs: number): Promise<boolean> {
    if (this.#revision >= rev || this.#stopped) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { rev, resolve: () => resolve(true) };
      this.#waiters.push(waiter);
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      t.unref();
    });
  }

  /** Current objects under the filter, in key order, starting at `startKey` (inclusive). */
  list(filter: ObjectFilter, opts: { startKey?: string; limit?: number } = {}): { items: CachedObject[]; more: boolean; nextKey?: string; remaining: number } {
    this.#sortedKeys ??= [...this.#objects.keys()].sort();
    const keys = this.#sortedKeys;
    let i = lowerBound(keys, opts.startKey && opts.startKey > filter.prefix ? opts.startKey : filter.prefix);
    const items: CachedObject[] = [];
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    for (; i < keys.length; i++) {
      const k = keys[i];
      if (!k.startsWith(filter.prefix)) break;
      const c = this.#objects.get(k)!;
      if (filter.matches && !filter.matches(c.obj)) continue;
      if (items.length >= limit) {
        let remaining = 0;
        for (let j = i; j < keys.length && keys[j].startsWith(filter.prefix); j++) remaining++;
        return { items, more: true, nextKey: k, remaining };
      }
      items.push(c);
    }
    return { items, more: false, remaining: 0 };
  }

  get(key: string): CachedObject | undefined {
    return this.#objects.get(key);
  }

  /**
   * Starts a watch of changes after `fromRv`. With `initial` (resourceVersion 0 or unset), the
   * current objects come first as ADDED. Returns 'tooOld' when `fromRv` is before the window:
   * the caller then watches the store directly.
   */
  watch(filter: ObjectFilter, fromRv: number, initial: boolean, send: (e: DeliveredEvent) => void, end: () => void): CacheWatcher | 'tooOld' {
    if (!initial && fromRv < this.#windowStart) return 'tooOld';
    const w: LiveWatcher = { filter, send, end };
    if (initial) {
      for (const c of this.list(filter).items) send({ type: 'ADDED', obj: c.obj, json: c.json, rv: c.rv });
    } else {
      // Binary search the first event after fromRv, then replay.
      let lo = 0;
      let hi = this.#window.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.#window[mid].rv <= fromRv) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < this.#window.length; i++) dispatch(w, this.#window[i], undefined);
    }
    this.#watchers.add(w);
    return { stop: () => this.#watchers.delete(w) };
  }

  /** How many live watchers this cache feeds (for metrics and tests). */
  get watcherCount(): number {
    return this.#watchers.size;
  }
}

function lowerBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid] < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Resolves one cache event against a watcher's filter, as kube's cacher does for selectors. */
function dispatch(w: LiveWatcher, e: CacheEvent, encoded: SharedEncodings | undefined): void {
  if (!e.key.startsWith(w.filter.prefix)) return;
  const m = w.filter.matches;
  if (!m) {
    w.send({ type: e.type, obj: e.obj, json: e.json, rv: e.rv, encoded });
    return;
  }
  if (e.type === 'DELETED') {
    if (m(e.obj)) w.send({ type: 'DELETED', obj: e.obj, json: e.json, rv: e.rv, encoded });
    return;
  }
  const cur = m(e.obj);
  const prev = e.prev !== undefined && m(e.prev);
  if (cur && prev) w.send({ type: 'MODIFIED', obj: e.obj, json: e.json, rv: e.rv, encoded });
  else if (cur) w.send({ type: 'ADDED', obj: e.obj, json: e.json, rv: e.rv, encoded });
  else if (prev) {
    // No longer selected: the watcher sees it deleted, stamped with this change's revision.
    const last = stamp(e.prev!, e.rv);
    w.send({ type: 'DELETED', obj: last, json: undefined, rv: e.rv });
  }
}

