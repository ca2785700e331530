/** `witness serve`'s alert options (design §18.3): what is refused names its key, and secrets stay in files. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { alertSettings } from '../../src/config/alert-options';
import { loadWitnessConfig } from '../../src/config/witness-config';
import { configError } from '../support/config-error';

const settingsOf = (argv: string[]) =>
  alertSettings(loadWitnessConfig(argv, { WITNESS_GROUPS_FILE: '/etc/failover-witness/groups.yaml' }));

describe('alert options', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-alerts-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function secret(name: string, text: string, mode: number): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode });
    fs.chmodSync(file, mode);
    return file;
  }

  it('by default: no destination, the takeover events, operator requests and stale standbys, 5 s per attempt', () => {
    const settings = settingsOf([]);
    expect(settings.webhooks).to.deep.equal([]);
    expect(settings.smtp).to.equal(undefined);
    expect([...settings.events]).to.deep.equal([
      'holder-silent',
      'holder-returned',
      'lease-expired',
      'granted',
      'released',
      'intent',
      'sync-stale',
      'sync-recovered',
    ]);
    expect(settings.timeoutMs).to.equal(5000);
  });

  it('reads webhooks, the token file, the SMTP server, its password file and the recipients', () => {
    const token = secret('token', `${'t'.repeat(40)}\n`, 0o600);
    const password = secret('password', 'short pw\n', 0o600);
    const settings = settingsOf([
      '--alert-webhook',
      'http://127.0.0.1:8080/a, https://hooks.example.com/b',
      '--alert-webhook-token-file',
      token,
      '--alert-smtp',
      'smtps://mail.example.com',
      '--alert-smtp-user',
      'ops',
      '--alert-smtp-password-file',
      password,
      '--alert-mail-to',
      'a@example.com,b@example.com',
      '--alert-events',
      'granted,holder-silent',
    ]);
    expect(settings.webhooks.map(String)).to.deep.equal(['http://127.0.0.1:8080/a', 'https://hooks.example.com/b']);
    expect(settings.webhookToken).to.equal('t'.repeat(40));
    expect(settings.smtp).to.deep.include({
      host: 'mail.example.com',
      port: 465,
      secure: true,
      user: 'ops',
      password: 'short pw',
    });
    expect(settings.smtp?.to).to.deep.equal(['a@example.com', 'b@example.com']);
    expect([...settings.events]).to.deep.equal(['granted', 'holder-silent']);
  });

  const refusals: [string, string[], RegExp][] = [
    ['an unknown event', ['--alert-events', 'granted,promoted'], /unknown event "promoted"/],
    ['a webhook that is not http', ['--alert-webhook', 'ftp://x/y'], /not an http or https URL/],
    ['credentials in a webhook URL', ['--alert-webhook', 'https://u:p@x/y'], /no credentials in the URL/],
    [
      'an SMTP URL of another scheme',
      ['--alert-smtp', 'http://mail:25', '--alert-mail-to', 'a@b'],
      /not smtp:\/\/HOST:PORT/,
    ],
    ['credentials in the SMTP URL', ['--alert-smtp', 'smtp://u:p@mail:25', '--alert-mail-to', 'a@b'], /no credentials/],
    ['SMTP without recipients', ['--alert-smtp', 'smtp://mail:25'], /alertMailTo \(--alert-mail-to\) is needed/],
    ['recipients without SMTP', ['--alert-mail-to', 'a@b'], /alertMailTo needs alertSmtp/],
    [
      'a user without a password file',
      ['--alert-smtp', 'smtp://mail', '--alert-mail-to', 'a@b', '--alert-smtp-user', 'ops'],
      /go together/,
    ],
  ];
  for (const [what, argv, message] of refusals) {
    it(`refuses ${what}, naming the key`, () => {
      const error = configError(() => settingsOf(argv));
      expect(error.message).to.match(message);
      expect(error.message).to.match(/^alert[A-Za-z]+ /);
    });
  }

  it('refuses a password file others can read, without showing what it holds', () => {
    const file = secret('open-password', 'hunter2-secret\n', 0o644);
    const error = configError(() =>
      settingsOf([
        '--alert-smtp',
        'smtp://mail',
        '--alert-mail-to',
        'a@b',
        '--alert-smtp-user',
        'ops',
        '--alert-smtp-password-file',
        file,
      ]),
    );
    expect(error.key).to.equal('alertSmtpPasswordFile');
    expect(error.message).to.match(/must not be readable by others/);
    expect(error.message).to.not.include('hunter2');
  });

  it('refuses --holder-silent-after not below --lease', () => {
    const error = configError(() => settingsOf(['--holder-silent-after', '2s', '--lease', '2s']));
    expect(error.key).to.equal('holderSilentAfter');
  });
});
