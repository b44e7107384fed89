// `arca export ID [-o FILE] [--force] [--volume V]`: writes one file the
// database's own tools restore without Arca (a tar for directories, the
// database file for SQLite, a SQL script for psql or mariadb). Default name
// `<database>-<yyyymmdd-hhmmss>.<ext>` in the current directory; `-o -` writes
// to stdout (the summary then goes to stderr). An existing file is kept
// unless --force.
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { ArcaError } from '../../errors.js';
import { formatBytes, formatDuration } from '../../common/format.js';
import type { ContextFactory } from '../context.js';
import { validateBackupIdArg } from '../options.js';
import { shortId } from '../output.js';
import { locateBackup } from '../volumes.js';

interface ExportCliOptions {
  output?: string;
  force?: boolean;
  volume?: string;
}

export function registerExportCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('export')
    .description("export a backup as one file the database's own tools restore (tar, SQLite file, SQL script)")
    .argument('<id>', 'the backup id or any unique prefix of it')
    .option('-o, --output <file>', 'the file to write, or - for stdout (default: <database>-<yyyymmdd-hhmmss>.<ext> here)')
    .option('--force', 'overwrite an existing file')
    .option('--volume <volume>', 'the volume holding the backup (default: search all)')
    .action(async (idArg: string, opts: ExportCliOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const prefix = validateBackupIdArg(idArg);
      if (opts.output === '') throw new ArcaError('USAGE', 'the output file name is empty');
      // The export job loads while the volumes open (key derivation).
      const [{ volume, backupId }, { runExport }] = await Promise.all([locateBackup(ctx, prefix, opts.volume), import('../../jobs/export-job.js')]);
      const stdout = ctx.io.stdout instanceof Writable ? ctx.io.stdout : undefined;
      const started = performance.now();
      const result = await ctx.runTracked(
        { kind: 'export', volume: volume.ref.name },
        (job) =>
          runExport({
            volume,
            backupId,
            output: opts.output,
            cwd: ctx.io.cwd(),
            force: opts.force === true,
            ...(stdout ? { stdout } : {}),
            signal: job.signal,
            onProgress: job.onProgress,
          }),
        (r) => ({ backup: r.backup.id, database: r.backup.database, target: r.target, bytesWritten: r.bytesWritten }),
      );
      const line = `exported backup ${shortId(result.backup.id)} of ${result.backup.database} to ${result.target === '-' ? 'stdout' : result.target}: ${formatBytes(result.bytesWritten)} in ${formatDuration(performance.now() - started)}`;
      if (result.target === '-') ctx.io.stderr.write(`${line}\n`);
      else ctx.output.result(result, () => line);
    });
}
