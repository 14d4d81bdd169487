// Structured logs (pino) on stderr, one child logger per component. SVCNET_LOG_LEVEL sets the
// level (default info); tests set it to silence servers they start.
import { pino, type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

export function rootLogger(): Logger {
  root ??= pino({ level: process.env.SVCNET_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
  return root;
}

/** A logger for one component ("apiserver", "controller/endpointslice", "agent", ...). */
export function logger(component: string): Logger {
  return rootLogger().child({ component });
}
