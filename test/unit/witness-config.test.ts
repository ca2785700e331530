import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadWitnessConfig, type WitnessConfig, witnessHelp, witnessSchema } from '../../src/config/witness-config';
import { configError } from '../support/config-error';

const DEFAULTS: WitnessConfig = {
  listen: '127.0.0.1:50051',
  dataDir: './witness-data',
  lease: 2000,
  defaultLease: 1000,
  clockDrift: 0.01,
  margin: 50,
  forgetAfter: 86_400_000,
  tlsCert: null,
  tlsKey: null,
  tlsCa: null,
  tlsClientAuth: null,
  insecure: 'false',
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
    expect(loadWitnessConfig([], {})).to.deep.equal(DEFAULTS);
  });

  it('reads --key value and --key=value', () => {
    const config = loadWitnessConfig(
      ['--listen', '[::1]:50052', '--data-dir=/var/lib/witness', '--lease', '1.5s', '--default-lease=200ms'],
      {},
    );
    expect(config).to.include({ listen: '[::1]:50052', dataDir: '/var/lib/witness', lease: 1500, defaultLease: 200 });
  });

  it('takes every duration form', () => {
    expect(loadWitnessConfig(['--lease', '2m'], {}).lease).to.equal(120_000);
    expect(loadWitnessConfig(['--lease', '750', '--default-lease', '750'], {})).to.include({
      lease: 750,
      defaultLease: 750,
    });
    expect(loadWitnessConfig(['--margin', '0'], {}).margin).to.equal(0);
    expect(loadWitnessConfig(['--margin', '10s'], {}).margin).to.equal(10_000);
  });

  it('takes host names, IPv4 and bracketed IPv6 addresses to listen on', () => {
    // --insecure: plaintext on an address that is not loopback needs it (transport-config.test.ts).
    for (const listen of ['0.0.0.0:1', 'localhost:65535', 'witness.example.org:50051', '[::]:50051', '[::1]:50051']) {
      expect(loadWitnessConfig(['--listen', listen, '--insecure'], {}).listen).to.equal(listen);
    }
  });

  it('does not read process.env or process.argv by itself', () => {
    const savedArgv = process.argv;
    process.env.WITNESS_LEASE = '7s';
    process.argv = [...savedArgv, '--lease', '8s'];
    try {
      expect(loadWitnessConfig([], {}).lease).to.equal(2000);
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
      clockDrift: 0.02, // file over default
      margin: 200, // environment over file
      logLevel: 'error', // flag over environment and file
      config: file,
    });

    it('with a JSON file named by --config', () => {
      const file = write('witness.json', JSON.stringify(fileValues));
      expect(loadWitnessConfig([...flags, '--config', file], env)).to.deep.equal(expected(file));
    });

    it('with a YAML file named by WITNESS_CONFIG', () => {
      const file = write('witness.yaml', 'lease: 3s\nmargin: 100ms\nclockDrift: 0.02\nlogLevel: debug # overridden\n');
      expect(loadWitnessConfig(flags, { ...env, WITNESS_CONFIG: file })).to.deep.equal(expected(file));
    });

    it('with a .yml file; --config wins over WITNESS_CONFIG', () => {
      const used = write('used.yml', 'lease: 3s\nmargin: 100ms\nclockDrift: 0.02\n');
      const ignored = write('ignored.yml', 'lease: 9s\n');
      expect(loadWitnessConfig([...flags, `--config=${used}`], { ...env, WITNESS_CONFIG: ignored })).to.deep.equal(
        expected(used),
      );
    });

    it('ignores empty environment variables', () => {
      expect(loadWitnessConfig([], { WITNESS_LEASE: '', WITNESS_CONFIG: '' })).to.deep.equal(DEFAULTS);
    });

    it('reads an empty config file as setting nothing', () => {
      const file = write('empty.yaml', '# nothing yet\n');
      expect(loadWitnessConfig(['--config', file], {})).to.deep.equal({ ...DEFAULTS, config: file });
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
        const error = configError(() => loadWitnessConfig([flag, value], {}));
        expect(error.key).to.equal(key);
        expect(error.message).to.match(new RegExp(`^${key}: must be `));
        expect(error.message).to.include(`got ${JSON.stringify(value)} (from ${flag})`);
      });
    }

    it('a bad lease with the message that says what is accepted', () => {
      expect(configError(() => loadWitnessConfig(['--lease', 'abc'], {})).message).to.equal(
        'lease: must be a duration like 200ms, 1s or plain milliseconds, between 50ms and 10m; got "abc" (from --lease)',
      );
    });

    it('a bad value from the environment, naming the variable', () => {
      const error = configError(() => loadWitnessConfig([], { WITNESS_CLOCK_DRIFT: 'lots' }));
      expect(error.key).to.equal('clockDrift');
      expect(error.message).to.include('(from WITNESS_CLOCK_DRIFT)');
    });

    it('a bad value from the config file, naming the file', () => {
      const file = write('bad-value.yaml', 'margin: forever\n');
      const error = configError(() => loadWitnessConfig(['--config', file], {}));
      expect(error.key).to.equal('margin');
      expect(error.message).to.include(`got "forever" (from ${file})`);
    });

    it('a list or mapping where a value belongs', () => {
      const file = write('nested.json', JSON.stringify({ lease: { seconds: 2 } }));
      const error = configError(() => loadWitnessConfig(['--config', file], {}));
      expect(error.key).to.equal('lease');
      expect(error.message).to.include(file);
    });

    it('a null in the config file', () => {
      const file = write('null.yaml', 'lease:\n');
      expect(configError(() => loadWitnessConfig(['--config', file], {})).key).to.equal('lease');
    });

    it('every bad value at once, one line each, the first key in schema order', () => {
      const error = configError(() => loadWitnessConfig(['--margin', 'x', '--listen', 'y'], {}));
      expect(error.key).to.equal('listen');
      expect(error.message.split('\n')).to.have.length(2);
    });

    it('a default lease longer than the lease, naming both keys', () => {
      const error = configError(() => loadWitnessConfig(['--lease', '1s', '--default-lease', '1.5s'], {}));
      expect(error.key).to.equal('defaultLease');
      expect(error.message)
        .to.match(/defaultLease/)
        .and.match(/\blease\b/);
      expect(error.message).to.include('1.5s').and.include('1s');
    });

    it('a lease below the default default lease, naming both keys', () => {
      const error = configError(() => loadWitnessConfig(['--lease', '500ms'], {}));
      expect(error.message).to.match(/defaultLease.*lease/);
    });

    it('accepts a default lease equal to the lease', () => {
      expect(loadWitnessConfig(['--lease', '1s', '--default-lease', '1000'], {}).defaultLease).to.equal(1000);
    });

    it('an unknown flag, naming it and suggesting the closest', () => {
      const error = configError(() => loadWitnessConfig(['--lese', '1s'], {}));
      expect(error.key).to.equal('--lese');
      expect(error.message).to.equal('unknown option --lese (did you mean --lease?)');
      expect(configError(() => loadWitnessConfig(['--verbose'], {})).message).to.equal('unknown option --verbose');
      expect(configError(() => loadWitnessConfig(['-l', 'x'], {})).message).to.include('-l');
    });

    it('a flag without its value', () => {
      expect(configError(() => loadWitnessConfig(['--lease'], {})).message).to.include('--lease needs a value');
      expect(configError(() => loadWitnessConfig(['--lease', '--margin', '1s'], {})).key).to.equal('lease');
    });

    it('positional arguments', () => {
      expect(configError(() => loadWitnessConfig(['extra'], {})).message).to.include('"extra"');
    });

    it('an unknown key in a config file, naming the key and the file', () => {
      const json = write('unknown.json', JSON.stringify({ lease: '1s', leaseMs: 1000 }));
      const error = configError(() => loadWitnessConfig(['--config', json], {}));
      expect(error.key).to.equal('leaseMs');
      expect(error.message).to.include(json).and.include('unknown key "leaseMs"');
      const yaml = write('unknown.yaml', 'data-dir: /tmp\n');
      expect(configError(() => loadWitnessConfig(['--config', yaml], {})).message).to.include('"data-dir"');
    });

    it('the config key inside a config file', () => {
      const file = write('self.json', JSON.stringify({ config: '/etc/other.json' }));
      expect(configError(() => loadWitnessConfig(['--config', file], {})).key).to.equal('config');
    });

    it('a missing config file, naming the path', () => {
      const missing = path.join(dir, 'missing.yaml');
      const error = configError(() => loadWitnessConfig([], { WITNESS_CONFIG: missing }));
      expect(error.key).to.equal('config');
      expect(error.message).to.include(missing);
    });

    it('a config file that does not parse, naming the path', () => {
      const json = write('broken.json', '{"lease": ');
      expect(configError(() => loadWitnessConfig(['--config', json], {})).message)
        .to.include(json)
        .and.include('JSON');
      const yaml = write('broken.yaml', 'lease: [1s\n');
      expect(configError(() => loadWitnessConfig(['--config', yaml], {})).message)
        .to.include(yaml)
        .and.include('YAML');
      const list = write('list.yaml', '- lease\n');
      expect(configError(() => loadWitnessConfig(['--config', list], {})).message).to.include(list);
    });

    it('a config file of another kind, naming the path', () => {
      const toml = write('witness.toml', 'lease = "1s"\n');
      const error = configError(() => loadWitnessConfig(['--config', toml], {}));
      expect(error.key).to.equal('config');
      expect(error.message).to.include(toml).and.include('.json, .yaml or .yml');
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
