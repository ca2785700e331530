/**
 * The file store's view of its group records: what it loaded at open and what each put that
 * resolved wrote. A put's precondition is checked against this view, not against the file on disk:
 * the data directory's lock makes this process the only writer, so the view is the disk as far as
 * anyone was told; and a put that failed after its rename (the directory fsync failed) leaves the
 * new record in the file while the Arbiter rolled the decision back, so comparing with the file
 * would refuse every later write of that group although Arbiter and store agree. It costs no read.
 */
import { asExpected, holdsExpected } from '../../core/witness/expected-record';
import type { DurableGroup, DurableWrite } from '../../core/witness/types';
import { StorePreconditionError } from './witness-store';

export class AcknowledgedRecords {
  private readonly byGroup = new Map<string, DurableGroup>();

  constructor(records: readonly DurableGroup[] = []) {
    for (const record of records) this.written(record);
  }

  /** Throws a StorePreconditionError, naming what was found, when the write's precondition fails. */
  check({ record, expected }: DurableWrite): void {
    const stored = this.byGroup.get(record.group);
    if (!holdsExpected(expected, stored)) throw new StorePreconditionError(record.group, expected, asExpected(stored));
  }

  /** The record is durable: later writes of its group expect it. */
  written({ group, holder, epoch }: DurableGroup): void {
    this.byGroup.set(group, { group, holder, epoch });
  }

  /** The group's record is durably gone: its next write expects none. */
  removed(group: string): void {
    this.byGroup.delete(group);
  }
}
