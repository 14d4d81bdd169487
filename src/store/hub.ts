// In-process watch fan-out for the embedded backends (memory, sqlite). A backend registers a
// watcher and reads its replay in the same synchronous step, and publishes each committed
// transaction synchronously after commit, so no write can fall between replay and live
// delivery (no gap, no duplicate). Delivery itself is deferred to one setImmediate per burst:
// callbacks never run inside a writer's txn(), and a burst of writes reaches each watcher as
// one batch. Publishing costs one prefix check per watcher per transaction, no store query.
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
  stopped: boolean;
}

export class WatchHub {
  readonly #subs = new Set<Sub>();
  #dirty = new Set<Sub>();
  #scheduled = false;

  get size(): number {
    return this.#subs.size;
  }

  /** Registers a watcher; `replay` (events after `after`, in order) is delivered first. */
  add(prefix: string, after: number, callbacks: WatchCallbacks, replay: StoreEvent[]): Watch {
    const sub: Sub = { prefix, after, callbacks, pending: replay, stopped: false };
    this.#subs.add(sub);
    if (replay.length > 0) this.#markDirty(sub);
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
    for (const sub of this.#subs) {
      if (revision <= sub.after) continue;
      let matched = false;
      for (const e of events) {
        if (eventKey(e).startsWith(sub.prefix)) {
          sub.pending.push(e);
          matched = true;
        }
      }
      if (matched) this.#markDirty(sub);
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
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const sub of dirty) {
      if (sub.stopped || sub.pending.length === 0) continue;
      const batch = sub.pending;
      sub.pending = [];
      try {
        sub.callbacks.onEvents(batch);
      } catch (e) {
        log.error({ err: e, prefix: sub.prefix }, 'watch onEvents callback threw');
      }
    }
  }
}
