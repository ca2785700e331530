/**
 * `witness maintenance on|off`, `switchover`, `failback`, `remove-node`, `readmit-node` and
 * `break-group`: an operator's request to the witness (design §9.4, §9.6, §9.7), answered with the
 * group as it is then. A refusal is the witness's gRPC status,
 * printed, exit 1.
 */
import type * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../config/load-config';
import type {
  BreakGroupConfig,
  ForcedSwitchoverConfig,
  MaintenanceConfig,
  NodeConfig,
  SwitchoverConfig,
} from '../config/operator-config';
import type { GroupStatus__Output } from '../gen/witness/v1/GroupStatus';
import { toWireFailback } from '../wire/enum-mappings';
import { type AdminConnection, answerOf, connectAdmin } from './admin-connection';
import { renderGroups } from './status-command';

type Answered = (error: grpc.ServiceError | null, answer?: GroupStatus__Output) => void;

export async function runMaintenance(
  config: MaintenanceConfig,
  on: boolean,
  out: (text: string) => void,
): Promise<void> {
  const request = { group: config.group, node: config.node, on, force: config.force === 'true' };
  await ask(config, out, 'SetMaintenance', (admin, done) =>
    admin.client.SetMaintenance(request, admin.metadata(), admin.deadline(), done),
  );
}

/** `witness failback auto|manual|node`: the group's fail-back policy (design §9.4). */
export async function runFailback(
  config: SwitchoverConfig,
  policy: 'auto' | 'manual' | 'node',
  out: (text: string) => void,
): Promise<void> {
  const request = { group: config.group, policy: toWireFailback(policy === 'node' ? undefined : policy) };
  await ask(config, out, 'SetFailback', (admin, done) =>
    admin.client.SetFailback(request, admin.metadata(), admin.deadline(), done),
  );
}

export async function runRemoveNode(config: MaintenanceConfig, out: (text: string) => void): Promise<void> {
  const request = { group: config.group, node: config.node, force: config.force === 'true' };
  await ask(config, out, 'RemoveNode', (admin, done) =>
    admin.client.RemoveNode(request, admin.metadata(), admin.deadline(), done),
  );
}

export async function runReadmitNode(config: NodeConfig, out: (text: string) => void): Promise<void> {
  const request = { group: config.group, node: config.node };
  await ask(config, out, 'ReadmitNode', (admin, done) =>
    admin.client.ReadmitNode(request, admin.metadata(), admin.deadline(), done),
  );
}

export async function runBreakGroup(config: BreakGroupConfig, out: (text: string) => void): Promise<void> {
  if (config.force === 'true' && config.syncOnly === 'true') {
    // A sync-only break never stops anything, so there is nothing to force: say so rather than ignore it.
    throw new ConfigError('syncOnly', 'syncOnly (--sync-only) removes only the standby; it takes no --force');
  }
  const request = { group: config.group, force: config.force === 'true', syncOnly: config.syncOnly === 'true' };
  await ask(config, out, 'BreakGroup', (admin, done) =>
    admin.client.BreakGroup(request, admin.metadata(), admin.deadline(), done),
  );
}

export async function runSwitchover(config: ForcedSwitchoverConfig, out: (text: string) => void): Promise<void> {
  const request = { group: config.group, force: config.force === 'true' };
  await ask(config, out, 'Switchover', (admin, done) =>
    admin.client.Switchover(request, admin.metadata(), admin.deadline(), done),
  );
}

async function ask(
  config: SwitchoverConfig,
  out: (text: string) => void,
  what: string,
  call: (admin: AdminConnection, done: Answered) => unknown,
): Promise<void> {
  const admin = connectAdmin(config);
  try {
    const group = await answerOf<GroupStatus__Output>(what, config.witness, (done) => call(admin, done));
    out(renderGroups([group], config.json === 'true'));
  } finally {
    admin.close();
  }
}
