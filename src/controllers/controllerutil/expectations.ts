// ControllerExpectations (pkg/controller/controller_utils.go): what a controller expects its
// informers to report after its own writes (so many creations, these deletions), so that it
// does not act again on a cache that has not caught up. Expectations expire after five minutes,
// in case an event is lost.
export const expectationsTimeoutMs = 5 * 60 * 1000;

interface Expectation {
  add: number;
  /** Keys ("ns/name") of the pods whose deletion is awaited (UIDTrackingControllerExpectations). */
  del: Set<string>;
  at: number;
}

export class ControllerExpectations {
  readonly #m = new Map<string, Expectation>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** True when the controller may act on `key`: nothing awaited, or the expectation expired. */
  satisfied(key: string): boolean {
    const e = this.#m.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del.size === 0) return true;
    return this.#now() - e.at > expectationsTimeoutMs;
  }

  expectCreations(key: string, n: number): void {
    this.#m.set(key, { add: n, del: new Set(), at: this.#now() });
  }

  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.#m.set(key, { add: 0, del: new Set(podKeys), at: this.#now() });
  }

  creationObserved(key: string): void {
    const e = this.#m.get(key);
    if (e) e.add--;
  }

  deletionObserved(key: string, podKey: string): void {
    this.#m.get(key)?.del.delete(podKey);
  }

  delete(key: string): void {
    this.#m.delete(key);
  }

  /** What is still awaited (for tests and logs). */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.#m.get(key);
    return e && { add: e.add, del: e.del.size };
  }
}
