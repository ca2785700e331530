// ESLint flat config: eslint's and typescript-eslint's recommended rules. Formatting is prettier's.
import eslint from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'src/gen/']),
  eslint.configs.recommended,
  tseslint.configs.recommended,
);
