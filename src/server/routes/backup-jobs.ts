// Backups as jobs: start one (202 with the job once it runs; with the guard
// rails of `arca backup` but its priority, which is the server's), restore one
// (202; the target database is in maintenance meanwhile), delete some, change
// when one expires, and download one as the file the database's own tools
// restore (the `arca export` format), streamed as it is read.
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ArcaError } from '../../errors.js';
import { expiryFrom } from '../../common/duration.js';
import { parseMaxDuration, parseRateLimit } from '../../common/guard-rails.js';
import { redactSecrets } from '../../common/redact.js';
import { requireDatabase } from '../../catalog/databases.js';
import { defaultExportName, deleteBackups, runBackup, runExport, runRestore, setBackupExpiry, type BackupInfo, type OpenVolume } from '../../jobs/index.js';
import { trackJob } from '../../jobs/job-tracker.js';
import { RESTORE_EXCLUSION, registeredDatabaseAt } from '../../jobs/restore-target.js';
import { driverFor } from '../../sources/index.js';
import { chooseVolume, locateBackup, restoreTarget } from '../locate.js';
import { registerRoute, route } from '../route.js';
import { BackupSchema, DbParams, JobSchema } from '../schemas.js';
import { BackupParams, BulkDeleteBody, DeletedSchema, ExpireBody, RestoreBody, StartBackupBody } from '../schemas-jobs.js';
import type { ServerContext } from '../server-context.js';
import { startJob } from '../start-job.js';

/** What the job history records of a finished backup (as the CLI does). */
export function backupFigures(b: BackupInfo): { [key: string]: string | number | null } {
  return { backup: b.id, level: b.level, parent: b.parent, bytesRead: b.bytesRead, bytesAdded: b.bytesAdded };
}

