// The MySQL/MariaDB source: consistent online backups from one InnoDB
// snapshot (schema by SHOW CREATE, rows in key order, one line per row) and
// restores through a scratch database whose tables are renamed into place.
export { mysqlDriver } from './mysql-driver.js';
export { MysqlSource, type MysqlExtra } from './mysql-backup.js';
export { normalizeMysqlUrl, redactUrl, splitPassword } from './mysql-url.js';
