/**
 * `witness serve`'s alert options (design §18.3): webhooks and mail for chosen events. Secrets
 * (a webhook's bearer token, the SMTP password) come from files, never from flags, so that they do
 * not show in `ps` or in a log of the command line.
 */
import { type ConfigSchema, ConfigError, type OptionSchema } from './load-config';
import { optionalFileOption } from './shared-options';
import { readConfiguredProtectedFile, readConfiguredSecret } from './secret-file';

export interface AlertConfig {
  /** Comma-separated http(s) URLs; '' for none. */
  readonly alertWebhook: string;
  readonly alertWebhookTokenFile: string | null;
  /** smtp://host:port or smtps://host:port; '' for no mail. */
  readonly alertSmtp: string;
  readonly alertSmtpUser: string;
  readonly alertSmtpPasswordFile: string | null;
  readonly alertMailFrom: string;
  /** Comma-separated addresses. */
  readonly alertMailTo: string;
  /** Comma-separated event names (ALERT_EVENT_NAMES). */
  readonly alertEvents: string;
  /** Per attempt, in ms. */
  readonly alertTimeout: number;
}

/** The events an alert can be sent for: the wire's EventKind names, as `--alert-events` spells them. */
export const ALERT_EVENT_NAMES = [
  'registered',
  'granted',
  'released',
  'adopted',
  'refused',
  'intent',
  'holder-silent',
  'holder-returned',
  'lease-expired',
  'sync-stale',
  'sync-recovered',
] as const;
export type AlertEventName = (typeof ALERT_EVENT_NAMES)[number];

/**
 * What a takeover is made of, what an operator asked for, and a standby going stale (sent only with
 * --sync-alert-after); not the refusals a partition repeats.
 */
const DEFAULT_ALERT_EVENTS =
  'holder-silent,holder-returned,lease-expired,granted,released,intent,sync-stale,sync-recovered';

export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  /** smtps: TLS from the first byte; smtp: STARTTLS when the server offers it. */
  readonly secure: boolean;
  readonly user: string;
  /** '' without --alert-smtp-password-file. */
  readonly password: string;
  readonly from: string;
  readonly to: readonly string[];
}

export interface AlertSettings {
  readonly webhooks: readonly URL[];
  /** Sent as `Authorization: Bearer` to every webhook; '' for none. */
  readonly webhookToken: string;
  readonly smtp: SmtpSettings | undefined;
  readonly events: ReadonlySet<AlertEventName>;
  readonly timeoutMs: number;
}

export const alertSchema: ConfigSchema<AlertConfig> = {
  alertWebhook: text(
    'URLs (comma-separated) that each alert event is POSTed to as JSON, retried with back-off.',
    'alert-webhook',
    '',
    'URL[,URL...]',
  ),
  alertWebhookTokenFile: optionalFileOption(
    'File holding a bearer token sent to the webhooks (Authorization: Bearer).',
    'alert-webhook-token-file',
    'WITNESS',
  ),
  alertSmtp: text(
    'SMTP server alert mails go through: smtp://HOST:PORT (STARTTLS when offered) or smtps://HOST:PORT.',
    'alert-smtp',
    '',
    'URL',
  ),
  alertSmtpUser: text('SMTP user name; needs --alert-smtp-password-file.', 'alert-smtp-user', '', 'NAME'),
  alertSmtpPasswordFile: optionalFileOption(
    'File holding the SMTP password (kept 0600).',
    'alert-smtp-password-file',
    'WITNESS',
  ),
  alertMailFrom: text('Sender of alert mails.', 'alert-mail-from', 'failover-witness@localhost', 'ADDRESS'),
  alertMailTo: text(
    'Recipients (comma-separated) of alert mails; needed with --alert-smtp.',
    'alert-mail-to',
    '',
    'ADDRESS[,...]',
  ),
  alertEvents: text(
    `Events alerts are sent for (comma-separated): ${ALERT_EVENT_NAMES.join(', ')}.`,
    'alert-events',
    DEFAULT_ALERT_EVENTS,
    'EVENT[,EVENT...]',
  ),
  alertTimeout: {
    doc: 'How long one delivery attempt of an alert may take.',
    format: 'duration',
    default: '5s',
    min: '100ms',
    max: '1m',
    arg: 'alert-timeout',
    env: 'WITNESS_ALERT_TIMEOUT',
  },
};

