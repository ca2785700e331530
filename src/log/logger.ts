/** pino JSON lines on stdout. Arbitration events carry `group`, `node` and `epoch` as fields. */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(program: string, level: string): Logger {
  return pino({ level, base: { program, pid: process.pid } });
}
