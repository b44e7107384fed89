// The read endpoints and the admin changes, over real HTTPS: answers match
// the documented zod schemas, states (ready/maintenance), progress and abort
// of running jobs, the job history, conflicts, and the OpenAPI document.
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { finishJob, getJob, heartbeatJob, startJob } from '../../../src/catalog/jobs.js';
import { listDatabases, listVolumes } from '../../../src/catalog/index.js';
import { initOrAttachVolume } from '../../../src/jobs/index.js';
import { AbortSchema, BackupSchema, DatabaseSchema, JobSchema, NewVolumeSchema, ProgressSchema, VolumeSchema } from '../../../src/server/schemas.js';
import { errorOf } from './client.js';
import { startTestServer, type TestServer } from './fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ label: 'api-endpoints' });
});
afterAll(async () => t?.close());

describe('databases', () => {
  it('/healthz answers without credentials', async () => {
    const r = await t.anon.get('/healthz');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'ok', version: 'test' });
  });

  it('lists and shows databases with their state', async () => {
    const list = await t.as.viewer.get('/api/v1/databases');
    expect(list.status).toBe(200);
    const dbs = z.array(DatabaseSchema).parse(list.json);
    expect(dbs.map((d) => d.name)).toEqual(['docs']);
    expect(dbs[0]!.state).toBe('ready');
    const one = await t.as.viewer.get('/api/v1/databases/docs');
    expect(DatabaseSchema.parse(one.json)).toMatchObject({ name: 'docs', state: 'ready', maintenance: null });
    const missing = await t.as.viewer.get('/api/v1/databases/nope');
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('NOT_FOUND');
  });

  it('shows maintenance while a restore into the database runs, and refuses to forget it (409)', async () => {
    const job = startJob(t.catalog, { kind: 'restore', database: 'docs' });
    try {
      const one = DatabaseSchema.parse((await t.as.viewer.get('/api/v1/databases/docs')).json);
      expect(one.state).toBe('maintenance');
      expect(one.maintenance).toMatchObject({ job: job.id, kind: 'restore' });
      const del = await t.as.admin.delete('/api/v1/databases/docs');
      expect(del.status).toBe(409);
      expect(errorOf(del).code).toBe('CONFLICT');
      expect(listDatabases(t.catalog).map((d) => d.name)).toContain('docs');
    } finally {
      finishJob(t.catalog, job.id, { status: 'succeeded' });
    }
  });

  it('registers (201) and forgets (204) a database; duplicates are 409, relative paths and bad URLs 400', async () => {
    const dir = t.scratch.path('other');
    mkdirSync(dir);
    const added = await t.as.admin.post('/api/v1/databases', { name: 'other', url: dir });
    expect(added.status).toBe(201);
    expect(DatabaseSchema.parse(added.json)).toMatchObject({ name: 'other', url: `file://${dir}`, state: 'ready' });
    const again = await t.as.admin.post('/api/v1/databases', { name: 'other', url: dir });
    expect(again.status).toBe(409);
    expect(errorOf(again).code).toBe('ALREADY_EXISTS');
    expect((await t.as.admin.post('/api/v1/databases', { name: 'rel', url: 'some/dir' })).status).toBe(400);
    expect((await t.as.admin.post('/api/v1/databases', { name: 'ftp', url: 'ftp://host/x' })).status).toBe(400);
    const secret = await t.as.admin.post('/api/v1/databases', { name: 'pg', url: 'postgres://app:s3cret-pw@127.0.0.1:1/app' });
    expect(secret.status).toBe(201);
    expect(secret.text).not.toContain('s3cret-pw');
    expect((await t.as.admin.delete('/api/v1/databases/pg')).status).toBe(204);
    const del = await t.as.admin.delete('/api/v1/databases/other');
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await t.as.viewer.get('/api/v1/databases/other')).status).toBe(404);
    expect((await t.as.admin.delete('/api/v1/databases/other')).status).toBe(404);
  });
});

describe('volumes', () => {
  it('lists volumes', async () => {
    const r = await t.as.viewer.get('/api/v1/volumes');
    expect(z.array(VolumeSchema).parse(r.json).map((v) => v.name)).toEqual(['local']);
  });

  it('creates a volume (201), refuses a taken name or location (409) and a volume the password does not open (403)', async () => {
    const location = t.scratch.path('vol2');
    const made = await t.as.admin.post('/api/v1/volumes', { name: 'second', location });
    expect(made.status).toBe(201);
    expect(NewVolumeSchema.parse(made.json)).toMatchObject({ name: 'second', location, created: true });
    expect((await t.as.admin.post('/api/v1/volumes', { name: 'second', location: t.scratch.path('vol3') })).status).toBe(409);
    const sameVolume = await t.as.admin.post('/api/v1/volumes', { name: 'third', location });
    expect(sameVolume.status).toBe(409);
    const foreign = t.scratch.path('foreign');
    await initOrAttachVolume(foreign, 'a different password 9');
    const wrong = await t.as.admin.post('/api/v1/volumes', { name: 'foreign', location: foreign });
    expect(wrong.status).toBe(403);
    expect(errorOf(wrong).code).toBe('WRONG_PASSWORD');
    expect(listVolumes(t.catalog).map((v) => v.name)).toEqual(['local', 'second']);
    expect((await t.as.admin.post('/api/v1/volumes', { name: 'rel', location: 'relative/dir' })).status).toBe(400);
  });
});

