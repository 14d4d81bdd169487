// Periodic compaction, as kube-apiserver does it: every interval, compact to the revision
// observed at the previous tick, so that at least one interval of history always remains for
// watches and paged lists to resume from. With several API servers on one etcd each may run
// one; a compaction to an older revision than etcd's is a no-op.
import type { Store } from './types.ts';
import { logger } from '../util/index.ts';

const log = logger('store/compactor');

/** kube-apiserver's default --etcd-compaction-interval. */
export const DEFAULT_COMPACTION_INTERVAL_MS = 5 * 60 * 1000;

export interface Compactor {
  /** One tick now: compact to the revision seen at the previous tick, then remember the current one. */
  tick(): Promise<void>;
  /** Stops the timer and waits for a running tick. */
  stop(): Promise<void>;
}

export function startCompactor(store: Store, opts: { intervalMs?: number } = {}): Compactor {
  const interval = opts.intervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS;
  let previous = 0;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const once = async (): Promise<void> => {
    const current = await store.currentRevision();
    if (previous > 0) {
      await store.compact(previous);
      log.debug({ revision: previous }, 'compacted');
    }
    previous = current;
  };
  const tick = (): Promise<void> => {
    running = running.then(once).catch((err: unknown) => log.warn({ err }, 'compaction failed; retrying next interval'));
    return running;
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void tick().then(schedule);
    }, interval);
    // The compactor alone keeps no process alive.
    timer.unref();
  };
  schedule();
  return {
    tick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
