// Registered databases (sources): the catalog's `databases` table. `url` is
// the normalized source URL; `settings` is a JSON object for per-database
// options that later issues add (retention policy, backupBeforePurge, …).
import { ArcaError } from '../errors.js';
import { validateName } from '../common/names.js';
import { guard, isUniqueViolation, type Catalog } from './catalog.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type DatabaseSettings = { [key: string]: JsonValue };

export interface DatabaseRecord {
  name: string;
  url: string;
  /** ISO 8601. */
  createdAt: string;
  settings: DatabaseSettings;
}

export interface NewDatabase {
  name: string;
  url: string;
  settings?: DatabaseSettings;
}

interface DatabaseRow {
  name: string;
  url: string;
  created_at: string;
  settings: string;
}

const COLUMNS = 'name, url, created_at, settings';

function parseSettings(name: string, text: string): DatabaseSettings {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArcaError('CORRUPT', `the catalog's settings of database ${name} are not a JSON object`);
  }
  return value as DatabaseSettings;
}

function fromRow(row: DatabaseRow): DatabaseRecord {
  return { name: row.name, url: row.url, createdAt: row.created_at, settings: parseSettings(row.name, row.settings) };
}

/** Registers a database. ALREADY_EXISTS when the name is taken. */
export function addDatabase(catalog: Catalog, database: NewDatabase): DatabaseRecord {
  validateName('database', database.name);
  if (database.url.trim() === '') throw new ArcaError('USAGE', 'a database URL must not be empty');
  const record: DatabaseRecord = {
    name: database.name,
    url: database.url,
    createdAt: catalog.now().toISOString(),
    settings: database.settings ?? {},
  };
  return guard(() => {
    try {
      catalog.db
        .prepare<[string, string, string, string]>(`INSERT INTO databases (${COLUMNS}) VALUES (?, ?, ?, ?)`)
        .run(record.name, record.url, record.createdAt, JSON.stringify(record.settings));
      return record;
    } catch (err) {
      if (isUniqueViolation(err, 'databases.name')) {
        throw new ArcaError('ALREADY_EXISTS', `a database named ${database.name} already exists`, { cause: err });
      }
      throw err;
    }
  });
}

/** The database named `name`, or null. */
export function getDatabase(catalog: Catalog, name: string): DatabaseRecord | null {
  const row = guard(() =>
    catalog.db.prepare<[string], DatabaseRow>(`SELECT ${COLUMNS} FROM databases WHERE name = ?`).get(name),
  );
  return row ? fromRow(row) : null;
}

/** The database named `name`; ArcaError('NOT_FOUND') otherwise. */
export function requireDatabase(catalog: Catalog, name: string): DatabaseRecord {
  const found = getDatabase(catalog, name);
  if (found) return found;
  throw new ArcaError('NOT_FOUND', `no database named ${name}; add it with: arca db add ${name} URL`);
}

/** All registered databases, by name. */
export function listDatabases(catalog: Catalog): DatabaseRecord[] {
  return guard(() =>
    catalog.db.prepare<[], DatabaseRow>(`SELECT ${COLUMNS} FROM databases ORDER BY name`).all().map(fromRow),
  );
}

/**
 * Merges `patch` into a database's settings (a key set to null is removed)
 * in one statement, so concurrent updates of different keys do not race.
 */
export function updateDatabaseSettings(catalog: Catalog, name: string, patch: DatabaseSettings): DatabaseRecord {
  const result = guard(() =>
    catalog.db
      .prepare<[string, string]>('UPDATE databases SET settings = json_patch(settings, ?) WHERE name = ?')
      .run(JSON.stringify(patch), name),
  );
  if (result.changes === 0) throw new ArcaError('NOT_FOUND', `no database named ${name}`);
  return requireDatabase(catalog, name);
}

/** Forgets a database (its backups stay on the volumes). NOT_FOUND when it is not registered. */
export function removeDatabase(catalog: Catalog, name: string): void {
  const result = guard(() => catalog.db.prepare<[string]>('DELETE FROM databases WHERE name = ?').run(name));
  if (result.changes === 0) throw new ArcaError('NOT_FOUND', `no database named ${name}`);
}
