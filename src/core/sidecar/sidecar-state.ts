/**
 * The run of a sidecar core: the supervisor's reports of its workload, and the run kept across a
 * restart of the sidecar process (design §9.8); and the view of it all. This class tops those
 * that hold what the core knows and how each input changes it (sidecar-memory.ts and the files
 * it names). The decisions are in sidecar-core.ts, which extends this class; nothing else should.
 */
import { assert } from '../assert';
import { maxEpoch } from '../epoch';
import { holderLeaseEnd, remainingMs } from '../lease';
import { PeerSide } from './peer-side';
import { NEVER } from './sidecar-memory';
import { stopBudget } from './timing';
import type { KeptRun, SidecarView } from './types';

export abstract class SidecarState extends PeerSide {
  /** The supervisor's report: the workload runs, has stopped, or exited by itself. */
  onWorkload(phase: 'running' | 'stopped', now: number, exitedByItself = false): void {
    this.assertRunHeld();
    // A 'running' report that crosses a stop must not undo it.
    if (phase === 'running' && this.workload !== 'starting') return;
    const wasRunning = this.workload === 'running' || this.workload === 'starting';
    this.workload = phase;
    if (phase === 'stopped') {
      // Its copy was the source until now: news for the freshness gate (design §21.1).
      this.onWitnessNews(now);
      this.peerLeaseUntil = NEVER;
      if (exitedByItself && wasRunning) {
        // Back off before any restart, also in simple mode: a command that fails at once must
        // not be respawned in a tight loop.
        this.restarts += 1;
        this.restartAt = now + this.settings.restartBackoffMs * 2 ** Math.min(this.restarts - 1, 6);
        if (this.settings.mode === 'standard' && !this.handsOverWhenStopped()) this.heldRunExited(now);
      }
    }
  }

  /** A run of standard mode exited by itself (held: onWorkload asserts it): run it again, or give up. */
  private heldRunExited(now: number): void {
    if (this.restarts <= this.settings.maxRestarts) {
      this.restartWanted = true;
    } else {
      this.ineligibleUntil = now + this.settings.failureCooldownMs;
      this.lastDecision = `workload exited ${this.restarts} times: giving the group up`;
    }
  }

  /**
   * The run to keep for the next process when this one exits for a restart (design §9.8): only a
   * held, running run of standard mode whose stop has not begun. Its leases go with it unchanged:
   * they were earned by this node's requests, and the next process may extend them only with
   * answers to its own.
   */
  keptRun(now: number): KeptRun | undefined {
    if (this.settings.mode !== 'standard' || this.workload !== 'running' || !this.holding) return undefined;
    if (now >= this.stopDeadline()) return undefined;
    return {
      group: this.settings.group,
      node: this.settings.node,
      epoch: this.epoch,
      knownEpoch: this.knownEpoch,
      witnessLeaseUntil: this.witnessLeaseUntil,
      peerLeaseUntil: this.peerLeaseUntil,
    };
  }

  /**
   * Keeps the run for the next process (design §9.8): `keptRun`, with the witness lease cut to at
   * most one peer lease from now. A next process that does not adopt the run (another
   * --state-dir, a watchdog gone) waits one peer lease from its own start before it asks the
   * witness (§9.2), which would grant this node a new epoch at once: the kept run must be over by
   * then, whatever lease the witness gave. The peer lease already ends within it (counted from
   * sends before now). The shell feeds the watchdog the shorter deadline before it keeps the run.
   */
  keepRun(now: number): KeptRun | undefined {
    if (this.keptRun(now) === undefined) return undefined;
    this.witnessLeaseUntil = Math.min(
      this.witnessLeaseUntil,
      holderLeaseEnd(now, this.settings.peerLeaseMs, this.settings.bounds),
    );
    return this.keptRun(now);
  }

  /**
   * The first input of a new process that finds the run its predecessor kept (design §9.8): the
   * workload runs under that epoch on those leases, as if this process had started it. Heartbeats
   * sent from now on may extend them; if none does in time, the rows stop it at the same deadline
   * the watchdog was already enforcing. A promise to the peer cannot be standing: a running node
   * makes none (SAFETY 3), and none stood when its run started. So nothing was forgotten, and this
   * process owes no quiet period: a run that exits by itself is asked again at once, as before.
   */
  adopt(run: KeptRun, now: number): void {
    assert(
      this.settings.mode === 'standard' && this.workload === 'stopped' && !this.holding && this.lastRule === '',
      'only a fresh standard-mode core adopts a kept run',
    );
    assert(
      run.group === this.settings.group && run.node === this.settings.node,
      () => `a kept run of ${run.group}/${run.node} is not this node's`,
    );
    assert(run.epoch > 0n && run.knownEpoch >= run.epoch, 'a kept run has a granted epoch');
    this.workload = 'running';
    this.holding = true;
    this.epoch = run.epoch;
    this.knownEpoch = maxEpoch(this.knownEpoch, run.knownEpoch);
    this.witnessLeaseUntil = run.witnessLeaseUntil;
    this.peerLeaseUntil = run.peerLeaseUntil;
    this.runStartedAt = now;
    this.quietUntil = NEVER;
    this.lastDecision = `adopted the run of epoch ${run.epoch} kept by the previous sidecar process`;
    this.assertDeadlineFinite();
  }

  view(now: number): SidecarView {
    const running = this.mayBeRunning();
    return {
      workload: this.workload,
      epoch: this.epoch,
      knownEpoch: this.knownForWitness(),
      holding: this.holding,
      peerUp: now - this.lastPeerHeard < this.settings.timeoutMs,
      witnessUp: now - this.lastWitnessHeard < this.settings.timeoutMs,
      msUntilStop: running
        ? remainingMs(Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings), now)
        : 0,
      witnessLeaseMs: running ? remainingMs(this.witnessLeaseUntil, now) : 0,
      peerLeaseMs: running ? remainingMs(this.peerLeaseUntil, now) : 0,
      lastDecision: this.lastDecision,
      lastRule: this.lastRule,
      failbackInMs: this.failbackPending(now)
        ? remainingMs(this.peerActiveSince + this.settings.failbackDelayMs, now)
        : -1,
    };
  }
}
