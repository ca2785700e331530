/**
 * Generic configuration loading for the project's commands (`witness serve`, later the sidecar):
 * one convict schema per command, values layered as
 *
 *   built-in defaults < config file < environment variables < command-line flags
 *
 * Flags and the config file are parsed here, not by convict, and convict never reads process.argv
 * or process.env by itself: every value reaches it through `load()`, one layer at a time, so the
 * precedence above is the order of the `load()` calls and nothing else. Errors are `ConfigError`s
 * that name the key, what it accepts, the value given and where that value came from.
 *
 * Schema entries are ordinary convict entries with `doc`, `format`, `default`, `env` and `arg` (the
 * flag without `--`); `min`/`max` bound the `duration` and `decimal` formats (config-formats.ts), and
 * `metavar` names the value in the help text. The help text is generated from the same entries
 * (render-help.ts), so it cannot drift.
 */
import fs from 'node:fs';
import convict from 'convict';
import { registerFormats } from './config-formats';
import { parseDuration } from './duration';

/** A configuration problem the user can fix: exit status 2, message printed as it is. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  /**
   * @param key the schema key concerned; for an unknown flag or file key, that name as given
   *   (`--lese`, `lese`); '' when no single key is concerned.
   */
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** One option: a convict schema entry with the fields flag parsing and help need. */
export interface OptionSchema extends convict.SchemaObj {
  /** One line for the help text. */
  readonly doc: string;
  /** The command-line flag, without `--` (convict's own `arg` field; convict never parses argv here). */
  readonly arg: string;
  /** The environment variable (convict's own `env` field; read here, not by convict). */
  readonly env: string;
  /** Names the value in the help text (`DIR`, `FILE`); derived from the format when omitted. */
  readonly metavar?: string;
  /** Bounds for the `duration` (a duration or milliseconds) and `decimal` (a number) formats. */
  readonly min?: string | number;
  readonly max?: string | number;
  /**
   * A switch (format `['true', 'false']`, default 'false'): `--insecure` alone means true, so it
   * takes no value on the command line (`--insecure=false` still works).
   */
  readonly flag?: boolean;
  /** May be given more than once on the command line; the values are joined with ",". */
  readonly repeatable?: boolean;
}

/** A flat schema (no nested keys) with one entry per key of the loaded config type `T`. */
export type ConfigSchema<T> = { readonly [K in keyof T]-?: OptionSchema };

export interface CommandSpec<T> {
  /** As typed by the user, for messages and help: `witness serve`. */
  readonly command: string;
  readonly schema: ConfigSchema<T>;
  /**
   * The key whose value is the path of a config file (`config`). It is taken from the flags or the
   * environment, and may not appear in the file itself.
   */
  readonly fileKey?: keyof T & string;
  /**
   * Where arguments that are not options go, for the message about a stray one (`the workload's
   * command goes after --`); without it, the command takes only options.
   */
  readonly argumentsHint?: string;
}

// ---------------------------------------------------------------------------------------------
// Sources. Each yields settings in the order they were given; later settings win.

