/** `witness certs init`: the CA and every certificate a secured installation needs, in one directory. */
import fs from 'node:fs';
import path from 'node:path';
import type { CertsPlan } from '../config/certs-config';
import { ConfigError } from '../config/load-config';
import { nodeCommonName, nodeSpiffeId, operatorSpiffeId } from '../wire/spiffe-id';
import { issueLeaf, makeCa } from './openssl';

const CA_DAYS = 3650;

const altName = (name: string): string => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`);

/** Writes the files; returns their paths relative to the directory, for the report. */
export function initCerts(plan: CertsPlan): string[] {
  const { dir } = plan;
  const existing = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  if (existing.length > 0 && !plan.force) {
    throw new ConfigError(
      'dir',
      `dir (--dir): ${dir} is not empty (${existing.slice(0, 5).join(', ')}${existing.length > 5 ? ', ...' : ''}): ` +
        'choose an empty or new directory, or add --force to replace the files certs init writes (with a new CA)',
    );
  }
  const previousUmask = process.umask(0o077); // nothing readable by others, even for a moment
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ca = { cert: path.join(dir, 'ca.crt'), key: path.join(dir, 'ca.key') };
    makeCa(ca, `${plan.trustDomain} CA`, CA_DAYS);
    fs.chmodSync(ca.cert, 0o644);
    const written = ['ca.crt', 'ca.key'];
    const issue = (relative: string, commonName: string, altNames: string[]): void => {
      const base = path.join(dir, relative);
      fs.mkdirSync(path.dirname(base), { recursive: true, mode: 0o700 });
      issueLeaf(ca, { cert: `${base}.crt`, key: `${base}.key`, commonName, altNames, days: plan.days });
      written.push(`${relative}.crt`, `${relative}.key`);
    };
    const witnessNames = [
      'localhost',
      '127.0.0.1',
      ...plan.witnessNames.filter((n) => n !== 'localhost' && n !== '127.0.0.1'),
    ];
    issue('witness', 'witness', witnessNames.map(altName));
    for (const { group, node } of plan.nodes) {
      issue(path.join('nodes', group, node), nodeCommonName(group, node), [
        `URI:${nodeSpiffeId(plan.trustDomain, group, node)}`,
      ]);
    }
    issue(path.join('operators', plan.operator), plan.operator, [
      `URI:${operatorSpiffeId(plan.trustDomain, plan.operator, 'operator')}`,
    ]);
    return written;
  } finally {
    process.umask(previousUmask);
  }
}
