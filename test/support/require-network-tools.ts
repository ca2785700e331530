/**
 * The floating address test makes network namespaces with `ip` and announces the address with
 * iputils' `arping`, as the example's start hook does on a real node (a missing tool: see
 * require-tool.ts).
 */
import { type OsTool, requireTool } from './require-tool';

function debianTool(name: string, probe: string, need: string, packageName: string): OsTool {
  return {
    name,
    probe: [name, probe],
    why:
      `the ${name} command is not on PATH: ${need}; ` +
      `install it with apt-get install --no-install-recommends ${packageName} (Debian, Ubuntu)`,
  };
}

const IP = debianTool('ip', '-V', 'the test makes network namespaces with it', 'iproute2');
const ARPING = debianTool(
  'arping',
  '-V',
  'deploy/examples/floating-ip announces the address with it',
  'iputils-arping',
);

/** Call from a `before` hook: returns if ip and arping run, else skips the suite (or throws under CI=true). */
export function requireNetworkTools(context: Mocha.Context): void {
  requireTool(context, IP);
  requireTool(context, ARPING);
}
