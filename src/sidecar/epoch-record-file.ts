/**
 * --state-dir's epoch record (design §10.2): `DIR/epochs.json`, the highest epoch this node has
 * seen, written before it is counted on (a temp file, fsync, rename, fsync of the directory), so a
 * crash leaves the old record or the new one, never a torn one. Read at start; a record that cannot
 * be read or is not this node's stops the start with a clear error and is never reset silently:
 * forgetting epochs is what would let a cold start repeat one (S2).
 */
import fs from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config/load-config';
import type { EpochRecordAtStart } from '../core/sidecar/types';
import type { EpochRecord } from './sidecar-ports';

const FILE = 'epochs.json';
const VERSION = 1;
const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

export class EpochRecordFile implements EpochRecord {
  private writing: Promise<void> = Promise.resolve();
  /** The highest epoch asked to be written: a record never goes down, whatever order writes are asked in. */
  private highest: bigint;

  private constructor(
    private readonly dir: string,
    private readonly who: { group: string; node: string },
    readonly atStart: EpochRecordAtStart,
  ) {
    this.highest = atStart.knownEpoch;
  }

  /** Reads DIR/epochs.json (none yet: nothing seen); a ConfigError naming stateDir when it cannot be trusted. */
  static open(dir: string, who: { group: string; node: string }): EpochRecordFile {
    const file = path.join(dir, FILE);
    try {
      // A directory this process cannot write to would fail the first start, far from here.
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (error) {
      throw new ConfigError('stateDir', `stateDir (--state-dir): ${dir} is not writable: ${(error as Error).message}`);
    }
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new EpochRecordFile(dir, who, { knownEpoch: 0n });
      throw unreadable(file, (error as Error).message);
    }
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      throw unreadable(file, 'it is not JSON (a torn or edited file)');
    }
    const r = (typeof record === 'object' && record !== null ? record : {}) as Record<string, unknown>;
    if (r.version !== VERSION || typeof r.knownEpoch !== 'string' || !DECIMAL.test(r.knownEpoch)) {
      throw unreadable(file, `it is not a version ${VERSION} epoch record`);
    }
    if (r.group !== who.group || r.node !== who.node) {
      throw new ConfigError(
        'stateDir',
        `stateDir (--state-dir): ${file} is the record of node ${String(r.node)} of group ${String(r.group)}, not of ${who.node} of ${who.group}: give each sidecar its own --state-dir`,
      );
    }
    return new EpochRecordFile(dir, who, { knownEpoch: BigInt(r.knownEpoch) });
  }

  write(epoch: bigint, done: (ok: boolean) => void): void {
    if (epoch > this.highest) this.highest = epoch;
    const text = JSON.stringify({ version: VERSION, ...this.who, knownEpoch: this.highest.toString() });
    // One write at a time, in order: a later, higher epoch lands after an earlier one.
    this.writing = this.writing.then(() =>
      this.replace(text).then(
        () => done(true),
        () => done(false),
      ),
    );
  }

  private async replace(text: string): Promise<void> {
    const target = path.join(this.dir, FILE);
    const temp = `${target}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(`${text}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

function unreadable(file: string, why: string): ConfigError {
  return new ConfigError(
    'stateDir',
    `stateDir (--state-dir): ${file} cannot be read (${why}); it is never reset silently: restore it from a copy. Removing it is safe only once the witness has heard every epoch this pair ran under (both sidecars up and heard by it); otherwise a later epoch may repeat one`,
  );
}
