// The PostgreSQL source: consistent online backups from one exported
// snapshot (schema by pg_dump, table data by COPY in key order, in parallel)
// and restores through a scratch database renamed into place.
export { postgresDriver, openPostgres } from './postgres-driver.js';
export { PostgresSource, type PostgresSourceOptions, type PostgresExtra } from './pg-backup.js';
export { redactUrl, splitPassword, normalizePostgresUrl } from './pg-url.js';
