/**
 * Mutants of the sidecar's core: its four SAFETY rules and the guards that keep a workload from
 * starting or running, in their places since the core became rule lists: a row's condition in
 * decision-rules.ts, a check of how an input changes the state in sidecar-memory.ts or a class
 * above it (witness-side.ts, failback-and-hand-over.ts, peer-side.ts, sidecar-state.ts), an input
 * the core computes for its rows in sidecar-core.ts. Where an invariant assertion (src/core/assert.ts)
 * stands behind a guard, the guard alone is caught by the assertion; its `-unasserted` pair
 * removes the assertion too, so that the simulator's own checks must catch the behaviour.
 * Snippets are short so that a refactor breaks few of them, and each one that no longer matches
 * is named by the runner.
 */
import { type Mutant, oneEdit } from './mutant';
import {
  CORE,
  MEMORY,
  WITNESS_SIDE,
  HAND_OVER,
  PEER_SIDE,
  STATE,
  RULES,
  TIMING,
  rowRemoved,
  NO_PROMISE_ASSERT,
  NO_QUIET_ASSERT,
  NO_RELEASE_ASSERT,
  NO_START_PROMISE_ASSERT,
  NO_GRANT_ASSERTS,
  NO_DEADLINE_ASSERT,
  unasserted,
} from './sidecar-mutant-edits';

const ACQUIRE_DESPITE_PROMISE = rowRemoved(
  'acquire-despite-promise',
  '(c) => c.promiseOutstanding',
  'SAFETY 3: row wait-promise-to-peer removed: the standby asks the witness while a peer lease it granted may still run',
);
const NO_QUIET_ROW = rowRemoved(
  'no-quiet-row',
  '(c) => c.inQuietPeriod',
  'SAFETY 3: row wait-quiet-after-start removed: a restarted sidecar asks the witness at once',
);
const RELEASE_WHILE_STOPPING = oneEdit(
  'release-while-stopping',
  CORE,
  "if (this.workload !== 'stopped') return this.carry(ACTIVE_RULES",
  'if (this.mayBeRunning()) return this.carry(ACTIVE_RULES',
  'a stopping node decides on the stopped rows: it releases the group before its workload is dead',
);
const GRANT_WHILE_NOT_STOPPED = oneEdit(
  'grant-while-not-stopped',
  WITNESS_SIDE,
  "    if (this.workload !== 'stopped') return;\n",
  '',
  'a grant that arrives while the workload starts, runs or stops is taken (a new epoch under a live run)',
);
const ACQUIRE_WHILE_ACQUIRING = rowRemoved(
  'acquire-while-acquiring',
  '(c) => c.acquireInFlight',
  'SAFETY 4: row wait-acquire-in-flight removed: a standby sends a second Acquire while the first is in flight',
);
const RESTART_WHILE_ACQUIRING = rowRemoved(
  'restart-while-acquiring',
  '(c) => c.restartWanted && c.acquireInFlight',
  'SAFETY 4: row wait-restart-acquire-in-flight removed: a restart sends a second Acquire while the first is in flight',
);
const PEER_LEASE_ENDLESS = oneEdit(
  'peer-lease-endless',
  PEER_SIDE,
  'this.peerLeaseUntil = Math.max(this.peerLeaseUntil, holderLeaseEnd(sentAt, reply.leaseMs, this.settings.bounds));',
  'this.peerLeaseUntil = Number.POSITIVE_INFINITY;',
  'SAFETY 1: a peer lease, once granted, never runs out (a run without a finite deadline)',
);

const PEER_LEASE_WHILE_ACQUIRING = oneEdit(
  'peer-lease-granted-while-acquiring',
  PEER_SIDE,
  'peerRuns && !this.holding && !this.acquiring(now);',
  'peerRuns && !this.holding;',
  'SAFETY 4 / mayGrantPeerLease: a node with an Acquire in flight grants peer leases',
);

/** The block of a row in decision-rules.ts, by its name and condition (moved by the reorder mutants). */
const STOP_LOST_BOTH_ROW =
  "  {\n    name: 'stop-lost-peer-and-witness',\n    when: (c) => !c.peerLeaseUp && !c.witnessLeaseUp,\n" +
  "    outcome: 'stop',\n    why: tableWhy(ACTIVE_TABLE, 'down', 'down'),\n  },\n";
const RUN_BOTH_ROW =
  "  {\n    name: 'run-both-leases-hold',\n    when: (c) => c.peerLeaseUp && c.witnessLeaseUp,\n" +
  "    outcome: 'keep-running',\n    why: tableWhy(ACTIVE_TABLE, 'up', 'up'),\n  },\n";
