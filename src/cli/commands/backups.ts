// `arca backups [NAME] [--volume V]`: the completed backups on the registered
// volumes (all of them unless --volume), oldest first.
import type { Command } from 'commander';
import { validateName } from '../../common/names.js';
import { listBackups } from '../../jobs/backup-info.js';
import type { BackupInfo } from '../../jobs/types.js';
import type { ContextFactory } from '../context.js';
import { backupsTable, sortBackups } from '../output.js';
import { openVolumes } from '../volumes.js';

export function registerBackupsCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('backups')
    .description('list completed backups, of one database or of all')
    .argument('[name]', 'only the backups of this database')
    .option('--volume <volume>', 'only this volume (default: every registered volume)')
    .action(async (name: string | undefined, opts: { volume?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (name !== undefined) validateName('database', name);
      const volumes = await openVolumes(ctx, opts.volume);
      const backups: BackupInfo[] = [];
      for (const volume of volumes) backups.push(...(await listBackups(volume, name)));
      sortBackups(backups);
      ctx.output.result(backups, () =>
        backups.length === 0
          ? `no backups${name === undefined ? '' : ` of ${name}`}`
          : backupsTable(backups, { showVolume: volumes.length > 1 }),
      );
    });
}
