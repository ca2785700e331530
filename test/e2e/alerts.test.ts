/**
 * Alerts (design §18.3) with real processes on loopback: a real SMTP server (python3-aiosmtpd) and
 * a real HTTP receiver hear the countdown to an automatic takeover before it happens, and the
 * takeover after it.
 */
import { expect } from 'chai';
import { timeline, useCluster } from '../support/cluster';
import { coldStart, FAILOVER_LIMIT_MS, steady } from '../support/cluster-steady';
import { requireTool } from '../support/require-tool';
import { AIOSMTPD, SmtpServer } from '../support/smtp-server';
import { WebhookReceiver } from '../support/webhook-receiver';
import { OPEN_REGISTRATION } from '../support/witness-process';

/** Below the cluster's lease (1 s), so that the countdown is announced while the lease still runs. */
const SILENT_AFTER_MS = 300;
const DELIVERY_MS = 5000;

describe('e2e: alerts by webhook and mail', function () {
  this.timeout(60_000);
  useCluster();
  let smtp: SmtpServer | undefined;
  let hooks: WebhookReceiver | undefined;

  before(function () {
    requireTool(this, AIOSMTPD);
  });

  afterEach(async () => {
    await hooks?.close();
    await smtp?.stop();
    hooks = undefined;
    smtp = undefined;
  });

  it('the countdown reaches the SMTP server and the webhook before an automatic takeover, the grant after it', async () => {
    smtp = await SmtpServer.start();
    hooks = await WebhookReceiver.start();
    const c = await coldStart({
      failback: 'manual',
      witnessArgs: [
        ...OPEN_REGISTRATION,
        '--holder-silent-after',
        `${SILENT_AFTER_MS}ms`,
        '--alert-webhook',
        hooks.url,
        '--alert-smtp',
        `smtp://127.0.0.1:${smtp.port}`,
        '--alert-mail-to',
        'ops@example.com',
      ],
    });
    await steady(c);
    const killedAt = timeline();
    await c.kill('a');
    await c.waitFor('b takes over', () => c.intervalsOf('b').length > 0, FAILOVER_LIMIT_MS + 2000);
    const takeoverAt = c.intervalsOf('b')[0]!.start;
    const webhook = hooks;
    const mail = smtp;
    await c.waitFor(
      'the grant to b reaches the webhook',
      () => webhook.events('granted').some((h) => h.body.holder === 'b'),
      DELIVERY_MS,
    );
    await c.waitFor(
      'the grant to b is mailed',
      () => mail.mails.some((m) => /g1: b granted the group/.test(m.subject)),
      DELIVERY_MS,
    );

    const [countdown] = webhook.events('holder-silent');
    expect(countdown, 'a holder-silent webhook').to.not.equal(undefined);
    expect(countdown!.body).to.include({ group: 'g1', node: 'a', holder: 'a', rule: 'holder-silent' });
    expect(countdown!.body.countdownMs).to.be.a('number').above(0).and.at.most(1100);
    expect(countdown!.at, 'the countdown arrives after the kill').to.be.above(killedAt);
    expect(countdown!.at, 'the countdown arrives before b starts').to.be.below(takeoverAt);
    const countdownMail = mail.mails.find((m) =>
      /^\[failover-witness\] g1: a unreachable: takeover in \d+\.\d s unless it returns$/.test(m.subject),
    );
    expect(countdownMail, mail.mails.map((m) => m.subject).join('\n')).to.not.equal(undefined);
    expect(countdownMail!.to).to.equal('ops@example.com');
    expect(countdownMail!.at, 'the countdown mail arrives before b starts').to.be.below(takeoverAt);

    const grant = webhook.events('granted').find((h) => h.body.holder === 'b')!;
    expect(grant.at, 'the grant arrives after the countdown').to.be.above(countdown!.at);
    expect(BigInt(grant.body.epoch as string) > BigInt(countdown!.body.epoch as string), 'a newer epoch').to.equal(
      true,
    );
    // A refused Acquire (b asking while a's lease runs) is not an alert by default.
    expect(webhook.events('refused')).to.have.length(0);
  });
});
