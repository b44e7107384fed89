// Picks the purge engine for a database URL (the same schemes the sources
// handle: postgres://, mysql:// or mariadb://, sqlite:, file:).
import { ArcaError } from '../../errors.js';
import { isPostgresUrl } from '../../sources/postgres/pg-url.js';
import { isMysqlUrl } from '../../sources/mysql/mysql-url.js';
import { isSqliteUrl } from '../../sources/sqlite/sqlite-url.js';
import { redactSecrets } from '../../common/redact.js';
import type { PurgeEngine } from './purge-engine.js';
import { openPostgresPurge } from './postgres.js';
import { openMysqlPurge } from './mysql.js';
import { openSqlitePurge } from './sqlite.js';
import { openFilesPurge } from './files.js';

/** Connects to the database; SOURCE when it cannot be reached. */
export async function openPurgeEngine(url: string): Promise<PurgeEngine> {
  if (isPostgresUrl(url)) return openPostgresPurge(url);
  if (isMysqlUrl(url)) return openMysqlPurge(url);
  if (isSqliteUrl(url)) return openSqlitePurge(url);
  if (url.startsWith('file:')) return openFilesPurge(url);
  throw new ArcaError('USAGE', `no purge engine handles ${redactSecrets(url)}`);
}

/** Runs `work` with an engine for `url`, closing it afterwards. */
export async function withPurgeEngine<T>(url: string, work: (engine: PurgeEngine) => Promise<T>): Promise<T> {
  const engine = await openPurgeEngine(url);
  try {
    return await work(engine);
  } finally {
    await engine.close().catch(() => undefined);
  }
}
