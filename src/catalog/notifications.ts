// Notification targets: the catalog's `notifications` table. Each row says
// where job outcomes go — a webhook URL (a JSON POST with a Slack-compatible
// `text` field) or an email address (through an SMTP server given as
// `smtp://host:port` or `smtps://user:password@host:port`) — and when: on
// failure only, or always. Webhook URLs and SMTP URLs can hold secrets (a
// Slack hook's path, an SMTP password): `maskNotification` is what listings show.
import { ArcaError } from '../errors.js';
import { redactSecrets } from '../common/redact.js';
import { guard, type Catalog } from './catalog.js';

export const NOTIFY_KINDS = ['webhook', 'email'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];
export const NOTIFY_EVENTS = ['failure', 'always'] as const;
export type NotifyOn = (typeof NOTIFY_EVENTS)[number];

export interface NotificationRecord {
  id: number;
  kind: NotifyKind;
  /** The webhook URL, or the email address. */
  target: string;
  /** Email only: the SMTP server URL. */
  smtp: string | null;
  on: NotifyOn;
  createdAt: string;
}

export interface NewNotification {
  kind: NotifyKind;
  target: string;
  smtp?: string | null;
  on?: NotifyOn;
}

interface Row {
  id: number;
  kind: string;
  target: string;
  smtp: string | null;
  on_event: string;
  created_at: string;
}

const COLUMNS = 'id, kind, target, smtp, on_event, created_at';
const EMAIL = /^[^\s@<>()",;:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

function fromRow(r: Row): NotificationRecord {
  return { id: r.id, kind: r.kind as NotifyKind, target: r.target, smtp: r.smtp, on: r.on_event as NotifyOn, createdAt: r.created_at };
}

function parseUrl(text: string, what: string, schemes: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ArcaError('USAGE', `${what} is not a URL`);
  }
  if (!schemes.includes(url.protocol)) throw new ArcaError('USAGE', `${what} must start with ${schemes.map((s) => `${s}//`).join(' or ')}`);
  if (url.hostname === '') throw new ArcaError('USAGE', `${what} names no host`);
  return url;
}

/** Checks a new target; USAGE with what to fix. */
export function validateNotification(n: NewNotification): Required<NewNotification> {
  const on = n.on ?? 'failure';
  if (!(NOTIFY_EVENTS as readonly string[]).includes(on)) throw new ArcaError('USAGE', `--on must be failure or always, not ${JSON.stringify(on)}`);
  if (n.kind === 'webhook') {
    if (n.smtp) throw new ArcaError('USAGE', '--smtp is for email notifications, not webhooks');
    parseUrl(n.target, 'the webhook', ['http:', 'https:']);
    return { kind: 'webhook', target: n.target, smtp: null, on };
  }
  if (n.kind !== 'email') throw new ArcaError('USAGE', `unknown notification kind ${JSON.stringify(n.kind)}: use webhook or email`);
  if (!EMAIL.test(n.target) || n.target.length > 254) throw new ArcaError('USAGE', `${JSON.stringify(n.target.slice(0, 80))} is not an email address`);
  if (!n.smtp) throw new ArcaError('USAGE', 'an email notification needs --smtp smtp://host:port (or smtps://user:password@host:465)');
  parseUrl(n.smtp, 'the SMTP server', ['smtp:', 'smtps:']);
  return { kind: 'email', target: n.target, smtp: n.smtp, on };
}

export function addNotification(catalog: Catalog, n: NewNotification): NotificationRecord {
  const v = validateNotification(n);
  const row = guard(() =>
    catalog.db
      .prepare<[string, string, string | null, string, string], Row>(
        `INSERT INTO notifications (kind, target, smtp, on_event, created_at) VALUES (?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
      )
      .get(v.kind, v.target, v.smtp, v.on, catalog.now().toISOString()),
  );
  if (!row) throw new ArcaError('INTERNAL', 'the catalog did not return the new notification');
  return fromRow(row);
}

export function listNotifications(catalog: Catalog): NotificationRecord[] {
  return guard(() => catalog.db.prepare<[], Row>(`SELECT ${COLUMNS} FROM notifications ORDER BY id`).all().map(fromRow));
}

export function getNotification(catalog: Catalog, id: number): NotificationRecord {
  const row = guard(() => catalog.db.prepare<[number], Row>(`SELECT ${COLUMNS} FROM notifications WHERE id = ?`).get(id));
  if (!row) throw new ArcaError('NOT_FOUND', `no notification ${id}; see them with: arca notify list`);
  return fromRow(row);
}

export function removeNotification(catalog: Catalog, id: number): void {
  const r = guard(() => catalog.db.prepare<[number]>('DELETE FROM notifications WHERE id = ?').run(id));
  if (r.changes === 0) throw new ArcaError('NOT_FOUND', `no notification ${id}; see them with: arca notify list`);
}

/** A webhook URL without its path and query (where Slack-style hooks keep their secret). */
export function maskWebhook(url: string): string {
  try {
    const u = new URL(url);
    const hidden = u.pathname.length > 1 || u.search !== '' ? '/***' : '';
    return `${u.protocol}//${u.host}${hidden}`;
  } catch {
    return '***';
  }
}

/** The record as listings show it: no webhook secret, no SMTP password. */
export function maskNotification(n: NotificationRecord): NotificationRecord {
  return { ...n, target: n.kind === 'webhook' ? maskWebhook(n.target) : n.target, smtp: n.smtp === null ? null : redactSecrets(n.smtp) };
}
