// `arca db add NAME URL`, `arca db list` and `arca db remove NAME`: the
// databases (sources) Arca backs up, each listed as ready or in maintenance (a
// purge or restore into it running). A new database gets a daily 00:00 UTC
// level-0 backup schedule (NAME-daily) unless --no-schedule.
import type { Command } from 'commander';
import { validateName } from '../../common/names.js';
import { ArcaError } from '../../errors.js';
import { listDatabases } from '../../catalog/index.js';
import { addDatabaseWithSchedule, removeDatabaseAndSchedules } from '../../catalog/schedules.js';
import { maintenanceOf, runningJobs } from '../../catalog/jobs.js';
import type { ContextFactory } from '../context.js';
import { databasesTable } from '../output.js';
import { redactSecrets } from '../../common/redact.js';

export function registerDbCommands(program: Command, contextOf: ContextFactory): void {
  const db = program.command('db').description('manage the databases to back up');

  db.command('add')
    .description('register a database; it gets a daily 00:00 UTC full backup schedule unless --no-schedule')
    .argument('<name>', 'a name for the database')
    .argument('<url>', 'a directory path or file:// URL, postgres://, mysql://, mariadb://, sqlite:// URL or a .db file')
    .option('--no-schedule', 'do not add the daily backup schedule NAME-daily')
    .action(async (name: string, url: string, opts: { schedule: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('database', name);
      const catalog = ctx.catalog();
      // Imported here, not at the top: every `arca` run would load all the sources (see program.ts).
      const [{ normalizeDatabaseUrl }, { defaultBackupSchedule }] = await Promise.all([
        import('../../sources/index.js'),
        import('../../scheduler/schedule-spec.js'),
      ]);
      const added = addDatabaseWithSchedule(
        catalog,
        { name, url: normalizeDatabaseUrl(url) },
        opts.schedule ? defaultBackupSchedule(name) : null,
      );
      const shown = { ...added.database, url: redactSecrets(added.database.url), schedule: added.schedule };
      ctx.output.result(shown, () => {
        const lines = [`added database ${shown.name} (${shown.url})`];
        if (added.schedule) {
          lines.push(
            `scheduled a daily full (level 0) backup at 00:00 UTC as schedule ${added.schedule.name} ` +
              `(see arca schedule list; arca schedule remove ${added.schedule.name} to drop it)`,
          );
        } else if (opts.schedule) {
          lines.push(`no daily backup scheduled: a schedule named ${defaultBackupSchedule(name).name} already exists`);
        }
        return lines.join('\n');
      });
    });

  db.command('remove')
    .description('forget a database and its schedules and purge rules (its backups stay on the volumes)')
    .argument('<name>', 'the database')
    .action((name: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('database', name);
      const catalog = ctx.catalog();
      const holder = maintenanceOf(catalog, name);
      if (holder) {
        throw new ArcaError('CONFLICT', `database ${name} is in maintenance (a ${holder.kind} since ${holder.startedAt}, job ${holder.id}); try again when it ended`);
      }
      const schedules = removeDatabaseAndSchedules(catalog, name);
      ctx.output.result({ removed: name, schedules }, () =>
        `removed database ${name}${schedules.length ? ` and its schedules ${schedules.join(', ')}` : ''}; its backups stay on the volumes`,
      );
    });

  db.command('list')
    .description('list the registered databases')
    .action((_opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const catalog = ctx.catalog();
      const running = runningJobs(catalog);
      const databases = listDatabases(catalog).map((d) => {
        const holder = maintenanceOf(catalog, d.name, running);
        return {
          ...d,
          url: redactSecrets(d.url),
          // A purge or a restore into the database is running: other jobs that write it wait.
          state: holder ? ('maintenance' as const) : ('ready' as const),
          maintenance: holder ? { job: holder.id, kind: holder.kind, since: holder.startedAt } : null,
        };
      });
      ctx.output.result(databases, () =>
        databases.length === 0 ? 'no databases registered; add one with: arca db add NAME URL' : databasesTable(databases),
      );
    });
}
