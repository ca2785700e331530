/** Sends an alert as a mail through one SMTP server (nodemailer). */
import nodemailer from 'nodemailer';
import type { SmtpSettings } from '../../config/alert-options';
import type { AlertDestination } from './alert-queue';
import { PermanentDeliveryError } from './alert-queue';
import { type AlertMessage, mailSubject, mailText } from './alert-message';

export function mailDestination(smtp: SmtpSettings, timeoutMs: number): AlertDestination<AlertMessage> {
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    auth: smtp.user === '' ? undefined : { user: smtp.user, pass: smtp.password },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    name: `smtp ${smtp.host}:${smtp.port}`,
    async deliver(alert, signal) {
      const sending = transport.sendMail({
        from: smtp.from,
        to: [...smtp.to],
        subject: mailSubject(alert),
        text: mailText(alert),
      });
      const aborted = new Promise<never>((_, reject) => {
        signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true });
      });
      try {
        await Promise.race([sending, aborted]);
      } catch (error) {
        // 5xx replies (a refused recipient, a refused sender) do not change on retry.
        const code = (error as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500) throw new PermanentDeliveryError(`SMTP ${code}`);
        throw error;
      }
    },
    close() {
      transport.close();
    },
  };
}
