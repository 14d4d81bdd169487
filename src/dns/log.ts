// Error lines, one per error, but bounded: a flood of bad queries or a dead upstream must not
// turn into a flood of log lines (CoreDNS's errors plugin consolidates for the same reason).
//
// A failed query is logged as one JSON line (pino) in the spirit of CoreDNS's errors plugin
// (`[ERROR] plugin/errors: 2 example.org. A: read udp ...: i/o timeout`):
//   {"level":50,"component":"dns","rcode":"SERVFAIL","name":"example.org.","type":"A",
//    "client":"127.0.0.1:40123","proto":"udp","err":"no upstream answered example.org.: ...",
//    "msg":"dns: query failed"}
// A malformed or unsupported query (FORMERR, NOTIMP, BADVERS) is a warning of the same shape,
// "msg":"dns: query rejected", with `name`/`type` when the question could be read and `id`.
import { logger, type Logger } from '../util/index.ts';

export const log: Logger = logger('dns');

export type LogFields = Record<string, unknown>;

/**
 * Logs at most `perSecond` lines a second; the rest are counted and summed up in one line.
 * `fields` may be a function: it is only called for lines actually written (so working out a
 * line's fields costs nothing under a flood).
 */
export function limitedErrorLog(perSecond = 20): (fields: LogFields | (() => LogFields), msg: string, level?: 'error' | 'warn') => void {
  let windowStart = 0;
  let lines = 0;
  let suppressed = 0;
  return (fields, msg, level = 'error') => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      if (suppressed > 0) log.error({ suppressed }, 'dns: more errors than logged in the last second');
      windowStart = now;
      lines = 0;
      suppressed = 0;
    }
    if (lines++ < perSecond) log[level](typeof fields === 'function' ? fields() : fields, msg);
    else suppressed++;
  };
}
