// Sending one notification: a webhook is a JSON POST (10 s timeout, any 2xx
// is success); an email goes through the target's SMTP server (nodemailer).
// Errors name the target with its secrets masked, never the payload's URL.
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { ArcaError, errorMessage } from '../../errors.js';
import { redactSecrets } from '../../common/redact.js';
import { maskWebhook, type NotificationRecord } from '../../catalog/notifications.js';
import { jobSubject, type NotificationPayload } from './message.js';

export const SEND_TIMEOUT_MS = 10_000;

export async function postWebhook(url: string, payload: NotificationPayload, timeoutMs = SEND_TIMEOUT_MS): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'arca' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    throw new ArcaError('BACKEND', `webhook ${maskWebhook(url)}: ${errorMessage(err)}`, { cause: err });
  }
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new ArcaError('BACKEND', `webhook ${maskWebhook(url)} answered ${response.status}`);
}

/** `smtp://[user:password@]host[:port]` (STARTTLS when offered) or `smtps://…` (TLS from the start, port 465). */
export function smtpOptions(smtp: string, timeoutMs: number): SMTPTransport.Options {
  const u = new URL(smtp);
  const secure = u.protocol === 'smtps:';
  const user = decodeURIComponent(u.username);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? (secure ? 465 : 587) : Number(u.port),
    secure,
    ...(user !== '' ? { auth: { user, pass: decodeURIComponent(u.password) } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  };
}

export async function sendEmail(smtp: string, to: string, payload: NotificationPayload, timeoutMs = SEND_TIMEOUT_MS): Promise<void> {
  // Loaded when an email is sent, not at every start (~100 ms).
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport(smtpOptions(smtp, timeoutMs));
  const job = payload.job;
  try {
    await transport.sendMail({
      from: `Arca <arca@${payload.host.replace(/[^A-Za-z0-9.-]/g, '') || 'localhost'}>`,
      to,
      subject: jobSubject(job),
      text: `${payload.text}\n\n${JSON.stringify(payload.job, null, 2)}\n`,
    });
  } catch (err) {
    throw new ArcaError('BACKEND', `email to ${to} via ${redactSecrets(smtp)}: ${redactSecrets(errorMessage(err))}`, { cause: err });
  } finally {
    transport.close();
  }
}

export async function sendNotification(target: NotificationRecord, payload: NotificationPayload): Promise<void> {
  if (target.kind === 'webhook') return postWebhook(target.target, payload);
  if (!target.smtp) throw new ArcaError('USAGE', `email notification ${target.id} has no SMTP server`);
  return sendEmail(target.smtp, target.target, payload);
}
