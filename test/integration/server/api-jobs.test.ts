// The job endpoints over real HTTPS: backups started, followed live (SSE) and
// recorded, with the guard rails of `arca backup` (a time limit that ends the
// job aborted, a rate limit); restores (with the maintenance exclusion), expiry changes, bulk
// deletes, downloads in the export format, prune and check of a volume,
// schedules, purge rules and purges; roles and 4xx answers on each.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { addDatabase } from '../../../src/catalog/databases.js';
import { updatePurgeSettings } from '../../../src/catalog/purge-rules.js';
import { finishJob, startJob } from '../../../src/catalog/jobs.js';
import { BackupSchema, JobSchema } from '../../../src/server/schemas.js';
import { bulkTree, makeTree } from '../../helpers/index.js';
import { errorOf, parseSse, type ApiClient } from './client.js';
import { startTestServer, type TestServer } from './fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ label: 'api-jobs' });
});
afterAll(async () => t?.close());

type Job = z.output<typeof JobSchema>;

/** Follows a job's event stream to its end; returns the events. */
async function follow(client: ApiClient, id: number): Promise<{ events: ReturnType<typeof parseSse>; end: Job }> {
  const r = await client.get(`/api/v1/jobs/${id}/events?interval=100`);
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
  const events = parseSse(r.text);
  const last = events.at(-1)!;
  expect(last.event).toBe('end');
  return { events, end: JobSchema.parse(last.data) };
}

type OpenApiDoc = { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>> };

/** The served OpenAPI document, and the JSON request-body schema of one operation in it. */
async function requestSchema(path: string, method: string): Promise<{ doc: OpenApiDoc; schema: unknown }> {
  const doc = (await t.as.viewer.get('/openapi.json')).json as OpenApiDoc;
  return { doc, schema: doc.paths[path]![method]!.requestBody!.content['application/json']!.schema };
}

async function startBackup(body: object = {}): Promise<Job> {
  const r = await t.as.operator.put('/api/v1/databases/docs/backups/start', { body });
  expect(r.status, r.text).toBe(202);
  return JobSchema.parse(r.json);
}

