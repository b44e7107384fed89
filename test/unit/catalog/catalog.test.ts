import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isArcaError } from '../../../src/errors.js';
import {
  addDatabase,
  addVolume,
  catalogPath,
  getDatabase,
  getVolume,
  listDatabases,
  listVolumes,
  MIGRATIONS,
  migrate,
  openCatalog,
  removeDatabase,
  removeVolume,
  requireDatabase,
  requireVolume,
  schemaVersion,
  updateDatabaseSettings,
  type Catalog,
  type Migration,
} from '../../../src/catalog/index.js';

let dir: string;
const open: Catalog[] = [];

function catalog(options: Parameters<typeof openCatalog>[1] = {}): Catalog {
  const c = openCatalog(catalogPath(dir), options);
  open.push(c);
  return c;
}

function expectCode(fn: () => unknown, code: Parameters<typeof isArcaError>[1], message?: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isArcaError(err, code), String(err)).toBe(true);
    if (message) expect((err as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ArcaError ${code}`);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-catalog-'));
});

afterEach(() => {
  for (const c of open.splice(0)) c.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('opening and migrations', () => {
  it('creates the schema, in WAL mode with a busy timeout', () => {
    const c = catalog();
    expect(c.migration).toEqual({ from: 0, to: MIGRATIONS.length, applied: MIGRATIONS.map((m) => m.version) });
    expect(c.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(c.db.pragma('busy_timeout', { simple: true })).toBe(10_000);
    const tables = c.db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['schema_migrations', 'volumes', 'databases']));
  });

  it('is idempotent: opening again applies nothing and records each migration once', () => {
    catalog().close();
    const again = catalog();
    expect(again.migration.applied).toEqual([]);
    expect(migrate(again.db).applied).toEqual([]);
    const rows = again.db.prepare<[], { version: number; name: string }>('SELECT version, name FROM schema_migrations').all();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(schemaVersion(again.db)).toBe(MIGRATIONS.length);
  });

  it('applies only the new migrations to an older catalog', () => {
    const db = new Database(catalogPath(dir));
    const first = MIGRATIONS.slice(0, 1);
    expect(migrate(db, first).applied).toEqual([1]);
    const extra: Migration[] = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: 'test-extra', up: 'CREATE TABLE test_extra (id INTEGER PRIMARY KEY) STRICT' },
    ];
    const result = migrate(db, extra);
    expect(result.from).toBe(1);
    expect(result.applied).toEqual(extra.slice(1).map((m) => m.version));
    expect(migrate(db, extra).applied).toEqual([]);
    db.close();
  });

  it('rolls back every pending migration when one fails', () => {
    const db = new Database(catalogPath(dir));
    const broken: Migration[] = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: 'ok', up: 'CREATE TABLE a (x INTEGER) STRICT' },
      { version: MIGRATIONS.length + 2, name: 'broken', up: 'CREATE TABLE oops (' },
    ];
    expect(() => migrate(db, broken)).toThrow();
    expect(schemaVersion(db)).toBe(0);
    const tables = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('a', 'volumes')").get();
    expect(tables?.n).toBe(0);
    db.close();
  });

  it('refuses a catalog written by a newer Arca', () => {
    const c = catalog();
    c.db.prepare("INSERT INTO schema_migrations VALUES (999, 'future', '2100-01-01T00:00:00Z')").run();
    c.close();
    expectCode(() => catalog(), 'FORMAT', /newer than this version of Arca/);
  });

  it('refuses badly numbered migration lists', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [{ version: 2, name: 'x', up: '' }])).toThrow(/expected 1/);
    db.close();
  });

  it('reports a file that is not a database as CORRUPT, naming it', () => {
    writeFileSync(catalogPath(dir), 'this is not sqlite, just some text that is long enough to be a header'.repeat(20));
    expectCode(() => catalog(), 'CORRUPT', new RegExp(`catalog ${catalogPath(dir).replace(/[.]/g, '\\.')} is damaged`));
  });
});

describe('several connections at once', () => {
  it('two catalogs on one file see each other’s writes', () => {
    const a = catalog();
    const b = catalog();
    addVolume(a, { name: 'v1', location: '/srv/v1', volumeId: 'id-1' });
    expect(getVolume(b, 'v1')?.location).toBe('/srv/v1');
    addDatabase(b, { name: 'db1', url: 'file:///srv/data' });
    expect(listDatabases(a).map((d) => d.name)).toEqual(['db1']);
    expectCode(() => addVolume(b, { name: 'v1', location: '/x', volumeId: 'id-2' }), 'ALREADY_EXISTS');
  });

  it('a reader is not blocked by another connection’s open write transaction (WAL)', () => {
    const a = catalog();
    const b = catalog();
    addVolume(a, { name: 'v1', location: '/srv/v1', volumeId: 'id-1' });
    a.db.exec('BEGIN IMMEDIATE');
    a.db.prepare("INSERT INTO volumes VALUES ('v2', '/srv/v2', 'id-2', '2024-01-01T00:00:00Z')").run();
    expect(listVolumes(b).map((v) => v.name)).toEqual(['v1']);
    a.db.exec('COMMIT');
    expect(listVolumes(b).map((v) => v.name)).toEqual(['v1', 'v2']);
  });

  it('a writer waiting longer than the busy timeout gets CONFLICT, then succeeds once the lock is gone', () => {
    const a = catalog();
    const b = catalog({ busyTimeoutMs: 50 });
    a.db.exec('BEGIN IMMEDIATE');
    expectCode(() => addDatabase(b, { name: 'db1', url: 'file:///x' }), 'CONFLICT', /busy/);
    a.db.exec('COMMIT');
    expect(addDatabase(b, { name: 'db1', url: 'file:///x' }).name).toBe('db1');
  });

  it('migrating a fresh catalog waits for another migrating connection instead of failing', () => {
    const holder = new Database(catalogPath(dir));
    holder.exec('BEGIN IMMEDIATE');
    expectCode(() => catalog({ busyTimeoutMs: 50 }), 'CONFLICT');
    holder.exec('ROLLBACK');
    holder.close();
    expect(catalog().migration.applied.length).toBe(MIGRATIONS.length);
  });
});

describe('volumes', () => {
  it('adds, gets, lists by name and removes', () => {
    const c = catalog({ now: () => new Date('2024-05-01T10:00:00.000Z') });
    const added = addVolume(c, { name: 'zeta', location: '/srv/z', volumeId: 'vid-z' });
    expect(added).toEqual({ name: 'zeta', location: '/srv/z', volumeId: 'vid-z', createdAt: '2024-05-01T10:00:00.000Z' });
    addVolume(c, { name: 'alpha', location: 's3://bucket/a', volumeId: 'vid-a' });
    expect(getVolume(c, 'zeta')).toEqual(added);
    expect(getVolume(c, 'nope')).toBeNull();
    expect(listVolumes(c).map((v) => v.name)).toEqual(['alpha', 'zeta']);
    removeVolume(c, 'zeta');
    expect(getVolume(c, 'zeta')).toBeNull();
    expectCode(() => removeVolume(c, 'zeta'), 'NOT_FOUND');
  });

  it('refuses a duplicate name, and the same volume under a second name', () => {
    const c = catalog();
    addVolume(c, { name: 'v1', location: '/srv/v1', volumeId: 'same' });
    expectCode(() => addVolume(c, { name: 'v1', location: '/other', volumeId: 'other' }), 'ALREADY_EXISTS', /named v1/);
    expectCode(() => addVolume(c, { name: 'v2', location: '/srv/v1', volumeId: 'same' }), 'ALREADY_EXISTS', /registered as v1/);
  });

  it('validates names', () => {
    const c = catalog();
    for (const name of ['', 'a/b', '..', 'a..b', '.x', 'x'.repeat(65), 'a b']) {
      expectCode(() => addVolume(c, { name, location: '/x', volumeId: `id-${name}` }), 'USAGE', /invalid volume name/);
    }
    expect(listVolumes(c)).toEqual([]);
  });

  it('requireVolume says which volumes exist', () => {
    const c = catalog();
    expectCode(() => requireVolume(c, 'v'), 'NOT_FOUND', /arca volume add/);
    addVolume(c, { name: 'a', location: '/a', volumeId: '1' });
    addVolume(c, { name: 'b', location: '/b', volumeId: '2' });
    expectCode(() => requireVolume(c, 'v'), 'NOT_FOUND', /registered: a, b/);
    expect(requireVolume(c, 'a').location).toBe('/a');
  });
});

describe('databases', () => {
  it('adds, gets, lists by name and removes', () => {
    const c = catalog({ now: () => new Date('2024-05-01T10:00:00.000Z') });
    const added = addDatabase(c, { name: 'web-files', url: 'file:///srv/www' });
    expect(added).toEqual({ name: 'web-files', url: 'file:///srv/www', createdAt: '2024-05-01T10:00:00.000Z', settings: {} });
    addDatabase(c, { name: 'app', url: 'file:///srv/app', settings: { keepLast: 7 } });
    expect(getDatabase(c, 'web-files')).toEqual(added);
    expect(getDatabase(c, 'app')?.settings).toEqual({ keepLast: 7 });
    expect(listDatabases(c).map((d) => d.name)).toEqual(['app', 'web-files']);
    removeDatabase(c, 'app');
    expect(getDatabase(c, 'app')).toBeNull();
    expectCode(() => removeDatabase(c, 'app'), 'NOT_FOUND');
    expectCode(() => requireDatabase(c, 'app'), 'NOT_FOUND', /arca db add app URL/);
  });

  it('refuses duplicates and bad names', () => {
    const c = catalog();
    addDatabase(c, { name: 'db', url: 'file:///a' });
    expectCode(() => addDatabase(c, { name: 'db', url: 'file:///b' }), 'ALREADY_EXISTS', /database named db/);
    expectCode(() => addDatabase(c, { name: '../etc', url: 'file:///b' }), 'USAGE');
    expectCode(() => addDatabase(c, { name: 'ok', url: ' ' }), 'USAGE');
  });

  it('merges settings patches, removing keys set to null', () => {
    const c = catalog();
    addDatabase(c, { name: 'db', url: 'file:///a', settings: { keepLast: 7, backupBeforePurge: true } });
    const updated = updateDatabaseSettings(c, 'db', { keepLast: 3, backupBeforePurge: null, keepDaily: 14 });
    expect(updated.settings).toEqual({ keepLast: 3, keepDaily: 14 });
    expectCode(() => updateDatabaseSettings(c, 'nope', {}), 'NOT_FOUND');
  });

  it('the schema refuses settings that are not a JSON object', () => {
    const c = catalog();
    expect(() =>
      c.db.prepare("INSERT INTO databases VALUES ('x', 'file:///x', '2024-01-01T00:00:00Z', '[1]')").run(),
    ).toThrow(/CHECK/);
  });
});
