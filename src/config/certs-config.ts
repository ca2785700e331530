/**
 * `witness certs init` configuration: the one schema and the checks of its values (names that go
 * into certificates). Loading and help are the generic ones in load-config.ts.
 */
import net from 'node:net';
import { ID_PATTERN, ID_RULE } from '../core/ids';
import { DEFAULT_TRUST_DOMAIN, isTrustDomain } from '../wire/spiffe-id';
import { type CommandSpec, ConfigError, type ConfigSchema, loadConfig } from './load-config';
import { renderHelp } from './render-help';

export interface CertsConfig {
  readonly dir: string;
  readonly witnessName: string;
  readonly node: string;
  readonly operator: string;
  readonly trustDomain: string;
  readonly days: number;
  readonly force: 'true' | 'false';
}

/** What certs init makes, checked. */
export interface CertsPlan {
  readonly dir: string;
  /** DNS names and IP addresses of the witness, besides localhost and 127.0.0.1. */
  readonly witnessNames: readonly string[];
  readonly nodes: readonly { readonly group: string; readonly node: string }[];
  readonly operator: string;
  readonly trustDomain: string;
  readonly days: number;
  readonly force: boolean;
}

const certsSchema: ConfigSchema<CertsConfig> = {
  dir: {
    doc: 'Directory the CA, the witness, node and operator certificates and keys are written to (keys 0600).',
    format: String,
    default: '',
    arg: 'dir',
    env: 'WITNESS_CERTS_DIR',
    metavar: 'DIR',
  },
  witnessName: {
    doc: 'A DNS name or IP address sidecars reach the witness by (besides localhost, 127.0.0.1); repeat for more.',
    format: String,
    default: '',
    arg: 'witness-name',
    env: 'WITNESS_CERTS_WITNESS_NAME',
    metavar: 'NAME',
    repeatable: true,
  },
  node: {
    doc: 'A node certificate for GROUP/NODE (URI SAN spiffe://TRUST-DOMAIN/group/G/node/N, CN N.G); repeat for more.',
    format: String,
    default: '',
    arg: 'node',
    env: 'WITNESS_CERTS_NODE',
    metavar: 'GROUP/NODE',
    repeatable: true,
  },
  operator: {
    doc: 'Name in the operator certificate (URI SAN spiffe://TRUST-DOMAIN/operator/NAME).',
    format: String,
    default: 'admin',
    arg: 'operator',
    env: 'WITNESS_CERTS_OPERATOR',
    metavar: 'NAME',
  },
  trustDomain: {
    doc: 'SPIFFE trust domain of the node and operator identities.',
    format: String,
    default: DEFAULT_TRUST_DOMAIN,
    arg: 'trust-domain',
    env: 'WITNESS_CERTS_TRUST_DOMAIN',
    metavar: 'NAME',
  },
  days: {
    doc: 'Validity of the witness, node and operator certificates, in days (the CA gets ten years).',
    format: 'nat',
    default: 825,
    arg: 'days',
    env: 'WITNESS_CERTS_DAYS',
    metavar: 'N',
  },
  force: {
    doc: 'Write into a directory that is not empty, replacing the files certs init writes (a new CA too).',
    format: ['true', 'false'],
    default: 'false',
    arg: 'force',
    env: 'WITNESS_CERTS_FORCE',
    flag: true,
  },
};

const certsCommand: CommandSpec<CertsConfig> = { command: 'witness certs init', schema: certsSchema };

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

const DNS_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** `witness certs init`'s plan from `argv` (after `init`) and `env`. Throws ConfigError. */
export function loadCertsPlan(argv: string[], env: NodeJS.ProcessEnv): CertsPlan {
  const config = loadConfig(certsCommand, argv, env);
  if (config.dir.trim() === '') throw new ConfigError('dir', 'dir (--dir): required: where to write the files');
  const witnessNames = list(config.witnessName);
  for (const name of witnessNames) {
    if (net.isIP(name) === 0 && !DNS_NAME.test(name)) {
      throw new ConfigError(
        'witnessName',
        `witnessName (--witness-name): ${JSON.stringify(name)} is neither a DNS name nor an IP address`,
      );
    }
  }
  const nodes = list(config.node).map((entry) => {
    const [group = '', node = '', ...rest] = entry.split('/');
    if (rest.length > 0 || !ID_PATTERN.test(group) || !ID_PATTERN.test(node)) {
      throw new ConfigError('node', `node (--node): ${JSON.stringify(entry)} is not GROUP/NODE, each ${ID_RULE}`);
    }
    return { group, node };
  });
  if (!ID_PATTERN.test(config.operator)) {
    throw new ConfigError('operator', `operator (--operator): ${ID_RULE}; got ${JSON.stringify(config.operator)}`);
  }
  if (!isTrustDomain(config.trustDomain)) {
    throw new ConfigError(
      'trustDomain',
      `trustDomain (--trust-domain): 1 to 255 characters of a-z 0-9 . _ -; got ${JSON.stringify(config.trustDomain)}`,
    );
  }
  if (config.days < 1) throw new ConfigError('days', `days (--days): at least 1; got ${config.days}`);
  return {
    dir: config.dir,
    witnessNames,
    nodes,
    operator: config.operator,
    trustDomain: config.trustDomain,
    days: config.days,
    force: config.force === 'true',
  };
}

export function certsHelp(): string {
  return renderHelp(certsCommand, {
    usage: 'witness certs init --dir DIR [--node GROUP/NODE]... [--witness-name NAME]... [options]',
    description:
      'Makes, with the openssl command, a CA and the certificates a secured installation needs: one for\n' +
      'the witness, one per node, one for an operator. Refuses a directory that is not empty unless --force.',
    notes: [
      'Files: ca.crt ca.key witness.crt witness.key nodes/GROUP/NODE.crt|.key operators/NAME.crt|.key.',
      'Keep ca.key offline once the certificates are made: whoever holds it can issue identities.',
    ],
  });
}
