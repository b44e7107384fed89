// `arca expire ID DURATION|never [--volume V]`: changes when a backup expires,
// counted from now ("2w", "1w 3d", "12h", "30m") or never. The manifest stays
// as it is; a note on the volume records the change (the newest wins).
import type { Command } from 'commander';
import { formatTimestamp } from '../../common/format.js';
import { setBackupExpiry } from '../../jobs/backup-admin.js';
import type { ContextFactory } from '../context.js';
import { expiresAtFrom, parseExpire, validateBackupIdArg, type ExpireOption } from '../options.js';
import { shortId } from '../output.js';
import { locateBackup } from '../volumes.js';

export function registerExpireCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('expire')
    .description('change when a backup expires: a duration from now ("2w", "1w 3d", "12h", "30m") or never')
    .argument('<id>', 'the backup id or any unique prefix of it')
    .argument('<expire>', 'a duration from now, or never', parseExpire)
    .option('--volume <volume>', 'the volume holding the backup (default: search all)')
    .action(async (idArg: string, expire: ExpireOption, opts: { volume?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const prefix = validateBackupIdArg(idArg);
      const { volume, backupId } = await locateBackup(ctx, prefix, opts.volume);
      const now = new Date();
      const backup = await setBackupExpiry(volume, backupId, expiresAtFrom(expire, now), now);
      ctx.output.result(backup, () =>
        backup.expiresAt === null
          ? `backup ${shortId(backup.id)} of ${backup.database} now never expires`
          : `backup ${shortId(backup.id)} of ${backup.database} now expires at ${formatTimestamp(backup.expiresAt)}; arca prune removes it after that`,
      );
    });
}
