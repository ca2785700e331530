/** A command's `--help`, generated from its schema, so that it cannot drift from what is parsed. */
import { formatDuration, parseDuration } from './duration';
import { type CommandSpec, entries, metavar, type OptionSchema } from './load-config';

function range(option: OptionSchema): string {
  const { min, max } = option;
  if (min === undefined && max === undefined) return '';
  const show = (bound: string | number | undefined): string =>
    bound === undefined ? '' : option.format === 'duration' ? formatDuration(parseDuration(bound)) : String(bound);
  return `, range ${show(min)}..${show(max)}`;
}

function showDefault(option: OptionSchema): string {
  const value: unknown = option.default;
  return value === null || value === undefined || value === '' ? 'none' : String(value);
}

/**
 * Every option with its flag, environment variable, default and doc line, then the precedence
 * rules. `usage` and `description` open the text; `notes` close it.
 */
export function renderHelp<T>(
  spec: CommandSpec<T>,
  text: { usage: string; description: string; notes?: readonly string[] },
): string {
  const options = entries(spec.schema).map(([key, option]) =>
    [
      option.flag === true ? `  --${option.arg} (takes no value)` : `  --${option.arg} ${metavar(option)}`,
      `      ${option.doc}`,
      `      env ${option.env}, default ${showDefault(option)}${range(option)}` +
        (spec.fileKey === undefined || key === spec.fileKey ? '' : `; file key ${key}`),
    ].join('\n'),
  );
  const fileFlag = spec.fileKey === undefined ? undefined : `--${spec.schema[spec.fileKey].arg}`;
  const precedence = [
    'Each option is taken from, lowest precedence first: its default, ' +
      (fileFlag ? `the config file (${fileFlag}),\n` : '') +
      'its environment variable, its flag. Flags take --flag VALUE or --flag=VALUE.\n' +
      'Empty environment variables are ignored.',
  ];
  if (fileFlag) {
    precedence.push(
      'The config file is JSON (.json) or YAML (.yaml, .yml) and holds file keys as shown above;\n' +
        'unknown keys are errors.',
    );
  }
  return [
    `Usage: ${text.usage}`,
    '',
    text.description,
    '',
    'Options:',
    ...options,
    '  --help',
    '      Print this help and exit.',
    '',
    ...precedence,
    ...(text.notes ?? []),
    '',
  ].join('\n');
}
