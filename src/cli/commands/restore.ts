// `arca restore ID --to PATH [--force] [--volume V]`: restores a backup (any
// unique id prefix), searching every registered volume unless --volume.
import type { Command } from 'commander';
import { formatBytes, formatDuration } from '../../common/format.js';
import type { ContextFactory } from '../context.js';
import { resolveTarget, validateBackupIdArg } from '../options.js';
import { shortId } from '../output.js';
import { locateBackup } from '../volumes.js';
import { redactSecrets } from '../../common/redact.js';

interface RestoreOptions {
  to: string;
  force?: boolean;
  volume?: string;
}

export function registerRestoreCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('restore')
    .description('restore a backup into a directory')
    .argument('<id>', 'the backup id or any unique prefix of it')
    .requiredOption('--to <target>', 'a directory, or a database URL (must be empty or absent unless --force)')
    .option('--force', 'restore into a non-empty target, replacing what is there')
    .option('--volume <volume>', 'the volume holding the backup (default: search all)')
    .action(async (idArg: string, opts: RestoreOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const prefix = validateBackupIdArg(idArg);
      const to = resolveTarget(opts.to, ctx.io.cwd());
      // The restore job and the sources load while the volumes open (key derivation).
      const [{ volume, backupId }, { runRestore }, { registeredDatabaseAt }] = await Promise.all([
        locateBackup(ctx, prefix, opts.volume),
        import('../../jobs/restore-job.js'),
        import('../targets.js'),
      ]);
      const started = performance.now();
      // A restore into a registered database puts it in maintenance: no purge or other restore beside it.
      const target = registeredDatabaseAt(ctx.catalog(), to);
      const result = await ctx.runTracked(
        {
          kind: 'restore',
          database: target?.name ?? null,
          volume: volume.ref.name,
          exclusive: [{ kinds: ['purge', 'restore'], scope: 'database' }],
        },
        (job) => runRestore({ volume, backupId, to, force: opts.force === true, signal: job.signal, onProgress: job.onProgress }),
        (r) => ({ backup: r.backup.id, database: r.backup.database, target: redactSecrets(r.target), files: r.files, bytesWritten: r.bytesWritten }),
      );
      ctx.output.result(
        result,
        () =>
          `restored backup ${shortId(result.backup.id)} of ${result.backup.database} to ${result.target}: ` +
          `${result.files} files, ${formatBytes(result.bytesWritten)} in ${formatDuration(performance.now() - started)}`,
      );
    });
}