describe('backups as jobs', () => {
  it('starts a backup (202 with the running job), streams its progress and records it', async () => {
    const job = await startBackup({ level: 1, expire: '1w 3d' });
    expect(job).toMatchObject({ kind: 'backup', database: 'docs', volume: 'local', status: 'running' });
    const { end } = await follow(t.as.viewer, job.id);
    expect(end).toMatchObject({ id: job.id, status: 'succeeded' });
    const backups = z.array(BackupSchema).parse((await t.as.viewer.get('/api/v1/databases/docs/backups')).json);
    const made = backups.find((b) => b.id === end.figures['backup']);
    expect(made).toMatchObject({ level: 1, parent: t.backupId });
    const expires = Date.parse(made!.expiresAt!) - Date.parse(made!.startedAt);
    expect(Math.abs(expires - 10 * 86_400_000)).toBeLessThan(60_000);
  });

  it('refuses bad input (400), viewers (403), unknown databases (404)', async () => {
    for (const body of [{ level: 10 }, { level: 1.5 }, { level: '1' }, { expire: 'soon' }, { expire: '-1d' }, { colour: 'red' }, { volume: '../x' }]) {
      const r = await t.as.operator.put('/api/v1/databases/docs/backups/start', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(r).code).toBe('USAGE');
    }
    expect((await t.as.viewer.put('/api/v1/databases/docs/backups/start', { body: {} })).status).toBe(403);
    expect((await t.as.operator.put('/api/v1/databases/nope/backups/start', { body: {} })).status).toBe(404);
    expect((await t.as.operator.put('/api/v1/databases/docs/backups/start', { body: { volume: 'nope' } })).status).toBe(404);
  });

  it("takes arca backup's guard rails: maxDuration ends a slow backup aborted with nothing listed; the next one, rate-limited, works", async () => {
    // As in the guard-rails test of `arca backup --max-duration`: a rate limit
    // makes the ~10 MB backup take ~5 s, so the smallest limit (1s) is always exceeded.
    const dir = t.scratch.path('slow');
    makeTree(dir, bulkTree(9, 10 * 1000 * 1000));
    addDatabase(t.catalog, { name: 'slow', url: `file://${dir}` });
    const listed = async (): Promise<string[]> =>
      z.array(BackupSchema).parse((await t.as.viewer.get('/api/v1/databases/slow/backups')).json).map((b) => b.id);

    const started = performance.now();
    const r = await t.as.operator.put('/api/v1/databases/slow/backups/start', { body: { maxDuration: '1s', rateLimit: '2MB/s', jobs: 3 } });
    expect(r.status, r.text).toBe(202);
    const { end } = await follow(t.as.viewer, JobSchema.parse(r.json).id);
    expect(end).toMatchObject({
      kind: 'backup',
      database: 'slow',
      status: 'aborted',
      error: 'backup of slow exceeded --max-duration 1s and was stopped; nothing was listed',
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(await listed()).toEqual([]);

    // The database is free again; 10 MB at 4 MB/s takes over 2 s, so the rate limit reached the job.
    const again = performance.now();
    const next = await t.as.operator.put('/api/v1/databases/slow/backups/start', { body: { maxDuration: ' 10m ', rateLimit: '4MB/s' } });
    expect(next.status, next.text).toBe(202);
    const done = (await follow(t.as.viewer, JobSchema.parse(next.json).id)).end;
    expect(done.status, done.error ?? '').toBe('succeeded');
    expect(performance.now() - again).toBeGreaterThanOrEqual(1500);
    expect(await listed()).toEqual([done.figures['backup']]);
  });

  it('refuses bad guard rails with a 400 naming the field, and starts nothing', async () => {
    const newest = async (): Promise<number | undefined> => z.array(JobSchema).parse((await t.as.viewer.get('/api/v1/jobs?db=docs&limit=1')).json)[0]?.id;
    const before = await newest();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ maxDuration: 'soon' }, /^invalid request body: maxDuration: invalid duration "soon": .*e\.g\. "1w 3d"/],
      [{ maxDuration: '0s' }, /^invalid request body: maxDuration: the duration must be longer than zero$/],
      [{ maxDuration: 90 }, /^invalid request body: maxDuration: maxDuration must be a string$/],
      [{ rateLimit: 'fast' }, /^invalid request body: rateLimit: the rate must be at least 1KiB\/s, written like "20MB\/s"/],
      [{ rateLimit: '100B/s' }, /^invalid request body: rateLimit: the rate must be at least 1KiB\/s/],
      [{ rateLimit: 2_000_000 }, /^invalid request body: rateLimit: rateLimit must be a string$/],
      [{ jobs: 0 }, /^invalid request body: jobs: jobs must be a whole number from 1 to 16$/],
      [{ jobs: 17 }, /^invalid request body: jobs: jobs must be a whole number from 1 to 16$/],
      [{ jobs: 2.5 }, /^invalid request body: jobs: jobs must be a whole number from 1 to 16$/],
      [{ jobs: '4' }, /^invalid request body: jobs: jobs must be a number$/],
      [{ jobs: null }, /^invalid request body: jobs: jobs must be a number$/],
      [{ nice: false }, /^invalid request body: nice is not a backup option here: the server sets the priority of all its jobs \(arca serve --no-nice\)$/],
      [{ niceness: 10 }, /^invalid request body: Unrecognized key: "niceness"$/],
    ];
    for (const [body, message] of bad) {
      const r = await t.as.operator.put('/api/v1/databases/docs/backups/start', { body: { level: 0, ...body } });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(r).code).toBe('USAGE');
      expect(errorOf(r).message, JSON.stringify(body)).toMatch(message);
    }
    expect(await newest()).toBe(before);

    const { schema } = await requestSchema('/api/v1/databases/{db}/backups/start', 'put');
    expect(schema).toMatchObject({
      additionalProperties: false,
      properties: {
        maxDuration: { type: 'string', description: expect.stringContaining('--max-duration') },
        rateLimit: { type: 'string', description: expect.stringContaining('--rate-limit') },
        jobs: { type: 'integer', minimum: 1, maximum: 16 },
      },
    });
    expect(Object.keys((schema as { properties: object }).properties)).not.toContain('nice');
  });

  it('answers 409 while a backup of the database runs or it is in maintenance', async () => {
    for (const kind of ['backup', 'restore', 'purge'] as const) {
      const held = startJob(t.catalog, { kind, database: 'docs', volume: 'local' });
      try {
        const r = await t.as.operator.put('/api/v1/databases/docs/backups/start', { body: {} });
        expect(r.status, kind).toBe(409);
        expect(errorOf(r).message).toContain(`a ${kind} of docs is already running`);
      } finally {
        finishJob(t.catalog, held.id, { status: 'succeeded' });
      }
    }
  });
});

