/**
 * Mutants of the sidecar's core: its four SAFETY rules and the guards that keep a workload from
 * starting or running. Snippets are short so that a refactor breaks few of them, and each one
 * that no longer matches is named by the runner.
 */
import { type Mutant, oneEdit } from './mutant';

const CORE = 'src/core/sidecar/sidecar-core.ts';
const TABLES = 'src/core/sidecar/behaviour-tables.ts';
const TIMING = 'src/core/sidecar/timing.ts';

export const SIDECAR_MUTANTS: readonly Mutant[] = [
  // SAFETY 1: the stop budget.
  oneEdit(
    'active-ignores-stop-budget',
    CORE,
    'const budget = stopBudget(this.settings);',
    'const budget = 0;',
    'SAFETY 1: the running node keeps running until its lease ends, leaving no time to stop',
  ),
  oneEdit(
    'watchdog-deadline-without-budget',
    CORE,
    'return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings);',
    'return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil);',
    "SAFETY 1: the watchdog's deadline is the lease's end, not the moment the stop must begin",
  ),
  {
    // Each of the two above alone is covered by the other: the core's stop and the watchdog's.
    id: 'stop-budget-ignored-by-core-and-watchdog',
    file: CORE,
    edits: [
      { find: 'const budget = stopBudget(this.settings);', replace: 'const budget = 0;' },
      {
        find: 'return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings);',
        replace: 'return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil);',
      },
    ],
    description: 'SAFETY 1: neither the core nor the watchdog it feeds leaves time to stop before the lease ends',
  },
  oneEdit(
    'start-without-usable-lease',
    CORE,
    'if (now < Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings)) {',
    'if (now < Math.max(this.witnessLeaseUntil, this.peerLeaseUntil)) {',
    'start only with a usable lease: a grant starts the workload while its lease outlasts now, not the stop budget',
  ),
  oneEdit(
    'stop-budget-without-kill-settle',
    TIMING,
    'return s.stopTimeoutMs + KILL_SETTLE_MS + s.bounds.marginMs;',
    'return s.stopTimeoutMs + s.bounds.marginMs;',
    'SAFETY 1: the stop budget leaves out the time to reap a SIGKILLed workload',
  ),
  oneEdit(
    'settings-accept-no-slack',
    TIMING,
    'if (usable < HEARTBEATS_OF_SLACK * s.heartbeatMs) {',
    'if (usable < 0) {',
    'settingsProblems accepts a lease that leaves no heartbeat between a renewal and the stop',
  ),

  // SAFETY 2: leases counted from the send time, only for the current epoch and run.
  oneEdit(
    'witness-lease-from-receipt',
    CORE,
    'holderLeaseEnd(sentAt, answer.leaseMs, this.settings.bounds),',
    'holderLeaseEnd(now, answer.leaseMs, this.settings.bounds),',
    'SAFETY 2: a renewed witness lease is counted from when the answer arrived, not when the heartbeat left',
  ),
  oneEdit(
    'grant-lease-from-receipt',
    CORE,
    'const leaseUntil = holderLeaseEnd(sentAt,',
    'const leaseUntil = holderLeaseEnd(now,',
    'SAFETY 2: a granted lease is counted from when the Acquire answer arrived',
  ),
  oneEdit(
    'peer-lease-from-receipt',
    CORE,
    'holderLeaseEnd(sentAt, reply.leaseMs, this.settings.bounds)',
    'holderLeaseEnd(now, reply.leaseMs, this.settings.bounds)',
    'SAFETY 2: a peer lease is counted from when the reply arrived',
  ),
  oneEdit(
    'peer-lease-for-any-epoch',
    CORE,
    '      reply.leaseForEpoch === this.epoch &&\n',
    '',
    'SAFETY 2: a peer lease granted for another epoch keeps this run going',
  ),
  oneEdit(
    'peer-lease-asked-under-other-epoch',
    CORE,
    '      sentEpoch === this.epoch &&\n',
    '',
    'SAFETY 2: a peer lease asked for under an earlier epoch keeps this run going',
  ),
  oneEdit(
    'peer-lease-asked-before-run',
    CORE,
    'sentAt >= this.runStartedAt',
    'sentAt >= Number.NEGATIVE_INFINITY',
    'SAFETY 2: a peer lease asked for before this run started keeps it going',
  ),
  {
    // The two epoch checks are one given a peer that echoes the epoch it was asked under, and a
    // run's epoch is its own since every run acquires anew: only all three together say much.
    id: 'peer-lease-unchecked',
    file: CORE,
    edits: [
      { find: '      reply.leaseForEpoch === this.epoch &&\n', replace: '' },
      { find: '      sentEpoch === this.epoch &&\n', replace: '' },
      { find: 'sentAt >= this.runStartedAt', replace: 'sentAt >= Number.NEGATIVE_INFINITY' },
    ],
    description: 'SAFETY 2: any peer lease keeps the run going, whatever epoch or run it was asked and granted for',
  },
  oneEdit(
    'peer-lease-while-not-running',
    CORE,
    '      this.mayBeRunning() &&\n      reply.leaseForEpoch',
    '      reply.leaseForEpoch',
    'SAFETY 2: a peer lease is counted while the workload is stopped or stopping',
  ),
  oneEdit(
    'witness-answer-for-any-epoch',
    CORE,
    'if (heldEpoch === 0n || heldEpoch !== this.epoch) return;',
    'if (heldEpoch === 0n) return;',
    'SAFETY 2: a witness answer to a heartbeat sent under an earlier epoch counts for this one',
  ),
  oneEdit(
    'late-renewal-counted',
    CORE,
    "if (answer.verdict === 'renewed' && !this.mayBeRunning()) return;",
    '',
    'late-renewal ignore: a renewal answered after the workload stopped extends the lease',
  ),

  // Superseded: the witness refused this node's epoch.
  oneEdit(
    'superseded-ignored',
    CORE,
    "} else if (answer.verdict === 'refused') {",
    '} else if (false as boolean) {',
    'superseded stop: a refusal of the running epoch changes nothing; the node runs out its leases',
  ),
  oneEdit(
    'peer-newer-epoch-ignored',
    CORE,
    'this.peer.epoch > this.epoch) {',
    'this.peer.epoch > this.epoch && (false as boolean)) {',
    'the running node does not stop for a peer that runs under a newer epoch',
  ),

  // SAFETY 3: promises and the quiet period.
  oneEdit(
    'acquire-despite-promise',
    CORE,
    'if (now < this.promiseUntil || now < this.quietUntil) return false;',
    'if (now < this.quietUntil) return false;',
    'SAFETY 3: the standby asks the witness while a peer lease it granted may still run',
  ),
  oneEdit(
    'no-quiet-after-restart',
    CORE,
    'this.quietUntil = grantorHoldEnd(now, settings.peerLeaseMs, settings.bounds);',
    'this.quietUntil = now;',
    'SAFETY 3: a restarted sidecar, which forgot its promises, asks the witness at once',
  ),
  oneEdit(
    'promise-without-drift',
    CORE,
    'grantorHoldEnd(now, this.settings.peerLeaseMs, this.settings.bounds),',
    'now + this.settings.peerLeaseMs,',
    "SAFETY 3: a promise lasts the bare peer lease, without the grantor's drift and margin",
  ),
  oneEdit(
    'promise-dropped-on-old-stop',
    CORE,
    "if (state.workload === 'stopped' && state.epoch >= this.promisedEpoch) this.promiseUntil = NEVER;",
    "if (state.workload === 'stopped') this.promiseUntil = NEVER;",
    'SAFETY 3: any "stopped" from the peer, even under an epoch older than the promise, ends the promise',
  ),
  oneEdit(
    'peer-lease-for-epoch-zero',
    CORE,
    ' && peer.epoch > 0n;',
    ';',
    'mayGrantPeerLease: a peer lease is granted to a peer running under no epoch',
  ),
  oneEdit(
    'peer-lease-granted-while-not-stopped',
    CORE,
    "peerRuns && this.workload === 'stopped' && !this.holding",
    'peerRuns && !this.holding',
    'mayGrantPeerLease: a node whose own workload starts, runs or stops grants peer leases',
  ),
  oneEdit(
    'peer-lease-granted-while-holding',
    CORE,
    ' && !this.holding && !this.acquiring(now)',
    ' && !this.acquiring(now)',
    'mayGrantPeerLease: a node the witness may still record as holder grants peer leases',
  ),
  oneEdit(
    'peer-lease-granted-while-acquiring',
    CORE,
    ' && !this.acquiring(now) && !this.startRequested',
    ' && !this.startRequested',
    'SAFETY 4 / mayGrantPeerLease: a node with an Acquire in flight grants peer leases',
  ),
  oneEdit(
    'peer-lease-granted-with-start-pending',
    CORE,
    ' && !this.startRequested;',
    ';',
    'mayGrantPeerLease: a node with a grant in hand, about to start, grants peer leases',
  ),

  // SAFETY 4: an Acquire counts as in flight.
  oneEdit(
    'lost-acquire-answer-ends-flight',
    CORE,
    'if (this.acquireSentAt === sentAt && answer !== undefined) this.acquireSentAt = undefined;',
    'if (this.acquireSentAt === sentAt) this.acquireSentAt = undefined;',
    'SAFETY 4: a failed Acquire (which may still have been granted) no longer counts as in flight',
  ),
  oneEdit(
    'acquire-in-flight-one-heartbeat',
    CORE,
    'if (now >= holderLeaseEnd(this.acquireSentAt, this.settings.leaseMs, this.settings.bounds)) {',
    'if (now >= this.acquireSentAt + this.settings.heartbeatMs) {',
    'SAFETY 4: an Acquire counts as in flight for one heartbeat, not until its grant could no longer be used',
  ),
  oneEdit(
    'acquire-while-acquiring',
    CORE,
    'if (this.acquiring(now) || now < this.refusedUntil || now < this.ineligibleUntil) return false;',
    'if (now < this.refusedUntil || now < this.ineligibleUntil) return false;',
    'a standby sends a second Acquire while the first is in flight',
  ),

  // Other guards that keep a workload from starting or running.
  oneEdit(
    'acquire-while-peer-active',
    CORE,
    "    if (peer.workload !== 'stopped') return false; // the peer runs, starts or stops: stay stopped\n",
    '',
    'a node that hears its peer run (or start, or stop) still asks the witness for the group',
  ),
  oneEdit(
    'running-report-after-stop',
    CORE,
    "if (phase === 'running' && this.workload !== 'starting') return;",
    '',
    "a 'running' report that crosses a stop undoes the stop",
  ),
  oneEdit(
    'grant-while-not-stopped',
    CORE,
    "if (this.workload !== 'stopped') return; // cannot happen: a running node does not acquire\n",
    '',
    'a grant that arrives while the workload starts, runs or stops is taken (a new epoch under a live run)',
  ),
  oneEdit(
    'release-while-stopping',
    CORE,
    "if (this.workload === 'stopping') return [];\n    return this.decideStopped(now);",
    'return this.decideStopped(now);',
    'a stopping node decides as if stopped: it releases the group before its workload is dead',
  ),
  oneEdit(
    'release-answer-for-any-epoch',
    CORE,
    'if (epoch === this.epoch) this.holding = false;',
    'this.holding = false;',
    'the answer to the release of an earlier epoch ends the holding of the current one',
  ),
  oneEdit(
    'restart-without-holding',
    CORE,
    'if (this.holding && this.restarts <= this.settings.maxRestarts) {',
    'if (this.restarts <= this.settings.maxRestarts) {',
    'restart: a workload that exited is restarted (through Acquire, past promises) although the node no longer holds',
  ),
  oneEdit(
    'restart-under-same-epoch',
    CORE,
    'if (now < this.restartAt || this.acquiring(now) || now < this.refusedUntil) return [];',
    'if (now < this.restartAt || this.acquiring(now) || now < this.refusedUntil) return [];\n' +
      '      if (now < this.witnessLeaseUntil - stopBudget(this.settings)) {\n' +
      '        this.restartWanted = false;\n' +
      "        return [this.start('restart under the epoch it ran', now)];\n" +
      '      }',
    'the restart-new-epoch path: a workload that exited starts again under its old epoch while the lease lasts',
  ),
  oneEdit(
    'holding-dropped-with-release-in-flight',
    CORE,
    'if (this.holding && now >= this.witnessLeaseUntil && !this.releaseInFlight) {',
    'if (this.holding && now >= this.witnessLeaseUntil) {',
    'a node whose lease ran out stops counting itself holder while its Release is still in flight',
  ),

  // The VOLTTRON tables the core consults.
  oneEdit(
    'active-runs-without-both',
    TABLES,
    "    action: 'stop',\n    why: 'lost both the peer and the witness",
    "    action: 'run',\n    why: 'lost both the peer and the witness",
    'ACTIVE_TABLE: the running node keeps running with neither a peer nor a witness lease',
  ),
  oneEdit(
    'standby-asks-unreachable-witness',
    TABLES,
    "{ peer: 'down', witness: 'down', action: 'stay-stopped',",
    "{ peer: 'down', witness: 'down', action: 'ask-witness',",
    'STANDBY_TABLE: with the peer gone, the standby asks a witness it has not heard for the timeout',
  ),
];
