// Purge rules: the catalog's `purge_rules` table. Each rule says which old
// data of one registered database a purge deletes; its shape lives in the
// `spec` JSON column and is validated here (zod) when written and when read.
// Also the database settings `backupBeforePurge` and `purgeBackupExpire`
// (in `databases.settings`): whether a purge first takes a backup, and when
// that backup expires.
//
// A table rule: rows of `table` whose `column` (a date/time column) is older
// than `olderThan`, optionally only those whose `match.column` is one of
// `match.values`, and optionally only those the admin's own SQL `where`
// selects (trusted SQL, ANDed in parentheses). A files rule: regular files
// whose path relative to the directory matches `glob` and whose mtime is
// older than `olderThan`. Whether the table and columns exist is checked by
// the purge engines (src/jobs/purge/), not here.
import { z } from 'zod';
import { ArcaError } from '../errors.js';
import { canonicalExpiry, parseExpiry } from '../common/duration.js';
import { guard, type Catalog } from './catalog.js';
import { requireDatabase, updateDatabaseSettings, type DatabaseRecord, type DatabaseSettings } from './databases.js';

const name = z.string().min(1).max(256);

const olderThan = {
  /** As the user wrote it ("90d", "1w 3d"). */
  olderThan: z.string().min(1),
  /** The same in milliseconds. */
  olderThanMs: z.number().int().positive(),
};

export const TableRuleSpec = z.strictObject({
  kind: z.literal('table'),
  /** PostgreSQL: the schema (filled in when the rule is added: the table's own schema). */
  schema: name.optional(),
  table: name,
  column: name,
  ...olderThan,
  match: z.strictObject({ column: name, values: z.array(z.string()).min(1).max(1000) }).optional(),
  /** Trusted SQL from an admin, ANDed in parentheses. */
  where: z.string().min(1).max(10_000).optional(),
});

export const FilesRuleSpec = z.strictObject({
  kind: z.literal('files'),
  glob: z.string().min(1).max(1000),
  ...olderThan,
});

export const PurgeRuleSpec = z.discriminatedUnion('kind', [TableRuleSpec, FilesRuleSpec]);

export type TableRule = z.infer<typeof TableRuleSpec>;
export type FilesRule = z.infer<typeof FilesRuleSpec>;
export type PurgeRuleSpec = z.infer<typeof PurgeRuleSpec>;

export interface PurgeRuleRecord {
  id: number;
  database: string;
  spec: PurgeRuleSpec;
  /** ISO 8601. */
  createdAt: string;
}

interface PurgeRuleRow {
  id: number;
  database: string;
  spec: string;
  created_at: string;
}

/** Checks a rule's shape; USAGE with the first problem otherwise. */
export function parsePurgeRuleSpec(value: unknown): PurgeRuleSpec {
  const parsed = PurgeRuleSpec.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` (${issue.path.join('.')})` : '';
  throw new ArcaError('USAGE', `invalid purge rule${where}: ${issue?.message ?? 'unknown problem'}`);
}

function fromRow(row: PurgeRuleRow): PurgeRuleRecord {
  let spec: PurgeRuleSpec;
  try {
    spec = parsePurgeRuleSpec(JSON.parse(row.spec));
  } catch (err) {
    throw new ArcaError('CORRUPT', `purge rule ${row.id} of database ${row.database} in the catalog is not valid; remove it with: arca purge rule remove ${row.database} ${row.id}`, { cause: err });
  }
  return { id: row.id, database: row.database, spec, createdAt: row.created_at };
}

/** Stores a rule of a registered database (NOT_FOUND otherwise). */
export function addPurgeRule(catalog: Catalog, database: string, spec: PurgeRuleSpec): PurgeRuleRecord {
  requireDatabase(catalog, database);
  const checked = parsePurgeRuleSpec(spec);
  const row = guard(() =>
    catalog.db
      .prepare<[string, string, string], PurgeRuleRow>(
        'INSERT INTO purge_rules (database, spec, created_at) VALUES (?, ?, ?) RETURNING id, database, spec, created_at',
      )
      .get(database, JSON.stringify(checked), catalog.now().toISOString()),
  );
  if (!row) throw new ArcaError('INTERNAL', 'the catalog did not return the new purge rule');
  return fromRow(row);
}

