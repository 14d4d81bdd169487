// kube-proxy's BoundedFrequencyRunner: runs fn when asked, but not more often than minInterval,
// and at least every maxInterval; one run at a time; after a failure the caller asks for a retry.

export interface RunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  onError?: (e: unknown) => void;
}

export class BoundedFrequencyRunner {
  readonly #fn: () => Promise<void>;
  readonly #o: RunnerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #pending = false;
  #lastRun = -Infinity;
  #retryAt: number | undefined;
  #stopped = true;
  #idle: (() => void)[] = [];

  constructor(fn: () => Promise<void>, o: RunnerOptions) {
    this.#fn = fn;
    this.#o = o;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Asks for a run as soon as minInterval allows. */
  run(): void {
    this.#pending = true;
    this.#schedule();
  }

  /** Asks for a run after ms (sooner if run() asks and minInterval allows). */
  retryAfter(ms: number): void {
    const at = Date.now() + ms;
    this.#retryAt = this.#retryAt === undefined ? at : Math.min(this.#retryAt, at);
    this.#schedule();
  }

  /** Resolves when no run is in progress. */
  idle(): Promise<void> {
    return this.#running ? new Promise((r) => this.#idle.push(r)) : Promise.resolve();
  }

  #schedule(): void {
    if (this.#stopped || this.#running) return;
    const now = Date.now();
    let at = this.#lastRun + this.#o.maxIntervalMs;
    if (this.#pending) at = Math.min(at, this.#lastRun + this.#o.minIntervalMs);
    if (this.#retryAt !== undefined) at = Math.min(at, Math.max(this.#retryAt, this.#lastRun + this.#o.minIntervalMs));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#execute(), Math.max(0, at - now));
  }

  async #execute(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped || this.#running) return;
    this.#running = true;
    this.#pending = false;
    this.#retryAt = undefined;
    this.#lastRun = Date.now();
    try {
      await this.#fn();
    } catch (e) {
      this.#o.onError?.(e);
    } finally {
      this.#running = false;
      for (const r of this.#idle.splice(0)) r();
      this.#schedule();
    }
  }
}
