// The SQLite source: a consistent copy of a live database (WAL or rollback
// journal) from one pinned read snapshot, stored as a plain database file,
// and restores verified before they are renamed into place.
export { sqliteDriver, openSqlite } from './sqlite-driver.js';
export { SqliteSource, type SqliteSourceOptions, type SqliteExtra } from './sqlite-backup.js';
export { normalizeSqliteUrl, toSqliteUrl } from './sqlite-url.js';
export { DEFAULT_LOCK_TIMEOUT_MS } from './sqlite-snapshot.js';
