// MemoryStore: the Store contract in memory, for unit tests and `--store memory:`. Nothing
// survives the process. Same semantics as the sqlite and etcd backends (one contract suite).
import {
  StoreError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type TxnOp,
  type TxnResult,
  type Watch,
  type WatchCallbacks,
} from './types.ts';
import { compareKeys, eventKey, lowerBound, prefixEnd } from './keys.ts';
import { WatchHub } from './hub.ts';
import { compacted, foldChanges, listSnapshot, planTxn } from './mvcc.ts';

interface LoggedTxn {
  revision: number;
  events: readonly StoreEvent[];
}

export class MemoryStore implements Store {
  readonly backend = 'memory';
  readonly #kv = new Map<string, KeyValue>();
  /** The keys of #kv in key order. */
  readonly #keys: string[] = [];
  /** Committed transactions after the compacted revision, oldest first. */
  #log: LoggedTxn[] = [];
  #revision = 0;
  #compactRevision = 0;
  #closed = false;
  readonly #hub = new WatchHub();

  async get(key: string): Promise<KeyValue | undefined> {
    this.#check();
    return this.#kv.get(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.#check();
    const limit = opts.limit ?? 0;
    const lower = opts.startKey !== undefined && compareKeys(opts.startKey, prefix) > 0 ? opts.startKey : prefix;
    const end = prefixEnd(prefix);
    const endIdx = end === undefined ? this.#keys.length : lowerBound(this.#keys, end);
    const startIdx = Math.min(lowerBound(this.#keys, lower), endIdx);
    const revision = opts.revision ?? 0;
    if (revision > 0 && revision !== this.#revision) {
      this.#checkRevision(revision);
      const keys = this.#keys;
      const kv = this.#kv;
      const inRange = (k: string): boolean => k.startsWith(prefix) && compareKeys(k, lower) >= 0;
      const later = this.#log.slice(this.#firstLogAfter(revision)).flatMap((t) => t.events.filter((e) => inRange(eventKey(e))));
      return listSnapshot(
        {
          current: (function* () {
            for (let i = startIdx; i < endIdx; i++) yield kv.get(keys[i])!;
          })(),
          changed: foldChanges(later),
          countCurrentAfter: (key) => endIdx - Math.min(lowerBound(keys, key, true), endIdx),
        },
        limit,
        revision,
      );
    }
    const stop = limit > 0 ? Math.min(endIdx, startIdx + limit) : endIdx;
    const items: KeyValue[] = [];
    for (let i = startIdx; i < stop; i++) items.push(this.#kv.get(this.#keys[i])!);
    const remaining = endIdx - stop;
    return remaining > 0 ? { items, revision: this.#revision, more: true, remaining } : { items, revision: this.#revision, more: false };
  }

  async count(prefix: string): Promise<number> {
    this.#check();
    const end = prefixEnd(prefix);
    const endIdx = end === undefined ? this.#keys.length : lowerBound(this.#keys, end);
    return endIdx - Math.min(lowerBound(this.#keys, prefix), endIdx);
  }

  async txn(ops: readonly TxnOp[]): Promise<TxnResult> {
    this.#check();
    const plan = planTxn(ops, this.#revision + 1, (k) => this.#kv.get(k));
    for (const w of plan.writes) {
      if (w.kv) {
        if (!w.prev) this.#keys.splice(lowerBound(this.#keys, w.key), 0, w.key);
        this.#kv.set(w.key, Object.freeze(w.kv));
      } else {
        this.#keys.splice(lowerBound(this.#keys, w.key), 1);
        this.#kv.delete(w.key);
      }
    }
    this.#revision = plan.revision;
    const events = Object.freeze(plan.events.map((e) => Object.freeze(e)));
    this.#log.push({ revision: plan.revision, events });
    this.#hub.publish(plan.revision, events);
    return { revision: plan.revision, results: plan.results };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return (await this.txn([{ op: 'create', key, value }])).results[0];
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    return (await this.txn([{ op: 'update', key, value, ...(expectedModRevision === undefined ? {} : { expectedModRevision }) }])).results[0];
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return (await this.txn([{ op: 'delete', key, ...(expectedModRevision === undefined ? {} : { expectedModRevision }) }])).results[0];
  }

  async watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Promise<Watch> {
    this.#check();
    if (afterRevision < this.#compactRevision) throw compacted(afterRevision, this.#compactRevision);
    // Replay and registration happen in one synchronous step: no write can come between.
    const replay = this.#log.slice(this.#firstLogAfter(afterRevision)).flatMap((t) => t.events.filter((e) => eventKey(e).startsWith(prefix)));
    return this.#hub.add(prefix, afterRevision, callbacks, replay, this.#revision);
  }

  async currentRevision(): Promise<number> {
    this.#check();
    return this.#revision;
  }

  async compact(revision: number): Promise<void> {
    this.#check();
    if (revision > this.#revision) throw new StoreError('FutureRevision', `cannot compact to revision ${revision}: the current revision is ${this.#revision}`);
    if (revision <= this.#compactRevision) return;
    this.#log = this.#log.slice(this.#firstLogAfter(revision));
    this.#compactRevision = revision;
  }

  async compactRevision(): Promise<number> {
    this.#check();
    return this.#compactRevision;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.closeAll(new StoreError('Closed', 'store closed'));
  }

  #check(): void {
    if (this.#closed) throw new StoreError('Closed', 'store closed');
  }

  #checkRevision(revision: number): void {
    if (revision > this.#revision) throw new StoreError('FutureRevision', `revision ${revision} is newer than the current revision ${this.#revision}`);
    if (revision < this.#compactRevision) throw compacted(revision, this.#compactRevision);
  }

  /** The index in #log of the first transaction with a revision above `revision`. */
  #firstLogAfter(revision: number): number {
    let lo = 0;
    let hi = this.#log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#log[mid].revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
