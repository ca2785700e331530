/**
 * `witness serve --store etcd` options (src/config/etcd-options.ts): what the etcd store is opened
 * with, and a ConfigError naming the key for each mistake, before anything connects.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { etcdSettings } from '../../src/config/etcd-options';
import { loadWitnessConfig } from '../../src/config/witness-config';
import { configError } from '../support/config-error';

const settings = (argv: string[]) =>
  etcdSettings(loadWitnessConfig(argv, { WITNESS_GROUPS_FILE: '/etc/failover-witness/groups.yaml' }));
const ETCD = ['--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:2379,http://127.0.0.2:2379'];

describe('witness serve --store etcd options', () => {
  let dir: string;
  const write = (name: string, text: string, mode = 0o600): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode });
    fs.chmodSync(file, mode);
    return file;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-options-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uses the file store unless told otherwise, and refuses etcd options without --store etcd', () => {
    expect(settings([])).to.equal(undefined);
    const error = configError(() => settings(['--etcd-endpoints', 'http://127.0.0.1:2379']));
    expect(error.key).to.equal('etcdEndpoints');
    expect(error.message).to.contain('store (--store) etcd');
  });

  it('opens etcd with the endpoints, the default prefix and a TTL in seconds', () => {
    expect(settings(ETCD)).to.deep.equal({
      endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.2:2379'],
      advertise: '127.0.0.1:50051',
      prefix: '/failover-witness/',
      electionTtlSeconds: 2,
      tls: undefined,
      auth: undefined,
    });
    expect(settings([...ETCD, '--etcd-prefix', '/site-2/', '--etcd-election-ttl', '5s'])).to.include({
      prefix: '/site-2/',
      electionTtlSeconds: 5,
    });
    const all = ['--listen', '0.0.0.0:50051', '--insecure', '--advertise', 'w1.example.org:50051'];
    expect(settings([...ETCD, ...all])?.advertise).to.equal('w1.example.org:50051');
    // The window to decide is counted with drift and margin: 5 s leaves enough where 2 s does not.
    expect(settings([...ETCD, '--margin', '1s', '--etcd-election-ttl', '5s'])?.electionTtlSeconds).to.equal(5);
  });

  it('names the key of each mistake', () => {
    const cases: [string[], string, RegExp][] = [
      [['--store', 'etcd'], 'etcdEndpoints', /is needed with store/],
      [['--store', 'etcd', '--etcd-endpoints', '127.0.0.1:2379'], 'etcdEndpoints', /is not http:\/\/HOST:PORT/],
      [['--store', 'etcd', '--etcd-endpoints', 'http://u:p@127.0.0.1:2379'], 'etcdEndpoints', /must not carry a user/],
      [['--store', 'etcd', '--etcd-endpoints', 'http://a:1,https://b:1'], 'etcdEndpoints', /either all https/],
      [[...ETCD, '--etcd-prefix', 'fw'], 'etcdPrefix', /must start and end with \//],
      [[...ETCD, '--etcd-election-ttl', '2500ms'], 'etcdElectionTtl', /whole seconds/],
      [[...ETCD, '--etcd-user', 'witness'], 'etcdPasswordFile', /go together/],
      [['--store', 'etcd', '--etcd-endpoints', 'https://127.0.0.1:2379'], 'etcdCa', /is needed with https/],
      [[...ETCD, '--etcd-ca', '/x/ca.pem'], 'etcdCa', /needs https/],
      [['--advertise', 'w1:50051'], 'advertise', /needs store \(--store\) etcd/],
      [[...ETCD, '--advertise', 'w1'], 'advertise', /is not HOST:PORT/],
      [[...ETCD, '--listen', '0.0.0.0:50051', '--insecure'], 'advertise', /is needed with store/],
      [[...ETCD, '--margin', '1s'], 'etcdElectionTtl', /leaves a leader \d+ms to decide/],
    ];
    for (const [argv, key, message] of cases) {
      const error = configError(() => settings(argv));
      expect(error.key, argv.join(' ')).to.equal(key);
      expect(error.message, argv.join(' ')).to.match(message);
    }
    // Below etcd's smallest lease TTL with its default election timeout: refused by the schema.
    expect(configError(() => settings([...ETCD, '--etcd-election-ttl', '1s'])).key).to.equal('etcdElectionTtl');
  });

  it('reads the password and the client key from files others cannot read, and never puts them in a message', () => {
    const password = write('password', 'correct horse battery staple\n');
    const auth = settings([...ETCD, '--etcd-user', 'witness', '--etcd-password-file', password])?.auth;
    expect(auth).to.deep.equal({ username: 'witness', password: 'correct horse battery staple' });
    const readable = write('readable', 'hunter2-hunter2\n', 0o644);
    const error = configError(() => settings([...ETCD, '--etcd-user', 'witness', '--etcd-password-file', readable]));
    expect(error.key).to.equal('etcdPasswordFile');
    expect(error.message).to.contain('must not be readable by others');
    expect(error.message).to.not.contain('hunter2');
  });

  it('passes the CA, certificate and key through for https endpoints', () => {
    const ca = write('ca.pem', 'CA PEM', 0o644);
    const cert = write('cert.pem', 'CERT PEM', 0o644);
    const key = write('key.pem', 'KEY PEM');
    const https = ['--store', 'etcd', '--etcd-endpoints', 'https://127.0.0.1:2379', '--etcd-ca', ca];
    const tls = settings([...https, '--etcd-cert', cert, '--etcd-key', key])?.tls;
    expect(tls?.ca.toString()).to.equal('CA PEM');
    expect(tls?.cert?.toString()).to.equal('CERT PEM');
    expect(tls?.key?.toString()).to.equal('KEY PEM');
    expect(configError(() => settings([...https, '--etcd-cert', cert])).key).to.equal('etcdKey');
    expect(configError(() => settings([...https, '--etcd-ca', path.join(dir, 'missing.pem')])).key).to.equal('etcdCa');
  });
});
