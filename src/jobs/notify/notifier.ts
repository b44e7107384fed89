// Notifications of finished jobs: every target in the catalog whose `on`
// matches the outcome (failure: failed jobs; always: every outcome) gets the
// job, in parallel, each within its timeout. A target that cannot be reached
// is reported to `onError` (a log line), never to the job. trackJob's
// `onFinished` hook calls `notifyJob`, so CLI and server jobs both notify.
import type { Catalog } from '../../catalog/catalog.js';
import type { JobRecord } from '../../catalog/jobs.js';
import { listNotifications, type NotificationRecord } from '../../catalog/notifications.js';
import { notificationPayload } from './message.js';
import { sendNotification } from './senders.js';

export { notificationPayload, jobText, type NotificationPayload } from './message.js';
export { sendNotification, postWebhook, sendEmail } from './senders.js';

export function wants(target: NotificationRecord, job: JobRecord): boolean {
  if (job.status === 'running' || job.status === 'skipped') return false;
  return target.on === 'always' || job.status === 'failed';
}

/** Sends the job's outcome to every matching target; resolves when all were tried. */
export async function notifyJob(catalog: Catalog, job: JobRecord, onError: (target: NotificationRecord, err: unknown) => void = () => undefined): Promise<void> {
  let targets: NotificationRecord[];
  try {
    targets = listNotifications(catalog).filter((t) => wants(t, job));
  } catch {
    return; // an old catalog or a busy one: no notification rather than a failed job
  }
  if (targets.length === 0) return;
  const payload = notificationPayload(job);
  await Promise.all(
    targets.map(async (t) => {
      try {
        await sendNotification(t, payload);
      } catch (err) {
        onError(t, err);
      }
    }),
  );
}
