export { logger, rootLogger, type Logger } from './log.ts';