function text(doc: string, arg: string, value: string, metavar: string): OptionSchema {
  return {
    doc,
    format: String,
    default: value,
    arg,
    env: `WITNESS_${arg.toUpperCase().replaceAll('-', '_')}`,
    metavar,
  };
}

/** Checks the alert keys together; the settings alerts are sent with. Throws ConfigError naming the key. */
export function alertSettings(config: AlertConfig): AlertSettings {
  const webhooks = list(config.alertWebhook).map((value) => webhookUrl(value));
  const events = new Set(
    list(config.alertEvents).map((name) => {
      if (!(ALERT_EVENT_NAMES as readonly string[]).includes(name)) {
        throw new ConfigError(
          'alertEvents',
          `alertEvents (--alert-events): unknown event "${name}"; known: ${ALERT_EVENT_NAMES.join(', ')}`,
        );
      }
      return name as AlertEventName;
    }),
  );
  const webhookToken =
    config.alertWebhookTokenFile === null
      ? ''
      : readConfiguredSecret(config.alertWebhookTokenFile, 'alertWebhookTokenFile', '--alert-webhook-token-file');
  return { webhooks, webhookToken, smtp: smtpSettings(config), events, timeoutMs: config.alertTimeout };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function webhookUrl(value: string): URL {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError('alertWebhook', `alertWebhook (--alert-webhook): "${value}" is not an http or https URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'alertWebhook',
      'alertWebhook (--alert-webhook): put no credentials in the URL; use --alert-webhook-token-file',
    );
  }
  return url;
}

function smtpSettings(config: AlertConfig): SmtpSettings | undefined {
  if (config.alertSmtp === '') {
    for (const key of ['alertMailTo', 'alertSmtpUser'] as const) {
      if (config[key] !== '') throw new ConfigError(key, `${key} needs alertSmtp (--alert-smtp)`);
    }
    if (config.alertSmtpPasswordFile !== null) {
      throw new ConfigError('alertSmtpPasswordFile', 'alertSmtpPasswordFile needs alertSmtp (--alert-smtp)');
    }
    return undefined;
  }
  const url = URL.canParse(config.alertSmtp) ? new URL(config.alertSmtp) : undefined;
  if (url === undefined || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '') {
    throw new ConfigError(
      'alertSmtp',
      `alertSmtp (--alert-smtp): "${config.alertSmtp}" is not smtp://HOST:PORT or smtps://HOST:PORT`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'alertSmtp',
      'alertSmtp (--alert-smtp): put no credentials in the URL; use --alert-smtp-user and --alert-smtp-password-file',
    );
  }
  const to = list(config.alertMailTo);
  if (to.length === 0)
    throw new ConfigError('alertMailTo', 'alertMailTo (--alert-mail-to) is needed with alertSmtp (--alert-smtp)');
  if ((config.alertSmtpUser === '') !== (config.alertSmtpPasswordFile === null)) {
    throw new ConfigError(
      config.alertSmtpUser === '' ? 'alertSmtpUser' : 'alertSmtpPasswordFile',
      'alertSmtpUser (--alert-smtp-user) and alertSmtpPasswordFile (--alert-smtp-password-file) go together',
    );
  }
  const secure = url.protocol === 'smtps:';
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (secure ? 465 : 25) : Number(url.port),
    secure,
    user: config.alertSmtpUser,
    password:
      config.alertSmtpPasswordFile === null
        ? ''
        : readConfiguredProtectedFile(
            config.alertSmtpPasswordFile,
            'alertSmtpPasswordFile',
            '--alert-smtp-password-file',
          ),
    from: config.alertMailFrom,
    to,
  };
}
