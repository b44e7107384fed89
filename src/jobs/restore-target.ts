// Restore targets: which registered database (if any) a restore target (the
// CLI's `--to`, the API's `target`) names, so a restore into it can put that
// database in maintenance (and be refused while a purge or restore holds it).
import { listDatabases, type Catalog, type DatabaseRecord } from '../catalog/index.js';
import { normalizeDatabaseUrl } from '../sources/index.js';

/** The URL without credentials or query, for comparing two spellings of one database. */
function locationOf(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    if (u.pathname.length > 1 && u.pathname.endsWith('/')) u.pathname = u.pathname.slice(0, -1);
    return u.href;
  } catch {
    return url;
  }
}

/** The registered database that `target` (a path or URL) names, or null. */
export function registeredDatabaseAt(catalog: Catalog, target: string): DatabaseRecord | null {
  let normalized: string;
  try {
    normalized = normalizeDatabaseUrl(target);
  } catch {
    return null; // the restore itself reports a bad target
  }
  const wanted = locationOf(normalized);
  return listDatabases(catalog).find((d) => locationOf(d.url) === wanted) ?? null;
}

/** The exclusion every restore takes: no purge or other restore of the target database beside it. */
export const RESTORE_EXCLUSION = [{ kinds: ['purge', 'restore'], scope: 'database' }] as const satisfies ReadonlyArray<{ kinds: readonly ('purge' | 'restore')[]; scope: 'database' }>;
