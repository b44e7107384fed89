// The SQLite driver: `sqlite:///abs/path.db` URLs and plain paths to
// .db/.sqlite/.sqlite3 files. Backup: sqlite-backup.ts (consistent copy in
// sqlite-snapshot.ts); restore: sqlite-restore.ts.

import type { Source, SourceDriver } from '../source.js';
import { SqliteSource, type SqliteSourceOptions } from './sqlite-backup.js';
import { exportSqlite } from './sqlite-export.js';
import { restoreSqlite } from './sqlite-restore.js';
import { isSqliteUrl, normalizeSqliteUrl } from './sqlite-url.js';

/** Opens a source with options the generic driver interface has no room for (the rollback-journal lock bound). */
export function openSqlite(url: string, opts: SqliteSourceOptions = {}): SqliteSource {
  return new SqliteSource(url, opts);
}

export const sqliteDriver: SourceDriver = {
  kind: 'sqlite',
  handles: (url) => isSqliteUrl(url),
  normalize: (input) => normalizeSqliteUrl(input),
  open: (url): Source => new SqliteSource(url),
  restore: restoreSqlite,
  export: exportSqlite,
  exportExtension: 'db',
};
