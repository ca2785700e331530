/** Sidecar settings for the core's unit tests: 100 ms heartbeats, 1 s leases and timeout. */
export const TEST_SIDECAR_SETTINGS = {
  group: 'g',
  mode: 'standard',
  heartbeatMs: 100,
  timeoutMs: 1000,
  leaseMs: 1000,
  peerLeaseMs: 1000,
  stopTimeoutMs: 200,
  failback: 'auto',
  failbackDelayMs: 2000,
  maxRestarts: 2,
  restartBackoffMs: 50,
  failureCooldownMs: 4000,
  bounds: { rho: 0.01, marginMs: 10 },
} as const;
