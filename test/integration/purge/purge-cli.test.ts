// End to end: `arca purge` and `arca purge rule …` through the built CLI
// against real PostgreSQL, MariaDB and a directory. Rules checked at add
// time; the dry run's count equals the real run's; the kept rows are exactly
// the expected ones after a completed, listed backup; a failing backup
// (missing pg_dump, wrong volume password) deletes nothing and exits 1; two
// purges at once: the second exits 1; `db list` shows maintenance while a
// purge waits on a lock the test holds; SIGINT stops between batches and the
// job is recorded as aborted; 20k rows in batches of 1000 take 20 batches;
// `purge settings --backup-expire` (shown, bad values refused with nothing
// changed) gives the backup before the purge its expiry, counted from the
// purge's start, by hand and from a purge schedule (never by default).
import { mkdirSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  describeRun,
  expectCleanFailure,
  findBackup,
  freshHome,
  listBackups,
  makeScratch,
  requireBuiltCli,
  runArca,
  spawnArca,
  type Home,
  type Scratch,
} from '../../helpers/index.js';
import { createDb, dropScratch, sql, urlOf } from '../postgres/pg-helpers.js';
import * as my from '../mysql/mysql-helpers.js';

let scratch: Scratch;
let home: Home;

beforeAll(async () => {
  requireBuiltCli();
  scratch = makeScratch('purge-cli');
  home = await freshHome(scratch.root);
});
afterAll(async () => {
  await dropScratch();
  await my.dropScratch();
  scratch?.cleanup();
});

const json = <T>(stdout: string): T => JSON.parse(stdout) as T;

interface PurgeJson {
  dryRun: boolean;
  backup: string | null;
  backupExpiresAt: string | null;
  startedAt: string;
  rows: number;
  files: number;
  bytes: number;
  batches: number;
  rules: Array<{ rule: number; table?: string; rows?: number; files?: number; bytes?: number; batches: number }>;
}

/** A PostgreSQL database `name` registered in the home, with `old` rows 200 days old and `young` rows 10 days old. */
async function pgApp(name: string, old: number, young = 10): Promise<string> {
  const db = await createDb({
    text: `CREATE TABLE events (id serial PRIMARY KEY, at timestamptz NOT NULL, level text, note text);
           INSERT INTO events (at, level, note) SELECT now() - interval '200 days', 'debug', 'x' FROM generate_series(1, ${old});
           INSERT INTO events (at, level, note) SELECT now() - interval '10 days', 'debug', 'x' FROM generate_series(1, ${young});`,
  });
  await arcaOk(['db', 'add', name, urlOf(db)], home.opts);
  await arcaOk(['purge', 'rule', 'add', name, '--table', 'events', '--column', 'at', '--older-than', '90d'], home.opts);
  return db;
}

const count = async (db: string, where = 'true') => (await sql(db, `SELECT count(*)::int AS n FROM events WHERE ${where}`)).rows[0].n as number;

function lastPurgeJob(): { status: string; error: string | null; figures: string } {
  const cat = new Database(join(home.opts.home, 'catalog.db'), { readonly: true });
  try {
    return cat.prepare("SELECT status, error, figures FROM jobs WHERE kind = 'purge' ORDER BY id DESC LIMIT 1").get() as { status: string; error: string | null; figures: string };
  } finally {
    cat.close();
  }
}

/** Holds a SHARE lock on `events` (reads and backups go on, deletes wait) until release(). */
async function holdShareLock(db: string): Promise<{ release: () => Promise<void> }> {
  const c = new pg.Client({ connectionString: urlOf(db) });
  await c.connect();
  await c.query('BEGIN');
  await c.query('LOCK TABLE events IN SHARE MODE');
  return {
    release: async () => {
      await c.query('COMMIT');
      await c.end();
    },
  };
}

