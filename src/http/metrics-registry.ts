/**
 * What both programs' metrics share (design §19.1): a registry of their own, never prom-client's
 * global one (tests run several witnesses and sidecars in one process), with the process's
 * default metrics under the program's prefix, and the buckets of every latency histogram.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * Seconds, from half a millisecond (a renewal answered from memory) to 2.5 s (past any lease
 * worth having: a call that slow has already cost its caller the lease).
 */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** `prefix` ends in `_`, e.g. `failover_witness_`; `labels` go on every series (the sidecar's node). */
export function programRegistry(prefix: string, labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix });
  // Gauges named like counters: promtool's lint refuses them, and rate() over one would mislead.
  // Each is the sum of its unsuffixed namesake's series (nodejs_active_handles{type}, ...).
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(`${prefix}${name}`);
  return registry;
}

const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];
