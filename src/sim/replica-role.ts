/** Where a write lands at etcd: in the store, refused by the fence, or nowhere (etcd out of reach). */
export type FencedWrite = 'landed' | 'fenced' | 'unreachable';

/**
 * What a witness replica over etcd (witness-site.ts) adds to the process: the clock it shares with
 * its candidacy, the leadership it decides under (the production EtcdStore's rules: decide only
 * before the election lease can have run out, write only through the fence), and its restart.
 */
export interface ReplicaRole {
  /** Its name in the timeline. */
  readonly name: string;
  readonly rate: number;
  now(): number;
  mayDecide(now: number): boolean;
  /** A write reaches etcd now. */
  write(): FencedWrite;
  /** The process died (or exited: a lost leadership); the site starts it again as a candidate. */
  onCrash(downMs: number): void;
  /** Runs `task` now, or once the process runs again if it is stopped. */
  whenRunning(task: () => void): void;
}
