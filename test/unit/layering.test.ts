/**
 * The layering rules of eslint.config.mjs fire: snippets linted as if they were files of each
 * layer, one forbidden import and one allowed import each. src/core/ imports only src/core/ (no
 * package, no node: module); the sidecar and the witness do not import each other; src/wire/
 * imports neither.
 */
import { expect } from 'chai';
import path from 'node:path';
import { ESLint } from 'eslint';

/** The package root; this file runs compiled, from dist/test/unit. */
const ROOT = path.resolve(__dirname, '../../..');

const FORBIDDEN: Array<[file: string, from: string]> = [
  ['src/core/epoch-x.ts', '../witness/validate-request'],
  ['src/core/epoch-x.ts', 'node:fs'],
  ['src/core/epoch-x.ts', 'pino'],
  ['src/core/witness/rules-x.ts', '../../wire/wire-error'],
  ['src/core/sidecar/timing-x.ts', '../../sidecar/monotonic-clock'],
  ['src/sidecar/peer-x.ts', '../witness/validate-request'],
  ['src/sidecar/watchdog/x.ts', '../../witness/store/witness-store'],
  ['src/witness/admin-x.ts', '../sidecar/peer-wire'],
  ['src/witness/store/x.ts', '../../sidecar/witness-link'],
  ['src/wire/x.ts', '../witness/store/witness-store'],
  ['src/wire/x.ts', '../sidecar/peer-wire'],
];

const ALLOWED: Array<[file: string, from: string]> = [
  ['src/core/epoch-x.ts', './lease'],
  ['src/core/witness/rules-x.ts', '../epoch'],
  ['src/core/witness/rules-x.ts', './types'],
  ['src/sidecar/peer-x.ts', '../wire/validate-request'],
  ['src/sidecar/peer-x.ts', '../core/witness/types'],
  ['src/sidecar/peer-x.ts', './witness-link'],
  ['src/witness/admin-x.ts', '../wire/service-edge'],
  ['src/witness/store/x.ts', '../witness-store'],
  ['src/wire/x.ts', '../core/epoch'],
  ['src/wire/x.ts', '../proto/load-proto'],
];

async function restrictedImportErrors(eslint: ESLint, file: string, from: string): Promise<string[]> {
  const code = `import { thing } from '${from}';\nexport const used = thing;\n`;
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering (eslint no-restricted-imports)', function () {
  // Loading typescript-eslint takes a few seconds on a busy machine.
  this.timeout(60_000);
  const eslint = new ESLint({ cwd: ROOT });

  for (const [file, from] of FORBIDDEN) {
    it(`refuses '${from}' in ${file}`, async () => {
      const errors = await restrictedImportErrors(eslint, file, from);
      expect(errors, `no error for '${from}' in ${file}`).to.have.length(1);
      expect(errors[0]).to.include(`'${from}' import is restricted`);
    });
  }

  for (const [file, from] of ALLOWED) {
    it(`allows '${from}' in ${file}`, async () => {
      expect(await restrictedImportErrors(eslint, file, from)).to.deep.equal([]);
    });
  }
});
