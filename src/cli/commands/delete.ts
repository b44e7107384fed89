// `arca delete ID... [--volume V]`: deletes backups (ids or unique prefixes).
// Their manifests go at once; the space comes back at the next prune. A
// deleted parent never breaks a child: every backup restores on its own.
import type { Command } from 'commander';
import { formatTimestamp } from '../../common/format.js';
import { deleteBackups } from '../../jobs/backup-admin.js';
import type { BackupInfo, OpenVolume } from '../../jobs/index.js';
import type { ContextFactory } from '../context.js';
import { validateBackupIdArg } from '../options.js';
import { shortId } from '../output.js';
import { locateBackup } from '../volumes.js';

export function registerDeleteCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('delete')
    .description('delete backups; their space comes back at the next prune')
    .argument('<id...>', 'backup ids or unique prefixes of them')
    .option('--volume <volume>', 'the volume holding the backups (default: search all)')
    .action(async (ids: string[], opts: { volume?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const prefixes = ids.map(validateBackupIdArg);
      // Every id is resolved before anything is deleted: a typo deletes nothing.
      const byVolume = new Map<string, { volume: OpenVolume; ids: string[] }>();
      for (const prefix of prefixes) {
        const { volume, backupId } = await locateBackup(ctx, prefix, opts.volume);
        let entry = byVolume.get(volume.ref.name);
        if (!entry) byVolume.set(volume.ref.name, (entry = { volume, ids: [] }));
        entry.ids.push(backupId);
      }
      const deleted: BackupInfo[] = [];
      for (const { volume, ids: backupIds } of byVolume.values()) deleted.push(...(await deleteBackups(volume, backupIds)));
      ctx.output.result(deleted, () =>
        [
          ...deleted.map((b) => `deleted backup ${shortId(b.id)} of ${b.database} (level ${b.level}, ${formatTimestamp(b.startedAt)}) on ${b.volume}`),
          'its space comes back at the next arca prune; backups that had it as parent still restore on their own',
        ].join('\n'),
      );
    });
}
