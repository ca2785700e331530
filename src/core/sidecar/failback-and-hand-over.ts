/**
 * When the sidecar core leaves the group to its peer or asks for it back: the planned hand-over
 * (SIGTERM, maintenance, a switchover; design §9.5, §9.6) and the fail-back to the preferred
 * primary (design §9.4). Readings only: nothing here changes what the core knows.
 */
import { NEVER } from './sidecar-memory';
import type { Failback } from './types';
import { WitnessSide } from './witness-side';

export abstract class FailbackAndHandOver extends WitnessSide {
  /** An operator's policy for the group wins over this node's --failback (§9.4). */
  protected failbackPolicy(): Failback {
    return this.witnessFailback ?? this.settings.failback;
  }

  /** Once stopped, this node gives the group to its peer: SIGTERM, maintenance, or a switchover asked of this run. */
  protected handsOverWhenStopped(): boolean {
    return this.leaving || this.witnessAskedHandOver();
  }

  /** The witness asked this run to hand the group over: maintenance, or a switchover (§9.6). */
  protected witnessAskedHandOver(): boolean {
    return this.inMaintenance || this.handOverFor === this.epoch;
  }

  /**
   * What the node tells its peer: stopped, released, and leaving the group to it (design §9.5,
   * §9.6). A switchover's hand-over lasts one timeout after the release, whatever epochs the node
   * hears meanwhile (the witness may tell of the peer's grant before the peer says it runs); after
   * that the node is an ordinary standby again.
   */
  protected handingOver(now: number): boolean {
    if (this.workload !== 'stopped' || this.holding) return false;
    if (this.leaving || this.inMaintenance) return true;
    return this.handOverFor === this.epoch && now < this.handOverWaitUntil;
  }

  /** The preferred primary, standing by while the secondary runs, asks for the group back. */
  protected wantsHandback(now: number): boolean {
    return (
      this.failbackPending(now) &&
      now >= this.ineligibleUntil &&
      now - this.lastWitnessHeard < this.settings.timeoutMs &&
      now - this.peerActiveSince >= this.settings.failbackDelayMs
    );
  }

  /** A fail-back waits for its delay (wantsHandback adds the rest of what it needs then). */
  protected failbackPending(now: number): boolean {
    return (
      this.settings.role === 'primary' &&
      this.failbackPolicy() === 'auto' &&
      // A node that tells its peer to take the group over does not also ask for it back.
      !this.handingOver(now) &&
      !this.leaving &&
      !this.inMaintenance &&
      this.workload === 'stopped' &&
      this.peerActiveSince !== NEVER
    );
  }

  /** The preferred primary, stopped and still heard from, asks this secondary for the group back. */
  protected handbackAsked(now: number): boolean {
    return (
      this.peerHeardWithinTimeout(now) &&
      this.settings.role === 'secondary' &&
      this.failbackPolicy() === 'auto' &&
      this.peer?.role === 'primary' &&
      this.peer.handbackRequested &&
      this.peer.workload === 'stopped'
    );
  }

  /**
   * The peer, still heard from, hands the group over (a planned stop, §9.5). A node says so only
   * once its workload has stopped, and the row acquire-peer-hands-over comes after
   * wait-peer-not-stopped, so a peer that said it while running would still be waited for.
   */
  protected peerHandsOver(now: number): boolean {
    return this.peerHeardWithinTimeout(now) && this.peer?.handingOver === true;
  }
}
