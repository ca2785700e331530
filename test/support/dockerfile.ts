/** A Dockerfile as its stages and their instructions, enough to lint deploy/docker/Dockerfile. */
export interface Instruction {
  /** Upper case: FROM, RUN, COPY... */
  readonly keyword: string;
  readonly rest: string;
}

export interface Stage {
  readonly base: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** Stages in order; comments and blank lines dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: { base: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const line of lines) {
    const [keyword = '', ...words] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), rest: words.join(' ') };
    if (instruction.keyword === 'FROM') {
      const [base = '', as, name] = words;
      stages.push({ base, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (stage === undefined) throw new Error(`${instruction.keyword} before the first FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** A COPY's options (`--from=build`), sources and destination. */
export function parseCopy(rest: string): { from: string | undefined; sources: string[]; destination: string } {
  const words = rest.split(/\s+/);
  const options = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = options.find((o) => o.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
}
