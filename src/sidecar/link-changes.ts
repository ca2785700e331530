/**
 * The sidecar's own events (design §18): its peer or the witness falling silent (not heard within
 * the timeout) and being heard again, noticed at the decision after the change, which comes at
 * least every heartbeat. Each is one log line, so an operator reading a standby's log sees why it
 * took over, or did not.
 */
import type { SidecarView } from '../core/sidecar/types';

export type LinkChange = 'peer-lost' | 'peer-regained' | 'witness-lost' | 'witness-regained';

const SAYS: Record<LinkChange, string> = {
  'peer-lost': 'the peer has not been heard within the timeout',
  'peer-regained': 'the peer is heard again',
  'witness-lost': 'the witness has not been heard within the timeout',
  'witness-regained': 'the witness is heard again',
};

export class LinkChanges {
  /** undefined until first heard: a link not heard yet is not "lost", and its first contact is no news. */
  private peerUp: boolean | undefined;
  private witnessUp: boolean | undefined;

  constructor(private readonly hasWitness: boolean) {}

  /** The changes since the last call, each with its sentence. */
  since(view: SidecarView): { change: LinkChange; says: string }[] {
    const changes: LinkChange[] = [];
    const peer = changeOf(this.peerUp, view.peerUp, 'peer-lost', 'peer-regained');
    if (this.peerUp !== undefined || view.peerUp) this.peerUp = view.peerUp;
    if (peer !== undefined) changes.push(peer);
    if (this.hasWitness) {
      const witness = changeOf(this.witnessUp, view.witnessUp, 'witness-lost', 'witness-regained');
      if (this.witnessUp !== undefined || view.witnessUp) this.witnessUp = view.witnessUp;
      if (witness !== undefined) changes.push(witness);
    }
    return changes.map((change) => ({ change, says: SAYS[change] }));
  }
}

function changeOf(
  before: boolean | undefined,
  now: boolean,
  lost: LinkChange,
  regained: LinkChange,
): LinkChange | undefined {
  if (before === undefined || before === now) return undefined;
  return now ? regained : lost;
}