describe('restore, expiry, delete, download', () => {
  it('restores a backup into a new directory (202), and refuses while the target is in maintenance (409)', async () => {
    const to = t.scratch.path('restored');
    const r = await t.as.operator.put('/api/v1/databases/docs/backups/restore', { body: { backupId: t.backupId.slice(0, 10), target: to } });
    expect(r.status, r.text).toBe(202);
    const { end } = await follow(t.as.viewer, JobSchema.parse(r.json).id);
    expect(end.status).toBe('succeeded');
    expect(readFileSync(`${to}/readme.txt`, 'utf8')).toBe('hello from the api test\n');

    const held = startJob(t.catalog, { kind: 'purge', database: 'docs' });
    try {
      const busy = await t.as.operator.put('/api/v1/databases/docs/backups/restore', { body: { backupId: t.backupId, target: 'docs', force: true } });
      expect(busy.status).toBe(409);
    } finally {
      finishJob(t.catalog, held.id, { status: 'succeeded' });
    }
    const bad = [{ backupId: 'xyz', target: to }, { backupId: t.backupId, target: 'relative/dir' }, { backupId: t.backupId }];
    for (const body of bad) expect((await t.as.operator.put('/api/v1/databases/docs/backups/restore', { body })).status).toBe(400);
    expect((await t.as.operator.put('/api/v1/databases/docs/backups/restore', { body: { backupId: 'abcdef', target: to } })).status).toBe(404);
    expect((await t.as.viewer.put('/api/v1/databases/docs/backups/restore', { body: { backupId: t.backupId, target: to } })).status).toBe(403);
  });

  it('changes when a backup expires (PATCH)', async () => {
    const r = await t.as.operator.patch(`/api/v1/backups/${t.backupId}`, { expire: '2w' });
    expect(r.status, r.text).toBe(200);
    const b = BackupSchema.parse(r.json);
    expect(Math.abs(Date.parse(b.expiresAt!) - Date.now() - 14 * 86_400_000)).toBeLessThan(60_000);
    const listed = z.array(BackupSchema).parse((await t.as.viewer.get('/api/v1/databases/docs/backups')).json);
    expect(listed.find((x) => x.id === t.backupId)?.expiresAt).toBe(b.expiresAt);
    expect(BackupSchema.parse((await t.as.operator.patch(`/api/v1/backups/${t.backupId}`, { expire: 'never' })).json).expiresAt).toBeNull();
    expect((await t.as.operator.patch(`/api/v1/backups/${t.backupId}`, { expire: 'tomorrow' })).status).toBe(400);
    expect((await t.as.operator.patch(`/api/v1/backups/${t.backupId}`, {})).status).toBe(400);
    expect((await t.as.operator.patch('/api/v1/backups/abcdef01', { expire: '1d' })).status).toBe(404);
    expect((await t.as.viewer.patch(`/api/v1/backups/${t.backupId}`, { expire: '1d' })).status).toBe(403);
  });

  it('deletes backups in bulk; one unknown id deletes nothing', async () => {
    const { end } = await follow(t.as.viewer, (await startBackup()).id);
    const id = String(end.figures['backup']);
    const none = await t.as.operator.post('/api/v1/databases/docs/backups/bulk_delete', { ids: [id, 'abcdef01'] });
    expect(none.status).toBe(404);
    expect(z.array(BackupSchema).parse((await t.as.viewer.get('/api/v1/databases/docs/backups')).json).map((b) => b.id)).toContain(id);
    expect((await t.as.operator.post('/api/v1/databases/docs/backups/bulk_delete', { ids: [] })).status).toBe(400);
    expect((await t.as.viewer.post('/api/v1/databases/docs/backups/bulk_delete', { ids: [id] })).status).toBe(403);
    const r = await t.as.operator.post('/api/v1/databases/docs/backups/bulk_delete', { ids: [id] });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ deleted: [id] });
    expect(z.array(BackupSchema).parse((await t.as.viewer.get('/api/v1/databases/docs/backups')).json).map((b) => b.id)).not.toContain(id);
  });

  it('downloads a backup as the tar `arca export` writes, with its file name', async () => {
    const r = await t.as.operator.get(`/api/v1/backups/${t.backupId}/download`);
    expect(r.status).toBe(200);
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="docs-\d{8}-\d{6}\.tar"/);
    const file = t.scratch.path('download.tar');
    writeFileSync(file, r.body);
    expect(execFileSync('tar', ['-tf', file], { encoding: 'utf8' })).toContain('readme.txt');
    const out = t.scratch.path('untarred');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(readFileSync(`${out}/readme.txt`, 'utf8')).toBe('hello from the api test\n');
    expect((await t.as.viewer.get(`/api/v1/backups/${t.backupId}/download`)).status).toBe(403);
    expect((await t.as.operator.get('/api/v1/backups/abcdef01/download')).status).toBe(404);
    const jobs = z.array(JobSchema).parse((await t.as.viewer.get('/api/v1/jobs?kind=export&limit=1')).json);
    expect(jobs[0]).toMatchObject({ status: 'succeeded', database: 'docs' });
  });
});