export interface Setting {
  readonly key: string;
  readonly value: unknown;
  /** Where the value came from, for messages: `--lease`, `WITNESS_LEASE`, `/etc/witness.yaml`. */
  readonly origin: string;
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) {
        next[j] = Math.min(
          (row[j] ?? 0) + 1,
          (next[j - 1] ?? 0) + 1,
          (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
      }
      row = next;
    }
    return row[b.length] ?? Infinity;
  };
  let best: string | undefined;
  let bestDistance = 3; // suggest only near misses
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function didYouMean(name: string, candidates: readonly string[]): string {
  const suggestion = closest(name, candidates);
  return suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`;
}

/** `--key value` and `--key=value`; every option takes a value. Unknown flags are errors. */
export function parseFlags<T>(spec: CommandSpec<T>, argv: readonly string[]): Setting[] {
  const byFlag = new Map<string, string>();
  for (const [key, option] of entries(spec.schema)) byFlag.set(`--${option.arg}`, key);
  const settings: Setting[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-') || arg === '-' || arg === '--') {
      throw strayArgument(spec, arg, i > 0 ? settings.at(-1) : undefined, argv[i - 1] ?? '');
    }
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const key = byFlag.get(flag);
    if (key === undefined) {
      throw new ConfigError(flag, `unknown option ${flag}${didYouMean(flag, [...byFlag.keys()])}`);
    }
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else if (spec.schema[key as keyof T].flag === true) {
      value = 'true';
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new ConfigError(key, `${flag} needs a value (${flag} VALUE or ${flag}=VALUE)`);
      }
      value = next;
      i++;
    }
    const earlier = settings.find((s) => s.key === key);
    if (earlier !== undefined && spec.schema[key as keyof T].repeatable === true) {
      settings.splice(settings.indexOf(earlier), 1, { key, value: `${String(earlier.value)},${value}`, origin: flag });
    } else {
      settings.push({ key, value, origin: flag });
    }
  }
  return settings;
}

/**
 * An argument that is neither an option nor an option's value. The usual cause is a value split in
 * two (`--heartbeat 200 ms`): when joining it to the previous option's value gives a valid duration,
 * the message shows the joined form.
 */
function strayArgument<T>(
  spec: CommandSpec<T>,
  arg: string,
  previous: Setting | undefined,
  before: string,
): ConfigError {
  const where = spec.argumentsHint ?? `${spec.command} takes only options`;
  // Only a value given as `--flag VALUE` (not `--flag=VALUE`) can have been split from this one.
  const option = previous !== undefined && before === previous.value ? spec.schema[previous.key as keyof T] : undefined;
  if (previous === undefined || option === undefined) {
    return new ConfigError('', `unexpected argument ${JSON.stringify(arg)}: ${where}`);
  }
  const joined = `${String(previous.value)}${arg}`;
  let hint = '';
  if (option.format === 'duration') {
    try {
      parseDuration(joined);
      hint = ` (write ${previous.origin} ${joined})`;
    } catch {
      // not a split duration: no suggestion
    }
  }
  return new ConfigError(
    previous.key,
    `unexpected argument ${JSON.stringify(arg)} after ${previous.origin} ${String(previous.value)}: ` +
      `options take one value each${hint}; ${where}`,
  );
}

/** The schema's environment variables that are set; empty ones count as unset. */
export function readEnvironment<T>(spec: CommandSpec<T>, env: NodeJS.ProcessEnv): Setting[] {
  const settings: Setting[] = [];
  for (const [key, option] of entries(spec.schema)) {
    const value = env[option.env];
    if (value !== undefined && value !== '') settings.push({ key, value, origin: option.env });
  }
  return settings;
}

/** yaml is required only for a YAML file: the 0.7 MB it costs a sidecar's memory stay out otherwise. */
function parseYaml(text: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the lazy loading above
  return (require('yaml') as typeof import('yaml')).parse(text);
}

/** A JSON (`.json`) or YAML (`.yaml`, `.yml`) file of camelCase schema keys; unknown keys are errors. */
export function readConfigFile<T>(spec: CommandSpec<T>, file: string): Setting[] {
  const fileKey = spec.fileKey ?? '';
  const extension = /\.(json|ya?ml)$/i.exec(file)?.[1]?.toLowerCase();
  if (extension === undefined) {
    throw new ConfigError(fileKey, `${fileKey}: ${file}: the file name must end in .json, .yaml or .yml`);
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(fileKey, `${fileKey}: cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = extension === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const kind = extension === 'json' ? 'JSON' : 'YAML';
    throw new ConfigError(fileKey, `${fileKey}: ${file} is not valid ${kind}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return []; // an empty file sets nothing
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(fileKey, `${fileKey}: ${file} must hold a mapping of option names to values`);
  }
  const known = Object.keys(spec.schema).filter((key) => key !== fileKey);
  const settings: Setting[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (key === fileKey) {
      throw new ConfigError(key, `${file}: "${key}" cannot be set inside a config file`);
    }
    if (!known.includes(key)) {
      throw new ConfigError(
        key,
        `${file}: unknown key "${key}"${didYouMean(key, known)}; known keys: ${known.join(', ')}`,
      );
    }
    settings.push({ key, value, origin: file });
  }
  return settings;
}

// ---------------------------------------------------------------------------------------------
// Loading.

export function entries<T>(schema: ConfigSchema<T>): [string, OptionSchema][] {
  return Object.entries(schema) as [string, OptionSchema][];
}

/** Values that are not plain scalars never reach convict: it would merge objects into the key. */
function checkScalar<T>(spec: CommandSpec<T>, setting: Setting): void {
  const { value } = setting;
  if (value !== null && typeof value === 'object') {
    const option = spec.schema[setting.key as keyof T];
    throw new ConfigError(
      setting.key,
      `${setting.key}: must be one ${metavar(option)}, not a list or mapping; ` +
        `got ${JSON.stringify(value)} (from ${setting.origin})`,
    );
  }
}

/**
 * Loads `spec` from defaults, `base`, the config file (if `spec.fileKey` is set by a flag or in `env`),
 * `env` and `argv` (options only, no command name), in that order of precedence, and validates
 * every value. Throws `ConfigError`. Checks between keys are the caller's.
 */
export function loadConfig<T>(
  spec: CommandSpec<T>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  /** Settings just above the defaults: a program's own options, or a mapped foreign config. */
  base: readonly Setting[] = [],
): T {
  registerFormats();
  const flags = parseFlags(spec, argv);
  const environment = readEnvironment(spec, env);

  let file: Setting[] = [];
  if (spec.fileKey !== undefined) {
    const path = [...environment, ...flags].filter((s) => s.key === spec.fileKey).pop()?.value;
    if (typeof path === 'string') file = readConfigFile(spec, path);
  }

  const config = convict(spec.schema as convict.Schema<T>, { args: [], env: {} });
  const origins = new Map<string, Setting>();
  for (const layer of [base, file, environment, flags]) {
    if (layer.length === 0) continue;
    const values: Record<string, unknown> = {};
    for (const setting of layer) {
      checkScalar(spec, setting);
      values[setting.key] = setting.value;
      origins.set(setting.key, setting);
    }
    config.load(values);
  }

  try {
    config.validate({ allowed: 'strict' });
  } catch (error) {
    throw explainInvalid(spec, (error as Error).message, origins);
  }
  return config.getProperties();
}

/**
 * convict reports every invalid key on its own line, `key: what it accepts: value was "..."`; the
 * value shown there is the coerced one. Rebuild each line with the value as given and its origin.
 */
function explainInvalid<T>(spec: CommandSpec<T>, report: string, origins: Map<string, Setting>): ConfigError {
  const lines: string[] = [];
  let firstKey: string | undefined;
  for (const line of report.split('\n')) {
    const colon = line.indexOf(': ');
    const key = colon > 0 ? line.slice(0, colon) : '';
    if (!(key in spec.schema)) {
      lines.push(line);
      firstKey ??= '';
      continue;
    }
    let accepts = line.slice(colon + 2);
    const valueWas = accepts.indexOf(': value was ');
    if (valueWas >= 0) accepts = accepts.slice(0, valueWas);
    const given = origins.get(key);
    const shown = given
      ? `${JSON.stringify(given.value)} (from ${given.origin})`
      : `the default ${JSON.stringify(spec.schema[key as keyof T].default)}`;
    lines.push(`${key}: ${accepts}; got ${shown}`);
    firstKey ??= key;
  }
  return new ConfigError(firstKey ?? '', lines.join('\n'));
}

/** How help and errors name an option's value: its metavar, its choices, or its format's name. */
export function metavar(option: OptionSchema): string {
  if (option.metavar !== undefined) return option.metavar;
  if (Array.isArray(option.format)) return option.format.join('|');
  switch (option.format) {
    case 'duration':
      return 'DURATION';
    case 'host-port':
    case 'host-port-or-off':
      return 'HOST:PORT';
    case 'decimal':
      return 'NUMBER';
    case 'path':
      return 'PATH';
    default:
      return 'VALUE';
  }
}
