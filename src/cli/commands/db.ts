// `arca db add NAME URL` and `arca db list`: the databases (sources) Arca
// backs up, each listed as ready or in maintenance (a purge or restore into it running).
import type { Command } from 'commander';
import { validateName } from '../../common/names.js';
import { addDatabase, listDatabases } from '../../catalog/index.js';
import { maintenanceOf } from '../../catalog/jobs.js';
import { normalizeDatabaseUrl } from '../../jobs/index.js';
import type { ContextFactory } from '../context.js';
import { databasesTable } from '../output.js';
import { redactSecrets } from '../../common/redact.js';

export function registerDbCommands(program: Command, contextOf: ContextFactory): void {
  const db = program.command('db').description('manage the databases to back up');

  db.command('add')
    .description('register a database (a directory path or file:// URL for now)')
    .argument('<name>', 'a name for the database')
    .argument('<url>', 'file:///abs/dir or a directory path')
    .action((name: string, url: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('database', name);
      const record = addDatabase(ctx.catalog(), { name, url: normalizeDatabaseUrl(url) });
      const shown = { ...record, url: redactSecrets(record.url) };
      ctx.output.result(shown, () => `added database ${shown.name} (${shown.url})`);
    });

  db.command('list')
    .description('list the registered databases')
    .action((_opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const catalog = ctx.catalog();
      const databases = listDatabases(catalog).map((d) => {
        const holder = maintenanceOf(catalog, d.name);
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
