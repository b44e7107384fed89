// The catalog's schema history. Each migration has a number and is applied
// once, in order, and recorded in `schema_migrations`; a released migration is
// never edited, a change is a new migration appended at the end.
// Per-database settings (retention policy, backupBeforePurge) live in
// `databases.settings` (JSON), not in columns.
import type Database from 'better-sqlite3';
import { ArcaError } from '../errors.js';

export interface Migration {
  version: number;
  name: string;
  up: string | ((db: Database.Database) => void);
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'volumes-and-databases',
    up: `
      CREATE TABLE volumes (
        name       TEXT PRIMARY KEY,
        location   TEXT NOT NULL,
        volume_id  TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE databases (
        name       TEXT PRIMARY KEY,
        url        TEXT NOT NULL,
        created_at TEXT NOT NULL,
        settings   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings) AND json_type(settings) = 'object')
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'jobs-schedules-purge-rules',
    up: `
      -- Every backup, restore, prune, purge, check (and later copy, drill) run,
      -- while it runs (status 'running', progress and heartbeat updated by the
      -- process that owns it) and after (outcome, figures, error).
      CREATE TABLE jobs (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL,
        database        TEXT,
        volume          TEXT,
        schedule        TEXT,
        host            TEXT NOT NULL,
        pid             INTEGER NOT NULL,
        started_at      TEXT NOT NULL,
        heartbeat_at    TEXT NOT NULL,
        finished_at     TEXT,
        status          TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'aborted', 'skipped')),
        progress        TEXT CHECK (progress IS NULL OR json_valid(progress)),
        figures         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(figures)),
        error           TEXT,
        abort_requested INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX jobs_by_database ON jobs (database, started_at);
      CREATE INDEX jobs_running ON jobs (status) WHERE status = 'running';

      -- Cron schedules of backups, prunes, purges and checks.
      CREATE TABLE schedules (
        name        TEXT PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('backup', 'prune', 'purge', 'check')),
        database    TEXT,
        volume      TEXT,
        cron        TEXT NOT NULL,
        time_zone   TEXT NOT NULL DEFAULT 'UTC',
        options     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options) AND json_type(options) = 'object'),
        created_at  TEXT NOT NULL,
        last_run_at TEXT
      ) STRICT;

      -- Rules that delete old data from a database (purge).
      CREATE TABLE purge_rules (
        id          INTEGER PRIMARY KEY,
        database    TEXT NOT NULL REFERENCES databases (name) ON DELETE CASCADE,
        spec        TEXT NOT NULL CHECK (json_valid(spec) AND json_type(spec) = 'object'),
        created_at  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX purge_rules_by_database ON purge_rules (database);
    `,
  },
  {
    version: 3,
    name: 'users-and-tokens',
    up: `
      -- Who may use the server, and what they may do (see src/server/roles.ts).
      -- password_hash holds the algorithm, its parameters and the per-user salt:
      -- scrypt$<log2 N>$<r>$<p>$<salt base64>$<hash base64>.
      CREATE TABLE users (
        name          TEXT PRIMARY KEY,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL
      ) STRICT;

      -- API tokens: "arca_<id>_<secret>"; only the SHA-256 of the secret is kept.
      CREATE TABLE tokens (
        id           TEXT PRIMARY KEY,
        user         TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
        hash         TEXT NOT NULL,
        name         TEXT,
        created_at   TEXT NOT NULL,
        last_used_at TEXT
      ) STRICT;
      CREATE INDEX tokens_by_user ON tokens (user);
    `,
  },
  {
    version: 4,
    name: 'notifications',
    up: `
      -- Where job outcomes are sent: a webhook URL (JSON POST) or an email
      -- address (through the SMTP server in smtp), on failure or always.
      CREATE TABLE notifications (
        id         INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
        target     TEXT NOT NULL,
        smtp       TEXT,
        on_event   TEXT NOT NULL CHECK (on_event IN ('failure', 'always')),
        created_at TEXT NOT NULL
      ) STRICT;
    `,
  },
];

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`;

/** Checks a migration list is numbered 1, 2, 3, … without gaps (a bug otherwise). */
export function assertMigrationOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`catalog migration #${i} has version ${m.version}, expected ${i + 1}`);
    }
  });
}

function hasMigrationsTable(db: Database.Database): boolean {
  const row = db
    .prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  return (row?.n ?? 0) > 0;
}

/** The highest applied version, 0 for a fresh catalog. */
export function schemaVersion(db: Database.Database): number {
  if (!hasMigrationsTable(db)) return 0;
  const row = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations').get();
  return row?.v ?? 0;
}

export interface MigrateResult {
  from: number;
  to: number;
  applied: number[];
}

/**
 * Brings the catalog up to the newest schema. Safe to run from several
 * processes at once: the check is repeated inside an IMMEDIATE transaction
 * (one writer at a time; the others wait on busy_timeout, then find nothing
 * left to do). All pending migrations apply in one transaction: all or none.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
  now: () => Date = () => new Date(),
): MigrateResult {
  assertMigrationOrder(migrations);
  const latest = migrations.length;
  const tooNew = (v: number): ArcaError =>
    new ArcaError(
      'FORMAT',
      `the catalog has schema version ${v}, newer than this version of Arca knows (${latest}); upgrade Arca`,
    );

  // Fast path without a write lock: every CLI run opens the catalog.
  const seen = schemaVersion(db);
  if (seen > latest) throw tooNew(seen);
  if (seen === latest) return { from: seen, to: seen, applied: [] };

  const apply = db.transaction((): MigrateResult => {
    db.exec(CREATE_MIGRATIONS_TABLE);
    const from = schemaVersion(db);
    if (from > latest) throw tooNew(from);
    const record = db.prepare<[number, string, string]>(
      'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    );
    const applied: number[] = [];
    for (const m of migrations.slice(from)) {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      record.run(m.version, m.name, now().toISOString());
      applied.push(m.version);
    }
    return { from, to: latest, applied };
  });
  return apply.immediate();
}