/** Waits until a purge's DELETE on `db` is blocked on a lock. */
async function deleteBlocked(db: string): Promise<void> {
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    const r = await sql('postgres', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'arca purge' AND wait_event_type = 'Lock' AND query LIKE 'DELETE%'", [db]);
    if (r.rows[0].n > 0) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('the purge never reached a blocked DELETE');
}

describe('arca purge (PostgreSQL)', () => {
  it('deletes exactly what the rule names, after a listed backup; the dry run counts the same', async () => {
    const db = await createDb({
      text: `CREATE TABLE events (id int PRIMARY KEY, at timestamptz NOT NULL, level text, note text);
             INSERT INTO events SELECT i, now() - CASE WHEN i <= 60 THEN interval '200 days' ELSE interval '10 days' END,
                                       (ARRAY['debug', 'trace', 'error'])[i % 3 + 1], CASE WHEN i % 7 = 0 THEN 'keep' ELSE 'x' END
                                FROM generate_series(1, 100) i;`,
    });
    const expectedKept = (await sql(db, "SELECT id FROM events WHERE NOT (at < now() - interval '90 days' AND level IN ('debug', 'trace') AND note <> 'keep') ORDER BY id")).rows.map((r: { id: number }) => r.id);
    const expectedGone = 100 - expectedKept.length;
    expect(expectedGone).toBeGreaterThan(20);
    await arcaOk(['db', 'add', 'app', urlOf(db)], home.opts);

    const added = await arcaOk(['purge', 'rule', 'add', 'app', '--table', 'events', '--column', 'at', '--older-than', '12w 6d',
      '--match', 'level=debug,trace', '--where', "note <> 'keep'", '--json'], home.opts);
    expect(json<{ id: number; wouldDelete: { rows: number } }>(added.stdout)).toMatchObject({ kind: 'table', schema: 'public', wouldDelete: { rows: expectedGone } });
    const listed = json<Array<{ database: string; where: string }>>((await arcaOk(['purge', 'rule', 'list', 'app', '--json'], home.opts)).stdout);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ database: 'app', table: 'events', column: 'at', olderThan: '12w 6d', where: "note <> 'keep'" });

    const dry = json<PurgeJson>((await arcaOk(['purge', 'app', '--dry-run', '--json'], home.opts)).stdout);
    expect(dry).toMatchObject({ dryRun: true, backup: null, rows: expectedGone });
    expect(await count(db)).toBe(100);

    const real = json<PurgeJson>((await arcaOk(['purge', 'app', '--json', '--batch-size', '10'], home.opts)).stdout);
    expect(real.rows).toBe(dry.rows);
    expect(real.batches).toBe(Math.ceil(expectedGone / 10));
    expect(real.backup).toMatch(/^[0-9a-f]{32}$/);
    expect((await listBackups(home.opts, 'app')).map((b) => b.id)).toContain(real.backup);
    // No purgeBackupExpire set: that backup never expires.
    expect(real.backupExpiresAt).toBeNull();
    expect(findBackup(await listBackups(home.opts, 'app'), real.backup!).expiresAt).toBeNull();
    expect((await sql(db, 'SELECT id FROM events ORDER BY id')).rows.map((r: { id: number }) => r.id)).toEqual(expectedKept);
    const job = lastPurgeJob();
    expect(job.status).toBe('succeeded');
    expect(JSON.parse(job.figures)).toMatchObject({ backup: real.backup, rows: expectedGone });
  });

  it('a failing pre-purge backup leaves every row in place and exits 1', async () => {
    const db = await pgApp('app-fail', 30);
    const noPgDump = await runArca(['purge', 'app-fail'], { ...home.opts, env: { ARCA_PG_BINDIR: '/nonexistent/bin' } });
    expectCleanFailure(noPgDump, [1]);
    expect(noPgDump.stderr).toMatch(/the backup before the purge of app-fail failed, so nothing was deleted: .*pg_dump was not found/);
    expect(lastPurgeJob().status).toBe('failed');
    const wrongPassword = await runArca(['purge', 'app-fail'], { ...home.opts, env: { ARCA_PASSWORD: 'not the password' } });
    expectCleanFailure(wrongPassword, [1]);
    expect(wrongPassword.stderr).toMatch(/wrong password for volume main/);
    expect(await count(db)).toBe(40);
  });

  it('two purges at once: the second exits 1; db list shows maintenance meanwhile, ready after', async () => {
    const db = await pgApp('app-busy', 50);
    const lock = await holdShareLock(db);
    const first = spawnArca(['purge', 'app-busy', '--json'], home.opts);
    try {
      await deleteBlocked(db);
      const dbs = json<Array<{ name: string; state: string; maintenance: { kind: string } | null }>>((await arcaOk(['db', 'list', '--json'], home.opts)).stdout);
      expect(dbs.find((d) => d.name === 'app-busy')).toMatchObject({ state: 'maintenance', maintenance: { kind: 'purge' } });
      expect(dbs.find((d) => d.name === 'app')).toMatchObject({ state: 'ready' });
      const second = await runArca(['purge', 'app-busy'], home.opts);
      expectCleanFailure(second, [1]);
      expect(second.stderr).toMatch(/a purge of app-busy is already running since \d{4}-\d\d-\d\dT/);
    } finally {
      await lock.release();
    }
    const r = await first.done;
    expect(r.code, describeRun(r)).toBe(0);
    expect(json<PurgeJson>(r.stdout).rows).toBe(50);
    expect(await count(db)).toBe(10);
    const after = json<Array<{ name: string; state: string }>>((await arcaOk(['db', 'list', '--json'], home.opts)).stdout);
    expect(after.find((d) => d.name === 'app-busy')?.state).toBe('ready');
  });

  it('SIGINT stops between batches: the running batch commits, no other starts, the job is aborted', async () => {
    const db = await pgApp('app-abort', 3000);
    const lock = await holdShareLock(db);
    const run = spawnArca(['purge', 'app-abort', '--batch-size', '1000'], home.opts);
    try {
      await deleteBlocked(db);
      run.child.kill('SIGINT');
      await new Promise((res) => setTimeout(res, 1500)); // well inside the 10 s grace of the running batch
    } finally {
      await lock.release();
    }
    const r = await run.done;
    expect(r.code, describeRun(r)).toBe(130);
    expect(r.stderr).toMatch(/the purge of app-abort was aborted after deleting 1000 rows/);
    expect(await count(db)).toBe(2010);
    const job = lastPurgeJob();
    expect(job.status).toBe('aborted');
    expect(job.error).toMatch(/aborted after deleting 1000 rows/);
  });

  it('20k rows with --batch-size 1000 take 20 batches; backupBeforePurge off takes no backup', async () => {
    const db = await pgApp('app-big', 20_000);
    await arcaOk(['purge', 'settings', 'app-big', '--backup-before-purge', 'off'], home.opts);
    const settings = json<{ backupBeforePurge: boolean }>((await arcaOk(['purge', 'settings', 'app-big', '--json'], home.opts)).stdout);
    expect(settings.backupBeforePurge).toBe(false);
    const r = json<PurgeJson>((await arcaOk(['purge', 'app-big', '--batch-size', '1000', '--json'], home.opts)).stdout);
    expect(r).toMatchObject({ rows: 20_000, batches: 20, backup: null });
    expect(r.rules[0]).toMatchObject({ rows: 20_000, batches: 20 });
    expect(await count(db)).toBe(10);
    expect(await listBackups(home.opts, 'app-big')).toEqual([]);
  });

  it('purge settings --backup-expire is shown, refused when bad (exit 2, nothing changed), and expires the backup before the purge', async () => {
    const db = await pgApp('app-exp', 5);
    const settingsOf = async () => json<{ database: string; backupBeforePurge: boolean; purgeBackupExpire: string }>((await arcaOk(['purge', 'settings', 'app-exp', '--json'], home.opts)).stdout);
    expect(await settingsOf()).toEqual({ database: 'app-exp', backupBeforePurge: true, purgeBackupExpire: 'never' });
    expect((await arcaOk(['purge', 'settings', 'app-exp'], home.opts)).stdout.trim()).toBe('app-exp: backup before purge on; that backup never expires');

    for (const bad of ['2x', '-1d', '0m', '1.5d', 'forever', '']) {
      const r = await runArca(['purge', 'settings', 'app-exp', '--backup-before-purge', 'off', '--backup-expire', bad], home.opts);
      expectCleanFailure(r, [2]);
      expect(r.stderr, bad).toMatch(/--backup-expire.*invalid duration/);
    }
    expect(await settingsOf()).toEqual({ database: 'app-exp', backupBeforePurge: true, purgeBackupExpire: 'never' });

    const set = json<{ purgeBackupExpire: string }>((await arcaOk(['purge', 'settings', 'app-exp', '--backup-expire', '2w', '--json'], home.opts)).stdout);
    expect(set).toEqual({ database: 'app-exp', backupBeforePurge: true, purgeBackupExpire: '2w' });
    expect((await arcaOk(['purge', 'settings', 'app-exp'], home.opts)).stdout.trim()).toBe('app-exp: backup before purge on; that backup expires 2w after the purge starts');

    const real = json<PurgeJson>((await arcaOk(['purge', 'app-exp', '--json'], home.opts)).stdout);
    expect(real.rows).toBe(5);
    const taken = findBackup(await listBackups(home.opts, 'app-exp'), real.backup!);
    expect(taken.expiresAt).toBe(real.backupExpiresAt);
    expect(Date.parse(taken.expiresAt!) - Date.parse(real.startedAt)).toBe(14 * 86_400_000);
    expect(await count(db)).toBe(10);

    // The human report says when it expires; back to never, it says so.
    await sql(db, "INSERT INTO events (at, level, note) VALUES (now() - interval '200 days', 'debug', 'x')");
    const human = await arcaOk(['purge', 'app-exp'], home.opts);
    expect(human.stdout).toMatch(/deleted 1 row of app-exp in 1 batch, after backup [0-9a-f]{12} \([0-9a-f]{32}\), which expires at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m);
    expect(json<{ purgeBackupExpire: string }>((await arcaOk(['purge', 'settings', 'app-exp', '--backup-expire', 'Never', '--json'], home.opts)).stdout).purgeBackupExpire).toBe('never');
    await sql(db, "INSERT INTO events (at, level, note) VALUES (now() - interval '200 days', 'debug', 'x')");
    const never = await arcaOk(['purge', 'app-exp'], home.opts);
    expect(never.stdout).toMatch(/after backup [0-9a-f]{12} \([0-9a-f]{32}\), which never expires$/m);
    const listed = await listBackups(home.opts, 'app-exp');
    expect(listed).toHaveLength(3);
    expect(listed.filter((b) => b.expiresAt === null)).toHaveLength(1);
  });

  it("a purge schedule's backup expires as the database's purgeBackupExpire says, from the start of the purge", async () => {
    await pgApp('app-sched', 5);
    await arcaOk(['purge', 'settings', 'app-sched', '--backup-expire', '1w 3d'], home.opts);
    await arcaOk(['schedule', 'add', 'app-sched-purge', '--kind', 'purge', '--db', 'app-sched', '--cron', '0 3 * * *'], home.opts);
    await arcaOk(['schedule', 'run', 'app-sched-purge'], home.opts);
    const [job] = json<Array<{ schedule: string | null; status: string; startedAt: string; figures: { backup: string; backupExpiresAt: string | null } }>>(
      (await arcaOk(['jobs', '--kind', 'purge', '--db', 'app-sched', '--json'], home.opts)).stdout,
    );
    expect(job).toMatchObject({ schedule: 'app-sched-purge', status: 'succeeded' });
    const [taken, ...others] = await listBackups(home.opts, 'app-sched');
    expect(others).toEqual([]);
    expect(taken!.id).toBe(job!.figures.backup);
    expect(taken!.expiresAt).toBe(job!.figures.backupExpiresAt);
    // The purge started after its job and before its backup: 10 days after that moment.
    const from = Date.parse(taken!.expiresAt!) - 10 * 86_400_000;
    expect(from).toBeGreaterThanOrEqual(Date.parse(job!.startedAt));
    expect(from).toBeLessThanOrEqual(Date.parse(taken!.startedAt));
  });

  it('bad rules are refused with one clear line, and nothing is added', async () => {
    await pgApp('app-bad', 1);
    const cases: Array<[string[], number, RegExp]> = [
      [['--table', 'nope', '--column', 'at', '--older-than', '90d'], 2, /no table "nope" in database .*its tables: events/],
      [['--table', 'events', '--column', 'level', '--older-than', '90d'], 2, /column level of public\.events is text, not a date\/time type/],
      [['--table', 'events', '--column', 'at', '--older-than', '90x'], 2, /invalid duration "90x"/],
      [['--table', 'events', '--column', 'at', '--older-than', '90d', '--match', 'level'], 2, /use COLUMN=V1,V2/],
      [['--table', 'events', '--column', 'at', '--older-than', '90d', '--where', 'nope = 1'], 1, /column "nope" does not exist/],
      [['--glob', '*.log', '--older-than', '90d'], 2, /--glob is for files databases/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runArca(['purge', 'rule', 'add', 'app-bad', ...args], home.opts);
      expectCleanFailure(r, [code]);
      expect(r.stderr).toMatch(message);
    }
    await arcaOk(['db', 'add', 'app-down', 'postgres://postgres:s3cret@127.0.0.1:1/x'], home.opts);
    const down = await runArca(['purge', 'rule', 'add', 'app-down', '--table', 't', '--column', 'at', '--older-than', '1d'], home.opts);
    expectCleanFailure(down, [1]);
    expect(down.stderr).toMatch(/cannot reach the PostgreSQL server at 127\.0\.0\.1:1/);
    expect(down.stderr).not.toContain('s3cret');
    expect(json<unknown[]>((await arcaOk(['purge', 'rule', 'list', 'app-down', '--json'], home.opts)).stdout)).toEqual([]);
    const none = await runArca(['purge', 'app-down'], home.opts);
    expectCleanFailure(none, [1]);
    expect(none.stderr).toMatch(/app-down has no purge rules; add one with: arca purge rule add app-down/);
    const rules = json<Array<{ id: number }>>((await arcaOk(['purge', 'rule', 'list', 'app-bad', '--json'], home.opts)).stdout);
    expect(rules).toHaveLength(1);
    await arcaOk(['purge', 'rule', 'remove', 'app-bad', String(rules[0]!.id)], home.opts);
    const again = await runArca(['purge', 'rule', 'remove', 'app-bad', String(rules[0]!.id)], home.opts);
    expectCleanFailure(again, [1]);
    expect(again.stderr).toMatch(/database app-bad has no purge rule \d+/);
  });
});

