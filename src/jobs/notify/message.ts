// The words of a notification: one line for a finished job ("arca: backup of
// docs on local failed after 3 s: …") and a JSON payload whose `text` field
// Slack, Mattermost and Rocket.Chat incoming webhooks show as is. Secrets
// are masked (redactSecrets); the job's figures go along for machines.
import { hostname } from 'node:os';
import { redactSecrets } from '../../common/redact.js';
import { formatDuration } from '../../common/format.js';
import type { JobRecord } from '../../catalog/jobs.js';

export interface NotificationPayload {
  /** Slack-compatible: the message people read. */
  text: string;
  job: {
    id: number;
    kind: string;
    database: string | null;
    volume: string | null;
    schedule: string | null;
    status: string;
    startedAt: string;
    finishedAt: string | null;
    error: string | null;
    figures: JobRecord['figures'];
  };
  host: string;
}

export function jobSubject(job: { kind: string; database: string | null; volume: string | null; status: string }): string {
  const on = [job.database ? `of ${job.database}` : '', job.volume ? `on ${job.volume}` : ''].filter((s) => s !== '').join(' ');
  return `arca: ${job.kind}${on ? ` ${on}` : ''} ${job.status}`;
}

export function jobText(job: JobRecord): string {
  const took = job.finishedAt ? ` after ${formatDuration(Date.parse(job.finishedAt) - Date.parse(job.startedAt))}` : '';
  const schedule = job.schedule ? ` (schedule ${job.schedule})` : '';
  const error = job.error ? `: ${job.error}` : '';
  return redactSecrets(`${jobSubject(job)}${took}${schedule}, job ${job.id} on ${hostname()}${error}`);
}

export function notificationPayload(job: JobRecord): NotificationPayload {
  return {
    text: jobText(job),
    job: {
      id: job.id,
      kind: job.kind,
      database: job.database,
      volume: job.volume,
      schedule: job.schedule,
      status: job.status,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      error: job.error === null ? null : redactSecrets(job.error),
      figures: job.figures,
    },
    host: hostname(),
  };
}
