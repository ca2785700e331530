/**
 * docs/configuration.md: every command's options, made of the same `--help` texts the commands
 * print (src/config/render-help.ts renders them from the schemas), so the reference cannot drift
 * from what is parsed. `npm run docs:config` writes it; test/unit/configuration-reference.test.ts
 * fails when the committed file differs.
 *
 *   node dist/src/cli/configuration-reference.js   # writes docs/configuration.md
 */
import fs from 'node:fs';
import path from 'node:path';
import { commandHelps } from './main';

/** docs/configuration.md in the package; this file runs compiled, from dist/src/cli. */
export const REFERENCE_FILE = path.resolve(__dirname, '../../../docs/configuration.md');

const INTRO = `# Configuration reference

Every option of every \`witness\` command, as its \`--help\` prints it. Generated from the
configuration schemas (\`src/config/\`) by \`npm run docs:config\`: do not edit by hand; a unit test
fails when this file differs from what the schemas say.

Each option is taken from, lowest precedence first: its default, the config file (\`--config\`,
where the command has one), its environment variable, its flag. An invalid value exits with status
2 and names the option.`;

/** The reference's text: the introduction, a list of the commands, then one section per command. */
export function renderConfigurationReference(): string {
  const helps = commandHelps();
  const index = helps.map(([name]) => `- [witness ${name}](#witness-${name})`);
  const sections = helps.map(([name, help]) => `## witness ${name}\n\n\`\`\`text\n${help.trimEnd()}\n\`\`\``);
  return `${[INTRO, index.join('\n'), ...sections].join('\n\n')}\n`;
}

if (require.main === module) {
  fs.writeFileSync(REFERENCE_FILE, renderConfigurationReference());
  process.stdout.write(`${path.relative(process.cwd(), REFERENCE_FILE)}\n`);
}
