/**
 * The virtual network between the three parties: six directed links, each with its own delay,
 * jitter, loss, duplication and delay spikes, and with silent (blackhole) and resetting
 * (connection refused) cuts.
 */
import type { Task } from './event-queue';
import { PARTY_NAMES } from './plan';
import type { World } from './world';

interface LinkState {
  /** Active silent cuts: messages vanish, calls time out. */
  silent: number;
  /** Active resetting cuts: requests are refused at once. */
  reset: number;
}

export type CutMode = 'silent' | 'reset';

/** A refused connection is noticed this long after the attempt (real ms). */
const REFUSAL_MS = 0.5;

export class Network {
  private readonly links: LinkState[] = [];
  private readonly activeCuts = new Map<number, () => void>();
  private cutIds = 0;
  /** When the last message sent during the fault phase arrives (held-back messages included). */
  lastFaultArrival = 0;
  /** The longest ordinary one-way delay of any link (base plus jitter). */
  readonly maxTailDelay: number;

  constructor(private readonly world: World) {
    for (let i = 0; i < 9; i += 1) this.links.push({ silent: 0, reset: 0 });
    let maxTail = 0;
    for (const l of world.plan.links) if (l !== undefined) maxTail = Math.max(maxTail, l.baseDelayMs + l.jitterMs);
    this.maxTailDelay = maxTail;
  }

  /**
   * Sends one message. `onRefused` runs (at the sender) when the link resets it; silent cuts and
   * losses drop it without a word. A cut that starts while the message flies also drops it.
   */
  transmit(from: number, to: number, what: string, onArrive: Task, onRefused: Task | undefined): void {
    const w = this.world;
    const link = this.links[from * 3 + to] as LinkState;
    const name = w.trace.on2 ? `${PARTY_NAMES[from]}->${PARTY_NAMES[to]}` : '';
    if (link.silent > 0) {
      if (w.trace.on2) w.trace.log(2, 'net', `${name} ${what}: vanishes (cut)`);
      return;
    }
    if (link.reset > 0) {
      if (w.trace.on2) w.trace.log(2, 'net', `${name} ${what}: refused (reset)`);
      if (onRefused !== undefined) w.at(w.t + REFUSAL_MS, onRefused);
      return;
    }
    const l = w.plan.links[from * 3 + to];
    if (!w.healed && l !== undefined && l.loss > 0 && w.net.next() < l.loss) {
      if (w.trace.on2) w.trace.log(2, 'net', `${name} ${what}: lost`);
      return;
    }
    const deliver = (): void => {
      if (link.silent > 0 || link.reset > 0) {
        if (w.trace.on2) w.trace.log(2, 'net', `${name} ${what}: vanishes in flight (cut)`);
        return;
      }
      onArrive();
    };
    this.deliverAfterDelay(from, to, deliver);
    if (!w.healed && l !== undefined && l.duplication > 0 && w.net.next() < l.duplication) {
      if (w.trace.on2) w.trace.log(2, 'net', `${name} ${what}: duplicated`);
      // Now and then the copy comes much later (held in a queue or a retransmitting middlebox).
      const late = l.lateDuplicateMs > 0 && w.net.next() < 0.5 ? w.net.range(0.5, 1) * l.lateDuplicateMs : 0;
      this.deliverAfterDelay(from, to, deliver, late);
    }
  }

  /** Cuts links (indices from*3+to) for `length` ms (Infinity: for good). */
  cut(indices: readonly number[], mode: CutMode, length: number, what: string): void {
    const w = this.world;
    const id = ++this.cutIds;
    for (const i of indices) (this.links[i] as LinkState)[mode] += 1;
    this.activeCuts.set(id, () => {
      for (const i of indices) (this.links[i] as LinkState)[mode] -= 1;
    });
    if (w.trace.on1) w.trace.log(1, 'net', `${what} for ${length.toFixed(1)}ms`);
    if (!Number.isFinite(length)) return;
    w.at(w.t + length, () => {
      const end = this.activeCuts.get(id);
      if (end === undefined) return;
      end();
      this.activeCuts.delete(id);
      if (w.trace.on1) w.trace.log(1, 'net', `${what}: healed`);
    });
  }

  endAllCuts(): void {
    for (const end of this.activeCuts.values()) end();
    this.activeCuts.clear();
  }

  private deliverAfterDelay(from: number, to: number, deliver: Task, extraMs = 0): void {
    const w = this.world;
    const arrival = w.t + this.delay(from, to) + extraMs;
    if (!w.healed && arrival > this.lastFaultArrival) this.lastFaultArrival = arrival;
    w.at(arrival, deliver);
  }

  private delay(from: number, to: number): number {
    const w = this.world;
    const l = w.plan.links[from * 3 + to];
    if (l === undefined) return 0;
    let d = l.baseDelayMs + w.net.next() * l.jitterMs;
    if (!w.healed && l.spike > 0 && w.net.next() < l.spike) d += w.net.exp(l.spikeMeanMs);
    return d;
  }
}
