/**
 * The witness's guard (src/witness/access/witness-access.ts, design §17) on credentials as the edge
 * reads them: who may speak for which node, which code a refusal gets, what its message leaves out,
 * and that each refusal is logged once per interval without the secret.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { CallerCredentials } from '../../src/wire/caller-credentials';
import { RefusalLog } from '../../src/wire/refusal-log';
import type { GuardedRequest } from '../../src/wire/service-edge';
import { parseSpiffeId } from '../../src/wire/spiffe-id';
import { WireError } from '../../src/wire/wire-error';
import { GroupsFileError, loadGroupsFile } from '../../src/witness/access/groups-file';
import { type WitnessAccessSettings, WitnessAccess } from '../../src/witness/access/witness-access';

const KEY = 'k'.repeat(40);
const OTHER_KEY = 'x'.repeat(40);
const WRITE_TOKEN = 'w'.repeat(40);
const READ_TOKEN = 'r'.repeat(40);
const TD = 'failover-witness';

function credentials(parts: Partial<CallerCredentials> & { uris?: string[] } = {}): CallerCredentials {
  const { uris = [], ...rest } = parts;
  return {
    certificateIds: uris.map((uri) => parseSpiffeId(uri)!),
    certificateCn: '',
    groupKey: undefined,
    bearerToken: undefined,
    peer: 'ipv4:127.0.0.1:40000',
    ...rest,
  };
}

function call(service: string, method: string, creds: CallerCredentials, request: object = {}): GuardedRequest {
  return { service, method, kind: 'unary', credentials: creds, request };
}

const renew = (creds: CallerCredentials, group: string, node: string, role = 'ROLE_PRIMARY') =>
  call('witness.v1.Witness', 'Renew', creds, { group, node, role });

function refusal(run: () => void): WireError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(WireError);
    return error as WireError;
  }
  expect.fail('expected the call to be refused');
}

describe('WitnessAccess (the witness guard, design §17)', () => {
  let dir: string;
  const lines: Array<Record<string, unknown>> = [];
  let clock = 0;
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _e, done) {
        for (const text of chunk.toString().split('\n')) if (text !== '') lines.push(JSON.parse(text));
        done();
      },
    }),
  );

  const write = (name: string, text: string, mode = 0o600): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode });
    fs.chmodSync(file, mode);
    return file;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-access-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    lines.length = 0;
  });

  function declared(extra: Partial<WitnessAccessSettings> = {}): WitnessAccess {
    const keyFile = write('orders.key', `${KEY}\n`);
    const groupsFile = write(
      'groups.yaml',
      [
        'groups:',
        '  - group: orders',
        `    keyFile: ${keyFile}`,
        '    members:',
        '      - { node: a, role: primary }',
        '      - { node: b, role: secondary }',
        '  - group: billing',
        '    members:',
        '      - { node: a, role: primary }',
        '      - { node: b, role: secondary, identity: spiffe://other.example/group/billing/node/b }',
      ].join('\n'),
    );
    const groups = loadGroupsFile(groupsFile, { trustDomain: TD, identityFrom: 'uri-san' });
    return new WitnessAccess(
      { mode: 'declared', groups, trustDomain: TD, identityFrom: 'uri-san', ...extra },
      new RefusalLog(logger, () => clock),
    );
  }

  describe('declared membership', () => {
    it("admits a member's own certificate for its own node, and the group key for a declared member", () => {
      const access = declared();
      access.guard(renew(credentials({ uris: [`spiffe://${TD}/group/orders/node/a`] }), 'orders', 'a'));
      access.guard(renew(credentials({ groupKey: KEY }), 'orders', 'b', 'ROLE_SECONDARY'));
      access.guard(
        call('witness.v1.Witness', 'Release', credentials({ groupKey: KEY }), { group: 'orders', node: 'a' }),
      );
      access.guard(
        renew(credentials({ uris: ['spiffe://other.example/group/billing/node/b'] }), 'billing', 'b', 'ROLE_SECONDARY'),
      );
    });

    it('refuses a valid certificate of another node or another group with PERMISSION_DENIED, naming only the caller', () => {
      const access = declared();
      const b = credentials({ uris: [`spiffe://${TD}/group/orders/node/b`] });
      const asHolder = refusal(() =>
        access.guard(call('witness.v1.Witness', 'Release', b, { group: 'orders', node: 'a' })),
      );
      expect(asHolder.kind).to.equal('permission-denied');
      expect(asHolder.message).to.include('orders/node/b').and.include('not for orders/a');
      const otherGroup = credentials({ uris: [`spiffe://${TD}/group/billing/node/a`] });
      expect(refusal(() => access.guard(renew(otherGroup, 'orders', 'a'))).kind).to.equal('permission-denied');
      // billing/b's declared identity is in another trust domain: the default one does not do.
      const defaultId = credentials({ uris: [`spiffe://${TD}/group/billing/node/b`] });
      expect(refusal(() => access.guard(renew(defaultId, 'billing', 'b', 'ROLE_SECONDARY'))).kind).to.equal(
        'permission-denied',
      );
    });

    it('refuses a node the file does not name, also with the right key', () => {
      const access = declared();
      const error = refusal(() => access.guard(renew(credentials({ groupKey: KEY }), 'orders', 'c')));
      expect(error.kind).to.equal('permission-denied');
      expect(error.message).to.equal('node c is not a declared member of group orders');
      const cert = credentials({ uris: [`spiffe://${TD}/group/orders/node/c`] });
      expect(refusal(() => access.guard(renew(cert, 'orders', 'c'))).kind).to.equal('permission-denied');
    });

    it('refuses a heartbeat with a role other than the declared one', () => {
      const error = refusal(() =>
        declared().guard(renew(credentials({ groupKey: KEY }), 'orders', 'b', 'ROLE_PRIMARY')),
      );
      expect(error.kind).to.equal('permission-denied');
      expect(error.message).to.equal('node b of group orders is declared secondary, not ROLE_PRIMARY');
    });

    it('answers UNAUTHENTICATED without credentials, and the same for a wrong key, a group without one or an unknown group', () => {
      const access = declared();
      const none = refusal(() => access.guard(renew(credentials(), 'orders', 'a')));
      expect(none.kind).to.equal('unauthenticated');
      expect(none.message).to.include('x-failover-group-key');
      const answers = [
        refusal(() => access.guard(renew(credentials({ groupKey: OTHER_KEY }), 'orders', 'a'))),
        refusal(() => access.guard(renew(credentials({ groupKey: KEY }), 'billing', 'a'))),
        refusal(() => access.guard(renew(credentials({ groupKey: KEY }), 'nosuch', 'a'))),
      ];
      expect(answers.map((e) => e.kind)).to.deep.equal(['unauthenticated', 'unauthenticated', 'unauthenticated']);
      expect(answers.map((e) => e.message)).to.deep.equal([
        "the group key presented is not group orders's",
        "the group key presented is not group billing's",
        "the group key presented is not group nosuch's",
      ]);
    });

    it('refuses a certificate that names two nodes, and one of another trust domain names no node', () => {
      const access = declared();
      const two = credentials({ uris: [`spiffe://${TD}/group/orders/node/a`, `spiffe://${TD}/group/orders/node/b`] });
      expect(refusal(() => access.guard(renew(two, 'orders', 'a'))).message).to.include('more than one node');
      const foreign = credentials({ uris: ['spiffe://evil.example/group/orders/node/a'] });
      expect(refusal(() => access.guard(renew(foreign, 'orders', 'a'))).kind).to.equal('permission-denied');
    });

    it('never puts a secret into a refusal or its log line, and logs one line per caller, method and reason per interval', () => {
      const access = declared();
      clock = 0;
      for (let i = 0; i < 50; i++)
        refusal(() => access.guard(renew(credentials({ groupKey: OTHER_KEY }), 'orders', 'a')));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({
        caller: 'a group key',
        method: 'witness.v1.Witness/Renew',
        code: 'UNAUTHENTICATED',
      });
      clock = 10_001;
      refusal(() => access.guard(renew(credentials({ groupKey: OTHER_KEY }), 'orders', 'a')));
      expect(lines).to.have.length(2);
      expect(lines[1]).to.include({ suppressedSinceLast: 49 });
      const text = JSON.stringify(lines);
      expect(text).to.not.include(OTHER_KEY).and.not.include(KEY);
    });
  });

  describe('a CA that vouches for identities', () => {
    const ca = () =>
      new WitnessAccess({ mode: 'ca', trustDomain: TD, identityFrom: 'uri-san' }, new RefusalLog(logger, () => 0));

    it('admits a node certificate for its own node only', () => {
      const access = ca();
      const a = credentials({ uris: [`spiffe://${TD}/group/g/node/a`] });
      access.guard(renew(a, 'g', 'a'));
      expect(refusal(() => access.guard(renew(a, 'g', 'b'))).kind).to.equal('permission-denied');
      expect(refusal(() => access.guard(renew(a, 'h', 'a'))).kind).to.equal('permission-denied');
      expect(refusal(() => access.guard(renew(credentials({ groupKey: KEY }), 'g', 'a'))).kind).to.equal(
        'unauthenticated',
      );
    });
  });

  describe('operators', () => {
    it('gives a write token and an operator certificate the write role, a read token and a viewer the read role', () => {
      const access = declared({ adminWriteToken: WRITE_TOKEN, adminReadToken: READ_TOKEN });
      const admin = (creds: CallerCredentials, method = 'GetGroup') => call('witness.v1.Admin', method, creds);
      access.guard(admin(credentials({ bearerToken: WRITE_TOKEN }), 'SomeWriteMethod'));
      access.guard(admin(credentials({ bearerToken: READ_TOKEN })));
      access.guard(admin(credentials({ uris: [`spiffe://${TD}/operator/alice`] }), 'SomeWriteMethod'));
      access.guard(admin(credentials({ uris: [`spiffe://${TD}/viewer/bob`] }), 'ListGroups'));
      const readOnly = refusal(() => access.guard(admin(credentials({ bearerToken: READ_TOKEN }), 'SomeWriteMethod')));
      expect(readOnly.kind).to.equal('permission-denied');
      const viewer = refusal(() => access.guard(admin(credentials({ uris: [`spiffe://${TD}/viewer/bob`] }), 'Other')));
      expect(viewer.kind).to.equal('permission-denied');
    });

    it('refuses a node certificate, a wrong token and no credentials', () => {
      const access = declared({ adminWriteToken: WRITE_TOKEN });
      const admin = (creds: CallerCredentials) => call('witness.v1.Admin', 'ListGroups', creds);
      expect(
        refusal(() => access.guard(admin(credentials({ uris: [`spiffe://${TD}/group/orders/node/a`] })))).kind,
      ).to.equal('permission-denied');
      expect(refusal(() => access.guard(admin(credentials({ bearerToken: READ_TOKEN })))).kind).to.equal(
        'unauthenticated',
      );
      expect(refusal(() => access.guard(admin(credentials()))).kind).to.equal('unauthenticated');
      expect(refusal(() => access.guard(admin(credentials({ groupKey: KEY })))).kind).to.equal('permission-denied');
    });

    it('leaves Admin open with open registration and no token, and closed once a token is set', () => {
      const open = (extra: Partial<WitnessAccessSettings> = {}) =>
        new WitnessAccess(
          { mode: 'open', trustDomain: TD, identityFrom: 'uri-san', ...extra },
          new RefusalLog(logger, () => 0),
        );
      open().guard(call('witness.v1.Admin', 'ListGroups', credentials()));
      open().guard(renew(credentials(), 'any', 'node'));
      const closed = open({ adminReadToken: READ_TOKEN });
      expect(refusal(() => closed.guard(call('witness.v1.Admin', 'ListGroups', credentials()))).kind).to.equal(
        'unauthenticated',
      );
    });
  });

  describe('the groups file', () => {
    const load = (text: string) => loadGroupsFile(write('g.yaml', text), { trustDomain: TD, identityFrom: 'uri-san' });
    const problem = (text: string): string => {
      try {
        load(text);
      } catch (error) {
        expect(error).to.be.instanceOf(GroupsFileError);
        return (error as Error).message;
      }
      expect.fail('expected a GroupsFileError');
    };

    it('names the entry at fault', () => {
      expect(problem('groups: 3')).to.include('groups: must be a list');
      expect(problem('groups:\n  - { group: "a b", members: [] }')).to.include('groups[0].group: must be');
      expect(problem('groups:\n  - group: g\n    members: [{ node: a, role: boss }]')).to.include(
        'groups[0].members[0].role: must be primary or secondary',
      );
      expect(
        problem('groups:\n  - group: g\n    members: [{ node: a, role: primary }, { node: b, role: primary }]'),
      ).to.include('groups[0].members: a group has one primary and one secondary');
      expect(
        problem(
          'groups:\n  - group: g\n    members: [{node: a, role: primary}, {node: b, role: secondary}, {node: c, role: secondary}]',
        ),
      ).to.include('groups[0].members: must list 1 to 2 members');
      expect(problem('groups:\n  - group: g\n    colour: red\n    members: [{ node: a, role: primary }]')).to.include(
        'groups[0].colour: unknown key',
      );
      expect(
        problem(
          'groups:\n  - { group: g, members: [{ node: a, role: primary }] }\n  - { group: g, members: [{ node: b, role: primary }] }',
        ),
      ).to.include('groups[1].group: group g is declared twice');
    });

    it('refuses a key file that others may read, or that is short, naming the file but not the key', () => {
      const open = write('open.key', KEY, 0o644);
      expect(problem(`groups:\n  - { group: g, keyFile: ${open}, members: [{ node: a, role: primary }] }`))
        .to.include('groups[0].keyFile')
        .and.include('must not be readable by others');
      const short = write('short.key', 'tooshort');
      const message = problem(`groups:\n  - { group: g, keyFile: ${short}, members: [{ node: a, role: primary }] }`);
      expect(message).to.include('at least 32 characters').and.not.include('tooshort');
    });
  });
});
