// Scratch databases of MySQL/MariaDB restores (from a backup or an uploaded
// script), and their cleanup. Named as PostgreSQL's are (scratch-names.ts):
// `arca_restore_<host>_<pid>_<random>`, so a restore killed outright
// (SIGKILL, power loss) leaves a name that proves whose it was. Every
// restore first drops the scratch databases provably abandoned: made on this
// host by a process that no longer exists, with no connection using them.
// Others (other hosts, older `arca_restore_<16 hex>` names) are never touched.

import { isOrphanName } from '../scratch-names.js';
import { query, quoteIdent, type MyConn } from './mysql-connect.js';

/** A new scratch database name that records this host and process (≤ 64 characters, MySQL's limit). */
export { scratchName } from '../scratch-names.js';

/** Drops the abandoned scratch databases on `admin`'s server (best effort); returns their names. */
export async function dropAbandonedScratch(admin: MyConn): Promise<string[]> {
  let found: Array<{ name: string; sessions: string | number }>;
  try {
    found = await query<Array<{ name: string; sessions: string | number }>>(
      admin,
      `SELECT s.SCHEMA_NAME AS name, (SELECT COUNT(*) FROM information_schema.PROCESSLIST p WHERE p.DB = s.SCHEMA_NAME) AS sessions
         FROM information_schema.SCHEMATA s WHERE s.SCHEMA_NAME LIKE 'arca\\_restore\\_%'`,
    );
  } catch {
    return [];
  }
  const dropped: string[] = [];
  for (const r of found) {
    if (Number(r.sessions) > 0 || !isOrphanName(r.name)) continue;
    try {
      await query(admin, `DROP DATABASE IF EXISTS ${quoteIdent(r.name)}`);
      dropped.push(r.name);
    } catch {
      // not ours to drop, or in use again: left for a later restore
    }
  }
  return dropped;
}
