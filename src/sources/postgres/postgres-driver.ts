// The PostgreSQL driver: `postgres://` and `postgresql://` URLs (canonical
// `postgres://`). Backup: pg-backup.ts; restore: pg-restore.ts.

import type { Source, SourceDriver } from '../source.js';
import { PostgresSource, type PostgresSourceOptions } from './pg-backup.js';
import { exportPostgres } from './pg-export.js';
import { restorePostgres } from './pg-restore.js';
import { isPostgresUrl, normalizePostgresUrl } from './pg-url.js';

/** Opens a source with options the generic driver interface has no room for (`--jobs`). */
export function openPostgres(url: string, opts: PostgresSourceOptions = {}): PostgresSource {
  return new PostgresSource(url, opts);
}

export const postgresDriver: SourceDriver = {
  kind: 'postgres',
  handles: (url) => isPostgresUrl(url),
  normalize: (input) => normalizePostgresUrl(input),
  open: (url): Source => new PostgresSource(url),
  restore: restorePostgres,
  export: exportPostgres,
  exportExtension: 'sql',
};
