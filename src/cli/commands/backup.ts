// `arca backup NAME [--volume V] [--level N] [--expire D]`: takes one backup
// of a registered database and prints its id (the backup object with --json).
// Guard rails for a live system: --max-duration, --jobs, --rate-limit, and a
// low CPU/IO priority unless --no-nice.
import type { Command } from 'commander';
import { formatBytes, formatDuration } from '../../common/format.js';
import { validateName } from '../../common/names.js';
import { lowerOwnPriority } from '../../common/priority.js';
import { requireDatabase } from '../../catalog/index.js';
import type { ContextFactory } from '../context.js';
import { addGuardRailOptions, expiresAtFrom, parseExpire, parseLevel, type ExpireOption, type MaxDurationOption } from '../options.js';
import { backupFigures, shortId } from '../output.js';
import { openChosenVolume } from '../volumes.js';

interface BackupOptions {
  volume?: string;
  level: number;
  expire?: ExpireOption;
  maxDuration?: MaxDurationOption;
  jobs: number;
  rateLimit?: number;
  nice: boolean;
}

export function registerBackupCommand(program: Command, contextOf: ContextFactory): void {
  const command = program
    .command('backup')
    .description('back up a registered database; prints the backup id')
    .argument('<name>', 'the database')
    .option('--volume <volume>', 'the volume (may be left out when only one is registered)')
    .option('--level <n>', '0 = full, 1-9 = incremental against the newest backup of a lower level', parseLevel, 0)
    .option('--expire <duration>', 'when the backup may be pruned: "1w 3d", "12h", "30m" or never', parseExpire);
  addGuardRailOptions(command, { rate: 'bytes', jobsDefault: 2, nice: true })
    .action(async (name: string, opts: BackupOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.nice) lowerOwnPriority();
      validateName('database', name);
      const record = requireDatabase(ctx.catalog(), name);
      // The backup job (and the sources it drives) loads while the volume's key
      // derivation runs in the threadpool (see program.ts).
      // The source begins then too: a PostgreSQL backup connects, takes its
      // snapshot and starts its first COPY into memory while the key is derived.
      const job = import('../../jobs/backup-job.js');
      const begunAt = new Date(); // the backup's startedAt: its snapshot may be taken before the volume opens
      const begun = job.then((m) => m.beginBackup(record.url, { jobs: opts.jobs, rateLimited: opts.rateLimit !== undefined }));
      begun.catch(() => undefined); // an import failure is reported below
      ctx.onClose(() => begun.then((source) => source?.release?.(), () => undefined)); // a no-op once the backup ran
      const [volume, { runBackup }] = await Promise.all([openChosenVolume(ctx, opts.volume), job]);
      const source = await begun;
      const expiresAt = expiresAtFrom(opts.expire, new Date());
      const started = performance.now();
      const backup = await ctx.runTracked(
        { kind: 'backup', database: record.name, volume: volume.ref.name },
        (job) =>
          runBackup({
          volume,
          ...(source ? { source, startedAt: begunAt } : {}),
          database: { name: record.name, url: record.url },
          level: opts.level,
          expiresAt,
          jobs: opts.jobs,
          ...(opts.maxDuration ? { maxDuration: opts.maxDuration } : {}),
          ...(opts.rateLimit !== undefined ? { rateLimit: opts.rateLimit } : {}),
          signal: job.signal,
          onProgress: job.onProgress,
        }),
        backupFigures,
      );
      ctx.output.result(backup, () => backup.id);
      if (!ctx.json && ctx.io.stderr.isTTY) {
        ctx.io.stderr.write(
          `backup ${shortId(backup.id)} of ${backup.database} (level ${backup.level}) on ${backup.volume}: ` +
            `read ${formatBytes(backup.bytesRead)}, added ${formatBytes(backup.bytesAdded)} ` +
            `in ${formatDuration(performance.now() - started)}\n`,
        );
      }
    });
}
