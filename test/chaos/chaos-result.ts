/** What one chaos run found: what runChaos resolves with, what the report and `--json` print. */
import type { Failover, Stat } from './failover-analysis';
import type { SettleResult } from './settle';

export interface ChaosResult {
  seed: number;
  seconds: number;
  /** ms the schedule actually ran. */
  ranMs: number;
  aborted: boolean;
  faultsInjected: number;
  faultsByKind: Record<string, number>;
  healsWithReset: number;
  healsWithoutReset: number;
  activations: number;
  activationsByNode: Record<string, number>;
  /** Each overlap: its description, length, and where it began (ms after the schedule start). */
  overlaps: { text: string; overlapMs: number; atMs: number }[];
  s2Violations: string[];
  witnessGrants: number;
  failovers: Failover[];
  takeoverGap: Stat;
  takeoverSinceFault: Stat;
  handBackGap: Stat;
  /** Longest time with no workload running during the schedule (ms) and when it began. */
  longestOutageMs: number;
  longestOutageAtMs: number | null;
  /** Share of the schedule with a workload running. */
  availability: number;
  workloadSelfExits: number;
  failoverBoundMs: number | null;
  settle: SettleResult | null;
  teardownProblems: string | null;
  actionErrors: string[];
  errors: string[];
  /** On failure: the merged timeline around each overlap (or the end of the run). */
  evidence: string[];
  dir: string | null;
  keptDir: boolean;
  replay: string;
  loadAverage: { start: number[]; end: number[] };
  ok: boolean;
  failures: string[];
}