describe('arca purge (MariaDB and a directory)', () => {
  it('MariaDB: the dry run counts what the real run deletes, after a backup', async () => {
    const db = await my.createDb({
      text: `CREATE TABLE sessions (id int AUTO_INCREMENT PRIMARY KEY, seen datetime, kind varchar(10));
             INSERT INTO sessions (seen, kind) SELECT UTC_TIMESTAMP() - INTERVAL 100 DAY, IF(seq % 2, 'guest', 'user') FROM seq_1_to_500;
             INSERT INTO sessions (seen, kind) SELECT UTC_TIMESTAMP() - INTERVAL 1 DAY, 'guest' FROM seq_1_to_20;`,
    });
    await arcaOk(['db', 'add', 'my', my.urlOf(db)], home.opts);
    await arcaOk(['purge', 'rule', 'add', 'my', '--table', 'sessions', '--column', 'seen', '--older-than', '30d', '--match', 'kind=guest'], home.opts);
    const dry = json<PurgeJson>((await arcaOk(['purge', 'my', '--dry-run', '--json'], home.opts)).stdout);
    const real = json<PurgeJson>((await arcaOk(['purge', 'my', '--json', '--batch-size', '100'], home.opts)).stdout);
    expect(dry.rows).toBe(250);
    expect(real).toMatchObject({ rows: 250, batches: 3 });
    expect((await listBackups(home.opts, 'my')).map((b) => b.id)).toContain(real.backup);
    expect(await my.sql(undefined, `SELECT kind, COUNT(*) AS n FROM ${db}.sessions GROUP BY kind ORDER BY kind`)).toEqual([
      { kind: 'guest', n: 20 },
      { kind: 'user', n: 250 },
    ]);
  });

  it('a directory: --glob rules report files and bytes, and delete only old matching files', async () => {
    const dir = scratch.path('site');
    mkdirSync(join(dir, 'logs', 'old'), { recursive: true });
    const old = Date.now() / 1000 - 100 * 86400;
    for (const [p, size, aged] of [['logs/a.log', 100, true], ['logs/old/b.log', 50, true], ['logs/new.log', 10, false], ['keep.log', 7, true]] as const) {
      writeFileSync(join(dir, p), 'x'.repeat(size));
      if (aged) utimesSync(join(dir, p), old, old);
    }
    await arcaOk(['db', 'add', 'site', dir], home.opts);
    await arcaOk(['purge', 'rule', 'add', 'site', '--glob', 'logs/**/*.log', '--older-than', '30d'], home.opts);
    const dry = json<PurgeJson>((await arcaOk(['purge', 'site', '--dry-run', '--json'], home.opts)).stdout);
    expect(dry.rules[0]).toMatchObject({ files: 2, bytes: 150 });
    const human = await arcaOk(['purge', 'site'], home.opts);
    expect(human.stdout).toMatch(/deleted 2 files \(150 B\) of site in 1 batch, after backup [0-9a-f]{12}/);
    expect(['logs/a.log', 'logs/old/b.log', 'logs/new.log', 'keep.log'].map((p) => existsSync(join(dir, p)))).toEqual([false, false, true, true]);
  });
});