/** Rules of one database (or of all), by database and id. */
export function listPurgeRules(catalog: Catalog, database?: string): PurgeRuleRecord[] {
  const rows = guard(() =>
    database === undefined
      ? catalog.db.prepare<[], PurgeRuleRow>('SELECT id, database, spec, created_at FROM purge_rules ORDER BY database, id').all()
      : catalog.db
          .prepare<[string], PurgeRuleRow>('SELECT id, database, spec, created_at FROM purge_rules WHERE database = ? ORDER BY id')
          .all(database),
  );
  return rows.map(fromRow);
}

/** Removes rule `id` of `database`; NOT_FOUND when that database has no such rule. */
export function removePurgeRule(catalog: Catalog, database: string, id: number): void {
  const result = guard(() => catalog.db.prepare<[number, string]>('DELETE FROM purge_rules WHERE id = ? AND database = ?').run(id, database));
  if (result.changes === 0) {
    throw new ArcaError('NOT_FOUND', `database ${database} has no purge rule ${id}; see: arca purge rule list ${database}`);
  }
}

export const BACKUP_BEFORE_PURGE = 'backupBeforePurge';

/** Whether a purge of this database first takes a backup (the default: yes). */
export function backupBeforePurgeOf(database: DatabaseRecord): boolean {
  return database.settings[BACKUP_BEFORE_PURGE] !== false;
}

export function setBackupBeforePurge(catalog: Catalog, database: string, on: boolean): DatabaseRecord {
  return updateDatabaseSettings(catalog, database, { [BACKUP_BEFORE_PURGE]: on });
}

export const PURGE_BACKUP_EXPIRE = 'purgeBackupExpire';

/** The default of `purgeBackupExpire`: the backup before a purge is kept until removed by hand. */
export const PURGE_BACKUP_NEVER = 'never';

/**
 * Checks an expiry for the backup before a purge, as `arca backup --expire`
 * takes it ("1w 3d", "12h", "30m" or "never"); returns it as it is stored
 * (canonical, as schedules keep `--expire`: "3d1w" is "1w 3d") with its
 * length (null: never). USAGE otherwise.
 */
export function parsePurgeBackupExpire(text: string): { expire: string; ms: number | null } {
  return { expire: canonicalExpiry(text), ms: parseExpiry(text) };
}

/** When the backup a purge of this database takes first expires, as written ("2w", or "never": the default). */
export function purgeBackupExpireOf(database: DatabaseRecord): string {
  const value = database.settings[PURGE_BACKUP_EXPIRE];
  if (value === undefined || value === null) return PURGE_BACKUP_NEVER;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * How long after the purge starts its backup expires, in ms (null: never).
 * CORRUPT, saying how to set it again, when the catalog holds something else.
 */
export function purgeBackupExpireMsOf(database: DatabaseRecord): number | null {
  const value = database.settings[PURGE_BACKUP_EXPIRE];
  if (value === undefined || value === null) return null;
  try {
    if (typeof value !== 'string') throw new ArcaError('USAGE', 'not a string');
    return parsePurgeBackupExpire(value).ms;
  } catch (err) {
    throw new ArcaError(
      'CORRUPT',
      `the purge backup expiry of database ${database.name} in the catalog (${JSON.stringify(value)}) is not valid; set it again with: arca purge settings ${database.name} --backup-expire 2w (or never)`,
      { cause: err },
    );
  }
}

export interface PurgeSettingsChange {
  backupBeforePurge?: boolean;
  /** As `arca backup --expire` takes it: "1w 3d", "12h", "30m" or "never". */
  purgeBackupExpire?: string;
}

/** Changes the purge settings of a database in one update; USAGE (nothing changed) for a bad expiry. */
export function updatePurgeSettings(catalog: Catalog, database: string, change: PurgeSettingsChange): DatabaseRecord {
  const patch: DatabaseSettings = {};
  if (change.purgeBackupExpire !== undefined) patch[PURGE_BACKUP_EXPIRE] = parsePurgeBackupExpire(change.purgeBackupExpire).expire;
  if (change.backupBeforePurge !== undefined) patch[BACKUP_BEFORE_PURGE] = change.backupBeforePurge;
  return Object.keys(patch).length === 0 ? requireDatabase(catalog, database) : updateDatabaseSettings(catalog, database, patch);
}
