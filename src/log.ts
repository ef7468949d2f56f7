import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one root logger. JSON always, except when a person reads a terminal
 * (stdout is a TTY and LOG_PRETTY is not 0): then pino-pretty.
 */
export function createLogger(level: string, name?: string): Logger {
  const pretty = process.stdout.isTTY === true && process.env.LOG_PRETTY !== '0';
  return pino({
    level,
    base: name === undefined ? { pid: process.pid } : { pid: process.pid, node: name },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l' } } } : {}),
  });
}
