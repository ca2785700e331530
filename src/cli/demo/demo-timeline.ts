/** The demo's output: one line per step or witness event, each with the time since the start. */
import type { GroupEvent__Output } from '../../gen/witness/v1/GroupEvent';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

export class Timeline {
  private readonly startedAt = Date.now();
  /** The last witness event printed, to show a refusal repeated at every heartbeat once. */
  private lastEvent = '';

  constructor(private readonly out: (line: string) => void) {}

  /** Milliseconds since the demo started. */
  now(): number {
    return Date.now() - this.startedAt;
  }

  /** How long since `since` (a `now()`), as the lines print it. */
  took(since: number): string {
    return seconds(this.now() - since);
  }

  step(text: string): void {
    this.out(`${seconds(this.now()).padStart(7)}  ${text}`);
  }

  /** A witness decision, indented under the steps: what, who, epoch, by which rule and why. */
  witnessEvent(event: GroupEvent__Output): void {
    if (event.kind === 'EVENT_KIND_STATE') return;
    const kind = event.kind.replace('EVENT_KIND_', '').toLowerCase().replace('_', '-');
    // The message opens with the rule's name when a rule decided: said once, in the parenthesis.
    const message = event.message.startsWith(`${event.rule}: `)
      ? event.message.slice(event.rule.length + 2)
      : event.message;
    const rule = event.rule === '' ? '' : ` (rule ${event.rule})`;
    const text = `witness: ${kind} ${event.node || '-'}, epoch ${event.epoch}${rule}: ${message}`;
    if (text === this.lastEvent) return;
    this.lastEvent = text;
    this.step(`    ${text}`);
  }
}
