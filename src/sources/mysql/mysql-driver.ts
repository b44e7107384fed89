// The MySQL/MariaDB driver: `mysql://` and `mariadb://` URLs (canonical
// `mysql://`). Backup: mysql-backup.ts; restore: mysql-restore.ts.

import type { Source, SourceDriver } from '../source.js';
import { MysqlSource } from './mysql-backup.js';
import { exportMysql } from './mysql-export.js';
import { restoreMysql } from './mysql-restore.js';
import { isMysqlUrl, normalizeMysqlUrl } from './mysql-url.js';

export const mysqlDriver: SourceDriver = {
  kind: 'mysql',
  handles: (url) => isMysqlUrl(url),
  normalize: (input) => normalizeMysqlUrl(input),
  open: (url): Source => new MysqlSource(url),
  restore: restoreMysql,
  export: exportMysql,
  exportExtension: 'sql',
};
