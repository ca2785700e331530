/**
 * Mutants of the lease arithmetic and the epoch rules both sides share, and of the witness's rule
 * table and Arbiter: the guards that keep it from granting a group whose holder may still run, or
 * from handing out an epoch that is not above every earlier one.
 */
import { type Mutant, oneEdit } from './mutant';

const LEASE = 'src/core/lease.ts';
const EPOCH = 'src/core/epoch.ts';
const RULES = 'src/core/witness/rules.ts';
const ARBITER = 'src/core/witness/arbiter.ts';
const GRACE = 'src/core/witness/startup-grace.ts';
const LEDGER = 'src/core/witness/epoch-ledger.ts';

export const WITNESS_MUTANTS: readonly Mutant[] = [
  // Lease arithmetic: the drift and margin terms.
  oneEdit(
    'holder-lease-without-drift',
    LEASE,
    'return sentAt + leaseMs * (1 - bounds.rho);',
    'return sentAt + leaseMs;',
    "holderLeaseEnd: the holder's lease is not shortened by the drift bound",
  ),
  oneEdit(
    'grantor-hold-without-drift',
    LEASE,
    'return receivedAt + leaseMs * (1 + bounds.rho) + bounds.marginMs;',
    'return receivedAt + leaseMs + bounds.marginMs;',
    "grantorHoldEnd: the grantor's hold (witness hold, peer promise) is not lengthened by the drift bound",
  ),
  oneEdit(
    'grantor-hold-without-margin',
    LEASE,
    'return receivedAt + leaseMs * (1 + bounds.rho) + bounds.marginMs;',
    'return receivedAt + leaseMs * (1 + bounds.rho);',
    "grantorHoldEnd: the grantor's hold leaves out the margin",
  ),
  oneEdit(
    'restart-grace-without-drift',
    LEASE,
    'return longestLeaseMs * (1 + bounds.rho) + bounds.marginMs;',
    'return longestLeaseMs + bounds.marginMs;',
    "restartGrace: a restarted witness's grace is the bare lease, without the drift bound",
  ),

  // Epochs: above everything known, across store opens.
  oneEdit(
    'next-epoch-ignores-stored',
    EPOCH,
    '  if (known > highest) highest = known;\n',
    '',
    'nextEpoch: a grant is not above the epochs the witness knows',
  ),
  oneEdit(
    'next-epoch-not-above',
    EPOCH,
    'return highest + 1n;',
    'return highest;',
    'nextEpoch: a grant repeats the highest epoch known instead of going above it',
  ),
  oneEdit(
    'open-reuses-stored-generation',
    EPOCH,
    'let next = storedGeneration + 1n;',
    'let next = storedGeneration;',
    'generationForOpen: a restarted store may open in the generation it had (when the wall clock is behind it)',
  ),
  oneEdit(
    'open-ignores-recorded-epochs',
    EPOCH,
    '  for (const epoch of recordedEpochs) if (generationOf(epoch) + 1n > next) next = generationOf(epoch) + 1n;\n',
    '',
    'generationForOpen: a restarted store does not move above the generations of its recorded epochs',
  ),

  // The witness's rule table.
  oneEdit(
    'no-startup-grace-rule',
    RULES,
    'when: (c) => c.inStartupGrace,',
    'when: () => false,',
    'refuse-during-startup-grace removed: a restarted witness grants while a lease it gave before may run',
  ),
  oneEdit(
    'grant-over-live-holder',
    RULES,
    "when: (c) => c.holder !== '' && c.holder !== c.node && c.holderLeaseLive,",
    'when: () => false,',
    "refuse-while-holder-lease-live removed: the witness grants while the holder's lease runs",
  ),
  oneEdit(
    'late-acquire-by-holder-granted',
    RULES,
    'when: (c) => c.holder === c.node && c.callerKnownEpoch < c.epoch,',
    'when: () => false,',
    'refuse-late-acquire-by-holder removed: a delayed Acquire from the running holder supersedes its run',
  ),
  oneEdit(
    'late-acquire-by-reporter-granted',
    RULES,
    'when: (c) => c.callerKnownEpoch < c.callerRanUnder,',
    'when: () => false,',
    'refuse-acquire-older-than-callers-run removed: a delayed Acquire from a node whose run was never recorded supersedes it',
  ),
  oneEdit(
    'renew-released-epoch',
    RULES,
    'when: (c) => c.callerEpoch > 0n && c.holder === c.node && c.callerEpoch === c.epoch,',
    'when: (c) => c.callerEpoch > 0n && c.callerEpoch === c.epoch,',
    'renew-holder: an epoch that was released (no holder) is renewed for whoever reports it',
  ),
  oneEdit(
    'caller-known-superseded-renewed',
    RULES,
    'when: (c) => c.callerEpoch > 0n && c.callerKnownEpoch > c.callerEpoch,',
    'when: () => false,',
    'refuse-epoch-the-caller-knows-superseded removed: a wiped witness re-adopts a run its holder knows superseded',
  ),
  oneEdit(
    'superseded-acknowledged',
    RULES,
    "when: (c) => c.callerEpoch > 0n,\n    outcome: refuse('stale-epoch'),",
    "when: () => false,\n    outcome: refuse('stale-epoch'),",
    'refuse-superseded-epoch removed: a heartbeat under a superseded epoch is merely acknowledged',
  ),
  oneEdit(
    'release-of-old-epoch',
    RULES,
    "when: (c) => c.holder !== '' && c.holder === c.node && c.callerEpoch === c.epoch,",
    "when: (c) => c.holder !== '' && c.holder === c.node,",
    "release-holder: a Release of the holder's earlier epoch releases its current one",
  ),

  // The Arbiter.
  oneEdit(
    'holder-lease-never-live',
    ARBITER,
    "holderLeaseLive: holder !== '' && now < holdUntil,",
    'holderLeaseLive: false,',
    "holder lease live check: the witness never counts the holder's lease as running",
  ),
  oneEdit(
    'no-startup-grace',
    GRACE,
    'return this.startedAt + restartGrace(this.graceLeaseMs, this.config.bounds) + this.graceExtraMs;',
    'return this.startedAt;',
    'start-up grace: a restarted witness has none (restored holders are not held either) until a caller asks a longer lease',
  ),
  oneEdit(
    'grace-ignores-asked-leases',
    GRACE,
    'if (!this.graceCoversAskedLeases || requestedMs <= this.graceLeaseMs) return;',
    'return;',
    'start-up grace: does not grow to cover a lease a caller asks for above the longest one this store knows',
  ),
  oneEdit(
    'grace-from-current-lease',
    GRACE,
    'this.graceLeaseMs = Math.max(config.maxLeaseMs, startup.longestEarlierLeaseMs ?? 0);',
    'this.graceLeaseMs = config.maxLeaseMs;',
    'start-up grace: counted from the lease configured now, not the longest one handed out before',
  ),
  oneEdit(
    'restored-holder-not-held',
    ARBITER,
    "const holdUntil = record.holder === '' ? 0 : this.grace.until;",
    'const holdUntil = 0;',
    'a holder restored from the store is not held through the grace',
  ),
  oneEdit(
    'grant-ignores-heard-epochs',
    ARBITER,
    'this.epochs.nextGrant(maxEpoch(group.holding.epoch, group.highestHeard))',
    'this.epochs.nextGrant(group.holding.epoch)',
    "epochs above everything known: a grant ignores the epochs callers reported, the asker's too",
  ),
  {
    id: 'grant-without-floor',
    file: LEDGER,
    edits: [
      { find: 'this.highestDecided = this.floor;', replace: 'this.highestDecided = 0n;' },
      {
        find: 'return nextEpoch(this.floor, maxEpoch(this.highestDecided, groupKnown));',
        replace: 'return nextEpoch(0n, maxEpoch(this.highestDecided, groupKnown));',
      },
    ],
    description: "epochs above everything known: a grant ignores the store generation's floor",
  },
  oneEdit(
    'hold-shortened',
    ARBITER,
    'const holdUntil = Math.max(holding.holdUntil, grantorHoldEnd(now, leaseMs, this.config.bounds));',
    'const holdUntil = grantorHoldEnd(now, leaseMs, this.config.bounds);',
    "extendHold: a later, shorter request shortens the witness's hold",
  ),
  oneEdit(
    'lease-not-capped',
    ARBITER,
    'Math.min(requestedMs, this.config.maxLeaseMs)',
    'requestedMs',
    'leaseFor: a lease longer than the longest configured (which sets the grace) is handed out',
  ),
  oneEdit(
    'abort-applies-decision',
    ARBITER,
    'const group = this.pendingGroup(groupName);\n    group.pending = undefined;',
    'const group = this.pendingGroup(groupName);\n    this.commit(groupName);',
    'pending/commit: a decision whose write failed takes effect anyway',
  ),
  oneEdit(
    'maintenance-node-granted',
    RULES,
    'when: (c) => c.callerInMaintenance,',
    'when: () => false,',
    'refuse-node-in-maintenance never holds: a node an operator put in maintenance is granted like any other',
  ),
  oneEdit(
    'removed-node-granted',
    RULES,
    "name: 'refuse-removed-node',\n    when: (c) => c.callerRemoved,",
    "name: 'refuse-removed-node',\n    when: () => false,",
    'refuse-removed-node never holds: a node an operator removed is granted like any other',
  ),
  oneEdit(
    'decision-applied-before-durable',
    ARBITER,
    'group.pending = { next, intent, generation };',
    'group.pending = { next, intent, generation };\n    group.holding = next;',
    'pending/commit: a decision takes effect in memory before its write is durable',
  ),
];
