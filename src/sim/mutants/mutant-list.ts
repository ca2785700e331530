/** Every mutant the mutation run tries, sidecar first; `--only` picks some by id. */
import type { Mutant } from './mutant';
import { SIDECAR_MUTANTS } from './sidecar-mutants';
import { WITNESS_MUTANTS } from './witness-mutants';

export const MUTANTS: readonly Mutant[] = [...SIDECAR_MUTANTS, ...WITNESS_MUTANTS];
