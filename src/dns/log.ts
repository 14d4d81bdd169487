// Error lines, one per error, but bounded: a flood of bad queries or a dead upstream must not
// turn into a flood of log lines (CoreDNS's errors plugin consolidates for the same reason).
import { logger, type Logger } from '../util/index.ts';

export const log: Logger = logger('dns');

/** Logs at most `perSecond` error lines a second; the rest are counted and summed up in one line. */
export function limitedErrorLog(perSecond = 20): (fields: Record<string, unknown>, msg: string) => void {
  let windowStart = 0;
  let lines = 0;
  let suppressed = 0;
  return (fields, msg) => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      if (suppressed > 0) log.error({ suppressed }, 'dns: more errors than logged in the last second');
      windowStart = now;
      lines = 0;
      suppressed = 0;
    }
    if (lines++ < perSecond) log.error(fields, msg);
    else suppressed++;
  };
}