const LAST_ACTIVE_ROW_END = "    why: tableWhy(ACTIVE_TABLE, 'down', 'up'),\n  },\n";
const WAIT_WHILE_STOPPING_END =
  "    why: 'the workload is stopping: nothing more to decide until the supervisor reports it stopped',\n  },\n";

export const SIDECAR_MUTANTS: readonly Mutant[] = [
  // SAFETY 1: the stop budget.
  oneEdit(
    'active-ignores-stop-budget',
    CORE,
    'const budget = stopBudget(this.settings);',
    'const budget = 0;',
    'SAFETY 1: activeInputs counts a lease as up until it ends, leaving no time to stop',
  ),
  oneEdit(
    'watchdog-deadline-without-budget',
    MEMORY,
    'return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings);',
    'return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil);',
    "SAFETY 1: stopDeadline (the watchdog's deadline and the running node's wake-up) is the lease's end",
  ),
  {
    // Each of the two above alone is covered by the other: the core's stop and the watchdog's.
    id: 'stop-budget-ignored-by-core-and-watchdog',
    file: CORE,
    edits: [
      { find: 'const budget = stopBudget(this.settings);', replace: 'const budget = 0;' },
      {
        file: MEMORY,
        find: 'return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings);',
        replace: 'return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil);',
      },
    ],
    description: 'SAFETY 1: neither the core nor the watchdog it feeds leaves time to stop before the lease ends',
  },
  oneEdit(
    'start-without-usable-lease',
    CORE,
    'grantUsable: now < Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(s),',
    'grantUsable: now < Math.max(this.witnessLeaseUntil, this.peerLeaseUntil),',
    'start only with a usable lease: a grant starts the workload while its lease outlasts now, not the stop budget',
  ),
  oneEdit(
    'start-on-any-grant',
    RULES,
    'when: (c) => c.grantArrived && c.grantUsable,',
    'when: (c) => c.grantArrived,',
    'row start-on-grant without grantUsable: any grant starts the workload, even one whose lease has run out',
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
  rowRemoved(
    'active-runs-without-both',
    '(c) => !c.peerLeaseUp && !c.witnessLeaseUp',
    'row stop-lost-peer-and-witness removed: the running node keeps running with neither a peer nor a witness lease',
  ),
  {
    id: 'stop-lost-both-below-run',
    file: RULES,
    edits: [
      { find: STOP_LOST_BOTH_ROW, replace: '' },
      { find: LAST_ACTIVE_ROW_END, replace: LAST_ACTIVE_ROW_END + STOP_LOST_BOTH_ROW },
    ],
    description: 'ACTIVE_RULES: stop-lost-peer-and-witness moved below run-on-witness-lease (which always holds)',
  },
  {
    id: 'run-both-above-stop-rows',
    file: RULES,
    edits: [
      { find: RUN_BOTH_ROW, replace: '' },
      { find: WAIT_WHILE_STOPPING_END, replace: WAIT_WHILE_STOPPING_END + RUN_BOTH_ROW },
    ],
    description:
      'ACTIVE_RULES: run-both-leases-hold moved above the stop rows (superseded, hand-back, newer peer epoch)',
  },
  PEER_LEASE_ENDLESS,
  unasserted(PEER_LEASE_ENDLESS, NO_DEADLINE_ASSERT),

  // SAFETY 2: leases counted from the send time, only for the current epoch and run.
  oneEdit(
    'witness-lease-from-receipt',
    WITNESS_SIDE,
    'holderLeaseEnd(sentAt, answer.leaseMs, this.settings.bounds),',
    'holderLeaseEnd(now, answer.leaseMs, this.settings.bounds),',
    'SAFETY 2: a renewed witness lease is counted from when the answer arrived, not when the heartbeat left',
  ),
  oneEdit(
    'grant-lease-from-receipt',
    WITNESS_SIDE,
    'const leaseUntil = holderLeaseEnd(sentAt,',
    'const leaseUntil = holderLeaseEnd(now,',
    'SAFETY 2: a granted lease is counted from when the Acquire answer arrived',
  ),
  oneEdit(
    'peer-lease-from-receipt',
    PEER_SIDE,
    'Math.max(this.peerLeaseUntil, holderLeaseEnd(sentAt, reply.leaseMs, this.settings.bounds))',
    'Math.max(this.peerLeaseUntil, holderLeaseEnd(now, reply.leaseMs, this.settings.bounds))',
    'SAFETY 2: a peer lease is counted from when the reply arrived',
  ),
  oneEdit(
    'peer-lease-asked-before-run',
    PEER_SIDE,
    'sentAt >= this.runStartedAt',
    'sentAt >= Number.NEGATIVE_INFINITY',
    'SAFETY 2: a peer lease asked for before this run started (under an earlier epoch) keeps it going',
  ),
  oneEdit(
    'witness-answer-for-any-epoch',
    WITNESS_SIDE,
    'if (heldEpoch === 0n || heldEpoch !== this.epoch) return;',
    'if (heldEpoch === 0n) return;',
    'SAFETY 2: a witness answer to a heartbeat sent under an earlier epoch counts for this one',
  ),
  oneEdit(
    'late-renewal-counted',
    WITNESS_SIDE,
    "if (answer.verdict === 'renewed' && !this.mayBeRunning()) return;",
    '',
    'late-renewal ignore: a renewal answered after the workload stopped extends the lease',
  ),

  {
    // The pair evidence for the two checks on a witness renewal (epoch of the heartbeat, still running).
    id: 'stale-renewals-counted',
    file: WITNESS_SIDE,
    edits: [
      { find: 'if (heldEpoch === 0n || heldEpoch !== this.epoch) return;', replace: 'if (heldEpoch === 0n) return;' },
      { find: "if (answer.verdict === 'renewed' && !this.mayBeRunning()) return;", replace: '' },
    ],
    description: 'SAFETY 2: a renewal counts whatever epoch its heartbeat carried and whether the workload still runs',
  },

  // Superseded: the witness refused this node's epoch, or the peer runs a newer one.
  oneEdit(
    'superseded-ignored',
    WITNESS_SIDE,
    "} else if (answer.verdict === 'refused') {",
    '} else if (false as boolean) {',
    'superseded stop: a refusal of the running epoch changes nothing; the node runs out its leases',
  ),
  rowRemoved(
    'superseded-row-removed',
    '(c) => c.supersededBecause !== undefined',
    'row stop-superseded-by-witness removed: a refused run keeps running on its leases',
  ),
  oneEdit(
    'hand-back-from-silent-primary',
    HAND_OVER,
    "      this.peerHeardWithinTimeout(now) &&\n      this.settings.role === 'secondary' &&",
    "      this.settings.role === 'secondary' &&",
    'handbackAsked: a hand-back request counts after the primary fell silent (the secondary stops every new run)',
  ),
  rowRemoved(
    'hand-back-ignored',
    '(c) => c.handbackAsked',
    'row stop-to-hand-back removed: the secondary keeps running when the preferred primary asks for the group',
  ),

  // The planned hand-over (design §9.5).
  oneEdit(
    'hand-over-without-stop',
    RULES,
    "when: (c) => c.leaving,\n    outcome: 'stop',",
    "when: () => false,\n    outcome: 'stop',",
    'row stop-to-hand-over removed: a SIGTERMed sidecar keeps its workload running until its hand-over limit',
  ),
  oneEdit(
    'leaving-node-asks',
    RULES,
    "when: (c) => c.leaving,\n    outcome: 'wait',",
    "when: () => false,\n    outcome: 'wait',",
    'row wait-while-leaving removed: a node handing over goes on deciding as a standby (and may ask the witness)',
  ),
  rowRemoved(
    'grant-started-while-leaving',
    '(c) => c.grantArrived && c.leaving',
    'row release-grant-when-leaving removed: a grant that reaches a node handing over starts its workload',
  ),
  oneEdit(
    'handing-over-while-holding',
    HAND_OVER,
    "if (this.workload !== 'stopped' || this.holding) return false;",
    "if (this.workload !== 'stopped') return false;",
    'the hand-over is announced before the release is answered: the peer asks while the witness still holds',
  ),

  // SAFETY 3: promises and the quiet period.
  ACQUIRE_DESPITE_PROMISE,
  unasserted(ACQUIRE_DESPITE_PROMISE, NO_PROMISE_ASSERT),
  NO_QUIET_ROW,
  unasserted(NO_QUIET_ROW, NO_QUIET_ASSERT),
  oneEdit(
    'no-quiet-after-restart',
    MEMORY,
    'this.quietUntil = grantorHoldEnd(now, settings.peerLeaseMs, settings.bounds);',
    'this.quietUntil = now;',
    'SAFETY 3: a restarted sidecar, which forgot its promises, asks the witness at once (quietUntil = now)',
  ),
  oneEdit(
    'promise-without-drift',
    PEER_SIDE,
    'grantorHoldEnd(now, this.settings.peerLeaseMs, this.settings.bounds),',
    'now + this.settings.peerLeaseMs,',
    "SAFETY 3: a promise lasts the bare peer lease, without the grantor's drift and margin",
  ),
  oneEdit(
    'promise-dropped-on-old-stop',
    PEER_SIDE,
    "if (state.workload === 'stopped' && state.epoch >= this.promisedEpoch) this.promiseUntil = NEVER;",
    "if (state.workload === 'stopped') this.promiseUntil = NEVER;",
    'SAFETY 3: any "stopped" from the peer, even under an epoch older than the promise, ends the promise',
  ),
  oneEdit(
    'peer-lease-granted-while-holding',
    PEER_SIDE,
    ' && !this.holding && !this.acquiring(now)',
    ' && !this.acquiring(now)',
    'mayGrantPeerLease: a node the witness may still record as holder grants peer leases',
  ),
  PEER_LEASE_WHILE_ACQUIRING,
  unasserted(PEER_LEASE_WHILE_ACQUIRING, NO_START_PROMISE_ASSERT),

  oneEdit(
    // The pair evidence for mayGrantPeerLease's three conditions on this node.
    'peer-lease-granted-whenever',
    PEER_SIDE,
    'peerRuns && !this.holding && !this.acquiring(now)',
    'peerRuns',
    'mayGrantPeerLease: a node grants a peer lease whatever it does itself (holds, acquires, starts)',
  ),

  // SAFETY 4: an Acquire counts as in flight.
  oneEdit(
    'lost-acquire-answer-ends-flight',
    WITNESS_SIDE,
    'if (this.acquireSentAt === sentAt && answer !== undefined) this.acquireSentAt = undefined;',
    'if (this.acquireSentAt === sentAt) this.acquireSentAt = undefined;',
    'SAFETY 4: a failed Acquire (which may still have been granted) no longer counts as in flight',
  ),
  oneEdit(
    'acquire-in-flight-one-heartbeat',
    WITNESS_SIDE,
    'return holderLeaseEnd(sentAt, this.settings.leaseMs, this.settings.bounds);',
    'return sentAt + this.settings.heartbeatMs;',
    'SAFETY 4: acquireExpiry: an Acquire counts as in flight for one heartbeat, not until its grant could no longer be used',
  ),
  ACQUIRE_WHILE_ACQUIRING,
  unasserted(ACQUIRE_WHILE_ACQUIRING, NO_GRANT_ASSERTS),
  RESTART_WHILE_ACQUIRING,
  unasserted(RESTART_WHILE_ACQUIRING, NO_GRANT_ASSERTS),

  // Other guards that keep a workload from starting or running.
  rowRemoved(
    'acquire-while-peer-active',
    "(c) => c.peerWorkload !== 'stopped'",
    'row wait-peer-not-stopped removed: a node that hears its peer run (or start, or stop) asks the witness',
  ),
  oneEdit(
    'standby-asks-unreachable-witness',
    RULES,
    'when: (c) => !c.peerUp && c.witnessUp,',
    'when: (c) => !c.peerUp,',
    'row acquire-peer-gone weakened to !peerUp: with the peer gone, the standby asks a witness it has not heard',
  ),
  rowRemoved(
    'stay-stopped-row-removed',
    '(c) => !c.peerUp',
    'row stay-stopped-nobody-confirms removed: with peer and witness silent, the standby goes on to the acquire rows',
  ),
  rowRemoved(
    'witness-down-row-removed',
    '(c) => !c.witnessUp',
    'row wait-witness-down-peer-up removed: with the peer up and the witness silent, the standby may ask',
  ),
  oneEdit(
    'running-report-after-stop',
    STATE,
    "if (phase === 'running' && this.workload !== 'starting') return;",
    '',
    "a 'running' report that crosses a stop undoes the stop",
  ),
  GRANT_WHILE_NOT_STOPPED,
  unasserted(GRANT_WHILE_NOT_STOPPED, NO_GRANT_ASSERTS),
  RELEASE_WHILE_STOPPING,
  unasserted(RELEASE_WHILE_STOPPING, NO_RELEASE_ASSERT),
  oneEdit(
    'release-answer-for-any-epoch',
    WITNESS_SIDE,
    'if (epoch !== this.epoch) return;\n    this.holding = false;',
    'this.holding = false;\n    if (epoch !== this.epoch) return;',
    'the answer to the release of an earlier epoch ends the holding of the current one',
  ),
  oneEdit(
    'restart-under-same-epoch',
    RULES,
    "outcome: 'acquire',\n    why: 'every run gets its own epoch",
    "outcome: 'start',\n    why: 'every run gets its own epoch",
    'row acquire-restart starts instead: a workload that exited starts again under its old epoch',
  ),
];
