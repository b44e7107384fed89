// Scratch databases of restores, and their cleanup. A restore loads into
// `arca_restore_<host>_<pid>_<random>` (host: 8 hex digits of the SHA-256 of
// this machine's host name; pid: the restoring process) and renames it into
// place at the end; a failed restore drops it. A restore killed outright
// (SIGKILL, power loss) cannot, so every restore first drops the scratch
// databases it can prove abandoned: made on this host, by a process that no
// longer exists, and with no session connected to them (a pg_restore child
// that outlived its parent still counts as a user). Scratch databases of
// other hosts, or of older Arca versions (`arca_restore_<16 hex>`), are never
// touched: nothing proves them abandoned.

import { isOrphanName } from '../scratch-names.js';
import { quoteIdent, type PgClient } from './pg-connect.js';

export { scratchName } from '../scratch-names.js';

/**
 * Drops the scratch databases on `admin`'s server that are provably
 * abandoned (see above); best effort: one that cannot be dropped (another
 * owner, a session that just connected) is left for a later restore. Returns
 * the names dropped.
 */
export async function dropAbandonedScratch(admin: PgClient): Promise<string[]> {
  let rows: Array<{ name: string; sessions: number }>;
  try {
    rows = (
      await admin.query<{ name: string; sessions: number }>(
        `SELECT d.datname AS name, (SELECT count(*)::int FROM pg_stat_activity a WHERE a.datid = d.oid) AS sessions
           FROM pg_database d WHERE d.datname LIKE 'arca\\_restore\\_%'`,
      )
    ).rows;
  } catch {
    return [];
  }
  const dropped: string[] = [];
  for (const r of rows) {
    if (r.sessions > 0 || !isOrphanName(r.name)) continue;
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(r.name)}`);
      dropped.push(r.name);
    } catch {
      // in use again, or not ours to drop: leave it
    }
  }
  return dropped;
}
