// `arca notify add webhook URL [--on failure|always]`, `arca notify add email
// ADDRESS --smtp smtp://host:port [--on …]`, `arca notify list|remove|test`:
// where job outcomes are sent (by the CLI, the scheduler's jobs and the
// server alike). Listings mask webhook paths and SMTP passwords. Secrets never
// come from the command line: a webhook URL (its path is a secret for Slack
// and most chat tools) is read from stdin with `-`, an SMTP password from
// --smtp-password-file.
import { InvalidArgumentError, type Command } from 'commander';
import { ArcaError, errorMessage } from '../../errors.js';
import { formatTimestamp } from '../../common/format.js';
import { redactSecrets } from '../../common/redact.js';
import {
  addNotification,
  getNotification,
  listNotifications,
  maskNotification,
  removeNotification,
  NOTIFY_EVENTS,
  type NotificationRecord,
  type NotifyOn,
} from '../../catalog/notifications.js';
import type { JobRecord } from '../../catalog/jobs.js';
import { notificationPayload, sendNotification } from '../../jobs/notify/notifier.js';
import type { CliContext, ContextFactory } from '../context.js';
import { passwordFromFileContent, readAll, readPasswordFile } from '../password.js';
import { renderTable } from '../output.js';

function parseOn(value: string): NotifyOn {
  if (!(NOTIFY_EVENTS as readonly string[]).includes(value)) throw new InvalidArgumentError('use failure or always');
  return value as NotifyOn;
}

function parseId(value: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw new InvalidArgumentError('a notification id is a positive whole number (see arca notify list)');
  return Number(value);
}

function describe(n: NotificationRecord): string {
  return n.kind === 'webhook' ? `webhook ${n.target}` : `email to ${n.target} via ${n.smtp ?? '?'}`;
}

/** The webhook URL: from stdin when given as `-` (keeps its secret path out of argv and shell history). */
async function webhookUrl(ctx: CliContext, arg: string): Promise<string> {
  if (arg !== '-') return arg;
  const url = passwordFromFileContent(await readAll(ctx.io.stdin)).trim();
  if (url === '') throw new ArcaError('USAGE', 'no webhook URL on stdin');
  return url;
}

/** The SMTP URL with the password from --smtp-password-file; a password typed into --smtp itself is refused. */
async function smtpUrl(smtp: string, passwordFile: string | undefined): Promise<string> {
  let url: URL;
  try {
    url = new URL(smtp);
  } catch {
    throw new ArcaError('USAGE', '--smtp must be a URL like smtp://host:587 or smtps://user@host:465');
  }
  if (url.password !== '') {
    throw new ArcaError('USAGE', 'do not put the SMTP password on the command line: give --smtp smtps://user@host:465 and --smtp-password-file FILE');
  }
  if (passwordFile === undefined) return smtp;
  if (url.username === '') throw new ArcaError('USAGE', '--smtp-password-file needs a user name in the --smtp URL (smtps://user@host:465)');
  url.password = encodeURIComponent(await readPasswordFile(passwordFile));
  return url.href;
}

/** A made-up finished job for `notify test`. */
function testJob(): JobRecord {
  const now = new Date().toISOString();
  return {
    id: 0, kind: 'check', database: null, volume: null, schedule: null, host: '', pid: process.pid, startedAt: now, heartbeatAt: now,
    finishedAt: now, status: 'failed', progress: null, figures: { test: true }, error: 'this is a test notification from arca notify test', abortRequested: false,
  };
}

export function registerNotifyCommands(program: Command, contextOf: ContextFactory): void {
  const notify = program.command('notify').description('where job outcomes are sent: webhooks and email');
  const add = notify.command('add').description('add a notification target');

  add
    .command('webhook')
    .description('POST each matching job outcome as JSON (with a Slack-compatible "text" field) to URL')
    .argument('<url>', 'http:// or https:// URL, or - to read it from stdin (keeps a secret URL out of argv)')
    .option('--on <when>', 'failure (default) or always', parseOn, 'failure')
    .action(async (arg: string, opts: { on: NotifyOn }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const url = await webhookUrl(ctx, arg);
      const added = maskNotification(addNotification(ctx.catalog(), { kind: 'webhook', target: url, on: opts.on }));
      ctx.output.result(added, () => `added notification ${added.id}: ${describe(added)} on ${added.on}`);
    });

  add
    .command('email')
    .description('email each matching job outcome to ADDRESS through an SMTP server')
    .argument('<address>', 'the recipient')
    .requiredOption('--smtp <url>', 'smtp://host:port (STARTTLS when offered) or smtps://user@host:465')
    .option('--smtp-password-file <file>', 'the SMTP password, read from this file (never on the command line)')
    .option('--on <when>', 'failure (default) or always', parseOn, 'failure')
    .action(async (address: string, opts: { smtp: string; smtpPasswordFile?: string; on: NotifyOn }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const smtp = await smtpUrl(opts.smtp, opts.smtpPasswordFile);
      const added = maskNotification(addNotification(ctx.catalog(), { kind: 'email', target: address, smtp, on: opts.on }));
      ctx.output.result(added, () => `added notification ${added.id}: ${describe(added)} on ${added.on}`);
    });

  notify
    .command('list')
    .description('list the notification targets (secrets masked)')
    .action((_opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const all = listNotifications(ctx.catalog()).map(maskNotification);
      ctx.output.result(all, () =>
        all.length === 0
          ? 'no notifications; add one with: arca notify add webhook URL or arca notify add email ADDRESS --smtp smtp://host:port'
          : renderTable(
              [{ header: 'ID', align: 'right' }, { header: 'KIND' }, { header: 'TARGET' }, { header: 'ON' }, { header: 'ADDED' }],
              all.map((n) => [String(n.id), n.kind, n.kind === 'email' ? `${n.target} via ${n.smtp ?? '?'}` : n.target, n.on, formatTimestamp(n.createdAt)]),
            ),
      );
    });

  notify
    .command('remove')
    .description('remove a notification target')
    .argument('<id>', 'its id (see arca notify list)', parseId)
    .action((id: number, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      removeNotification(ctx.catalog(), id);
      ctx.output.result({ removed: id }, () => `removed notification ${id}`);
    });

  notify
    .command('test')
    .description('send a test notification to every target (or one); exits 1 when one fails')
    .argument('[id]', 'only this target', parseId)
    .action(async (id: number | undefined, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const catalog = ctx.catalog();
      const targets = id === undefined ? listNotifications(catalog) : [getNotification(catalog, id)];
      if (targets.length === 0) throw new ArcaError('NOT_FOUND', 'no notifications to test; add one with: arca notify add …');
      const payload = notificationPayload(testJob());
      const results = await Promise.all(
        targets.map(async (t) => {
          try {
            await sendNotification(t, payload);
            return { id: t.id, ok: true, error: null };
          } catch (err) {
            return { id: t.id, ok: false, error: redactSecrets(errorMessage(err)) };
          }
        }),
      );
      ctx.output.result(results, () => results.map((r) => `notification ${r.id}: ${r.ok ? 'sent' : `failed: ${r.error}`}`).join('\n'));
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) throw new ArcaError('BACKEND', `${failed.length} of ${results.length} notifications failed`);
    });
}
