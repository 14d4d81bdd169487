// In-process watch fan-out for the embedded backends (memory, sqlite). A backend registers a
// watcher and reads its replay in the same synchronous step, and publishes each committed
// transaction synchronously after commit, so no write can fall between replay and live
// delivery (no gap, no duplicate). Delivery itself is deferred to one setImmediate per burst:
// callbacks never run inside a writer's txn(), and a burst of writes reaches each watcher as
// one batch. Publishing costs one prefix check per watcher per transaction, no store query.
// A watcher with onProgress hears, after each burst, the revision up to which it has had every
// change under its prefix (etcd's progress notify, but at once instead of every few minutes).
import type { StoreEvent, Watch, WatchCallbacks } from './types.ts';
import { eventKey } from './keys.ts';
import { logger } from '../util/index.ts';

const log = logger('store');

interface Sub {
  prefix: string;
  /** Only events with a revision above this one (a watch may start past the current revision). */
  after: number;
  callbacks: WatchCallbacks;
  pending: StoreEvent[];
  /** Everything up to this revision has been delivered (or told by onProgress). */
  progressed: number;
  stopped: boolean;
}

export class WatchHub {
  readonly #subs = new Set<Sub>();
  #dirty = new Set<Sub>();
  #scheduled = false;
  /** The store's revision as of the last publish (or registration). */
  #revision = 0;

  get size(): number {
    return this.#subs.size;
  }

  /**
   * Registers a watcher; `replay` (events after `after`, in order, up to the store's current
   * `revision`) is delivered first.
   */
  add(prefix: string, after: number, callbacks: WatchCallbacks, replay: StoreEvent[], revision: number): Watch {
    this.#revision = Math.max(this.#revision, revision);
    const sub: Sub = { prefix, after, callbacks, pending: replay, progressed: after, stopped: false };
    this.#subs.add(sub);
    if (replay.length > 0 || (callbacks.onProgress && this.#revision > after)) this.#markDirty(sub);
    return {
      stop: () => {
        sub.stopped = true;
        sub.pending = [];
        this.#subs.delete(sub);
        this.#dirty.delete(sub);
      },
    };
  }

  /** One committed transaction's events (all at `revision`). */
  publish(revision: number, events: readonly StoreEvent[]): void {
    this.#revision = revision;
    for (const sub of this.#subs) {
      if (revision <= sub.after) continue;
      let matched = false;
      for (const e of events) {
        if (eventKey(e).startsWith(sub.prefix)) {
          sub.pending.push(e);
          matched = true;
        }
      }
      // A watcher that wants progress hears of writes under other prefixes too.
      if (matched || sub.callbacks.onProgress) this.#markDirty(sub);
    }
  }

  /** Delivers what is pending, then ends every watch with `err`. */
  closeAll(err: Error): void {
    this.#flush();
    for (const sub of [...this.#subs]) {
      sub.stopped = true;
      this.#subs.delete(sub);
      try {
        sub.callbacks.onError?.(err);
      } catch (e) {
        log.error({ err: e }, 'watch onError callback threw');
      }
    }
  }

  #markDirty(sub: Sub): void {
    this.#dirty.add(sub);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    // Every event up to here is pending now; a callback that writes adds only later ones.
    const revision = this.#revision;
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const sub of dirty) {
      if (sub.stopped) continue;
      if (sub.pending.length > 0) {
        const batch = sub.pending;
        sub.pending = [];
        const last = batch.at(-1)!;
        sub.progressed = Math.max(sub.progressed, last.type === 'PUT' ? last.kv.modRevision : last.modRevision);
        try {
          sub.callbacks.onEvents(batch);
        } catch (e) {
          log.error({ err: e, prefix: sub.prefix }, 'watch onEvents callback threw');
        }
      }
      if (sub.callbacks.onProgress && !sub.stopped && revision > sub.progressed) {
        sub.progressed = revision;
        try {
          sub.callbacks.onProgress(revision);
        } catch (e) {
          log.error({ err: e, prefix: sub.prefix }, 'watch onProgress callback threw');
        }
      }
    }
  }
}
