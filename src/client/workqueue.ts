// A work queue as client-go's (k8s.io/client-go/util/workqueue): items (usually "ns/name" keys)
// are deduplicated while they wait; an item being processed is never handed to a second worker,
// and one added again meanwhile is queued once more when the first worker calls done(). Delays
// (addAfter) and per-item exponential backoff (addRateLimited) sit on top.
import { logger, type Logger } from '../util/index.ts';

/** How long an item waits before it is retried, by how often it failed. */
export interface RateLimiter<T> {
  /** The delay before the next retry of the item (counts one more failure). */
  when(item: T): number;
  /** Forgets the item's failures (after it succeeded or was given up). */
  forget(item: T): void;
  numRequeues(item: T): number;
}

/** base·2^failures, capped: client-go's ItemExponentialFailureRateLimiter (default 5 ms … 1000 s). */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  readonly #failures = new Map<T, number>();

  constructor(
    readonly baseDelayMs = 5,
    readonly maxDelayMs = 1_000_000,
  ) {}

  when(item: T): number {
    const n = this.#failures.get(item) ?? 0;
    this.#failures.set(item, n + 1);
    // 2^n overflows towards Infinity for large n; the cap applies either way.
    return Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs);
  }

  forget(item: T): void {
    this.#failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.#failures.get(item) ?? 0;
  }
}

export interface WorkQueueOptions<T> {
  /** Names the queue in logs. */
  name?: string;
  rateLimiter?: RateLimiter<T>;
}

type Item = NonNullable<unknown>;

/**
 * A deduplicating, delaying, rate-limited queue. Items are compared as Map keys (by value for
 * strings and numbers, by identity for objects): use string keys.
 */
export class WorkQueue<T extends Item = string> {
  readonly name: string;
  readonly #limiter: RateLimiter<T>;
  /** Waiting items in order; every one is also in #dirty. */
  #queue: T[] = [];
  #head = 0;
  /** Items waiting to be processed (queued, or to be queued when their processing ends). */
  readonly #dirty = new Set<T>();
  readonly #processing = new Set<T>();
  /** addAfter items: when they become ready and the timer that adds them. */
  readonly #waiting = new Map<T, { at: number; timer: NodeJS.Timeout }>();
  #getters: ((item: T | undefined) => void)[] = [];
  #shuttingDown = false;
  #drainWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions<T> = {}) {
    this.name = opts.name ?? 'queue';
    this.#limiter = opts.rateLimiter ?? new ItemExponentialFailureRateLimiter<T>();
  }

  /** Queues the item unless it is already waiting; ignored after shutDown(). */
  add(item: T): void {
    if (this.#shuttingDown || this.#dirty.has(item)) return;
    this.#dirty.add(item);
    if (this.#processing.has(item)) return; // done() queues it again
    this.#push(item);
  }

  /** Adds the item after a delay; of several pending delays for one item the earliest wins. */
  addAfter(item: T, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(item);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#waiting.get(item);
    if (pending) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.#waiting.delete(item);
      this.add(item);
    }, delayMs);
    this.#waiting.set(item, { at, timer });
  }

  /** Adds the item after its rate limiter's delay (one more failure counted). */
  addRateLimited(item: T): void {
    this.addAfter(item, this.#limiter.when(item));
  }

  /** Clears the item's failure count: call when it was processed successfully (or given up). */
  forget(item: T): void {
    this.#limiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.#limiter.numRequeues(item);
  }

  /**
   * The next item, once there is one; undefined once the queue is shut down. The item stays
   * "processing" until done(item) is called.
   */
  get(): Promise<T | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const item = this.#pop();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks the item's processing finished; queues it again if it was added meanwhile. */
  done(item: T): void {
    if (!this.#processing.delete(item)) return;
    if (this.#dirty.has(item) && !this.#shuttingDown) this.#push(item);
    if (this.#processing.size === 0) for (const w of this.#drainWaiters.splice(0)) w();
  }

  /** Items waiting to be processed (not those delayed by addAfter, nor those in processing). */
  len(): number {
    return this.#queue.length - this.#head;
  }

  /** True while the item is handed out and done() was not called yet. */
  isProcessing(item: T): boolean {
    return this.#processing.has(item);
  }

  /**
   * Stops the queue: waiting get() calls and later ones resolve undefined; queued and delayed
   * items are dropped. Resolves once every item handed out has been marked done.
   */
  shutDown(): Promise<void> {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      for (const w of this.#waiting.values()) clearTimeout(w.timer);
      this.#waiting.clear();
      this.#queue = [];
      this.#head = 0;
      this.#dirty.clear();
      for (const g of this.#getters.splice(0)) g(undefined);
    }
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  #push(item: T): void {
    const g = this.#getters.shift();
    if (g) {
      this.#dirty.delete(item);
      this.#processing.add(item);
      g(item);
      return;
    }
    this.#queue.push(item);
  }

  #pop(): T | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const item = this.#queue[this.#head++];
    // Compact now and then rather than shift() (O(n)) on every get.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#dirty.delete(item);
    this.#processing.add(item);
    return item;
  }
}

function itemText(item: unknown): string {
  return typeof item === 'string' ? item : JSON.stringify(item);
}

export interface RunWorkersOptions {
  /** Failures after which an item is dropped (logged) instead of retried; default: never. */
  maxRetries?: number;
  log?: Logger;
}

/**
 * Runs n workers that take items from the queue and call the handler: success forgets the
 * item's failures; an exception requeues it with rate limiting (logged). Resolves when the
 * queue has been shut down and every worker has finished its current item.
 */
export async function runWorkers<T extends Item>(
  queue: WorkQueue<T>,
  n: number,
  handler: (item: T) => Promise<void> | void,
  opts: RunWorkersOptions = {},
): Promise<void> {
  const log = opts.log ?? logger('workqueue').child({ queue: queue.name });
  const maxRetries = opts.maxRetries ?? Infinity;
  const worker = async (): Promise<void> => {
    for (let item = await queue.get(); item !== undefined; item = await queue.get()) {
      try {
        await handler(item);
        queue.forget(item);
      } catch (e) {
        const tries = queue.numRequeues(item);
        if (tries < maxRetries) {
          log.warn({ item: itemText(item), err: e, retries: tries }, 'sync failed; retrying with backoff');
          queue.addRateLimited(item);
        } else {
          log.error({ item: itemText(item), err: e, retries: tries }, 'sync failed too often; dropping the item');
          queue.forget(item);
        }
      } finally {
        queue.done(item);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, n) }, () => worker()));
}
