/**
 * A mutant: one guard or SAFETY condition of `src/core/` (or of the shells the simulator runs,
 * `src/sidecar/` and `src/witness/`) removed or weakened, written as exact source edits. Every
 * `find` must occur exactly once in its file, so that a list written against older code fails
 * loudly instead of silently testing nothing.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Edit {
  /** Exact text, occurring exactly once in the file. */
  readonly find: string;
  readonly replace: string;
  /** Another file than the mutant's: a pair mutant removes two guards that live apart. */
  readonly file?: string;
}

export interface Mutant {
  /** Short, unique, stable: what `--only` names. */
  readonly id: string;
  /** Path from the repository root, under one of MUTABLE_DIRS; an edit may name another. */
  readonly file: string;
  /** Usually one; several only when one guard is written in more than one place. */
  readonly edits: readonly Edit[];
  /** Which guard or SAFETY condition is removed or weakened, in one line. */
  readonly description: string;
}

/** The usual mutant: one edit. */
export function oneEdit(id: string, file: string, find: string, replace: string, description: string): Mutant {
  return { id, file, edits: [{ find, replace }], description };
}

export type Applied = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly problem: string };

function occurrences(text: string, snippet: string): number {
  if (snippet === '') return 0;
  let count = 0;
  for (let at = text.indexOf(snippet); at >= 0; at = text.indexOf(snippet, at + 1)) count += 1;
  return count;
}

/** The source with every edit applied, or what stops it: a snippet found no time or more than once. */
export function applyMutant(source: string, mutant: Mutant): Applied {
  let text = source;
  for (const [index, edit] of mutant.edits.entries()) {
    const found = occurrences(text, edit.find);
    if (found !== 1) {
      const where = mutant.edits.length > 1 ? ` (edit ${index + 1} of ${mutant.edits.length})` : '';
      const firstLine = edit.find.split('\n')[0] ?? '';
      return {
        ok: false,
        problem:
          `${mutant.file}: snippet${where} found ${found} times, needs exactly 1: ` +
          `${JSON.stringify(firstLine)}${edit.find.includes('\n') ? ' ...' : ''}`,
      };
    }
    text = text.replace(edit.find, () => edit.replace);
  }
  return { ok: true, text };
}

/** What a mutant may change: the cores, the production shells the simulator runs and the wire layer they share. */
export const MUTABLE_DIRS = ['src/core/', 'src/sidecar/', 'src/witness/', 'src/wire/'] as const;

export type AppliedTree =
  { readonly ok: true; readonly files: ReadonlyMap<string, string> } | { readonly ok: false; readonly problem: string };

/** Reads the mutant's files under `root` and applies its edits, each to its own file. */
export function applyMutantInTree(root: string, mutant: Mutant): AppliedTree {
  const files = new Map<string, string>();
  for (const name of new Set([mutant.file, ...mutant.edits.map((e) => e.file ?? mutant.file)])) {
    if (!MUTABLE_DIRS.some((dir) => name.startsWith(dir)))
      return { ok: false, problem: `${name}: not under ${MUTABLE_DIRS.join(', ')}` };
    const file = path.join(root, name);
    if (!fs.existsSync(file)) return { ok: false, problem: `${name}: no such file` };
    const edits = mutant.edits.filter((e) => (e.file ?? mutant.file) === name);
    if (edits.length === 0) continue;
    const applied = applyMutant(fs.readFileSync(file, 'utf8'), { ...mutant, file: name, edits });
    if (!applied.ok) return applied;
    files.set(name, applied.text);
  }
  return { ok: true, files };
}

/** Problems with the list itself: ids that repeat or are empty, mutants without edits. */
export function listProblems(mutants: readonly Mutant[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const m of mutants) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(m.id)) problems.push(`mutant id ${JSON.stringify(m.id)}: use a-z, 0-9 and -`);
    if (seen.has(m.id)) problems.push(`mutant id ${m.id} appears twice`);
    seen.add(m.id);
    if (m.edits.length === 0) problems.push(`mutant ${m.id} has no edits`);
    for (const e of m.edits) if (e.find === e.replace) problems.push(`mutant ${m.id}: an edit changes nothing`);
  }
  return problems;
}
