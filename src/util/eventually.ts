// Waiting for an asynchronous outcome in tests: poll, never a fixed sleep then assert.

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns something other than undefined or false, and returns that. Errors
 * count as "not yet"; the last one is quoted when `timeoutMs` runs out.
 */
export async function eventually<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

/** Runs `check` (assertions) until it passes, and returns its result; after `timeoutMs`, its last error. */
export async function untilPasses<T>(check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 10): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(everyMs);
    }
  }
}
