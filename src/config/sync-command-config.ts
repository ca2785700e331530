/** `witness sync`'s configuration ("sync now", design §21.2): a group and how long to wait. */
import type { CommandSpec } from './load-config';
import { EXIT_CODES_TEXT, switchoverSchema, type SwitchoverConfig } from './operator-config';
import { renderHelp } from './render-help';

export interface SyncNowConfig extends SwitchoverConfig {
  /** How long the witness waits for the standby's run, in ms. */
  readonly timeout: number;
}

export const SYNC_COMMAND: CommandSpec<SyncNowConfig> = {
  command: 'witness sync',
  schema: {
    ...switchoverSchema(),
    timeout: {
      doc: "How long to wait for the standby's run of its --sync-cmd.",
      format: 'duration',
      default: '60s',
      min: '100ms',
      max: '1h',
      arg: 'timeout',
      env: 'WITNESS_OPERATOR_SYNC_TIMEOUT',
    },
  },
};

export function syncHelp(): string {
  return renderHelp(SYNC_COMMAND, {
    usage: 'witness sync --group G [--timeout 60s] [options]',
    description:
      "Sync now (design §21.2): the group's standby runs its --sync-cmd at once, as the appliance's\n" +
      '"Sync Now" does, and the command prints the run: exit status, duration and the end of its\n' +
      'output. Refused while nobody is active, or the standby was not heard within the default\n' +
      'lease, is removed, or runs without --sync-cmd. Needs the operator write role.',
    notes: [`${EXIT_CODES_TEXT} A sync that ran and failed exits 1 too.`],
  });
}
