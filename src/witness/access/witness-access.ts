/**
 * Who may call the witness, and for whom (design §17): the guard every call of the Witness and
 * Admin services passes before anything is decided. A refused call changes nothing, and its answer
 * names only the caller's own request and identity: no holder, no epoch, no member of the group.
 *
 * Three ways a node is admitted, chosen at start (`--open-registration`, `--groups-file`, or a CA
 * that vouches for node identities):
 * - open: anyone may speak for any node; the first two nodes of a group are its members (loopback
 *   and tests only; the configuration refuses it on any other address);
 * - declared: the groups file names each group's members, and a caller is one of them by its
 *   certificate's identity or by the group's key;
 * - ca: a certificate naming `spiffe://TRUST-DOMAIN/group/G/node/N` may speak for node N of G.
 */
import type { NodeRole } from '../../core/witness/types';
import { toWireRole } from '../../wire/enum-mappings';
import { secretsEqual } from '../../wire/secret-compare';
import { type CallerCredentials, GROUP_KEY_METADATA, presentedAny } from '../../wire/caller-credentials';
import type { RefusalLog } from '../../wire/refusal-log';
import type { CallGuard, GuardedRequest } from '../../wire/service-edge';
import { describeIdentity, nodeSpiffeId } from '../../wire/spiffe-id';
import { WireError } from '../../wire/wire-error';
import type { DeclaredGroups } from './groups-file';

export type AdmissionMode = 'open' | 'declared' | 'ca';
export type OperatorRole = 'read' | 'write';

export interface WitnessAccessSettings {
  readonly mode: AdmissionMode;
  /** The groups file's groups; required in mode 'declared'. */
  readonly groups?: DeclaredGroups;
  readonly trustDomain: string;
  /** Where a certificate names its node: its URI SAN (SPIFFE id) or its subject CN. */
  readonly identityFrom: 'uri-san' | 'cn';
  readonly adminWriteToken?: string;
  readonly adminReadToken?: string;
}

/** The role each Admin method needs; a method not listed needs the write role (fail closed). */
const ADMIN_METHOD_ROLES: Readonly<Record<string, OperatorRole>> = {
  GetGroup: 'read',
  ListGroups: 'read',
  Watch: 'read',
  ListEvents: 'read',
};

interface NodeRequestFields {
  readonly group?: unknown;
  readonly node?: unknown;
  readonly role?: unknown;
}

export class WitnessAccess {
  constructor(
    private readonly settings: WitnessAccessSettings,
    private readonly refusals: RefusalLog,
  ) {
    if (settings.mode === 'declared' && settings.groups === undefined) {
      throw new Error('WitnessAccess: mode declared needs the declared groups');
    }
  }

  get mode(): AdmissionMode {
    return this.settings.mode;
  }

  /** The guard for the services' edges. */
  readonly guard: CallGuard = (call) => {
    try {
      if (call.service === 'witness.v1.Admin') this.admitOperator(call);
      else this.admitNode(call);
    } catch (error) {
      if (error instanceof WireError) this.refusals.refused(call, error);
      throw error;
    }
  };

  private admitNode(call: GuardedRequest): void {
    if (this.settings.mode === 'open') return;
    const credentials = call.credentials;
    const request = call.request as NodeRequestFields;
    // Checked before the request is validated: a malformed id is simply not the caller's.
    const group = typeof request.group === 'string' ? request.group : '';
    const node = typeof request.node === 'string' ? request.node : '';
    const identity = this.certificateNodeIdentity(credentials);
    if (identity !== undefined) return this.admitByCertificate(identity, group, node, request.role);
    if (credentials.groupKey !== undefined)
      return this.admitByGroupKey(credentials.groupKey, group, node, request.role);
    if (presentedAny(credentials)) {
      throw denied(`the credentials presented do not name a node of trust domain ${this.settings.trustDomain}`);
    }
    throw unauthenticated(
      `no credentials: a node presents a client certificate naming it, or its group's key in metadata ${GROUP_KEY_METADATA}`,
    );
  }

