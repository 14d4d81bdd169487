// Kubernetes timestamps: RFC 3339 with whole seconds (metav1.Time), as every API object carries them.

/** metav1.Now() as it is serialised: "2024-05-18T18:26:30Z". */
export function rfc3339(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Milliseconds since the epoch of a metav1.Time string; undefined when absent or malformed. */
export function parseTime(s: string | undefined | null): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** "ns/name" → [ns, name]; a key without a slash is a cluster-scoped name. */
export function splitKey(key: string): [string | undefined, string] {
  const i = key.indexOf('/');
  return i < 0 ? [undefined, key] : [key.slice(0, i), key.slice(i + 1)];
}

/** An Error for anything thrown (a rejected promise may carry any value). */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Wraps a sync handler: a 409 Conflict (a write from a stale cache, normal under concurrent
 * writers) requeues the key with backoff without a warning in the logs; other errors go to the
 * caller (runWorkers logs and requeues them).
 */
export function retryConflicts<K>(queue: { addRateLimited(k: K): void }, handler: (k: K) => Promise<void>): (k: K) => Promise<void> {
  return async (k) => {
    try {
      await handler(k);
    } catch (e) {
      if ((e as { status?: { reason?: string } } | undefined)?.status?.reason === 'Conflict') {
        queue.addRateLimited(k);
        return;
      }
      throw e;
    }
  };
}
