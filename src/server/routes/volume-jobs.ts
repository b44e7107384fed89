// Jobs on a whole volume: prune (expired and policy-dropped backups, then
// the space nobody references) and check (structure, optionally data). Both
// answer 202 with the job once it runs; a second one of the same kind on the
// same volume is refused (409).
import type { FastifyInstance } from 'fastify';
import { ArcaError } from '../../errors.js';
import { requireVolume } from '../../catalog/index.js';
import { runCheck, runPrune } from '../../jobs/index.js';
import { retentionPolicies } from '../../jobs/retention.js';
import { registerRoute, route } from '../route.js';
import { JobSchema } from '../schemas.js';
import { CheckBody, PruneBody, VolumeParams } from '../schemas-jobs.js';
import type { ServerContext } from '../server-context.js';
import { startJob } from '../start-job.js';

export function registerVolumeJobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const tags = ['volumes'];

  registerRoute(app, route({
    method: 'PUT',
    url: '/api/v1/volumes/:volume/prune/start',
    action: 'prune.run',
    summary: 'prune the volume: remove expired and policy-dropped backups, reclaim unused space',
    description: 'Runs beside backups and restores. Answers 202 with the job; the report is in the job\'s figures when it ends. 409 while another prune of the volume runs.',
    tags,
    params: VolumeParams,
    body: PruneBody.nullish(),
    status: 202,
    response: JobSchema,
    errors: [404, 409, 503],
    handle: async ({ params, body, request }) => {
      const volume = await ctx.volumes.open(requireVolume(ctx.catalog, params.volume));
      const policies = retentionPolicies(ctx.catalog);
      const database = body?.db;
      const started = await startJob(
        ctx,
        request.log,
        { kind: 'prune', database: database ?? null, volume: volume.ref.name, exclusive: [{ kinds: ['prune'], scope: 'volume' }] },
        (job) => runPrune({ volume, policies, dryRun: false, ...(database !== undefined ? { database } : {}), signal: job.signal }),
        (r) => ({
          backupsRemoved: r.backupsRemoved.length,
          packsDeleted: r.packsDeleted,
          packsRepacked: r.packsRepacked,
          bytesReclaimed: r.bytesReclaimed,
          tombstonesPending: r.tombstonesPending.length,
        }),
      );
      return started.record;
    },
  }));

  registerRoute(app, route({
    method: 'PUT',
    url: '/api/v1/volumes/:volume/check/start',
    action: 'check.run',
    summary: 'check the volume: its structure, and with readDataPercent also its data',
    description: 'Answers 202 with the job; `figures.ok` and `figures.problems` tell the result when it ends (a check that finds problems is recorded as failed). 409 while another check of the volume runs.',
    tags,
    params: VolumeParams,
    body: CheckBody.nullish(),
    status: 202,
    response: JobSchema,
    errors: [404, 409, 503],
    handle: async ({ params, body, request }) => {
      const volume = await ctx.volumes.open(requireVolume(ctx.catalog, params.volume));
      const readDataPercent = body?.readDataPercent ?? 0;
      const started = await startJob(
        ctx,
        request.log,
        { kind: 'check', volume: volume.ref.name, exclusive: [{ kinds: ['check'], scope: 'volume' }] },
        async (job) => {
          const report = await runCheck({ volume, readDataPercent, signal: job.signal, onProgress: job.onProgress });
          if (!report.ok) {
            const first = report.problems[0];
            throw new ArcaError('CHECK_FAILED', `volume ${volume.ref.name}: ${report.problems.length} problem(s)${first ? `, first: ${first.object}: ${first.message}` : ''}`);
          }
          return report;
        },
        (r) => ({ ok: r.ok, backups: r.backups, packs: r.packs, packsRead: r.packsRead, blobsRead: r.blobsRead, problems: r.problems.length }),
      );
      return started.record;
    },
  }));
}