describe('backups, progress, abort and jobs', () => {
  it('lists the backups of a database over every volume', async () => {
    const r = await t.as.viewer.get('/api/v1/databases/docs/backups');
    expect(r.status).toBe(200);
    const backups = z.array(BackupSchema).parse(r.json);
    expect(backups.map((b) => b.id)).toEqual([t.backupId]);
    expect(backups[0]).toMatchObject({ database: 'docs', volume: 'local', level: 0, status: 'completed' });
    expect((await t.as.viewer.get('/api/v1/databases/nope/backups')).status).toBe(404);
  });

  it('shows the progress of running jobs and stops running backups on request (operator)', async () => {
    const idle = await t.as.viewer.get('/api/v1/databases/docs/backups/progress');
    expect(idle.json).toEqual([]);
    const none = await t.as.operator.put('/api/v1/databases/docs/backups/abort');
    expect(none.status).toBe(404);

    const job = startJob(t.catalog, { kind: 'backup', database: 'docs', volume: 'local' });
    try {
      heartbeatJob(t.catalog, job.id, { phase: 'backup', bytesDone: 250, bytesTotal: 1000, itemsDone: 1, itemsTotal: 4, rate: 50 });
      const r = await t.as.viewer.get('/api/v1/databases/docs/backups/progress');
      const views = z.array(ProgressSchema).parse(r.json);
      expect(views).toEqual([
        expect.objectContaining({ job: job.id, kind: 'backup', phase: 'backup', bytesDone: 250, bytesTotal: 1000, percent: 25, etaSeconds: 15, abortRequested: false }),
      ]);
      const aborted = await t.as.operator.put('/api/v1/databases/docs/backups/abort');
      expect(aborted.status).toBe(202);
      expect(AbortSchema.parse(aborted.json).jobs).toEqual([expect.objectContaining({ job: job.id, abortRequested: true })]);
      expect(getJob(t.catalog, job.id)?.abortRequested).toBe(true);
    } finally {
      finishJob(t.catalog, job.id, { status: 'aborted', error: 'aborted by request' });
    }
  });

  it('lists the job history with filters; bad filters are 400', async () => {
    const all = z.array(JobSchema).parse((await t.as.viewer.get('/api/v1/jobs')).json);
    expect(all.length).toBeGreaterThanOrEqual(2);
    const backups = z.array(JobSchema).parse((await t.as.viewer.get('/api/v1/jobs?db=docs&kind=backup&limit=1')).json);
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatchObject({ kind: 'backup', database: 'docs', status: 'aborted' });
    expect((await t.as.viewer.get('/api/v1/jobs?kind=dance')).status).toBe(400);
    expect((await t.as.viewer.get('/api/v1/jobs?limit=0')).status).toBe(400);
    expect((await t.as.viewer.get('/api/v1/jobs?limit=5000')).status).toBe(400);
    expect((await t.as.viewer.get('/api/v1/jobs?sort=asc')).status).toBe(400);
    expect((await t.as.viewer.get('/api/v1/jobs?db=a/b')).status).toBe(400);
  });
});

describe('the API description', () => {
  it('serves an OpenAPI 3 document of every endpoint, and /docs', async () => {
    const r = await t.as.viewer.get('/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.json as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { securitySchemes: object } };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['basic', 'bearer']);
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(ops.sort()).toEqual(
      [
        'GET /healthz',
        'GET /api/v1/databases',
        'POST /api/v1/databases',
        'GET /api/v1/databases/{db}',
        'DELETE /api/v1/databases/{db}',
        'GET /api/v1/volumes',
        'POST /api/v1/volumes',
        'GET /api/v1/databases/{db}/backups',
        'GET /api/v1/databases/{db}/backups/progress',
        'PUT /api/v1/databases/{db}/backups/abort',
        'GET /api/v1/jobs',
        'GET /api/v1/jobs/{id}',
        'GET /api/v1/jobs/{id}/events',
        'PUT /api/v1/databases/{db}/backups/start',
        'PUT /api/v1/databases/{db}/backups/restore',
        'POST /api/v1/databases/{db}/backups/bulk_delete',
        'PATCH /api/v1/backups/{id}',
        'GET /api/v1/backups/{id}/download',
        'POST /api/v1/databases/{db}/restore/upload',
        'PUT /api/v1/volumes/{volume}/prune/start',
        'PUT /api/v1/volumes/{volume}/check/start',
        'GET /api/v1/databases/{db}/purge/rules',
        'POST /api/v1/databases/{db}/purge/rules',
        'DELETE /api/v1/databases/{db}/purge/rules/{id}',
        'PUT /api/v1/databases/{db}/purge/start',
        'GET /api/v1/databases/{db}/purge/progress',
        'GET /api/v1/schedules',
        'POST /api/v1/schedules',
        'GET /api/v1/schedules/{name}',
        'DELETE /api/v1/schedules/{name}',
        'GET /metrics',
        'GET /api/v1/backups/{id}',
        'PUT /api/v1/jobs/{id}/abort',
      ].sort(),
    );
    const post = doc.paths['/api/v1/databases']!['post'] as { requestBody: { content: Record<string, { schema: { additionalProperties: boolean; required: string[] } }> } };
    expect(post.requestBody.content['application/json']!.schema).toMatchObject({ additionalProperties: false, required: ['name', 'url'] });
    const docs = await t.as.viewer.get('/docs');
    expect([200, 302]).toContain(docs.status);
    expect((await t.anon.get('/openapi.json')).status).toBe(401);
  });
});
