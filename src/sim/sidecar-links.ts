/**
 * A simulated sidecar's links: the runtime's WitnessTransport and PeerTransport over the simulated
 * network. Requests go to the witness as wire messages and answers come back as wire messages,
 * checked with the production decoder, as over gRPC.
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
}

export interface RunMark {
  /** The id of the calling sidecar's latest workload; undefined before its first. */
  readonly run: number | undefined;
  readonly running: boolean;
}

/**
 * A call, answered at most once: after its deadline (the caller's ms) the answer is ignored and
 * `onFail` runs, as when the link refuses it.
 */
function call<A>(
  c: LinkContext,
  deadlineMs: number,
  onAnswer: (a: A) => void,
  onFail: CallFailed | undefined,
): { answer: (a: A) => void; fail: CallFailed } {
  const w = c.world;
  const deadline = w.t + deadlineMs / c.rate;
  const sentDuring = c.currentRun();
  let settled = false;
  const take = (a: A): void =>
    c.inProcess(() => {
      if (settled || w.t > deadline) return;
      settled = true;
      onAnswer(a);
    });
  const answer = (a: A): void => {
    const deliver = (): void => take(a);
    if (!lateAnswer(c, deadline, deliver) && !heldAcrossRun(c, sentDuring, deadline, deliver)) deliver();
  };
  const fail = (status?: FailedCallStatus): void =>
    c.inProcess(() => {
      if (settled) return;
      settled = true;
      onFail?.(status);
    });
  // A call whose failure nothing hears needs no timer: an answer after the deadline is dropped.
  if (onFail !== undefined) w.at(deadline, () => fail({ code: grpc.status.DEADLINE_EXCEEDED }));
  return { answer, fail };
}

/**
 * The late-answer fault (drawn with `isolate`): an answer that arrived is held back until just
 * under the call's deadline, and then the caller is cut off from both others for one to three
 * leases. Where a lease is counted from the answer's arrival instead of the request's sending, the
 * node runs on a lease longer than the grantor's hold while nothing can tell it otherwise.
 * Half the time it lands sooner, right after the caller starts a new run (if it does before the
 * deadline): an answer to a request of the run before, which must not keep the new one going
 * (SAFETY 2). Either way it lands within the call's deadline, as a real transport allows.
 */
function lateAnswer(c: LinkContext, deadline: number, deliver: () => void): boolean {
  const w = c.world;
  const p = w.plan.lateAnswerProbability;
  if (w.healed || p <= 0 || !w.fault.chance(p)) return false;
  const at = deadline - w.fault.range(0.01, 1);
  if (at <= w.t || at >= w.plan.faultPhaseMs) return false;
  let landed = false;
  const land = (): void => {
    if (landed || w.t > at) return;
    landed = true;
    deliver();
    isolateCaller(c, 'right after a late answer');
  };
  w.at(at, land);
  if (w.fault.chance(0.5)) c.afterNextStart(land);
  return true;
}

/**
 * The answer across a run (drawn with `isolate`): an answer to a request sent during a run that
 * has ended by the time it arrives (the workload stops, or has stopped and may start again) is
 * held until right after the caller's next start, if that comes before the call's deadline, and
 * then the caller is cut off from both others. It carries a lease for the run that ended, which
 * must not keep the new one going (SAFETY 2): where the peer lease outlasts the witness lease,
 * the new run would outlive the witness's hold, and the peer, which heard the old run stop and
 * so dropped its promise, takes over. The late answer above reaches this case only rarely.
 */
function heldAcrossRun(c: LinkContext, sentDuring: RunMark, deadline: number, deliver: () => void): boolean {
  const w = c.world;
  const p = w.plan.answerAcrossRunProbability;
  // Held no longer than the fault phase, like the late answer: the quiet tail has no faults.
  if (w.healed || p <= 0 || !sentDuring.running || deadline >= w.plan.faultPhaseMs) return false;
  const now = c.currentRun();
  if (now.run === sentDuring.run && now.running) return holdUntilRunEnds(c, sentDuring, deadline, deliver);
  if (!w.fault.chance(p)) return false;
  const land = (): void => {
    if (w.t > deadline) return;
    deliver();
    isolateCaller(c, 'right after an answer held across its run');
  };
  if (now.run !== sentDuring.run && now.running) land();
  else c.afterNextStart(land);
  return true;
}

/**
 * At the bounds (plan.ts, `across-run`), an answer that arrives while its run goes on is now and
 * then held until that run ends, if it ends before the call's deadline, and then past the next
 * start as above; if the deadline comes first, it lands just before it. An answer arrives a round
 * trip after its request, so otherwise only a run that ends within a round trip of a heartbeat
 * leaves an answer to carry across.
 */
function holdUntilRunEnds(c: LinkContext, sentDuring: RunMark, deadline: number, deliver: () => void): boolean {
  const w = c.world;
  if (w.plan.atTheBounds !== 'across-run' || !w.fault.chance(HOLD_UNTIL_RUN_ENDS)) return false;
  let settled = false;
  const once = (fn: () => void) => (): void => {
    if (settled) return;
    settled = true;
    fn();
  };
  const lastMoment = deadline - Math.min(1, (deadline - w.t) / 2);
  w.at(lastMoment, once(deliver));
  c.afterRunEnds(
    once(() => {
      if (!heldAcrossRun(c, sentDuring, deadline, deliver)) deliver();
    }),
  );
  return true;
}

/** How often an answer is held until its run ends, at the bounds (`holdUntilRunEnds`). */
const HOLD_UNTIL_RUN_ENDS = 0.3;

/** Cuts the calling node off from both others, silently, for one to three leases. */
function isolateCaller(c: LinkContext, why: string): void {
  const w = c.world;
  if (w.healed) return;
  const others = [0, 1, 2].filter((party) => party !== c.from);
  const lease = Math.max(w.plan.primary.leaseMs, w.plan.primary.peerLeaseMs);
  c.network.cut(
    others.flatMap((o) => [c.from * 3 + o, o * 3 + c.from]),
    'silent',
    w.fault.range(1, 3) * lease,
    `isolate ${PARTY_NAMES[c.from]} ${why}`,
  );
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
          done(answer, acquireFailureOf(status));
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
      const take = (reply: PeerReply): void => {
        const newest = c.heardPeer(reply.state);
        done(reply);
        // An overtaken state ends nothing: the core drops it (design §9.5).
        c.afterInput(() => (newest ? peerEndsRun(s, reply.state, c.groupFailback()) : undefined));
      };
      const pending = call<PeerReply>(c, c.world.plan.callDeadlineMs, take, undefined);
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
