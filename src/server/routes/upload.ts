// Restoring a database from an uploaded export file: multipart/form-data
// with a `password` field (the caller's own login password, entered again:
// a wrong one is 403 and nothing is touched) and a `file` field (an export
// in the database's native format, as `…/download` and `arca export` write
// it). The file is streamed to a private folder under ARCA_HOME with a size
// limit (413 beyond it), validated as the database's export format (400
// otherwise; a MySQL dump's `--databases` lines are neutralised in a copy in
// the same folder), and only then restored as a tracked job (202 with the
// job); the folder is removed when the job ends or the request fails.
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/multipart';
import { ArcaError } from '../../errors.js';
import { redactSecrets } from '../../common/redact.js';
import { requireDatabase } from '../../catalog/databases.js';
import { maintenanceOf } from '../../catalog/jobs.js';
import { verifyUserPassword } from '../../catalog/users.js';
import { RESTORE_EXCLUSION } from '../../jobs/restore-target.js';
import { restoreExport, uploadEngine, validateExport } from '../../jobs/upload/index.js';
import type { Principal } from '../authenticator.js';
import { registerRoute, route } from '../route.js';
import { DbParams, JobSchema } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import { startJob } from '../start-job.js';

async function checkPassword(ctx: ServerContext, principal: Principal | null, password: string): Promise<void> {
  const name = principal?.user.name;
  const ok = name !== undefined && password !== '' && (await verifyUserPassword(ctx.catalog, name, password)) !== null;
  if (!ok) throw new ArcaError('FORBIDDEN', `the password entered again is not the password of user ${name ?? '?'}; nothing was restored`);
}

export function registerUploadRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { catalog } = ctx;

  registerRoute(app, route({
    method: 'POST',
    url: '/api/v1/databases/:db/restore/upload',
    action: 'restore.run',
    summary: 'restore the database from an uploaded export file',
    description:
      'multipart/form-data with two fields: `password` (your own login password, entered again; wrong: 403, nothing touched) and `file` ' +
      '(an export in the database\'s native format: the SQLite file; a psql script from `arca export`/`pg_dump` or a `pg_dump -Fc` archive; ' +
      'a mariadb script from `arca export` or a `mariadb-dump`/`mysqldump` of one database, also with `--databases NAME`; a tar for directories). ' +
      'The file is validated before the database is touched (400 when it is not that format; 413 over the size limit), then restored as a job: 202 with the job. ' +
      'The database is replaced (into a scratch database or temp file first, swapped in only when loading succeeded) and in maintenance meanwhile; 409 when it is in maintenance already.',
    tags: ['backups'],
    params: DbParams,
    status: 202,
    response: JobSchema,
    errors: [404, 409, 413],
    handle: async ({ params, request, principal }) => {
      const record = requireDatabase(catalog, params.db);
      uploadEngine(record.url);
      if (!request.isMultipart()) throw new ArcaError('USAGE', 'send multipart/form-data with the fields password and file');
      const holder = maintenanceOf(catalog, record.name);
      if (holder) throw new ArcaError('CONFLICT', `database ${record.name} is in maintenance (a ${holder.kind} since ${holder.startedAt}, job ${holder.id})`);
      const root = join(ctx.home, 'uploads');
      await mkdir(root, { recursive: true, mode: 0o700 });
      const dir = await mkdtemp(join(root, 'upload-'));
      const cleanup = () => rm(dir, { recursive: true, force: true });
      try {
        let passwordChecked = false;
        let file: string | undefined;
        for await (const part of request.parts({ limits: { fileSize: ctx.uploadLimit, files: 1, fields: 2, fieldSize: 4096, parts: 3 } })) {
          if (part.type === 'field') {
            if (part.fieldname !== 'password') throw new ArcaError('USAGE', `unknown form field ${JSON.stringify(part.fieldname.slice(0, 40))}: send password and file`);
            await checkPassword(ctx, principal, typeof part.value === 'string' ? part.value : '');
            passwordChecked = true;
            continue;
          }
          if (part.fieldname !== 'file') throw new ArcaError('USAGE', `unknown file field ${JSON.stringify(part.fieldname.slice(0, 40))}: send the export as the field file`);
          file = join(dir, 'export');
          await pipeline(part.file, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
          if (part.file.truncated) throw new ArcaError('TOO_LARGE', `the upload is larger than the limit of ${ctx.uploadLimit} bytes`);
        }
        if (!passwordChecked) throw new ArcaError('USAGE', 'the password field is missing: enter your password again to restore from an upload');
        if (file === undefined) throw new ArcaError('USAGE', 'the file field is missing: attach the export file');
        const { format, load } = await validateExport(record.url, file);
        const upload = file;
        const started = await startJob(
          ctx,
          request.log,
          { kind: 'restore', database: record.name, volume: null, exclusive: RESTORE_EXCLUSION },
          (job) => restoreExport({ url: record.url, file: upload, load, format, signal: job.signal, onProgress: job.onProgress }),
          (r) => ({ upload: true, format: r.format, bytes: r.bytes, target: redactSecrets(r.target), by: principal?.user.name ?? null }),
          cleanup,
        );
        return started.record;
      } catch (err) {
        await cleanup();
        throw err;
      }
    },
  }));
}
