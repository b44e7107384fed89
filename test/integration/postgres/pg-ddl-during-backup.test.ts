// The application changes a table's definition while a PostgreSQL backup
// runs (ALTER TABLE: an ACCESS EXCLUSIVE lock). The backup's coordinator
// holds every table's ACCESS SHARE lock, so the ALTER waits for the backup;
// any other session of the backup that asked for the same table's lock after
// it would queue behind it, and the three would wait for ever (PostgreSQL
// sees no deadlock: the coordinator waits for its own client, not a lock).
// A worker that finds its table so dumps it on the coordinator instead, and
// the backup completes; pg_dump (the schema) gives up after its lock wait
// and the backup fails saying why, so the application goes on.

import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { listBackups, runBackup, runRestore } from '../../../src/jobs/index.js';
import { SCHEMA_LOCK_WAIT_SECONDS } from '../../../src/sources/postgres/pg-tools.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createDb, describeDb, dropScratch, scratchName, sql, urlOf, until } from './pg-helpers.js';

const TABLES = `
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 40000) i;
CREATE TABLE later (id int PRIMARY KEY, note text);
INSERT INTO later SELECT i, 'note ' || i FROM generate_series(1, 100) i;
ANALYZE;
`;

const dirs: string[] = [];
afterAll(async () => {
  await dropScratch();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts `ALTER TABLE later ADD COLUMN …` on a session of its own; resolves when it ran. */
async function alterLater(db: string): Promise<{ done: Promise<void>; end: () => Promise<void> }> {
  const app = new pg.Client({ connectionString: urlOf(db), application_name: 'app' });
  await app.connect();
  const done = app.query('ALTER TABLE later ADD COLUMN added int').then(() => undefined);
  done.catch(() => undefined); // awaited by the test
  return { done, end: () => app.end() };
}

/**
 * A directory with a pg_dump that runs the real one `delay` seconds late and
 * then touches `<dir>/pg_dump-done` (and pg_restore), for ARCA_PG_BINDIR.
 */
function slowPgDump(delay: number): string {
  const bindir = mkdtempSync(path.join(tmpdir(), 'arca-pg-dump-'));
  dirs.push(bindir);
  const which = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
  const real = which('pg_dump');
  const script = [
    '#!/bin/sh',
    `if [ "$1" = "--version" ]; then exec ${real} --version; fi`,
    `sleep ${delay}`,
    `${real} "$@"`,
    'rc=$?',
    `touch ${path.join(bindir, 'pg_dump-done')}`,
    'exit $rc',
    '',
  ].join('\n');
  writeFileSync(path.join(bindir, 'pg_dump'), script);
  chmodSync(path.join(bindir, 'pg_dump'), 0o755);
  symlinkSync(which('pg_restore'), path.join(bindir, 'pg_restore'));
  return bindir;
}

/** Runs `body` with ARCA_PG_BINDIR set to `dir`. */
async function withBindir<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const saved = process.env.ARCA_PG_BINDIR;
  process.env.ARCA_PG_BINDIR = dir;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.ARCA_PG_BINDIR;
    else process.env.ARCA_PG_BINDIR = saved;
  }
}

async function appWaitsForLock(db: string): Promise<boolean> {
  const r = await sql('postgres', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'app' AND wait_event_type = 'Lock'", [db]);
  return r.rows[0].n > 0;
}


describe('a table altered while a PostgreSQL backup runs', () => {
  it('is dumped on the coordinator when its worker would queue behind the ALTER: the backup completes as of its snapshot', async () => {
    const db = await createDb({ text: TABLES });
    const url = urlOf(db);
    const before = await describeDb(url);
    const volume = await makeVolume(new MemoryBackend(), { packSize: 256 * 1024 });
    // One connection and a rate limit: `big` (about 5 MB, dumped first) takes some five seconds. Once
    // pg_dump is done (it would wait behind the ALTER too: the next test), the application alters
    // `later`, and its ALTER queues behind the coordinator's lock.
    const bindir = slowPgDump(0);
    const pgDumpDone = async () => existsSync(path.join(bindir, 'pg_dump-done'));
    let altering: Promise<Awaited<ReturnType<typeof alterLater>>> | undefined;
    let sawWait: Promise<boolean> | undefined;
    const backup = withBindir(bindir, () => runBackup({
      volume,
      database: { name: 'db', url },
      level: 0,
      expiresAt: null,
      jobs: 1,
      rateLimit: 1024 * 1024,
      onProgress: (e) => {
        if (e.bytesDone === 0 || altering) return;
        altering = until(pgDumpDone).then(() => alterLater(db));
        sawWait = altering.then(() => until(() => appWaitsForLock(db)));
      },
    }));
    try {
      const done = await backup;
      const alter = await altering!;
      try {
        await alter.done; // the ALTER ran once the backup let go of its locks
      } finally {
        await alter.end();
      }
      expect(await sawWait, 'the ALTER waited for the backup').toBe(true);
      const target = scratchName();
      await runRestore({ volume: await reopen(volume), backupId: done.id, to: urlOf(target), force: false });
      expect(await describeDb(urlOf(target))).toEqual(before); // without the column added later
    } finally {
      await altering?.then((a) => a.end()).catch(() => undefined);
    }
  });

  it('fails the backup when pg_dump cannot lock it, saying why, and the ALTER goes on', async () => {
    // A pg_dump that starts two seconds late: the ALTER is queued by then.
    const bindir = slowPgDump(2);
    const db = await createDb({ text: TABLES });
    const url = urlOf(db);
    const volume = await makeVolume(new MemoryBackend(), { packSize: 256 * 1024 });
    let alter: Awaited<ReturnType<typeof alterLater>> | undefined;
    try {
      const backup = withBindir(bindir, () => runBackup({ volume, database: { name: 'db', url }, level: 0, expiresAt: null, jobs: 1 }));
      backup.catch(() => undefined); // awaited below
      // Once the coordinator holds its locks (pg_dump still sleeps), the application alters a table.
      await until(async () => (await sql('postgres', "SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1 AND a.application_name = 'arca' AND l.mode = 'AccessShareLock' AND l.granted", [db])).rows[0].n > 0);
      alter = await alterLater(db);
      expect(await until(() => appWaitsForLock(db))).toBe(true);
      await expect(backup).rejects.toMatchObject({
        code: 'SOURCE',
        message: expect.stringContaining(`could not lock table public.later within ${SCHEMA_LOCK_WAIT_SECONDS} s: another session waits for an exclusive lock on it`),
      });
      await alter.done;
      expect(await listBackups(await reopen(volume))).toEqual([]);
    } finally {
      await alter?.end();
    }
  });
});