describe('progress as Server-Sent Events', () => {
  it('streams the database progress until no job runs, then the outcome', async () => {
    const held = startJob(t.catalog, { kind: 'backup', database: 'docs', volume: 'local' });
    setTimeout(() => finishJob(t.catalog, held.id, { status: 'aborted', error: 'stopped by the test' }), 1500);
    const r = await t.as.viewer.get('/api/v1/databases/docs/backups/progress?stream=1');
    expect(r.status).toBe(200);
    const events = parseSse(r.text);
    expect(events.filter((e) => e.event === 'progress').length).toBeGreaterThanOrEqual(2);
    expect(events[0]!.data).toEqual([expect.objectContaining({ job: held.id, kind: 'backup' })]);
    expect(events.at(-1)).toEqual({ event: 'end', data: { jobs: [expect.objectContaining({ id: held.id, status: 'aborted' })] } });
    expect((await t.as.viewer.get('/api/v1/jobs/999999/events')).status).toBe(404);
    expect((await t.as.viewer.get('/api/v1/databases/docs/backups/progress?stream=yes')).status).toBe(400);
  });
});

describe('volume jobs', () => {
  it('prunes and checks a volume as jobs (operator); a second prune of it is 409', async () => {
    const prune = await t.as.operator.put('/api/v1/volumes/local/prune/start', { body: {} });
    expect(prune.status, prune.text).toBe(202);
    expect((await follow(t.as.viewer, JobSchema.parse(prune.json).id)).end.status).toBe('succeeded');
    const check = await t.as.operator.put('/api/v1/volumes/local/check/start', { body: { readDataPercent: 100 } });
    expect(check.status, check.text).toBe(202);
    const { end } = await follow(t.as.viewer, JobSchema.parse(check.json).id);
    expect(end).toMatchObject({ status: 'succeeded', figures: { ok: true, problems: 0 } });
    const held = startJob(t.catalog, { kind: 'prune', volume: 'local' });
    try {
      expect((await t.as.operator.put('/api/v1/volumes/local/prune/start')).status).toBe(409);
    } finally {
      finishJob(t.catalog, held.id, { status: 'succeeded' });
    }
    expect((await t.as.viewer.put('/api/v1/volumes/local/check/start')).status).toBe(403);
    expect((await t.as.operator.put('/api/v1/volumes/nope/check/start')).status).toBe(404);
    expect((await t.as.operator.put('/api/v1/volumes/local/check/start', { body: { readDataPercent: 101 } })).status).toBe(400);
  });
});

