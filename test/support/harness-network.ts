/**
 * The sidecar harness's network: unary calls between the parties, grpc-js style (exactly one
 * callback per call: the answer, or a failure at the deadline), through links a test can cut,
 * delay, or rule on message by message. Zero delay unless a test says otherwise.
 */
import type { HarnessTime } from './harness-time';
import type { NodeId, Party } from './sidecar-test-settings';

export type MsgKind = 'renew' | 'acquire' | 'release' | 'peer';
/**
 * Delay in ms; lost (the call fails at its deadline); refused at once (connection refused: the call
 * fails 1 ms later); or held back until the test releases it (`releaseHeld`).
 */
export type Fate = number | 'drop' | 'reset' | 'hold';
export type FateFn = (
  from: Party,
  to: Party,
  kind: MsgKind,
  leg: 'request' | 'answer',
  now: number,
) => Fate | undefined;

export interface NetworkOptions {
  readonly fate?: FateFn;
  /** A failed or too slow call reports undefined at its deadline (as grpc-js does). */
  readonly enforceDeadlines?: boolean;
  /** How long an error answer (the witness refused the call: unknown group, ...) takes to come back. */
  readonly errorLatencyMs?: number;
}

export interface Call<A> {
  readonly from: NodeId;
  readonly to: Party;
  readonly kind: MsgKind;
  /** The call's deadline on the caller's clock, counted from the send. */
  readonly deadlineMs: number;
  /** The caller's clock rate: its deadline runs on its own clock. */
  readonly rate: number;
  /** False once the caller is gone (its sidecar crashed): nothing reaches it any more. */
  readonly callerListens: () => boolean;
  /** Runs at the callee when the request arrives; undefined: it answers with an error. */
  readonly serve: () => A | undefined;
  /** `timedOut`: no answer by the deadline (lost, held back, too slow, or nobody there). */
  readonly done: (answer: A | undefined, timedOut: boolean) => void;
}

export class HarnessNetwork {
  fate: FateFn | undefined;
  /** Last time anything from this party arrived anywhere. */
  readonly lastHeardFrom: Record<Party, number> = { p: -Infinity, s: -Infinity, w: -Infinity };
  private readonly held: (() => void)[] = [];
  private readonly cut = new Set<string>();
  private readonly delay = new Map<string, number>();
  private readonly enforceDeadlines: boolean;
  private readonly errorLatencyMs: number;

  constructor(
    private readonly time: HarnessTime,
    /** Whether a party is there to take a request (a crashed sidecar is not). */
    private readonly isUp: (p: Party) => boolean,
    options: NetworkOptions,
  ) {
    this.fate = options.fate;
    this.enforceDeadlines = options.enforceDeadlines ?? true;
    this.errorLatencyMs = options.errorLatencyMs ?? 0;
  }

  cutLink(a: Party, b: Party, direction: 'both' | 'one-way' = 'both'): void {
    this.cut.add(`${a}>${b}`);
    if (direction === 'both') this.cut.add(`${b}>${a}`);
  }

  healLink(a: Party, b: Party): void {
    this.cut.delete(`${a}>${b}`);
    this.cut.delete(`${b}>${a}`);
  }

  isolate(n: Party): void {
    for (const o of ['p', 's', 'w'] as const) if (o !== n) this.cutLink(n, o);
  }

  healAll(): void {
    this.cut.clear();
    this.delay.clear();
  }

  setDelay(from: Party, to: Party, ms: number): void {
    this.delay.set(`${from}>${to}`, ms);
  }

  /** Delivers every held-back request now, in the order they were sent. */
  releaseHeld(): number {
    const held = this.held.splice(0);
    for (const deliver of held) deliver();
    return held.length;
  }

  private fateOf(from: Party, to: Party, kind: MsgKind, leg: 'request' | 'answer'): Fate {
    const forced = this.fate?.(from, to, kind, leg, this.time.now);
    if (forced !== undefined) return forced;
    if (this.cut.has(`${from}>${to}`)) return 'drop';
    return this.delay.get(`${from}>${to}`) ?? 0;
  }

  /** One unary call: exactly one callback, the answer or undefined (at the deadline unless refused). */
  rpc<A>(call: Call<A>): void {
    const time = this.time;
    const { from, to, kind } = call;
    const sentAt = time.now;
    const deadlineRealMs = call.deadlineMs / call.rate;
    const deadline = sentAt + deadlineRealMs;
    const f1 = this.fateOf(from, to, kind, 'request');
    const f2 = this.fateOf(to, from, kind, 'answer');
    const callback = (answer: A | undefined, timedOut: boolean): void => {
      if (call.callerListens()) call.done(answer, timedOut);
    };
    let failed = false;
    const fail = (): void => {
      if (failed) return;
      failed = true;
      time.at(Math.max(time.now, deadline), () => callback(undefined, true));
    };
    if (f1 === 'drop') return fail();
    if (f1 === 'reset') {
      time.at(time.now + Math.max(1, this.errorLatencyMs), () => callback(undefined, false));
      return;
    }
    const answerDelay = f2 === 'hold' || f2 === 'reset' ? 0 : f2;
    if (f1 === 'hold' || answerDelay === 'drop' || (this.enforceDeadlines && f1 + answerDelay > deadlineRealMs)) {
      fail();
    }
    const arrive = (): void => {
      if (!this.isUp(to)) return fail();
      this.lastHeardFrom[from] = time.now;
      const answer = call.serve();
      if (failed || answerDelay === 'drop') return;
      failed = true; // exactly one callback
      const latency = answer === undefined ? Math.max(answerDelay, this.errorLatencyMs) : answerDelay;
      time.at(time.now + latency, () => {
        if (answer !== undefined) this.lastHeardFrom[to] = time.now;
        callback(answer, false);
      });
    };
    if (f1 === 'hold') this.held.push(arrive);
    else time.at(sentAt + f1, arrive);
  }
}
