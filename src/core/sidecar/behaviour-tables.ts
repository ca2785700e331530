/**
 * The behaviour users know from VOLTTRON's failover agent (design §2), as data.
 *
 * "Up" is not a guess from one missed packet: for the node that runs the workload, the witness is
 * up while it holds a valid witness lease and the peer is up while it holds a valid peer lease
 * (both counted from when it sent the request, shortened by the drift bound). For the node that
 * does not run it, the peer is down only once nothing has been heard from it for the timeout AND
 * every peer lease this node granted has run out. The tables below are what the sidecar core
 * consults; src/core/sidecar/sidecar-core.ts turns leases and timeouts into these inputs (for the
 * running node, a lease counts as up only while it outlasts the stop budget, so a "stop" leaves
 * time for SIGTERM, the grace and SIGKILL before the lease ends).
 */
export type Link = 'up' | 'down';

export type ActiveAction = 'run' | 'stop';
export type StandbyAction = 'stay-stopped' | 'ask-witness';

export interface TableRow<A> {
  readonly peer: Link;
  readonly witness: Link;
  readonly action: A;
  readonly why: string;
}

/** The node running the workload (the primary's table; also the secondary's after a takeover). */
export const ACTIVE_TABLE: readonly TableRow<ActiveAction>[] = [
  { peer: 'up', witness: 'up', action: 'run', why: 'both leases hold' },
  { peer: 'up', witness: 'down', action: 'run', why: 'the peer, which is stopped, vouches with its peer lease' },
  { peer: 'down', witness: 'up', action: 'run', why: 'the witness lease holds; the witness refuses the peer' },
  {
    peer: 'down',
    witness: 'down',
    action: 'stop',
    why: 'lost both the peer and the witness: the other side may be taking over',
  },
];

/**
 * The node not running it (the secondary's table; also the primary's after a takeover, except
 * that a primary facing a stopped, reachable peer starts it: it is the preferred node).
 */
export const STANDBY_TABLE: readonly TableRow<StandbyAction>[] = [
  { peer: 'up', witness: 'up', action: 'stay-stopped', why: 'the peer is up' },
  { peer: 'up', witness: 'down', action: 'stay-stopped', why: 'the peer is up' },
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

/** The tables as text, for `witness tables` and the docs. */
export function describeTables(): string {
  const rows = <A extends string>(title: string, table: readonly TableRow<A>[]): string =>
    `${title}\n  ${'peer'.padEnd(6)} ${'witness'.padEnd(8)} ${'action'.padEnd(13)} why\n` +
    table.map((r) => `  ${r.peer.padEnd(6)} ${r.witness.padEnd(8)} ${r.action.padEnd(13)} ${r.why}`).join('\n');
  const simple = Object.entries(SIMPLE_TABLE)
    .map(([when, r]) => `  ${when.padEnd(18)} ${r.action.padEnd(13)} ${r.why}`)
    .join('\n');
  return [
    rows('The node running the workload ("up" = holds a valid lease from that side)', ACTIVE_TABLE),
    rows('The node not running it ("down" = silent for the timeout and every promise run out)', STANDBY_TABLE),
    `Simple mode (no witness)\n${simple}`,
  ].join('\n\n');
}