  private admitByCertificate(identity: string, group: string, node: string, role: unknown): void {
    if (this.settings.mode === 'ca') {
      if (identity !== nodeSpiffeId(this.settings.trustDomain, group, node)) {
        throw denied(`the certificate names ${identity}; it may speak only for that node, not for ${group}/${node}`);
      }
      return;
    }
    const member = this.settings.groups?.get(group)?.members.get(node);
    if (member === undefined || member.identity !== identity) {
      throw denied(`the certificate names ${identity}; it may speak only for that node, not for ${group}/${node}`);
    }
    checkRole(member.role, role, group, node);
  }

  private admitByGroupKey(key: string, group: string, node: string, role: unknown): void {
    const declared = this.settings.groups?.get(group);
    // The same answer whether the group exists, has no key or has another one.
    if (declared?.key === undefined || !secretsEqual(key, declared.key)) {
      throw unauthenticated(`the group key presented is not group ${group}'s`);
    }
    const member = declared.members.get(node);
    if (member === undefined) throw denied(`node ${node} is not a declared member of group ${group}`);
    checkRole(member.role, role, group, node);
  }

  /** The node identity a verified certificate names, in the form the groups file compares. */
  private certificateNodeIdentity(credentials: CallerCredentials): string | undefined {
    if (this.settings.identityFrom === 'cn')
      return credentials.certificateCn === '' ? undefined : credentials.certificateCn;
    // A groups file may name identities of any trust domain; a CA alone vouches only for its own.
    const nodes = credentials.certificateIds.filter(
      (id) => id.kind === 'node' && (this.settings.mode === 'declared' || id.trustDomain === this.settings.trustDomain),
    );
    if (nodes.length > 1) throw denied('the certificate names more than one node; a node certificate names one');
    return nodes[0] === undefined ? undefined : describeIdentity(nodes[0]);
  }

  private admitOperator(call: GuardedRequest): void {
    const { adminWriteToken, adminReadToken, mode } = this.settings;
    if (mode === 'open' && adminWriteToken === undefined && adminReadToken === undefined) return;
    const { credentials, method } = call;
    const need = ADMIN_METHOD_ROLES[method] ?? 'write';
    const role = this.operatorRole(credentials);
    if (role === undefined) {
      if (credentials.bearerToken !== undefined) throw unauthenticated('the bearer token is not accepted');
      if (presentedAny(credentials)) throw denied('Admin calls need an operator identity; this caller has none');
      throw unauthenticated('Admin calls need an operator certificate or a bearer token (authorization: Bearer TOKEN)');
    }
    if (need === 'write' && role === 'read')
      throw denied(`${method} needs the operator write role; this caller may only read`);
  }

  private operatorRole(credentials: CallerCredentials): OperatorRole | undefined {
    const { adminWriteToken, adminReadToken, trustDomain } = this.settings;
    const token = credentials.bearerToken;
    if (token !== undefined) {
      // Both compared, so the time does not say which one matched.
      const write = adminWriteToken !== undefined && secretsEqual(token, adminWriteToken);
      const read = adminReadToken !== undefined && secretsEqual(token, adminReadToken);
      return write ? 'write' : read ? 'read' : undefined;
    }
    const ours = credentials.certificateIds.filter((id) => id.trustDomain === trustDomain);
    if (ours.some((id) => id.kind === 'operator')) return 'write';
    if (ours.some((id) => id.kind === 'viewer')) return 'read';
    return undefined;
  }
}

function checkRole(declared: NodeRole, asked: unknown, group: string, node: string): void {
  // Acquire and Release carry no role; a heartbeat's must be the declared one.
  if (typeof asked === 'string' && asked !== '' && asked !== 'ROLE_UNSPECIFIED' && asked !== toWireRole(declared)) {
    throw denied(`node ${node} of group ${group} is declared ${declared}, not ${asked}`);
  }
}

function denied(message: string): WireError {
  return new WireError('permission-denied', '', message);
}

function unauthenticated(message: string): WireError {
  return new WireError('unauthenticated', '', message);
}
