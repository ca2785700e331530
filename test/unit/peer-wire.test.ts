/**
 * Peer messages from the wire into the core's vocabulary (src/sidecar/peer-wire.ts). An epoch is
 * bounded by its format and by 2^63-1, never by this machine's wall clock (issue 8, item 5): a peer
 * whose epochs come from a witness store created while this clock was days behind is still heard.
 *
 * The wall-clock case fails until requireEpoch (src/wire/validate-request.ts) no longer compares
 * epochs with the wall clock; that change is the witness side's.
 */
import { expect } from 'chai';
import { epochFloor, generationFromWallClock, MAX_EPOCH } from '../../src/core/epoch';
import type { PeerState__Output } from '../../src/gen/witness/v1/PeerState';
import { fromWirePeerState, fromWireReply, requireEpochOfRun, toWirePeerState } from '../../src/sidecar/peer-wire';

const TWO_DAYS_MS = 2 * 24 * 3600 * 1000;

function wire(epoch: string): PeerState__Output {
  return {
    group: 'g1',
    node: 'b',
    role: 'ROLE_SECONDARY',
    workload: 'WORKLOAD_PHASE_RUNNING',
    epoch,
    knownEpoch: epoch,
    acquiring: false,
    eligible: true,
    handbackRequested: false,
    handingOver: false,
    maintenance: false,
    durableEpochs: false,
    coldStartEpoch: '0',
    incarnation: '0',
    statement: '0',
  };
}

describe('peer-wire', () => {
  it('accepts an epoch from a store generation two days ahead of the local wall clock', () => {
    const ahead = epochFloor(generationFromWallClock(Date.now() + TWO_DAYS_MS)) + 1n;
    const state = fromWirePeerState(wire(ahead.toString()), 'state');
    expect([state.epoch, state.knownEpoch]).to.deep.equal([ahead, ahead]);
  });

  it("carries the state's order both ways, and refuses a number that is not one, naming the field", () => {
    const state = fromWirePeerState({ ...wire('5'), incarnation: '1764000000000', statement: '42' }, 'state');
    expect([state.incarnation, state.statement]).to.deep.equal([1764000000000n, 42n]);
    const back = toWirePeerState('g1', state);
    expect([back.incarnation, back.statement]).to.deep.equal(['1764000000000', '42']);
    expect(() => fromWirePeerState({ ...wire('5'), statement: '-1' }, 'state')).to.throw(/state\.statement/);
  });

  it('accepts such an epoch as the epoch of a peer lease in a reply', () => {
    const ahead = epochFloor(generationFromWallClock(Date.now() + TWO_DAYS_MS)) + 1n;
    const reply = fromWireReply(
      { state: wire(ahead.toString()), leaseMs: 1000, leaseForEpoch: ahead.toString() },
      ahead,
    );
    expect(reply.leaseForEpoch).to.equal(ahead);
  });

  it('refuses a lease that names another epoch than the heartbeat was sent under, naming the field', () => {
    const reply = { state: wire('7'), leaseMs: 1000, leaseForEpoch: '6' };
    expect(() => fromWireReply(reply, 7n)).to.throw(
      /^lease_for_epoch: names epoch 6, but the heartbeat was sent under 7/,
    );
    expect(() => fromWireReply({ ...reply, leaseForEpoch: '8' }, 7n)).to.throw(/^lease_for_epoch: /);
    // No lease: the epoch it names is not a promise, and the rest of the reply still counts.
    expect(fromWireReply({ ...reply, leaseMs: 0, leaseForEpoch: '0' }, 7n).state.node).to.equal('b');
    expect(fromWireReply({ ...reply, leaseForEpoch: '7' }, 7n).leaseMs).to.equal(1000);
  });

  it('refuses a heartbeat state that runs or starts a workload under no epoch, naming the field', () => {
    expect(() => requireEpochOfRun(fromWirePeerState(wire('0'), 'state'), 'state')).to.throw(
      /^state\.epoch: is 0, but a node that runs a workload runs under an epoch/,
    );
    const starting = fromWirePeerState({ ...wire('0'), workload: 'WORKLOAD_PHASE_STARTING' }, 'state');
    expect(() => requireEpochOfRun(starting, 'state')).to.throw(/^state\.epoch: is 0, but a node that starts/);
    // A stopped node may never have run; a run names its epoch.
    expect(() =>
      requireEpochOfRun(fromWirePeerState({ ...wire('0'), workload: 'WORKLOAD_PHASE_STOPPED' }, 'state'), 'state'),
    ).to.not.throw();
    expect(() => requireEpochOfRun(fromWirePeerState(wire('5'), 'state'), 'state')).to.not.throw();
  });

  it('still refuses an epoch above 2^63-1 or not a number, naming the field', () => {
    expect(() => fromWirePeerState(wire((MAX_EPOCH + 1n).toString()), 'state')).to.throw(/^state\.epoch: /);
    expect(() => fromWirePeerState(wire('-1'), 'state')).to.throw(/^state\.epoch: /);
  });
});
