// ESLint flat config: eslint's and typescript-eslint's recommended rules, and the layering of
// src/ (test/unit/layering.test.ts shows each rule fires). Formatting is prettier's.
import eslint from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

function restrictImports(patterns) {
  return { rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

/**
 * The decisions are pure (the simulator and both shells drive the same objects): a file of
 * src/core/ imports only files of src/core/, no package and no node: module. Paths are relative,
 * so what leaves src/core/ depends on how deep the file is: one config per depth.
 */
function coreStaysInCore(depth) {
  const folder = depth === 1 ? 'src/core/*.ts' : `src/core/${'*/'.repeat(depth - 1)}*.ts`;
  const up = depth === 1 ? '\\./' : `\\./|(\\.\\./){1,${depth - 1}}(?!\\.\\./)`;
  return {
    files: [folder],
    ...restrictImports([
      { regex: `^(?!${up})`, message: 'src/core/ imports only src/core/: no package, no node: module' },
    ]),
  };
}

/** Imports of src/LAYER/ from anywhere below src/ (the other layers are no deeper than src/x/y/). */
function noImportOf(layer, why) {
  return { regex: `^(\\.\\./)+${layer}(/|$)`, message: why };
}

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'src/gen/']),
  eslint.configs.recommended,
  tseslint.configs.recommended,
  [1, 2, 3].map(coreStaysInCore),
  {
    files: ['src/sidecar/**/*.ts'],
    ...restrictImports([
      noImportOf('witness', 'the sidecar shares code with the witness only in src/wire/, src/core/'),
    ]),
  },
  {
    files: ['src/witness/**/*.ts'],
    ...restrictImports([
      noImportOf('sidecar', 'the witness shares code with the sidecar only in src/wire/, src/core/'),
    ]),
  },
  {
    files: ['src/wire/**/*.ts'],
    ...restrictImports([
      noImportOf('witness', 'src/wire/ serves both programs and imports neither'),
      noImportOf('sidecar', 'src/wire/ serves both programs and imports neither'),
    ]),
  },
);
