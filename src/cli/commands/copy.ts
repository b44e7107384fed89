// `arca copy --from V1 --to V2 [--db DB] [--since AGE] [--dry-run]`: copies
// backups to another registered volume (an off-site copy), keeping their ids,
// levels, parents and expiry; only data the target lacks is stored. The target
// may have another password: --to-password-file FILE or ARCA_TO_PASSWORD
// (else the run's password, or a prompt per volume on a terminal).
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../../common/duration.js';
import { formatBytes, formatDuration, formatTimestamp } from '../../common/format.js';
import { validateName } from '../../common/names.js';
import { errorMessage, ArcaError } from '../../errors.js';
import { requireVolume } from '../../catalog/index.js';
import type { CopyReport, OpenVolume } from '../../jobs/index.js';
import type { ContextFactory } from '../context.js';
import { shortId } from '../output.js';
import { readPasswordFile } from '../password.js';
import { openRegisteredVolume } from '../volumes.js';

interface CopyCliOptions {
  from: string;
  to: string;
  db?: string;
  since?: number;
  dryRun?: boolean;
  toPasswordFile?: string;
}

/** `--since AGE`: "2d", "1w 3d", "12h" → milliseconds. */
export function parseSince(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError(`${errorMessage(err)} (--since takes an age such as "2d", "1w" or "12h")`);
  }
}

export function registerCopyCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('copy')
    .description('copy backups to another volume (e.g. off-site), storing only data it lacks')
    .requiredOption('--from <volume>', 'the volume to copy from')
    .requiredOption('--to <volume>', 'the volume to copy to')
    .option('--db <database>', 'only backups of this database')
    .option('--since <age>', 'only backups started within this age, e.g. "2d", "1w"', parseSince)
    .option('--dry-run', 'print what would be copied; change nothing')
    .option('--to-password-file <file>', 'the target volume\'s password (else $ARCA_TO_PASSWORD, else the same as the source\'s)')
    .action(async (opts: CopyCliOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('volume', opts.from);
      validateName('volume', opts.to);
      if (opts.db !== undefined) validateName('database', opts.db);
      if (opts.from === opts.to) throw new ArcaError('USAGE', `--from and --to both name volume ${opts.from}; copy to another volume`);
      const catalog = ctx.catalog();
      const fromRecord = requireVolume(catalog, opts.from);
      const toRecord = requireVolume(catalog, opts.to);
      const openBoth = async (): Promise<[OpenVolume, OpenVolume]> => {
        const from = await openRegisteredVolume(ctx, fromRecord);
        const toPassword =
          opts.toPasswordFile !== undefined ? await readPasswordFile(opts.toPasswordFile) : ctx.io.env['ARCA_TO_PASSWORD'] || undefined;
        return [from, await openRegisteredVolume(ctx, toRecord, toPassword)];
      };
      // The copy job loads while the volumes open (key derivation).
      const [[from, to], { runCopy }] = await Promise.all([openBoth(), import('../../jobs/copy-job.js')]);
      const now = new Date();
      const base = {
        from,
        to,
        now,
        ...(opts.db !== undefined ? { database: opts.db } : {}),
        ...(opts.since !== undefined ? { since: new Date(now.getTime() - opts.since) } : {}),
      };
      const report = opts.dryRun
        ? await ctx.runJob((job) => runCopy({ ...base, dryRun: true, signal: job.signal }))
        : await ctx.runTracked(
            { kind: 'copy', database: opts.db ?? null, volume: to.ref.name, exclusive: [{ kinds: ['copy'], scope: 'volume' }] },
            (job) => runCopy({ ...base, signal: job.signal, onProgress: job.onProgress }),
            (r) => ({ from: r.from, backupsCopied: r.copied.length, backupsSkipped: r.skipped.length, bytesCopied: r.bytesCopied, bytesAdded: r.bytesAdded }),
          );
      ctx.output.result(report, () => copySummary(report));
    });
}

export function copySummary(r: CopyReport): string {
  const lines: string[] = [];
  const head = r.dryRun ? `copy from ${r.from} to ${r.to} (dry run: nothing was changed)` : `copy from ${r.from} to ${r.to}`;
  lines.push(head);
  if (r.copied.length === 0) lines.push(`no backups ${r.dryRun ? 'to copy' : 'copied'}`);
  for (const b of r.copied) {
    const what = `  ${shortId(b.id)}  ${b.database}  level ${b.level}  ${formatTimestamp(b.startedAt)}`;
    lines.push(r.dryRun ? what : `${what}  read ${formatBytes(b.bytesCopied)}, added ${formatBytes(b.bytesAdded)}`);
  }
  const onTarget = r.skipped.filter((s) => s.reason === 'already on the target').length;
  const expired = r.skipped.length - onTarget;
  if (onTarget > 0) lines.push(`${onTarget} already on ${r.to}`);
  if (expired > 0) lines.push(`${expired} expired (not copied)`);
  if (!r.dryRun && r.copied.length > 0) {
    lines.push(`${r.copied.length} backup${r.copied.length === 1 ? '' : 's'} copied: read ${formatBytes(r.bytesCopied)}, added ${formatBytes(r.bytesAdded)} to ${r.to} in ${formatDuration(r.durationMs)}`);
  }
  return lines.join('\n');
}
