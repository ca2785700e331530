/**
 * The sidecar's rule lists (src/core/sidecar/decision-rules.ts) against the VOLTTRON tables users
 * know (behaviour-tables.ts): the lists are evaluated on the four peer/witness combinations, with
 * nothing else going on and then in each case a table row names as an exception, and must agree
 * with what the table prints. `witness tables` must print every row, in order.
 */
import { expect } from 'chai';
import {
  ACTIVE_TABLE,
  type Link,
  lookup,
  SIMPLE_TABLE,
  STANDBY_TABLE,
  type StandbyAction,
} from '../../src/core/sidecar/behaviour-tables';
import {
  ACTIVE_RULES,
  type ActiveInputs,
  type DecisionRow,
  RULE_NAMES,
  type RowOutcome,
  SIMPLE_RULES,
  type SimpleInputs,
  STOPPED_RULES,
  type StoppedInputs,
} from '../../src/core/sidecar/decision-rules';
import { describeTables } from '../../src/core/sidecar/describe-decisions';

const LINKS: readonly Link[] = ['up', 'down'];

function first<C>(rows: readonly DecisionRow<C>[], inputs: C): DecisionRow<C> {
  const row = rows.find((r) => r.when(inputs));
  if (row === undefined) throw new Error('no row holds');
  return row;
}

/** A running node with nothing but its two leases to go by. */
function active(peer: Link, witness: Link, extra: Partial<ActiveInputs> = {}): ActiveInputs {
  return {
    workload: 'running',
    supersededBecause: undefined,
    peerLeaseUp: peer === 'up',
    witnessLeaseUp: witness === 'up',
    handbackAsked: false,
    leaving: false,
    handOverAsked: false,
    epoch: 7n,
    ...extra,
  };
}

/** A stopped node that holds nothing, waits for nothing and made no promise; the peer, when up, runs. */
function standby(peer: Link, witness: Link, extra: Partial<StoppedInputs> = {}): StoppedInputs {
  return {
    role: 'secondary',
    epoch: 7n,
    grantArrived: false,
    grantUsable: false,
    restartWanted: false,
    restarts: 0,
    maxRestarts: 3,
    inRestartBackoff: false,
    acquireInFlight: false,
    inRefusalWait: false,
    holding: false,
    releaseInFlight: false,
    inReleaseRetryWait: false,
    ineligible: false,
    promiseOutstanding: false,
    inQuietPeriod: false,
    peerUp: peer === 'up',
    witnessUp: witness === 'up',
    peerWorkload: 'running',
    peerEligible: true,
    peerHandsOver: false,
    leaving: false,
    inMaintenance: false,
    handingOver: false,
    coldStartReady: false,
    coldStartEpoch: 0n,
    ...extra,
  };
}

const asStandbyAction = (outcome: RowOutcome): StandbyAction =>
  outcome === 'acquire' ? 'ask-witness' : 'stay-stopped';

