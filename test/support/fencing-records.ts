/**
 * What the PostgreSQL fencing example (deploy/examples/postgres-fencing) leaves behind, parsed: the
 * writers' outcome lines, the stored writes, and the refusals the server logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './deploy-files';
import type { PostgresServer } from './postgres-server';

export const FENCING_EXAMPLE_DIR = path.join(REPO_ROOT, 'deploy', 'examples', 'postgres-fencing');
export const FENCING_SQL = path.join(FENCING_EXAMPLE_DIR, 'fencing.sql');
export const FENCING_WRITER = path.join(FENCING_EXAMPLE_DIR, 'writer.sh');

/** One write attempt as a writer saw it. */
export interface Outcome {
  readonly node: string;
  readonly epoch: bigint;
  readonly sequence: number;
  readonly result: 'ok' | 'refused' | 'failed';
  /** Its place in the database's order, for a stored write. */
  readonly attempt?: number;
}

/** A write attempt as the database decided it: stored (a row) or refused (a logged error). */
export interface Decided {
  readonly attempt: number;
  readonly node: string;
  readonly epoch: bigint;
  readonly sequence: number;
}

/** The outcome lines of writer.sh (none yet when the file does not exist). */
export function readOutcomes(file: string): Outcome[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [node, epoch, sequence, result, attempt] = line.split(' ');
      if (result !== 'ok' && result !== 'refused' && result !== 'failed') throw new Error(`bad outcome line: ${line}`);
      return {
        node: node!,
        epoch: BigInt(epoch!),
        sequence: Number(sequence),
        result,
        ...(attempt === undefined ? {} : { attempt: Number(attempt) }),
      };
    });
}

/** The stored writes, in the order the database decided them. */
export function storedWrites(pg: PostgresServer): Decided[] {
  const rows = pg.psql({ command: 'SELECT attempt, node, epoch, sequence FROM fenced_writes ORDER BY attempt' });
  return rows
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [attempt, node, epoch, sequence] = line.split(' ');
      return { attempt: Number(attempt), node: node!, epoch: BigInt(epoch!), sequence: Number(sequence) };
    });
}

const REFUSAL = /ERROR: +fenced_write refused: node=(\S+) epoch=(\d+) sequence=(\d+) attempt=(\d+) highest=\d+/;

/** The refused writes, from the server's log (a refusal rolls back: the tables keep no trace). */
export function refusedWrites(pg: PostgresServer): Decided[] {
  return fs
    .readFileSync(pg.logFile, 'utf8')
    .split('\n')
    .flatMap((line) => {
      const m = REFUSAL.exec(line);
      if (m === null) return [];
      return [{ node: m[1]!, epoch: BigInt(m[2]!), sequence: Number(m[3]), attempt: Number(m[4]) }];
    });
}
