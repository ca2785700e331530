/**
 * The transport options of both programs (design §16): --tls-* go together as documented, a
 * non-loopback --listen without TLS needs --insecure, and every refusal is a ConfigError naming its key.
 */
import { expect } from 'chai';
import { isLoopbackHost } from '../../src/config/loopback';
import { loadSidecarConfig, sidecarHelp } from '../../src/config/sidecar-config';
import { toSidecarOptions } from '../../src/config/to-sidecar-options';
import { loadWitnessConfig, witnessHelp } from '../../src/config/witness-config';
import { transportSettings } from '../../src/config/transport-options';
import { configError } from '../support/config-error';

const SIDECAR = ['--group', 'g1', '--node', 'a', '--peer-node', 'b'];
const TLS = ['--tls-cert', '/etc/fw/a.crt', '--tls-key', '/etc/fw/a.key'];

const programs = [
  {
    name: 'witness serve',
    // Members declared (design §17.1): the one witness choice without a default, not tested here.
    load: (args: string[], env: NodeJS.ProcessEnv = {}) =>
      loadWitnessConfig(args, { WITNESS_GROUPS_FILE: '/etc/fw/groups.yaml', ...env }),
    env: 'WITNESS',
  },
  {
    name: 'witness sidecar',
    load: (args: string[], env: NodeJS.ProcessEnv = {}) => loadSidecarConfig([...SIDECAR, ...args], env),
    env: 'WITNESS_SIDECAR',
  },
] as const;

describe('transport configuration (TLS options, --insecure)', () => {
  describe('isLoopbackHost', () => {
    it('is true for 127.0.0.0/8, ::1 and localhost only', () => {
      for (const host of [
        '127.0.0.1',
        '127.1.2.3',
        '127.255.255.254',
        '::1',
        '0:0:0:0:0:0:0:1',
        'localhost',
        'LOCALHOST',
        'localhost.',
        '::ffff:127.0.0.1',
      ]) {
        expect(isLoopbackHost(host), host).to.equal(true);
      }
      for (const host of [
        '0.0.0.0',
        '::',
        '10.0.0.1',
        '128.0.0.1',
        '192.168.1.1',
        'witness.example.org',
        'localhost.example.org',
        '::ffff:10.0.0.1',
        '::2',
      ]) {
        expect(isLoopbackHost(host), host).to.equal(false);
      }
    });
  });

  for (const program of programs) {
    describe(program.name, () => {
      it('plaintext by default on loopback', () => {
        const config = program.load([]);
        expect(transportSettings(config)).to.deep.equal({ tls: undefined, insecureListen: false });
      });

      it('a non-loopback --listen without TLS is refused naming insecure and what to add', () => {
        const error = configError(() => program.load(['--listen', '0.0.0.0:7000']));
        expect(error.key).to.equal('insecure');
        expect(error.message).to.include('0.0.0.0:7000 is not a loopback address');
        expect(error.message).to.include('add --tls-cert FILE --tls-key FILE').and.include('or add --insecure');
      });

      it('--insecure takes no value; --insecure=false, the file key and the variable work too', () => {
        const insecure = program.load(['--listen', '0.0.0.0:7000', '--insecure']);
        expect(insecure.insecure).to.equal('true');
        expect(transportSettings(insecure)).to.deep.equal({ tls: undefined, insecureListen: true });
        expect(program.load(['--listen', '0.0.0.0:7000'], { [`${program.env}_INSECURE`]: 'true' }).insecure).to.equal(
          'true',
        );
        const off = configError(() => program.load(['--listen', '0.0.0.0:7000', '--insecure=false']));
        expect(off.key).to.equal('insecure');
        expect(configError(() => program.load(['--insecure=maybe'])).key).to.equal('insecure');
      });

      it('TLS on any address; client auth defaults to none without a CA and to require with one', () => {
        const tls = program.load(['--listen', '0.0.0.0:7000', ...TLS]);
        expect(transportSettings(tls)).to.deep.equal({
          tls: { certFile: '/etc/fw/a.crt', keyFile: '/etc/fw/a.key', caFile: undefined, requireClientCert: false },
          insecureListen: false,
        });
        const mtls = program.load([...TLS, '--tls-ca', '/etc/fw/ca.crt']);
        expect(transportSettings(mtls).tls).to.include({ caFile: '/etc/fw/ca.crt', requireClientCert: true });
        const optional = program.load([...TLS, '--tls-ca', '/etc/fw/ca.crt', '--tls-client-auth', 'none']);
        expect(transportSettings(optional).tls).to.include({ requireClientCert: false });
      });

      it('refuses --tls-cert without --tls-key and the reverse, naming the missing key', () => {
        expect(configError(() => program.load(['--tls-cert', '/a.crt'])).key).to.equal('tlsKey');
        const error = configError(() => program.load(['--tls-key', '/a.key']));
        expect(error.key).to.equal('tlsCert');
        expect(error.message).to.include('tlsCert (--tls-cert) is missing');
      });

      it('refuses --tls-ca or --tls-client-auth without a certificate, and require without a CA', () => {
        expect(configError(() => program.load(['--tls-ca', '/ca.crt'])).message).to.include(
          'tlsCa (--tls-ca) needs TLS',
        );
        expect(configError(() => program.load(['--tls-client-auth', 'none'])).key).to.equal('tlsClientAuth');
        const error = configError(() => program.load([...TLS, '--tls-client-auth', 'require']));
        expect(error.key).to.equal('tlsClientAuth');
        expect(error.message).to.include('require needs tlsCa (--tls-ca)');
        expect(configError(() => program.load([...TLS, '--tls-client-auth', 'always'])).key).to.equal('tlsClientAuth');
      });
    });
  }

  it('the sidecar checks the peer certificate for PEER.GROUP unless told otherwise, the witness for its host', () => {
    const options = toSidecarOptions(loadSidecarConfig([...SIDECAR, ...TLS], {}));
    expect(options).to.include({ peerServerName: 'b.g1', witnessServerName: undefined });
    const named = toSidecarOptions(
      loadSidecarConfig(
        [...SIDECAR, ...TLS, '--tls-server-name', 'w.example.org', '--tls-peer-server-name', 'b.example.org'],
        {},
      ),
    );
    expect(named).to.include({ peerServerName: 'b.example.org', witnessServerName: 'w.example.org' });
  });

  it('help shows --insecure as a switch and every TLS option', () => {
    for (const help of [witnessHelp(), sidecarHelp()]) {
      expect(help).to.include('--insecure (takes no value)');
      for (const flag of ['--tls-cert FILE', '--tls-key FILE', '--tls-ca FILE', '--tls-client-auth require|none']) {
        expect(help).to.include(flag);
      }
    }
    expect(sidecarHelp()).to.include('--tls-server-name NAME').and.include('--tls-peer-server-name NAME');
  });
});
