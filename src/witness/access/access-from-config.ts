/** Builds the witness's access policy from its configuration; a file that cannot be used is a ConfigError. */
import { caVouches, ConfigError, type WitnessConfig } from '../../config/witness-config';
import type { Logger } from '../../log/logger';
import { RefusalLog } from '../../wire/refusal-log';
import { GroupsFileError, loadGroupsFile } from './groups-file';
import { readConfiguredSecret } from '../../config/secret-file';
import { WitnessAccess } from './witness-access';

export function accessFromConfig(config: WitnessConfig, logger: Logger, now: () => number): WitnessAccess {
  const context = { trustDomain: config.trustDomain, identityFrom: config.identityFrom };
  let groups;
  if (config.groupsFile !== null) {
    try {
      groups = loadGroupsFile(config.groupsFile, context);
    } catch (error) {
      if (error instanceof GroupsFileError)
        throw new ConfigError('groupsFile', `groupsFile (--groups-file): ${error.message}`);
      throw error;
    }
  }
  return new WitnessAccess(
    {
      mode: groups !== undefined ? 'declared' : caVouches(config) ? 'ca' : 'open',
      groups,
      trustDomain: config.trustDomain,
      identityFrom: config.identityFrom,
      adminWriteToken: secretOf(config.adminTokenFile, 'adminTokenFile', '--admin-token-file'),
      adminReadToken: secretOf(config.adminReadTokenFile, 'adminReadTokenFile', '--admin-read-token-file'),
    },
    new RefusalLog(logger, now),
  );
}

const secretOf = (path: string | null, key: string, flag: string): string | undefined =>
  path === null ? undefined : readConfiguredSecret(path, key, flag);
