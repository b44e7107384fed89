// `arca prune [--volume V] [--db DB] [--dry-run] [--repack-threshold PCT]`:
// removes expired backups and those the databases' retention policies drop,
// then reclaims the space no remaining backup needs, beside running backups.
// --dry-run prints what would go and why, and changes nothing.
import { InvalidArgumentError, type Command } from 'commander';
import { formatBytes, formatDuration, formatTimestamp } from '../../common/format.js';
import { validateName } from '../../common/names.js';
import type { PruneReport } from '../../jobs/index.js';
import { retentionPolicies } from '../../jobs/retention.js';
import type { ContextFactory } from '../context.js';
import { DEFAULT_REPACK_THRESHOLD } from '../../jobs/job-limits.js';
import { shortId } from '../output.js';
import { openChosenVolume } from '../volumes.js';

interface PruneOptions {
  volume?: string;
  db?: string;
  dryRun?: boolean;
  repackThreshold?: number;
}

/** `--repack-threshold PCT`: "50", "50%" → 0.5. */
export function parseRepackThreshold(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
  const pct = m ? Number(m[1]) : NaN;
  if (!(pct >= 0 && pct <= 100)) throw new InvalidArgumentError('the threshold is a percentage of unused bytes from 0 to 100, e.g. 50 or 50%');
  return pct / 100;
}

export function registerPruneCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('prune')
    .description('remove expired backups and those a retention policy drops, and reclaim unused space')
    .option('--volume <volume>', 'the volume (may be left out when only one is registered)')
    .option('--db <database>', 'only remove backups of this database (space is reclaimed for the whole volume)')
    .option('--dry-run', 'print what would be removed and reclaimed; change nothing')
    .option('--repack-threshold <percent>', `rewrite packs with more than this share of unused bytes (default ${DEFAULT_REPACK_THRESHOLD * 100}%)`, parseRepackThreshold)
    .action(async (opts: PruneOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.db !== undefined) validateName('database', opts.db);
      const policies = retentionPolicies(ctx.catalog());
      // The prune job loads while the volume's key derivation runs.
      const [volume, { runPrune }] = await Promise.all([openChosenVolume(ctx, opts.volume), import('../../jobs/prune-job.js')]);
      const dryRun = opts.dryRun === true;
      const base = {
        volume,
        policies,
        dryRun,
        ...(opts.db !== undefined ? { database: opts.db } : {}),
        ...(opts.repackThreshold !== undefined ? { repackThreshold: opts.repackThreshold } : {}),
      };
      const report = dryRun
        ? await ctx.runJob((job) => runPrune({ ...base, signal: job.signal }))
        : await ctx.runTracked(
            { kind: 'prune', database: opts.db ?? null, volume: volume.ref.name, exclusive: [{ kinds: ['prune'], scope: 'volume' }] },
            (job) => runPrune({ ...base, signal: job.signal }),
            (r) => ({ backupsRemoved: r.backupsRemoved.length, packsDeleted: r.packsDeleted, packsRepacked: r.packsRepacked, bytesReclaimed: r.bytesReclaimed, tombstonesPending: r.tombstonesPending.length }),
          );
      ctx.output.result(report, () => pruneSummary(report));
    });
}

export function pruneSummary(r: PruneReport): string {
  const lines: string[] = [];
  const would = r.dryRun ? 'would be ' : '';
  lines.push(r.dryRun ? `prune of volume ${r.volume} (dry run: nothing was changed)` : `prune of volume ${r.volume}`);
  if (r.backupsRemoved.length === 0) lines.push(`no backups ${r.dryRun ? 'would be ' : ''}removed; ${r.backupsKept} kept`);
  else {
    lines.push(`${r.backupsRemoved.length} backup${r.backupsRemoved.length === 1 ? '' : 's'} ${would}removed, ${r.backupsKept} kept:`);
    for (const b of r.backupsRemoved) lines.push(`  ${shortId(b.id)}  ${b.database}  ${formatTimestamp(b.startedAt)}  ${b.reasons.join('; ')}`);
  }
  lines.push(
    `packs: ${r.packsDeleted} ${would}deleted, ${r.packsRepacked} ${would}repacked (${r.blobsCopied} blobs copied)` +
      (r.dryRun ? '' : `; index: ${r.indexObjectsDeleted} objects replaced by ${r.indexObjectsWritten}`),
  );
  const reclaimed = `${formatBytes(Math.max(0, r.bytesReclaimed))} (deleted ${formatBytes(r.bytesDeleted)}, wrote ${formatBytes(r.bytesWritten)})`;
  lines.push(r.dryRun ? `space that would be reclaimed: up to ${reclaimed}` : `reclaimed ${reclaimed} in ${formatDuration(r.durationMs)}`);
  for (const t of r.tombstonesPending) {
    const who = t.waitingFor.map((s) => ('unreadable' in s ? `unreadable lease ${shortId(s.id)}` : `session ${shortId(s.id)} (${s.purpose} on ${s.host}, pid ${s.pid}, since ${formatTimestamp(s.startedAt)})`));
    lines.push(`pending: ${t.packs} packs (${formatBytes(t.bytes)}) wait until ${who.join(', ') || 'the next prune'} ended; the next prune deletes them`);
  }
  if (r.unindexedPacksKept > 0) lines.push(`${r.unindexedPacksKept} packs no index names were kept: a running backup may still index them`);
  const housekeeping = [
    r.notesDeleted ? `${r.notesDeleted} old notes` : '',
    r.leasesDeleted ? `${r.leasesDeleted} stale session leases` : '',
    r.tempFilesDeleted ? `${r.tempFilesDeleted} temp files` : '',
  ].filter((s) => s !== '');
  if (housekeeping.length > 0) lines.push(`removed ${housekeeping.join(', ')}`);
  for (const p of r.problems) lines.push(`note: ${p}`);
  return lines.join('\n');
}
