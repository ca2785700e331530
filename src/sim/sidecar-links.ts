/**
 * A simulated sidecar's links: the runtime's WitnessTransport and PeerTransport over the simulated
 * network. Requests go to the witness as wire messages and answers come back as wire messages,
 * checked with the production decoder, as over gRPC. The faults that hold an answer back are in
 * held-answers.ts.
 */
import type { SyncReport } from '../core/witness/types';
import type { SyncReport__Output } from '../gen/witness/v1/SyncReport';
import type { SyncRun__Output } from '../gen/witness/v1/SyncRun';
import { toWireSyncReport, toWireSyncRun } from '../wire/sync-report';
import * as grpc from '@grpc/grpc-js';
import type { Failback, PeerReply, PeerState, SidecarSettings, WitnessAnswer } from '../core/sidecar/types';
import type { LeaseAnswer__Output } from '../gen/witness/v1/LeaseAnswer';
import type { PeerTransport, WitnessTransport } from '../sidecar/sidecar-ports';
import { acquireFailureOf } from '../sidecar/witness-link';
import { toWireRole } from '../wire/enum-mappings';
import { fromWireAnswer } from '../wire/lease-answer';
import type { FailedCallStatus } from '../wire/undecided-refusal';
import { answerPastDeadline, heldAcrossRun, lateAnswer, type PastDeadlineLanding } from './held-answers';
import type { Network } from './network';
import { PARTY_NAMES, WITNESS } from './plan';
import { peerEndsRun, witnessEndsRun } from './prompt-stops';
import type { SidecarNode } from './sidecar-node';
import type { CallFailed, WitnessCall } from './witness-node';
import type { WitnessSite } from './witness-site';
import type { World } from './world';

export interface LinkContext {
  readonly world: World;
  readonly network: Network;
  readonly witness: WitnessSite;
  /** The calling node's party index, and its clock's rate. */
  readonly from: number;
  readonly rate: number;
  /** Runs `fn` in the calling sidecar process (dropped if it is gone, queued while it is paused). */
  readonly inProcess: (fn: () => void) => void;
  readonly peer: () => SidecarNode;
  /** Right after the runtime took an input: L3, a run the input ended is stopping (prompt-stops.ts). */
  readonly afterInput: (endsRun: (epoch: bigint) => string | undefined) => void;
  /** The runtime sends an Acquire (the checkers watch for needless ones, and judge it by the table). */
  readonly onAcquire: () => void;
  /** The runtime is handed a grant of `epoch` for the Acquire it sent at `askedAt` (real ms). */
  readonly onGranted: (epoch: bigint, askedAt: number) => void;
  /** The runtime is handed a peer lease for `epoch` in reply to the heartbeat it sent at `askedAt` (real ms). */
  readonly onPeerLease: (epoch: bigint, askedAt: number) => void;
  /** The runtime is handed what the peer says of itself (a reply to its heartbeat). */
  /** Returns whether `state` is the newest the peer said of those delivered (peer-state-order.ts). */
  readonly heardPeer: (state: PeerState) => boolean;
  /** The runtime is handed a witness answer: the group's fail-back policy in it holds from now. */
  readonly heardWitness: (answer: WitnessAnswer) => void;
  /** The policy of the witness answer last handed to the runtime; undefined: its own --failback. */
  readonly groupFailback: () => Failback | undefined;
  /** Runs `fn` right after the calling node next starts a workload (in the same instant). */
  readonly afterNextStart: (fn: () => void) => void;
  /** Runs `fn` when the calling node's latest run stops running (stopping or dead). */
  readonly afterRunEnds: (fn: () => void) => void;
  /** The calling node's latest run, and whether it still runs (not stopping, not dead). */
  readonly currentRun: () => RunMark;
  /** An answer held past its call's deadline has landed (the report counts them). */
  readonly onAnswerPastDeadline: (how: PastDeadlineLanding) => void;
  /**
   * S2, a run keeps the epoch it started under: called before the runtime takes a grant, it
   * returns the check to run right after (the run it would judge may be stopping by then).
   */
  readonly runKeepsEpoch: () => () => void;
}

export interface RunMark {
  /** The id of the calling sidecar's latest workload; undefined before its first. */
  readonly run: number | undefined;
  readonly running: boolean;
}

/**
 * A call, answered at most once: after its deadline (the caller's ms) the answer is ignored and
 * `onFail` runs, as when the link refuses it; unless the answer came in time and is held past
 * the deadline (`answerPastDeadline`): then the call has its answer, late, and fails nothing.
 */
function call<A>(
  c: LinkContext,
  what: string,
  deadlineMs: number,
  onAnswer: (a: A) => void,
  onFail: CallFailed | undefined,
): { answer: (a: A) => void; fail: CallFailed } {
  const w = c.world;
  const deadline = w.t + deadlineMs / c.rate;
  const sentDuring = c.currentRun();
  let settled = false;
  /** The call's answer came and is held past the deadline: nothing else settles the call. */
  let pastDeadline = false;
  /** `late`: the answer was held past the deadline, and lands on this. */
  const take = (a: A, late?: PastDeadlineLanding): void =>
    c.inProcess(() => {
      if (settled || (w.t > deadline && late === undefined)) return;
      settled = true;
      if (late !== undefined) c.onAnswerPastDeadline(late);
      onAnswer(a);
    });
  const answer = (a: A): void => {
    // A second copy (of a duplicated request) finds the call answered.
    if (pastDeadline) return;
    const deliver = (): void => take(a);
    if (lateAnswer(c, deadline, deliver) || heldAcrossRun(c, sentDuring, deadline, deliver)) return;
    pastDeadline = !settled && answerPastDeadline(c, what, deadline, (how) => take(a, how));
    if (!pastDeadline) deliver();
  };
  const fail = (status?: FailedCallStatus): void =>
    c.inProcess(() => {
      if (settled || pastDeadline) return;
      settled = true;
      onFail?.(status);
    });
  // A call whose failure nothing hears needs no timer: an answer after the deadline is dropped.
  if (onFail !== undefined) w.at(deadline, () => fail({ code: grpc.status.DEADLINE_EXCEEDED }));
  return { answer, fail };
}

