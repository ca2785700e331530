import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadWitnessConfig, type WitnessConfig, witnessHelp, witnessSchema } from '../../src/config/witness-config';
import { configError } from '../support/config-error';

/** The one choice without a default (design §17.1): tests not about it declare members in a file. */
const GROUPS_FILE = '/etc/failover-witness/groups.yaml';
const load = (argv: string[], env: NodeJS.ProcessEnv): WitnessConfig =>
  loadWitnessConfig(argv, { WITNESS_GROUPS_FILE: GROUPS_FILE, ...env });

const DEFAULTS: WitnessConfig = {
  listen: '127.0.0.1:50051',
  dataDir: './witness-data',
  store: 'file',
  etcdEndpoints: '',
  etcdPrefix: '/failover-witness/',
  etcdElectionTtl: 2000,
  etcdCa: null,
  etcdCert: null,
  etcdKey: null,
  etcdUser: '',
  etcdPasswordFile: null,
  advertise: '',
  lease: 2000,
  defaultLease: 1000,
  clockDrift: 0.01,
  margin: 50,
  forgetAfter: 86_400_000,
  holderSilentAfter: 1000,
  maxSyncAge: null,
  syncAlertAfter: null,
  groupsFile: GROUPS_FILE,
  openRegistration: 'false',
  trustDomain: 'failover-witness',
  identityFrom: 'uri-san',
  adminTokenFile: null,
  adminReadTokenFile: null,
  maxGroups: 50_000,
  maxKeepaliveStreams: 100_000,
  maxWatchers: 64,
  watchBacklog: 1_000,
  eventHistory: 10_000,
  maxStreamsPerConnection: 1_000,
  maxMessageSize: 65_536,
  metricsListen: '',
  tlsCert: null,
  tlsKey: null,
  tlsCa: null,
  tlsClientAuth: null,
  insecure: 'false',
  alertWebhook: '',
  alertWebhookTokenFile: null,
  alertSmtp: '',
  alertSmtpUser: '',
  alertSmtpPasswordFile: null,
  alertMailFrom: 'failover-witness@localhost',
  alertMailTo: '',
  alertEvents: 'holder-silent,holder-returned,lease-expired,granted,released,intent,sync-stale,sync-recovered',
  alertTimeout: 5000,
  logLevel: 'info',
  config: null,
};

