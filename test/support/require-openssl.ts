/** Tests that make certificates need the openssl command (see require-tool.ts). */
import { type OsTool, requireTool, toolAvailable } from './require-tool';

const OPENSSL: OsTool = {
  name: 'openssl',
  probe: [process.env.OPENSSL ?? 'openssl', 'version'],
  why:
    'the openssl command is not on PATH: these tests make their certificates with it at test time ' +
    '(witness certs init); install it with apt-get install openssl',
};

export const OPENSSL_WHY = OPENSSL.why;

export function opensslAvailable(): boolean {
  return toolAvailable(OPENSSL);
}

/** Call from a `before` hook: returns if openssl runs, else skips the suite (or throws under CI=true). */
export function requireOpenssl(context: Mocha.Context): void {
  requireTool(context, OPENSSL);
}
