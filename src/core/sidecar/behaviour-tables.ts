/**
 * The behaviour users know from VOLTTRON's failover agent (design §2), as a view.
 *
 * "Up" is not a guess from one missed packet: for the node that runs the workload, the witness is
 * up while it holds a valid witness lease and the peer is up while it holds a valid peer lease
 * (both counted from when it sent the request, shortened by the drift bound, and counted as up
 * only while they outlast the stop budget, so a "stop" leaves time for SIGTERM, the grace and
 * SIGKILL before the lease ends). For the node that does not run it, the peer is down only once
 * nothing has been heard from it for the timeout AND every peer lease this node granted has run out.
 *
 * What the core runs is the ordered rule lists of decision-rules.ts; these tables are how those
 * lists read for the four peer/witness combinations, with their exceptions (`except`) spelled
 * out. test/unit/sidecar-rule-lists.test.ts evaluates the lists and checks every row here.
 */
export type Link = 'up' | 'down';

export type ActiveAction = 'run' | 'stop';
export type StandbyAction = 'stay-stopped' | 'ask-witness';

export interface TableRow<A> {
  readonly peer: Link;
  readonly witness: Link;
  readonly action: A;
  readonly why: string;
  /** When the rule lists decide otherwise for this combination. */
  readonly except?: string;
}

/** Whatever the leases say, the running node stops when one of these holds (rows before the table). */
const RUNNING_NODE_STOPS_ANYWAY =
  'stop when the witness refused its epoch, or when the stopped preferred primary asks for the group back ' +
  '(auto fail-back)';

/** The node running the workload (the primary's table; also the secondary's after a takeover). */
export const ACTIVE_TABLE: readonly TableRow<ActiveAction>[] = [
  { peer: 'up', witness: 'up', action: 'run', why: 'both leases hold', except: RUNNING_NODE_STOPS_ANYWAY },
  {
    peer: 'up',
    witness: 'down',
    action: 'run',
    why: 'the peer, which is stopped, vouches with its peer lease',
    except: RUNNING_NODE_STOPS_ANYWAY,
  },
  {
    peer: 'down',
    witness: 'up',
    action: 'run',
    why: 'the witness lease holds; the witness refuses the peer',
    except: RUNNING_NODE_STOPS_ANYWAY,
  },
  {
    peer: 'down',
    witness: 'down',
    action: 'stop',
    why: 'lost both the peer and the witness: the other side may be taking over',
  },
];

/**
 * The node not running it (the secondary's table; also the primary's after a takeover). It asks
 * only once it has nothing in flight, no refusal to wait out, no cooldown, no promise standing
 * and its quiet period after start is over (the rows before the table).
 */
export const STANDBY_TABLE: readonly TableRow<StandbyAction>[] = [
  {
    peer: 'up',
    witness: 'up',
    action: 'stay-stopped',
    why: 'the peer is up',
    except:
      'both stopped: the preferred primary asks the witness, and so does the secondary once the primary ' +
      'gave the group up after repeated workload failures',
  },
  {
    peer: 'up',
    witness: 'down',
    action: 'stay-stopped',
    why: 'the peer is up',
    except:
      "both stopped and keeping their epochs on disk (--state-dir): the primary starts on the secondary's " +
      'peer lease under an epoch both recorded (a cold start with the witness down)',
  },
  {
    peer: 'down',
    witness: 'up',
    action: 'ask-witness',
    why: 'the peer is gone: run only once the witness confirms its lease has run out',
  },
  { peer: 'down', witness: 'down', action: 'stay-stopped', why: 'nobody can confirm the peer is down' },
];

/** Simple mode (no witness; can run both copies during a partition, and says so at start). */
export const SIMPLE_TABLE = {
  primary: { action: 'run', why: 'simple mode: the primary always runs' },
  secondaryPeerUp: { action: 'stop', why: 'simple mode: the primary is up' },
  secondaryPeerDown: { action: 'run', why: 'simple mode: the primary is down (not confirmed by anyone)' },
} as const;

export function lookup<A>(table: readonly TableRow<A>[], peer: Link, witness: Link): TableRow<A> {
  const row = table.find((r) => r.peer === peer && r.witness === witness);
  if (row === undefined) throw new Error(`behaviour table has no row for peer ${peer}, witness ${witness}`);
  return row;
}
