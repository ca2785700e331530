/** The runtime's log lines, when a schedule is traced, go into its timeline instead of stdout. */
import pino from 'pino';
import type { Logger } from '../log/logger';
import type { Trace } from './world';

export function traceLogger(trace: Trace, who: string): Logger {
  return pino(
    { level: 'info', base: undefined, timestamp: false },
    {
      write(line: string): void {
        const entry = JSON.parse(line) as { msg?: string; why?: string; epoch?: string; knownEpoch?: string };
        const epoch = entry.epoch === undefined ? '' : ` ${trace.epoch(BigInt(entry.epoch))}`;
        trace.log(1, who, `${entry.msg ?? ''}${epoch}${entry.why === undefined ? '' : `: ${entry.why}`}`);
      },
    },
  );
}