describe('schedules and purge', () => {
  it('adds, lists, shows and removes schedules (admin)', async () => {
    const body = { name: 'docs-hourly', db: 'docs', cron: '0 * * * *', level: 1, expire: '2d' };
    expect((await t.as.operator.post('/api/v1/schedules', body)).status).toBe(403);
    const r = await t.as.admin.post('/api/v1/schedules', body);
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({ name: 'docs-hourly', kind: 'backup', database: 'docs', cron: '0 * * * *', options: { level: 1, expire: '2d' } });
    expect((await t.as.admin.post('/api/v1/schedules', body)).status).toBe(409);
    expect((await t.as.admin.post('/api/v1/schedules', { ...body, name: 'bad', cron: '61 * * * *' })).status).toBe(400);
    expect((await t.as.admin.post('/api/v1/schedules', { ...body, name: 'bad', db: 'nope' })).status).toBe(404);
    const list = (await t.as.viewer.get('/api/v1/schedules')).json as Array<{ name: string; nextRunAt: string }>;
    expect(list.map((s) => s.name)).toContain('docs-hourly');
    expect((await t.as.viewer.get('/api/v1/schedules/docs-hourly')).json).toMatchObject({ nextRunAt: expect.stringMatching(/:00:00\.000Z$/) });
    expect((await t.as.admin.delete('/api/v1/schedules/docs-hourly')).status).toBe(204);
    expect((await t.as.viewer.get('/api/v1/schedules/docs-hourly')).status).toBe(404);
  });

  it("adds a backup schedule with arca backup's guard rails and reads them back; refuses bad ones (400)", async () => {
    const body = { name: 'docs-capped', db: 'docs', cron: '0 0 1 1 *', maxDuration: ' 1h  30m ', rateLimit: '20MB/s', jobs: 4, nice: false };
    const options = { level: 0, maxDuration: '1h 30m', rateLimit: '20MB/s', jobs: 4, nice: false };
    const r = await t.as.admin.post('/api/v1/schedules', body);
    expect(r.status, r.text).toBe(201);
    expect((r.json as { options: object }).options).toEqual(options);
    expect(((await t.as.viewer.get('/api/v1/schedules/docs-capped')).json as { options: object }).options).toEqual(options);
    const listed = (await t.as.viewer.get('/api/v1/schedules')).json as Array<{ name: string; options: object }>;
    expect(listed.find((s) => s.name === 'docs-capped')?.options).toEqual(options);

    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ maxDuration: 'soon' }, /^invalid request body: maxDuration: invalid duration "soon": .*e\.g\. "1w 3d"/],
      [{ maxDuration: '0s' }, /^invalid request body: maxDuration: the duration must be longer than zero$/],
      [{ maxDuration: 90 }, /^invalid request body: maxDuration: maxDuration must be a string$/],
      [{ rateLimit: 'fast' }, /^invalid request body: rateLimit: the rate must be at least 1KiB\/s, written like "20MB\/s"/],
      [{ rateLimit: '100B/s' }, /^invalid request body: rateLimit: the rate must be at least 1KiB\/s/],
      [{ jobs: 17 }, /^invalid request body: jobs: jobs must be a whole number from 1 to 16$/],
      [{ jobs: 0 }, /jobs: jobs must be a whole number from 1 to 16$/],
      [{ jobs: 2.5 }, /jobs: jobs must be a whole number from 1 to 16$/],
      [{ jobs: '4' }, /jobs: jobs must be a number$/],
      [{ nice: 'no' }, /nice: nice must be true or false$/],
      [{ niceness: 10 }, /Unrecognized key: "niceness"/],
    ];
    for (const [extra, message] of bad) {
      const refused = await t.as.admin.post('/api/v1/schedules', { name: 'bad', db: 'docs', cron: '0 0 * * *', ...extra });
      expect(refused.status, JSON.stringify(extra)).toBe(400);
      expect(errorOf(refused).code).toBe('USAGE');
      expect(errorOf(refused).message, JSON.stringify(extra)).toMatch(message);
    }
    const check = await t.as.admin.post('/api/v1/schedules', { name: 'bad', kind: 'check', cron: '0 0 * * *', jobs: 2 });
    expect(check.status).toBe(400);
    expect(errorOf(check).message).toBe('--jobs applies to backup schedules only, not to a check schedule');
    expect((await t.as.viewer.get('/api/v1/schedules/bad')).status).toBe(404);

    const { doc, schema } = await requestSchema('/api/v1/schedules', 'post');
    expect(schema).toMatchObject({
      additionalProperties: false,
      properties: {
        maxDuration: { type: 'string', description: expect.stringContaining('--max-duration') },
        rateLimit: { type: 'string', description: expect.stringContaining('--rate-limit') },
        jobs: { type: 'integer', minimum: 1, maximum: 16 },
        nice: { type: 'boolean', description: expect.stringContaining('--no-nice') },
      },
    });
    expect(JSON.stringify(doc.paths['/api/v1/schedules/{name}']!['get'])).toMatch(/"maxDuration".*"rateLimit".*"jobs".*"nice"/);
    expect((await t.as.admin.delete('/api/v1/schedules/docs-capped')).status).toBe(204);
  });

  it('adds purge rules checked against the database and purges by them (admin)', async () => {
    const dir = t.scratch.path('docs');
    mkdirSync(`${dir}/logs`, { recursive: true });
    writeFileSync(`${dir}/logs/old.log`, 'old\n');
    const old = new Date(Date.now() - 40 * 86_400_000);
    utimesSync(`${dir}/logs/old.log`, old, old);
    writeFileSync(`${dir}/logs/new.log`, 'new\n');
    expect((await t.as.operator.post('/api/v1/databases/docs/purge/rules', { glob: 'logs/*.log', olderThan: '30d' })).status).toBe(403);
    expect((await t.as.admin.post('/api/v1/databases/docs/purge/rules', { table: 't', column: 'c', olderThan: '30d' })).status).toBe(400);
    const added = await t.as.admin.post('/api/v1/databases/docs/purge/rules', { glob: 'logs/*.log', olderThan: '30d' });
    expect(added.status, added.text).toBe(201);
    expect(added.json).toMatchObject({ database: 'docs', spec: { kind: 'files', glob: 'logs/*.log' }, wouldDelete: { items: 1 } });
    const rules = (await t.as.viewer.get('/api/v1/databases/docs/purge/rules')).json as Array<{ id: number }>;
    expect(rules).toHaveLength(1);
    expect((await t.as.operator.put('/api/v1/databases/docs/purge/start')).status).toBe(403);
    const r = await t.as.admin.put('/api/v1/databases/docs/purge/start', { body: {} });
    expect(r.status, r.text).toBe(202);
    const { end } = await follow(t.as.viewer, JobSchema.parse(r.json).id);
    expect(end).toMatchObject({ kind: 'purge', status: 'succeeded', figures: { files: 1, backupExpiresAt: null } }); // purgeBackupExpire unset: never
    expect(existsSync(`${dir}/logs/old.log`)).toBe(false);
    expect(existsSync(`${dir}/logs/new.log`)).toBe(true);
    expect((await t.as.viewer.get('/api/v1/databases/docs/purge/progress')).json).toEqual([]);
    expect((await t.as.admin.delete(`/api/v1/databases/docs/purge/rules/${rules[0]!.id}`)).status).toBe(204);
    expect((await t.as.admin.delete(`/api/v1/databases/docs/purge/rules/${rules[0]!.id}`)).status).toBe(404);
    expect((await t.as.admin.put('/api/v1/databases/docs/purge/start')).status).toBe(404);
  });

  it("a purge's backup expires as the database's purgeBackupExpire says, counted from the start of the purge", async () => {
    const dir = t.scratch.path('docs');
    mkdirSync(`${dir}/logs`, { recursive: true });
    writeFileSync(`${dir}/logs/stale.log`, 'stale\n');
    const old = new Date(Date.now() - 40 * 86_400_000);
    utimesSync(`${dir}/logs/stale.log`, old, old);
    expect((await t.as.admin.post('/api/v1/databases/docs/purge/rules', { glob: 'logs/*.log', olderThan: '30d' })).status).toBe(201);
    updatePurgeSettings(t.catalog, 'docs', { purgeBackupExpire: '2w' });
    expect((await t.as.viewer.get('/api/v1/databases/docs')).json).toMatchObject({ settings: { purgeBackupExpire: '2w' } });

    const r = await t.as.admin.put('/api/v1/databases/docs/purge/start', { body: {} });
    expect(r.status, r.text).toBe(202);
    const { end } = await follow(t.as.viewer, JobSchema.parse(r.json).id);
    expect(end).toMatchObject({ kind: 'purge', status: 'succeeded', figures: { files: 1 } });
    const backups = z.array(BackupSchema).parse((await t.as.viewer.get('/api/v1/databases/docs/backups')).json);
    const taken = backups.find((b) => b.id === end.figures['backup'])!;
    expect(taken.expiresAt).toBe(end.figures['backupExpiresAt']);
    // The purge started after its job and before its backup: two weeks after that moment.
    const from = Date.parse(taken.expiresAt!) - 14 * 86_400_000;
    expect(from).toBeGreaterThanOrEqual(Date.parse(end.startedAt));
    expect(from).toBeLessThanOrEqual(Date.parse(taken.startedAt));
    expect(existsSync(`${dir}/logs/stale.log`)).toBe(false);

    updatePurgeSettings(t.catalog, 'docs', { purgeBackupExpire: 'never' });
    const rules = (await t.as.viewer.get('/api/v1/databases/docs/purge/rules')).json as Array<{ id: number }>;
    for (const rule of rules) expect((await t.as.admin.delete(`/api/v1/databases/docs/purge/rules/${rule.id}`)).status).toBe(204);
  });
});

describe('metrics', () => {
  it('serves Prometheus text with per-database and per-volume figures (login required)', async () => {
    expect((await t.anon.get('/metrics')).status).toBe(401);
    const r = await t.as.viewer.get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.text).toMatch(/^arca_backup_last_success_timestamp_seconds\{database="docs"\} \d+/m);
    expect(r.text).toMatch(/^arca_backup_last_duration_seconds\{database="docs"\} [\d.e-]+$/m);
    expect(r.text).toMatch(/^arca_backup_last_bytes_read\{database="docs"\} \d+$/m);
    expect(r.text).toMatch(/^arca_backup_last_bytes_added\{database="docs"\} \d+$/m);
    expect(r.text).toMatch(/^arca_backups\{database="docs",volume="local"\} [1-9]\d*$/m);
    expect(r.text).toMatch(/^arca_backup_failures\{database="docs"\} 0$/m);
    expect(r.text).toMatch(/^arca_volume_stored_bytes\{volume="local"\} [1-9]\d*$/m);
    expect(r.text).toMatch(/^arca_volume_up\{volume="local"\} 1$/m);
    expect(r.text).toMatch(/^arca_jobs_finished\{kind="backup",status="succeeded"\} \d+$/m);
  });
});
