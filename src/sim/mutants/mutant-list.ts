/** Every mutant the mutation run tries, sidecar first, then the witness, then the shells; `--only` picks some by id. */
import type { Mutant } from './mutant';
import { SHELL_MUTANTS } from './shell-mutants';
import { SIDECAR_MUTANTS } from './sidecar-mutants';
import { WITNESS_MUTANTS } from './witness-mutants';

export const MUTANTS: readonly Mutant[] = [...SIDECAR_MUTANTS, ...WITNESS_MUTANTS, ...SHELL_MUTANTS];