export function simWitnessTransport(c: LinkContext, s: SidecarSettings): WitnessTransport {
  const role = toWireRole(s.role);
  const deadlineMs = c.world.plan.callDeadlineMs;
  const send = (
    what: string,
    deadline: number,
    submit: WitnessCall,
    done: (a: LeaseAnswer__Output | undefined, status?: FailedCallStatus) => void,
  ): void => {
    const pending = call<LeaseAnswer__Output>(
      c,
      what,
      deadline,
      (a) => done(a),
      (status) => done(undefined, status),
    );
    c.network.transmit(
      c.from,
      WITNESS,
      what,
      () => c.witness.receive(c.from, what, submit, pending.answer, pending.fail),
      () => pending.fail(),
    );
  };
  const decoded = (a: LeaseAnswer__Output | undefined): ReturnType<typeof fromWireAnswer> | undefined => {
    if (a === undefined) return undefined;
    const answer = fromWireAnswer(a);
    c.heardWitness(answer);
    return answer;
  };
  /** When this sidecar's latest Acquire failed or was refused (the acquire-retry-loop check). */
  let unanswered: { at: number; as: string; inFlightUntil: number } | undefined;
  return {
    endpoint: 'witness',
    renew: (heldEpoch, knownEpoch, leaseMs, done, sync) => {
      const request = {
        group: s.group,
        node: s.node,
        role,
        heldEpoch: `${heldEpoch}`,
        knownEpoch: `${knownEpoch}`,
        leaseMs,
        sequence: '0',
        sync: sync === undefined ? null : wireSyncReport(sync),
      };
      send(
        'heartbeat',
        deadlineMs,
        (service, reply) => service.heartbeat(request, reply),
        (a) => {
          const answer = decoded(a);
          done(answer);
          if (answer !== undefined) c.afterInput((epoch) => witnessEndsRun(s, epoch, heldEpoch, answer));
        },
      );
    },
    acquire: (knownEpoch, leaseMs, acquireDeadlineMs, done, sync) => {
      c.onAcquire();
      // A failed or refused Acquire is not asked again in the same instant while a grant it may
      // carry could still be used (design §8.4: a lost answer keeps it in flight; a refusal says
      // when to ask again): that would be a loop. A sidecar that was paused past that point may.
      const w = c.world;
      if (unanswered !== undefined && unanswered.at === w.t && w.t < unanswered.inFlightUntil) {
        w.violate('liveness', 'acquire-retry-loop', `${PARTY_NAMES[c.from]} asks again at once after ${unanswered.as}`);
      }
      const sentAt = w.t;
      const request = {
        group: s.group,
        node: s.node,
        knownEpoch: `${knownEpoch}`,
        leaseMs,
        sequence: '0',
        sync: sync === undefined ? null : wireSyncReport(sync),
      };
      send(
        'acquire',
        acquireDeadlineMs,
        (service, reply) => service.acquire(request, reply),
        (a, status) => {
          const answer = decoded(a);
          if (answer?.verdict === 'granted') c.onGranted(answer.epoch, sentAt);
          if (answer === undefined || answer.verdict === 'refused') {
            unanswered = {
              at: w.t,
              as: answer === undefined ? 'a failed Acquire' : 'a refused Acquire',
              inFlightUntil: sentAt + (s.leaseMs * (1 - s.bounds.rho)) / c.rate,
            };
          }
          const check = answer?.verdict === 'granted' ? c.runKeepsEpoch() : undefined;
          done(answer, acquireFailureOf(status));
          check?.();
        },
      );
    },
    release: (epoch, knownEpoch, done) => {
      const request = { group: s.group, node: s.node, epoch: `${epoch}`, knownEpoch: `${knownEpoch}`, sequence: '0' };
      send(
        'release',
        deadlineMs,
        (service, reply) => service.release(request, reply),
        (a) => done(decoded(a)),
      );
    },
    close: () => undefined,
  };
}

export function simPeerTransport(c: LinkContext, s: SidecarSettings): PeerTransport {
  return {
    heartbeat: (state, done) => {
      const other = c.peer();
      const sentAt = c.world.t;
      const take = (reply: PeerReply): void => {
        if (reply.leaseMs > 0) c.onPeerLease(reply.leaseForEpoch, sentAt);
        const newest = c.heardPeer(reply.state);
        done(reply);
        // An overtaken state ends nothing: the core drops it (design §9.5).
        c.afterInput(() => (newest ? peerEndsRun(s, reply.state, c.groupFailback()) : undefined));
      };
      const pending = call<PeerReply>(c, 'peer heartbeat', c.world.plan.callDeadlineMs, take, undefined);
      c.network.transmit(
        c.from,
        other.index,
        'peer heartbeat',
        () => other.receivePeerHeartbeat(c.from, state, pending.answer, pending.fail),
        pending.fail,
      );
    },
    close: () => undefined,
  };
}

/** A sync report as the witness's deserializer hands it over: every field set. */
function wireSyncReport(sync: SyncReport): SyncReport__Output {
  const lastRun = sync.lastRun === undefined ? null : (toWireSyncRun(sync.lastRun) as SyncRun__Output);
  return { ...(toWireSyncReport(sync) as SyncReport__Output), lastRun };
}
