// Notifications of job outcomes, against receivers started on loopback: a
// webhook (node:http) gets a JSON POST with a Slack-compatible `text`, an
// SMTP server (smtp-server) gets the email; on failure only or always; from
// server jobs and from CLI jobs; `arca notify add|list|remove|test`; secrets
// masked in listings.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDatabase } from '../../../src/catalog/index.js';
import { addNotification, listNotifications, removeNotification } from '../../../src/catalog/notifications.js';
import { trackJob } from '../../../src/jobs/job-tracker.js';
import { notifyJob } from '../../../src/jobs/notify/notifier.js';
import { JobSchema } from '../../../src/server/schemas.js';
import { requireBuiltCli, runArca } from '../../helpers/index.js';
import { parseSse } from './client.js';
import { startTestServer, type TestServer } from './fixture.js';

interface Posted {
  path: string;
  body: { text: string; job: { id: number; kind: string; status: string; database: string | null; error: string | null } };
}

let t: TestServer;
let hook: http.Server;
let smtp: SMTPServer;
let hookUrl: string;
let smtpUrl: string;
const posts: Posted[] = [];
const mails: string[] = [];

beforeAll(async () => {
  t = await startTestServer({ label: 'notify' });
  hook = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Posted['body'] });
      res.writeHead(req.url?.includes('broken') ? 500 : 200).end('ok');
    });
  });
  await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', ok));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/services/T000/B000/secret-part`;
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push(Buffer.concat(chunks).toString('utf8'));
        done();
      });
    },
  });
  await new Promise<void>((ok) => smtp.listen(0, '127.0.0.1', ok));
  smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
  await new Promise((ok) => hook?.close(ok));
  await new Promise((ok) => smtp?.close(() => ok(undefined)));
});

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for a notification');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('notifications', () => {
  it('sends a failed job to the webhook and by email; a success only to "always" targets', async () => {
    const failing = addNotification(t.catalog, { kind: 'webhook', target: hookUrl });
    const always = addNotification(t.catalog, { kind: 'webhook', target: `${hookUrl}-always`, on: 'always' });
    const email = addNotification(t.catalog, { kind: 'email', target: 'ops@example.com', smtp: smtpUrl });
    const broken = addNotification(t.catalog, { kind: 'webhook', target: `${hookUrl}-broken`, on: 'always' });
    const errors: string[] = [];
    const onFinished = (job: Parameters<typeof notifyJob>[1]) => notifyJob(t.catalog, job, (target) => errors.push(`${target.id}`));
    await expect(
      trackJob(t.catalog, { kind: 'check', volume: 'local' }, () => Promise.reject(new Error('disk on fire: postgres://u:hunter2@db/x')), () => ({}), { onFinished }),
    ).rejects.toThrow('disk on fire');
    expect(posts.map((p) => p.path).sort()).toEqual(['/services/T000/B000/secret-part', '/services/T000/B000/secret-part-always', '/services/T000/B000/secret-part-broken']);
    const p = posts.find((x) => x.path.endsWith('secret-part'))!;
    expect(p.body.text).toMatch(/^arca: check on local failed after .*disk on fire/);
    expect(p.body.job).toMatchObject({ kind: 'check', status: 'failed' });
    expect(JSON.stringify(posts)).not.toContain('hunter2');
    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain('To: ops@example.com');
    expect(mails[0]).toMatch(/Subject: arca: check on local failed/);
    expect(errors).toEqual([String(broken.id)]);

    posts.length = 0;
    await trackJob(t.catalog, { kind: 'check', volume: 'local' }, async () => 1, () => ({ ok: true }), { onFinished });
    expect(posts.map((x) => x.path).sort()).toEqual(['/services/T000/B000/secret-part-always', '/services/T000/B000/secret-part-broken']);
    expect(posts[0]!.body.job.status).toBe('succeeded');
    expect(mails).toHaveLength(1);
    for (const n of [failing, always, email, broken]) removeNotification(t.catalog, n.id);
  });

  it('notifies about jobs the server runs', async () => {
    posts.length = 0;
    const n = addNotification(t.catalog, { kind: 'webhook', target: hookUrl });
    addDatabase(t.catalog, { name: 'gone', url: `file://${t.scratch.path('does-not-exist')}` });
    const r = await t.as.operator.put('/api/v1/databases/gone/backups/start', { body: {} });
    expect(r.status, r.text).toBe(202);
    const id = JobSchema.parse(r.json).id;
    const events = parseSse((await t.as.viewer.get(`/api/v1/jobs/${id}/events?interval=100`)).text);
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { id, status: 'failed' } });
    await until(() => posts.length > 0);
    expect(posts[0]!.body.job).toMatchObject({ id, kind: 'backup', database: 'gone', status: 'failed' });
    removeNotification(t.catalog, n.id);
  });

  it('arca notify add, list (masked), test, remove; CLI jobs notify too', async () => {
    requireBuiltCli();
    posts.length = 0;
    const opts = { home: t.home };
    // The webhook URL (its path is a secret) comes from stdin, not argv.
    const added = await runArca(['--json', 'notify', 'add', 'webhook', '-', '--on', 'always'], { ...opts, input: `${hookUrl}\n` });
    expect(added.code, added.stderr).toBe(0);
    const id = (JSON.parse(added.stdout) as { id: number }).id;
    expect(added.stdout).not.toContain('secret-part');
    // An SMTP password typed into --smtp is refused; it comes from a file.
    const inline = await runArca(['notify', 'add', 'email', 'ops@example.com', '--smtp', smtpUrl.replace('smtp://', 'smtp://bob:pw-s3cret@')], opts);
    expect(inline.code).toBe(2);
    expect(inline.stderr).toContain('--smtp-password-file');
    expect(inline.stderr).not.toContain('pw-s3cret');
    const pwFile = join(t.home, 'smtp-password');
    writeFileSync(pwFile, 'pw-s3cret\n', { mode: 0o600 });
    const mail = await runArca(['notify', 'add', 'email', 'ops@example.com', '--smtp', smtpUrl.replace('smtp://', 'smtp://bob@'), '--smtp-password-file', pwFile], opts);
    expect(mail.code, mail.stderr).toBe(0);
    const list = await runArca(['notify', 'list'], opts);
    expect(list.stdout).toContain('http://127.0.0.1');
    expect(list.stdout).not.toContain('secret-part');
    expect(list.stdout).not.toContain('pw-s3cret');
    expect((await runArca(['notify', 'add', 'webhook', 'ftp://x'], opts)).code).toBe(2);
    expect((await runArca(['notify', 'add', 'email', 'not-an-address', '--smtp', smtpUrl], opts)).code).toBe(2);
    const test = await runArca(['notify', 'test', String(id)], opts);
    expect(test.code, test.stderr).toBe(0);
    expect(posts.at(-1)!.body.text).toContain('test notification');
    posts.length = 0;
    const backup = await runArca(['backup', 'docs', '--no-nice'], opts);
    expect(backup.code, backup.stderr).toBe(0);
    expect(posts.at(-1)!.body.job).toMatchObject({ kind: 'backup', database: 'docs', status: 'succeeded' });
    for (const n of listNotifications(t.catalog)) expect((await runArca(['notify', 'remove', String(n.id)], opts)).code).toBe(0);
    expect((await runArca(['notify', 'list'], opts)).stdout).toMatch(/^no notifications/);
  });
});
