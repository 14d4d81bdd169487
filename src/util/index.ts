export { logger, rootLogger, type Logger } from './log.ts';
export { joinHostPort } from './net.ts';
export { eventually, untilPasses } from './eventually.ts';
export { pidAlive } from './process.ts';
