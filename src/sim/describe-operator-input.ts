/** An operator command, as the simulator's timeline names it. */
import type { OperatorInput } from '../core/witness/types';

export function describeOperatorInput(input: OperatorInput): string {
  const forced = 'force' in input && input.force ? ' (forced)' : '';
  switch (input.kind) {
    case 'switchover':
      return 'switchover';
    case 'failback':
      return `fail-back policy ${input.policy}`;
    case 'maintenance':
      return `maintenance ${input.on ? 'on' : 'off'} for ${input.node}${forced}`;
    case 'remove':
      return `${input.readmit ? 'readmission' : 'removal'} of ${input.node}${forced}`;
    case 'break':
      return `break of the group${forced}`;
  }
}
