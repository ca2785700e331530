/**
 * The sidecar process's young generation stays at V8's initial size (1 MB per semi-space): an
 * idle sidecar allocates a few hundred KB a second, yet V8 grows the young generation up to 16 MB
 * per semi-space, which then holds garbage in resident memory (about 10 MB of the sidecar's private
 * memory, test/bench/README.md). Process-wide, so only for the `witness sidecar` command, never
 * for a process that embeds sidecars (startSidecar).
 *
 * `--max-semi-space-size=1` on node's command line does the same, but a service unit or a
 * container may not pass it. V8 reads the growth factor each time the young generation grows,
 * and raises a factor below 2 given on the command line (so this is set at run time); if a V8
 * version stops honouring it, the young generation merely grows as by default.
 */
import v8 from 'node:v8';

export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
