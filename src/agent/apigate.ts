// The agent's API requests go out a few at a time, its Events after everything else. Over
// HTTP/1.1 every request in flight is a connection of its own: a node starting 30 pods at once
// would open ~100 TLS connections (a status write and three Events per pod), and the API
// server's handshakes then delay the status writes that make pods Ready by a second or more.
// A kubelet shares one HTTP/2 connection and sends Events from a queue of their own (its event
// broadcaster); the gate does the same in effect: few connections, reused, status first.
// Watches are long-lived and pass straight through.
import type { KubeObject, ResourceInfo } from '../api/index.ts';
import type { Client, DeleteOptions, ListOptions, ObjectSubresource, PatchOptions, PatchType, WatchEvent, WatchOptions, WriteOptions } from '../client/index.ts';

export type Priority = 'normal' | 'low';

export class RequestGate {
  readonly #limit: number;
  readonly #lowLimit: number;
  #active = 0;
  #activeLow = 0;
  readonly #queues: Record<Priority, (() => void)[]> = { normal: [], low: [] };

  /**
   * `limit` requests in flight at once, of which at most `lowLimit` low-priority ones (client-go
   * sends a component's Events one at a time, apart from its other requests).
   */
  constructor(limit: number, lowLimit = limit) {
    this.#limit = Math.max(1, limit);
    this.#lowLimit = Math.max(1, Math.min(this.#limit, lowLimit));
  }

  /** Requests waiting for a slot (for tests). */
  get waiting(): number {
    return this.#queues.normal.length + this.#queues.low.length;
  }

  /** Runs `fn` once a slot is free; normal requests go before low ones, each in order. */
  run<T>(priority: Priority, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const go = () => {
        this.#active++;
        if (priority === 'low') this.#activeLow++;
        let p: Promise<T>;
        try {
          p = fn();
        } catch (e) {
          p = Promise.reject(e instanceof Error ? e : new Error(String(e)));
        }
        p.then(resolve, reject).finally(() => {
          this.#active--;
          if (priority === 'low') this.#activeLow--;
          this.#next();
        });
      };
      if (this.#active < this.#limit && (priority === 'normal' || this.#activeLow < this.#lowLimit)) go();
      else this.#queues[priority].push(go);
    });
  }

  #next(): void {
    while (this.#active < this.#limit) {
      const go = this.#queues.normal.shift() ?? (this.#activeLow < this.#lowLimit ? this.#queues.low.shift() : undefined);
      if (!go) return;
      go();
    }
  }

  /** `base` with every request but watches through the gate at `priority`. */
  client(base: Client, priority: Priority = 'normal'): Client {
    const run = <T>(fn: () => Promise<T>) => this.run(priority, fn);
    return {
      get: <T extends KubeObject>(r: ResourceInfo, ns: string | undefined, name: string) => run(() => base.get<T>(r, ns, name)),
      list: <T extends KubeObject>(r: ResourceInfo, ns: string | undefined, opts?: ListOptions) => run(() => base.list<T>(r, ns, opts)),
      watch: <T extends KubeObject>(r: ResourceInfo, ns: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void) => base.watch<T>(r, ns, opts, onEvent),
      create: <T extends KubeObject>(r: ResourceInfo, ns: string | undefined, obj: T, opts?: WriteOptions) => run(() => base.create<T>(r, ns, obj, opts)),
      update: <T extends KubeObject>(r: ResourceInfo, obj: T, opts?: WriteOptions, sub?: ObjectSubresource) => run(() => base.update<T>(r, obj, opts, sub)),
      patch: <T extends KubeObject>(r: ResourceInfo, ns: string | undefined, name: string, type: PatchType, patch: unknown, opts?: PatchOptions, sub?: ObjectSubresource) =>
        run(() => base.patch<T>(r, ns, name, type, patch, opts, sub)),
      delete: (r: ResourceInfo, ns: string | undefined, name: string, opts?: DeleteOptions) => run(() => base.delete(r, ns, name, opts)),
      createSubresource: <T extends KubeObject>(r: ResourceInfo, ns: string | undefined, name: string, sub: string, body: KubeObject) => run(() => base.createSubresource<T>(r, ns, name, sub, body)),
    };
  }
}