describe('witness serve configuration', () => {
  let dir: string;
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-config-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has the documented defaults, durations in milliseconds', () => {
    expect(load([], {})).to.deep.equal(DEFAULTS);
  });

  it('starts the countdown half way into the lease unless --holder-silent-after is given', () => {
    expect(load(['--lease', '500ms', '--default-lease', '500ms'], {}).holderSilentAfter).to.equal(250);
    expect(load([], {}).holderSilentAfter, 'at the 2 s default lease').to.equal(1000);
    expect(
      load(['--lease', '500ms', '--default-lease', '500ms', '--holder-silent-after', '0'], {}).holderSilentAfter,
    ).to.equal(0);
    expect(load(['--lease', '4s', '--holder-silent-after', '3s'], {}).holderSilentAfter).to.equal(3000);
  });

  it('reads --key value and --key=value', () => {
    const config = load(
      ['--listen', '[::1]:50052', '--data-dir=/var/lib/witness', '--lease', '1.5s', '--default-lease=200ms'],
      {},
    );
    expect(config).to.include({ listen: '[::1]:50052', dataDir: '/var/lib/witness', lease: 1500, defaultLease: 200 });
  });

  it('takes every duration form', () => {
    expect(load(['--lease', '2m'], {}).lease).to.equal(120_000);
    expect(load(['--lease', '750', '--default-lease', '750'], {})).to.include({
      lease: 750,
      defaultLease: 750,
    });
    expect(load(['--margin', '0'], {}).margin).to.equal(0);
    expect(load(['--margin', '10s'], {}).margin).to.equal(10_000);
  });

  it('takes host names, IPv4 and bracketed IPv6 addresses to listen on', () => {
    // --insecure: plaintext on an address that is not loopback needs it (transport-config.test.ts).
    for (const listen of ['0.0.0.0:1', 'localhost:65535', 'witness.example.org:50051', '[::]:50051', '[::1]:50051']) {
      expect(load(['--listen', listen, '--insecure'], {}).listen).to.equal(listen);
    }
  });

  it('serves metrics only when asked, on any port including 0 (the kernel picks one)', () => {
    expect(load([], {}).metricsListen).to.equal('');
    expect(load(['--metrics-listen', '127.0.0.1:0'], {}).metricsListen).to.equal('127.0.0.1:0');
    expect(load([], { WITNESS_METRICS_LISTEN: '[::1]:9464' }).metricsListen).to.equal('[::1]:9464');
  });

  it('does not read process.env or process.argv by itself', () => {
    const savedArgv = process.argv;
    process.env.WITNESS_LEASE = '7s';
    process.argv = [...savedArgv, '--lease', '8s'];
    try {
      expect(load([], {}).lease).to.equal(2000);
    } finally {
      delete process.env.WITNESS_LEASE;
      process.argv = savedArgv;
    }
  });

  describe('precedence: defaults < config file < environment < flags', () => {
    const fileValues = { lease: '3s', margin: '100ms', clockDrift: 0.02, logLevel: 'debug' };
    const env = { WITNESS_MARGIN: '200ms', WITNESS_LOG_LEVEL: 'warn' };
    const flags = ['--log-level', 'error'];
    const expected = (file: string): WitnessConfig => ({
      ...DEFAULTS,
      lease: 3000, // file over default
      holderSilentAfter: 1500, // follows the lease when unset (half of it)
      clockDrift: 0.02, // file over default
      margin: 200, // environment over file
      logLevel: 'error', // flag over environment and file
      config: file,
    });

    it('with a JSON file named by --config', () => {
      const file = write('witness.json', JSON.stringify(fileValues));
      expect(load([...flags, '--config', file], env)).to.deep.equal(expected(file));
    });

    it('with a YAML file named by WITNESS_CONFIG', () => {
      const file = write('witness.yaml', 'lease: 3s\nmargin: 100ms\nclockDrift: 0.02\nlogLevel: debug # overridden\n');
      expect(load(flags, { ...env, WITNESS_CONFIG: file })).to.deep.equal(expected(file));
    });

    it('with a .yml file; --config wins over WITNESS_CONFIG', () => {
      const used = write('used.yml', 'lease: 3s\nmargin: 100ms\nclockDrift: 0.02\n');
      const ignored = write('ignored.yml', 'lease: 9s\n');
      expect(load([...flags, `--config=${used}`], { ...env, WITNESS_CONFIG: ignored })).to.deep.equal(expected(used));
    });

    it('ignores empty environment variables', () => {
      expect(load([], { WITNESS_LEASE: '', WITNESS_CONFIG: '' })).to.deep.equal(DEFAULTS);
    });

    it('reads an empty config file as setting nothing', () => {
      const file = write('empty.yaml', '# nothing yet\n');
      expect(load(['--config', file], {})).to.deep.equal({ ...DEFAULTS, config: file });
    });
  });

  describe('refuses', () => {
    const invalidFlags: [string, string, keyof WitnessConfig][] = [
      ['--listen', 'nonsense', 'listen'],
      ['--listen', '127.0.0.1', 'listen'],
      ['--listen', '127.0.0.1:0', 'listen'],
      ['--listen', '127.0.0.1:65536', 'listen'],
      ['--listen', '::1:50051', 'listen'],
      ['--listen', '[nonsense]:50051', 'listen'],
      ['--listen', '999.1.1.1:50051', 'listen'],
      ['--metrics-listen', 'nonsense', 'metricsListen'],
      ['--metrics-listen', '127.0.0.1', 'metricsListen'],
      ['--metrics-listen', '127.0.0.1:65536', 'metricsListen'],
      ['--data-dir', '', 'dataDir'],
      ['--lease', 'abc', 'lease'],
      ['--lease', '1h30', 'lease'],
      ['--lease', '49ms', 'lease'],
      ['--lease', '11m', 'lease'],
      ['--lease', '-1s', 'lease'],
      ['--default-lease', '10', 'defaultLease'],
      ['--default-lease', 'soon', 'defaultLease'],
      ['--clock-drift', '0.2', 'clockDrift'],
      ['--clock-drift', '-0.01', 'clockDrift'],
      ['--clock-drift', '1%', 'clockDrift'],
      ['--clock-drift', 'NaN', 'clockDrift'],
      ['--margin', '11s', 'margin'],
      ['--margin', '-5', 'margin'],
      ['--log-level', 'loud', 'logLevel'],
      ['--log-level', 'INFO', 'logLevel'],
    ];
    for (const [flag, value, key] of invalidFlags) {
      it(`${flag} ${JSON.stringify(value)}, naming ${key}, the value and the flag`, () => {
        const error = configError(() => load([flag, value], {}));
        expect(error.key).to.equal(key);
        expect(error.message).to.match(new RegExp(`^${key}: must be `));
        expect(error.message).to.include(`got ${JSON.stringify(value)} (from ${flag})`);
      });
    }

    it('a bad lease with the message that says what is accepted', () => {
      expect(configError(() => load(['--lease', 'abc'], {})).message).to.equal(
        'lease: must be a duration like 200ms, 1s or plain milliseconds, between 50ms and 10m; got "abc" (from --lease)',
      );
    });

    it('a bad value from the environment, naming the variable', () => {
      const error = configError(() => load([], { WITNESS_CLOCK_DRIFT: 'lots' }));
      expect(error.key).to.equal('clockDrift');
      expect(error.message).to.include('(from WITNESS_CLOCK_DRIFT)');
    });

    it('a bad value from the config file, naming the file', () => {
      const file = write('bad-value.yaml', 'margin: forever\n');
      const error = configError(() => load(['--config', file], {}));
      expect(error.key).to.equal('margin');
      expect(error.message).to.include(`got "forever" (from ${file})`);
    });

    it('a list or mapping where a value belongs', () => {
      const file = write('nested.json', JSON.stringify({ lease: { seconds: 2 } }));
      const error = configError(() => load(['--config', file], {}));
      expect(error.key).to.equal('lease');
      expect(error.message).to.include(file);
    });

    it('a null in the config file', () => {
      const file = write('null.yaml', 'lease:\n');
      expect(configError(() => load(['--config', file], {})).key).to.equal('lease');
    });

    it('every bad value at once, one line each, the first key in schema order', () => {
      const error = configError(() => load(['--margin', 'x', '--listen', 'y'], {}));
      expect(error.key).to.equal('listen');
      expect(error.message.split('\n')).to.have.length(2);
    });

    it('a default lease longer than the lease, naming both keys', () => {
      const error = configError(() => load(['--lease', '1s', '--default-lease', '1.5s'], {}));
      expect(error.key).to.equal('defaultLease');
      expect(error.message)
        .to.match(/defaultLease/)
        .and.match(/\blease\b/);
      expect(error.message).to.include('1.5s').and.include('1s');
    });

    it('a lease below the default default lease, naming both keys', () => {
      const error = configError(() => load(['--lease', '500ms'], {}));
      expect(error.message).to.match(/defaultLease.*lease/);
    });

    it('accepts a default lease equal to the lease', () => {
      expect(load(['--lease', '1s', '--default-lease', '1000'], {}).defaultLease).to.equal(1000);
    });

    it('an unknown flag, naming it and suggesting the closest', () => {
      const error = configError(() => load(['--lese', '1s'], {}));
      expect(error.key).to.equal('--lese');
      expect(error.message).to.equal('unknown option --lese (did you mean --lease?)');
      expect(configError(() => load(['--verbose'], {})).message).to.equal('unknown option --verbose');
      expect(configError(() => load(['-l', 'x'], {})).message).to.include('-l');
    });

    it('a flag without its value', () => {
      expect(configError(() => load(['--lease'], {})).message).to.include('--lease needs a value');
      expect(configError(() => load(['--lease', '--margin', '1s'], {})).key).to.equal('lease');
    });

    it('positional arguments', () => {
      expect(configError(() => load(['extra'], {})).message).to.include('"extra"');
    });

    it('an unknown key in a config file, naming the key and the file', () => {
      const json = write('unknown.json', JSON.stringify({ lease: '1s', leaseMs: 1000 }));
      const error = configError(() => load(['--config', json], {}));
      expect(error.key).to.equal('leaseMs');
      expect(error.message).to.include(json).and.include('unknown key "leaseMs"');
      const yaml = write('unknown.yaml', 'data-dir: /tmp\n');
      expect(configError(() => load(['--config', yaml], {})).message).to.include('"data-dir"');
    });

    it('the config key inside a config file', () => {
      const file = write('self.json', JSON.stringify({ config: '/etc/other.json' }));
      expect(configError(() => load(['--config', file], {})).key).to.equal('config');
    });

    it('a missing config file, naming the path', () => {
      const missing = path.join(dir, 'missing.yaml');
      const error = configError(() => load([], { WITNESS_CONFIG: missing }));
      expect(error.key).to.equal('config');
      expect(error.message).to.include(missing);
    });

    it('a config file that does not parse, naming the path', () => {
      const json = write('broken.json', '{"lease": ');
      expect(configError(() => load(['--config', json], {})).message)
        .to.include(json)
        .and.include('JSON');
      const yaml = write('broken.yaml', 'lease: [1s\n');
      expect(configError(() => load(['--config', yaml], {})).message)
        .to.include(yaml)
        .and.include('YAML');
      const list = write('list.yaml', '- lease\n');
      expect(configError(() => load(['--config', list], {})).message).to.include(list);
    });

    it('a config file of another kind, naming the path', () => {
      const toml = write('witness.toml', 'lease = "1s"\n');
      const error = configError(() => load(['--config', toml], {}));
      expect(error.key).to.equal('config');
      expect(error.message).to.include(toml).and.include('.json, .yaml or .yml');
    });
  });

  describe('admission: who may join a group (design §17.1)', () => {
    it('needs a groups file or, explicitly, open registration; the message says what to add', () => {
      const error = configError(() => loadWitnessConfig([], {}));
      expect(error.key).to.equal('groupsFile');
      expect(error.message).to.include('--groups-file').and.include('--open-registration');
    });

    it('takes open registration on every loopback address', () => {
      for (const listen of ['127.0.0.1:1', '127.8.9.10:50051', 'localhost:50051', '[::1]:50051']) {
        const config = loadWitnessConfig(['--open-registration', '--listen', listen], {});
        expect(config).to.include({ openRegistration: 'true', groupsFile: null, listen });
      }
    });

    it('refuses open registration on any other address, naming the key and the fix', () => {
      for (const listen of ['0.0.0.0:50051', '[::]:50051', '10.0.0.5:50051', 'witness.example.org:50051']) {
        const error = configError(() =>
          loadWitnessConfig(['--open-registration', '--insecure', '--listen', listen], {}),
        );
        expect(error.key).to.equal('openRegistration');
        expect(error.message).to.include(listen).and.include('--groups-file');
      }
    });

    it('refuses open registration beside a groups file, and CN identities without one', () => {
      const both = configError(() => loadWitnessConfig(['--open-registration', '--groups-file', 'g.yaml'], {}));
      expect(both.key).to.equal('openRegistration');
      const cn = configError(() => loadWitnessConfig(['--open-registration', '--identity-from', 'cn'], {}));
      expect(cn.key).to.equal('identityFrom');
    });

    it('checks the trust domain', () => {
      expect(load(['--trust-domain', 'prod.example.org'], {}).trustDomain).to.equal('prod.example.org');
      const error = configError(() => load(['--trust-domain', 'Prod/Example'], {}));
      expect(error.key).to.equal('trustDomain');
      expect(error.message).to.include('trust domain');
    });
  });

  describe('help', () => {
    const help = witnessHelp();

    for (const [key, option] of Object.entries(witnessSchema)) {
      it(`lists ${key} with its flag, variable, default and doc`, () => {
        const shownDefault = option.default === null ? 'none' : String(option.default);
        expect(help).to.include(`--${option.arg} `);
        expect(help).to.include(`env ${option.env}, default ${shownDefault}`);
        expect(help).to.include(option.doc);
      });
    }

    it('shows the documented defaults', () => {
      for (const text of ['default 127.0.0.1:50051', 'default ./witness-data', 'default 2s', 'default 1s']) {
        expect(help).to.include(text);
      }
      expect(help).to.include('default 0.01').and.include('default 50ms').and.include('default info');
    });

    it('states the precedence', () => {
      expect(help).to.match(/its default, the config file \(--config\),\s+its environment variable, its flag/);
    });
  });
});
