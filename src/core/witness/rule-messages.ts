/** What every answer says: the verdict of each outcome, and the rule's name and reason as one line. */
import type { Rule } from './rules';

export const VERDICT_OF = {
  renew: 'renewed',
  adopt: 'renewed',
  acknowledge: 'acknowledged',
  grant: 'granted',
  release: 'released',
  refuse: 'refused',
  'set-intent': 'acknowledged',
} as const;

const MESSAGES = new Map<Pick<Rule, 'name' | 'why'>, string>();

/** Built once per rule: it is sent with every answer. */
export function messageOf(rule: Pick<Rule, 'name' | 'why'>): string {
  let message = MESSAGES.get(rule);
  if (message === undefined) {
    message = `${rule.name}: ${rule.why}`;
    MESSAGES.set(rule, message);
  }
  return message;
}