export function registerBackupJobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { catalog } = ctx;
  const tags = ['backups'];

  registerRoute(app, route({
    method: 'PUT',
    url: '/api/v1/databases/:db/backups/start',
    action: 'backup.run',
    summary: 'start a backup of the database',
    description:
      'Answers 202 with the job once it runs; follow it with `…/backups/progress` or `/api/v1/jobs/{id}/events`. 409 while a backup of the database runs or the database is in maintenance. ' +
      'The guard rails of `arca backup` apply: `maxDuration` (a longer backup is stopped, the job recorded as aborted and nothing listed), `rateLimit`, `jobs`; the priority is the server\'s (`arca serve --no-nice`).',
    tags,
    params: DbParams,
    body: StartBackupBody.nullish(),
    status: 202,
    response: JobSchema,
    errors: [404, 409, 503],
    handle: async ({ params, body, request }) => {
      const record = requireDatabase(catalog, params.db);
      const expiresAt = body?.expire === undefined ? null : expiryFrom(body.expire, new Date());
      // Already checked by the schema (400 naming the field); parsed here into what the job takes.
      const guardRails = {
        ...(body?.maxDuration !== undefined ? { maxDuration: parseMaxDuration(body.maxDuration) } : {}),
        ...(body?.rateLimit !== undefined ? { rateLimit: parseRateLimit(body.rateLimit) } : {}),
        ...(body?.jobs !== undefined ? { jobs: body.jobs } : {}),
      };
      const volume = await chooseVolume(ctx, body?.volume);
      const started = await startJob(
        ctx,
        request.log,
        { kind: 'backup', database: record.name, volume: volume.ref.name, exclusive: [{ kinds: ['backup', 'purge', 'restore'], scope: 'database' }] },
        (job) => runBackup({ volume, database: { name: record.name, url: record.url }, level: body?.level ?? 0, expiresAt, ...guardRails, signal: job.signal, onProgress: job.onProgress }),
        backupFigures,
      );
      return started.record;
    },
  }));

  registerRoute(app, route({
    method: 'PUT',
    url: '/api/v1/databases/:db/backups/restore',
    action: 'restore.run',
    summary: 'restore one of the database\'s backups into a target',
    description:
      'The target is a registered database\'s name (restored over it: needs `force` when it holds data), a database URL or an absolute path. ' +
      'Answers 202 with the job once it runs; a registered target is in maintenance meanwhile. 409 when the target is in maintenance (a purge or another restore running).',
    tags,
    params: DbParams,
    body: RestoreBody,
    status: 202,
    response: JobSchema,
    errors: [404, 409, 503],
    handle: async ({ params, body, request }) => {
      requireDatabase(catalog, params.db);
      const to = restoreTarget(ctx, body.target);
      const { volume, backupId } = await locateBackup(ctx, body.backupId.toLowerCase(), body.volume);
      const manifest = await volume.repo.readManifest(backupId);
      if (manifest.database !== params.db) throw new ArcaError('USAGE', `backup ${backupId} is a backup of ${manifest.database}, not of ${params.db}`);
      const target = registeredDatabaseAt(catalog, to);
      const started = await startJob(
        ctx,
        request.log,
        { kind: 'restore', database: target?.name ?? null, volume: volume.ref.name, exclusive: RESTORE_EXCLUSION },
        (job) => runRestore({ volume, backupId, to, force: body.force === true, signal: job.signal, onProgress: job.onProgress }),
        (r) => ({ backup: r.backup.id, database: r.backup.database, target: redactSecrets(r.target), files: r.files, bytesWritten: r.bytesWritten }),
      );
      return started.record;
    },
  }));

  registerRoute(app, route({
    method: 'POST',
    url: '/api/v1/databases/:db/backups/bulk_delete',
    action: 'backup.delete',
    summary: 'delete backups of the database (their space comes back at the next prune)',
    description: 'Every id is checked (it exists, uniquely, and is a backup of this database) before anything is deleted.',
    tags,
    params: DbParams,
    body: BulkDeleteBody,
    response: DeletedSchema,
    errors: [404],
    handle: async ({ params, body }) => {
      requireDatabase(catalog, params.db);
      const byVolume = new Map<string, { volume: OpenVolume; ids: string[] }>();
      for (const prefix of body.ids) {
        const { volume, backupId } = await locateBackup(ctx, prefix.toLowerCase());
        const m = await volume.repo.readManifest(backupId);
        if (m.database !== params.db) throw new ArcaError('USAGE', `backup ${backupId} is a backup of ${m.database}, not of ${params.db}; nothing was deleted`);
        let entry = byVolume.get(volume.ref.name);
        if (!entry) byVolume.set(volume.ref.name, (entry = { volume, ids: [] }));
        entry.ids.push(backupId);
      }
      const deleted: string[] = [];
      try {
        for (const { volume, ids } of byVolume.values()) deleted.push(...(await deleteBackups(volume, ids)).map((b) => b.id));
      } finally {
        ctx.manifests.invalidate();
      }
      return { deleted };
    },
  }));

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/backups/:id',
    action: 'read',
    summary: 'one backup, by its id or any unique prefix of it, on any registered volume',
    tags,
    params: BackupParams,
    response: BackupSchema,
    errors: [404],
    handle: async ({ params }) => {
      const { volume, backupId } = await locateBackup(ctx, params.id.toLowerCase());
      const found = (await ctx.manifests.list(volume)).find((b) => b.id === backupId);
      if (!found) throw new ArcaError('NOT_FOUND', `no backup ${params.id}`);
      return found;
    },
  }));

  registerRoute(app, route({
    method: 'PATCH',
    url: '/api/v1/backups/:id',
    action: 'backup.expire',
    summary: 'change when a backup expires',
    description: '`expire` counts from now ("2w", "1w 3d", "12h") or is "never". The newest change wins.',
    tags,
    params: BackupParams,
    body: ExpireBody,
    response: BackupSchema,
    errors: [404],
    handle: async ({ params, body }) => {
      const now = new Date();
      const expiresAt = expiryFrom(body.expire, now);
      const { volume, backupId } = await locateBackup(ctx, params.id.toLowerCase());
      const backup = await setBackupExpiry(volume, backupId, expiresAt, now);
      ctx.manifests.invalidate();
      return backup;
    },
  }));

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/backups/:id/download',
    action: 'backup.download',
    summary: "download a backup as one file the database's own tools restore",
    description: 'The `arca export` format: a tar (directories), the SQLite file, a psql or mariadb script. Streamed as it is read; the name is in Content-Disposition.',
    tags,
    params: BackupParams,
    produces: { contentType: 'application/octet-stream', description: 'the export file' },
    errors: [404],
    handle: async ({ params, request, reply }) => {
      const { volume, backupId } = await locateBackup(ctx, params.id.toLowerCase());
      const manifest = await volume.repo.readManifest(backupId);
      const driver = driverFor(manifest.source.url);
      if (!driver.export || !driver.exportExtension) throw new ArcaError('USAGE', `backups of ${driver.kind} sources cannot be downloaded`);
      const name = defaultExportName(manifest, driver.exportExtension);
      const body = new PassThrough();
      const gone = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) gone.abort(new ArcaError('ABORTED', 'the client closed the download'));
      });
      const done = ctx.jobs.start(`download of ${backupId}`, (signal) =>
        trackJob(
          catalog,
          { kind: 'export', database: manifest.database, volume: volume.ref.name },
          (job) => runExport({ volume, backupId, output: '-', cwd: '/', force: false, stdout: body, signal: AbortSignal.any([job.signal, gone.signal]), onProgress: job.onProgress }),
          (r) => ({ backup: r.backup.id, database: r.backup.database, target: 'download', bytesWritten: r.bytesWritten }),
          { signal },
        ),
      );
      done.then(
        () => body.end(),
        (err: unknown) => {
          request.log.warn({ backup: backupId, error: redactSecrets(String(err)) }, 'download failed');
          body.destroy(err instanceof Error ? err : new Error(String(err)));
        },
      );
      const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply
        .code(200)
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename="${safe}"; filename*=UTF-8''${encodeURIComponent(name)}`)
        .header('x-arca-backup', backupId)
        .send(body);
    },
  }));
}
