/** The package's library surface. */
export { startSidecar, type SidecarHandle, type StartSidecarOptions } from './sidecar/start-sidecar';
export type { EmbeddedWorkload } from './sidecar/workload-driver';
