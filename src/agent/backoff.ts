// Crash-loop back-off as kubelet keeps it (client-go's flowcontrol.Backoff keyed by pod and
// container): the first restart is immediate, then 10 s, 20 s, 40 s ... up to 5 min after each
// exit; a container that ran for twice the maximum without dying starts over at the initial
// delay. Pure: time comes in as numbers (ms).

export interface BackoffEntry {
  backoffMs: number;
  /** When Next was last called (the exit time it was called for), ms. */
  lastUpdate: number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly #entries = new Map<string, BackoffEntry>();

  constructor(initialMs = 10_000, maxMs = 300_000) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
  }

  #expired(e: BackoffEntry, eventTime: number): boolean {
    return eventTime - e.lastUpdate > this.maxMs * 2;
  }

  /** Records one more restart for an exit at eventTime: the window doubles (or starts). */
  next(key: string, eventTime: number): void {
    const e = this.#entries.get(key);
    if (!e || this.#expired(e, eventTime)) this.#entries.set(key, { backoffMs: this.initialMs, lastUpdate: eventTime });
    else this.#entries.set(key, { backoffMs: Math.min(e.backoffMs * 2, this.maxMs), lastUpdate: eventTime });
  }

  /** IsInBackOffSince: true while now - eventTime is inside the key's current window. */
  inBackoffSince(key: string, eventTime: number, now: number): boolean {
    const e = this.#entries.get(key);
    if (!e || this.#expired(e, eventTime)) return false;
    return now - eventTime < e.backoffMs;
  }

  /** The current window, ms (0: none). */
  get(key: string): number {
    return this.#entries.get(key)?.backoffMs ?? 0;
  }

  /** When a container that exited at eventTime may restart, ms (eventTime when not backing off). */
  restartAt(key: string, eventTime: number): number {
    const e = this.#entries.get(key);
    if (!e || this.#expired(e, eventTime)) return eventTime;
    return eventTime + e.backoffMs;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  deletePrefix(prefix: string): void {
    for (const k of this.#entries.keys()) if (k.startsWith(prefix)) this.#entries.delete(k);
  }

  /** For persistence across agent restarts. */
  snapshot(prefix: string): Record<string, BackoffEntry> {
    const out: Record<string, BackoffEntry> = {};
    for (const [k, v] of this.#entries) if (k.startsWith(prefix)) out[k] = { ...v };
    return out;
  }

  restore(entries: Record<string, BackoffEntry>): void {
    for (const [k, v] of Object.entries(entries)) this.#entries.set(k, { ...v });
  }
}

/** Go's time.Duration.String for whole seconds and minutes, as kubelet's back-off message prints it ("10s", "2m40s", "5m0s"). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const totalS = ms / 1000;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  const sec = Number.isInteger(s) ? `${s}s` : `${s.toFixed(3).replace(/0+$/, '')}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}