describe('sidecar rule lists', () => {
  it('row names are unique across every list, and every list ends with a row that always holds', () => {
    const all = [...ACTIVE_RULES, ...STOPPED_RULES, ...SIMPLE_RULES];
    expect(RULE_NAMES.size).to.equal(all.length);
    const last = <C>(rows: readonly DecisionRow<C>[]): DecisionRow<C> => rows[rows.length - 1] as DecisionRow<C>;
    expect(last(ACTIVE_RULES).when(active('down', 'down', { workload: 'running' }))).to.equal(true);
    expect(last(STOPPED_RULES).when(standby('down', 'down'))).to.equal(true);
    expect(
      last(SIMPLE_RULES).when({ role: 'primary', peerUp: true, workload: 'stopped', inRestartBackoff: true }),
    ).to.equal(true);
  });

  describe('agree with the VOLTTRON table of the node running the workload', () => {
    for (const peer of LINKS) {
      for (const witness of LINKS) {
        const printed = lookup(ACTIVE_TABLE, peer, witness);
        it(`peer ${peer}, witness ${witness}: ${printed.action} (${printed.why})`, () => {
          const row = first(ACTIVE_RULES, active(peer, witness));
          expect(row.outcome === 'stop' ? 'stop' : 'run').to.equal(printed.action);
          expect(row.why).to.equal(printed.why);
          if (printed.action === 'run') {
            expect(printed.except, 'the exceptions are printed').to.be.a('string');
            const exceptions: Partial<ActiveInputs>[] = [
              { supersededBecause: 'the witness refused epoch 7' },
              { handbackAsked: true },
            ];
            for (const extra of exceptions)
              expect(first(ACTIVE_RULES, active(peer, witness, extra)).outcome).to.equal('stop');
          }
        });
      }
    }

    it('a stopping workload decides nothing, whatever the leases', () => {
      for (const peer of LINKS) {
        for (const witness of LINKS) {
          expect(first(ACTIVE_RULES, active(peer, witness, { workload: 'stopping' })).outcome).to.equal('wait');
        }
      }
    });
  });

  describe('agree with the VOLTTRON table of the node not running it', () => {
    for (const peer of LINKS) {
      for (const witness of LINKS) {
        const printed = lookup(STANDBY_TABLE, peer, witness);
        it(`peer ${peer}, witness ${witness}: ${printed.action} (${printed.why})`, () => {
          for (const role of ['primary', 'secondary'] as const) {
            const row = first(STOPPED_RULES, standby(peer, witness, { role }));
            expect(asStandbyAction(row.outcome), `${role}: ${row.name}`).to.equal(printed.action);
            expect(row.why).to.contain(printed.why);
          }
        });
      }
    }

    it('the printed exception for peer up, witness down: a cold start on the peer lease, when the core says it is ready', () => {
      expect(lookup(STANDBY_TABLE, 'up', 'down').except).to.be.a('string');
      const ready = { peerWorkload: 'stopped', role: 'primary', coldStartReady: true, coldStartEpoch: 9n } as const;
      const row = first(STOPPED_RULES, standby('up', 'down', ready));
      expect([row.name, row.outcome]).to.deep.equal(['start-cold-on-peer-lease', 'start']);
      expect(first(STOPPED_RULES, standby('up', 'down', { ...ready, coldStartReady: false })).outcome).to.equal('wait');
    });

    it('the printed exception for peer up, witness up: both stopped, the primary asks; the secondary asks once the primary gave up', () => {
      const both = { peerWorkload: 'stopped' } as const;
      expect(lookup(STANDBY_TABLE, 'up', 'up').except).to.be.a('string');
      expect(first(STOPPED_RULES, standby('up', 'up', { ...both, role: 'primary' })).name).to.equal(
        'acquire-preferred-primary',
      );
      expect(first(STOPPED_RULES, standby('up', 'up', { ...both, role: 'secondary' })).outcome).to.equal('wait');
      const gaveUp = { ...both, role: 'secondary', peerEligible: false } as const;
      expect(first(STOPPED_RULES, standby('up', 'up', gaveUp)).name).to.equal('acquire-primary-gave-up');
      // Not with the witness down: there only a cold start the core found ready starts (above).
      expect(first(STOPPED_RULES, standby('up', 'down', { ...both, role: 'primary' })).outcome).to.equal('wait');
      expect(first(STOPPED_RULES, standby('up', 'down', gaveUp)).outcome).to.equal('wait');
    });

    it('the table is consulted only once nothing is in flight, no wait runs and no promise stands', () => {
      const guards: Partial<StoppedInputs>[] = [
        { acquireInFlight: true },
        { inRefusalWait: true },
        { ineligible: true },
        { promiseOutstanding: true },
        { inQuietPeriod: true },
      ];
      for (const extra of guards) expect(first(STOPPED_RULES, standby('down', 'up', extra)).outcome).to.equal('wait');
    });
  });

  it('agree with the simple-mode table', () => {
    const simple = (extra: Partial<SimpleInputs>): DecisionRow<SimpleInputs> =>
      first(SIMPLE_RULES, { role: 'primary', peerUp: true, workload: 'stopped', inRestartBackoff: false, ...extra });
    expect(simple({}).why).to.equal(SIMPLE_TABLE.primary.why);
    expect(simple({}).outcome).to.equal('start');
    expect(simple({ workload: 'running' }).outcome).to.equal('keep-running');
    expect(simple({ role: 'secondary', workload: 'running' })).to.include({
      outcome: 'stop',
      why: SIMPLE_TABLE.secondaryPeerUp.why,
    });
    expect(simple({ role: 'secondary', peerUp: false })).to.include({
      outcome: 'start',
      why: SIMPLE_TABLE.secondaryPeerDown.why,
    });
    expect(simple({ role: 'secondary', peerUp: false, workload: 'running' }).outcome).to.equal('keep-running');
    expect(simple({ role: 'secondary' }).outcome).to.equal('wait');
    expect(simple({ inRestartBackoff: true }).name).to.equal('simple-wait-restart-backoff');
  });

  it('witness tables prints every row of every list, in order, with its name and reason, then the VOLTTRON tables', () => {
    const text = describeTables();
    let at = 0;
    for (const row of [...ACTIVE_RULES, ...STOPPED_RULES, ...SIMPLE_RULES]) {
      const line = text.indexOf(`${row.name} `, at);
      expect(line, row.name).to.be.greaterThan(at - 1);
      const end = text.indexOf('\n', line);
      expect(text.slice(line, end)).to.contain(row.outcome).and.to.contain(row.why);
      at = end;
    }
    for (const r of [...ACTIVE_TABLE, ...STANDBY_TABLE]) {
      expect(text.indexOf(r.why, at), r.why).to.be.greaterThan(at);
      if (r.except !== undefined) expect(text).to.contain(`except: ${r.except}`);
    }
  });
});
