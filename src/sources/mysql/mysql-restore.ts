// Restore of a MySQL/MariaDB backup into the database a `mysql://` target
// URL names. MySQL has no RENAME DATABASE, so:
//   1. the tables are created (FOREIGN_KEY_CHECKS=0) in a scratch database
//      `arca_restore_<random>` on the target server and loaded there with
//      LOAD DATA LOCAL INFILE on 2 connections (UNIQUE_CHECKS=0, strict mode,
//      any warning fails), each stream checked against the SHA-256 and the
//      row count recorded at backup time;
//   2. only when every table loaded and checked: the target is created (or
//      emptied with `force`), all tables move in ONE atomic `RENAME TABLE`;
//   3. views (retried until their dependencies exist), routines, triggers and
//      events are created in the target, each under its recorded sql_mode.
// A failure in 1 drops the scratch database and leaves the target untouched;
// a failure in 2–3 drops the target (re-created empty if it existed), so a
// restore never leaves partial data under the target's name.
// A target holding tables, views, routines or events needs `force` (CONFLICT).

import { randomBytes } from 'node:crypto';
import { ArcaError, isArcaError } from '../../errors.js';
import type { BlobReader } from '../../repository/blob-reader.js';
import type { TreeNode } from '../../repository/tree.js';
import type { SourceRestoreContext, SourceRestoreResult } from '../source.js';
import type { MysqlExtra } from './mysql-backup.js';
import { CATALOG_NODE, TABLES_DIR, parseCatalog, type MysqlCatalog, type SchemaObject } from './mysql-catalog.js';
import { close, connect, killQueries, onAbort, query, quoteIdent, quoteString, stepError, throwIfAborted, type MyConn } from './mysql-connect.js';
import { loadTable } from './mysql-table-data.js';
import { runOnPool } from '../../common/run-on-pool.js';
import { databaseOf, hostOf, normalizeMysqlUrl, redactUrl } from './mysql-url.js';

const RESTORE_JOBS = 2;
const LOAD_SETTINGS = [
  "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
  "SET SESSION time_zone = '+00:00'",
  'SET SESSION foreign_key_checks = 0',
  'SET SESSION unique_checks = 0',
  'SET SESSION net_read_timeout = 3600',
];

async function readAll(reader: BlobReader, node: TreeNode): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of reader.readContent(node)) parts.push(c);
  return Buffer.concat(parts);
}

/** Number of tables, views, routines and events in `db`, or null when it does not exist. */
async function objectCount(conn: MyConn, db: string): Promise<number | null> {
  const exists = await query<unknown[]>(conn, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [db]);
  if (exists.length === 0) return null;
  const r = await query<Array<{ n: string }>>(
    conn,
    `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?) AS n`,
    [db, db, db],
  );
  return Number(r[0]!.n);
}

function charsetClause(c: MysqlCatalog): string {
  return c.database.charset ? ` CHARACTER SET ${c.database.charset} COLLATE ${c.database.collation}` : '';
}

export async function restoreMysql(ctx: SourceRestoreContext): Promise<SourceRestoreResult> {
  throwIfAborted(ctx.signal, 'restore');
  const target = normalizeMysqlUrl(ctx.target);
  if (!target) throw new ArcaError('USAGE', `restore target ${redactUrl(ctx.target)} is not a mysql:// URL`);
  const dbName = databaseOf(target);
  const root = (await ctx.reader.readTree(ctx.manifest.root)).nodes;
  const catalogNode = root.find((n) => n.name === CATALOG_NODE);
  const tablesDir = root.find((n) => n.name === TABLES_DIR);
  if (!catalogNode || !tablesDir?.subtree) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} is not a MySQL backup (missing ${CATALOG_NODE} or ${TABLES_DIR}/)`);
  const catalog = parseCatalog(await readAll(ctx.reader, catalogNode));
  const tableNodes = (await ctx.reader.readTree(tablesDir.subtree)).nodes;
  const recorded = (ctx.manifest.extra as Partial<MysqlExtra>).mysql;
  const expected = new Map((recorded?.tables ?? []).map((s) => [s.name, s] as const));

  const admin = await connect(target, null);
  const scratch = `arca_restore_${randomBytes(8).toString('hex')}`;
  const workers: MyConn[] = [];
  let scratchCreated = false;
  let targetTouched = false;
  let existedBefore = false;
  let aborted = false;
  let unregister = () => undefined as void;
  const state = { files: 0, bytesWritten: 0 };
  const onBytes = (n: number) => {
    state.bytesWritten += n;
    ctx.onBytes(n);
  };
  try {
    unregister = onAbort(ctx.signal, 'restore', () => {
      aborted = true;
      void killQueries(target, [admin, ...workers]).finally(() => workers.forEach((w) => w.destroy()));
    });
    const count = await objectCount(admin, dbName);
    existedBefore = count !== null;
    if (count !== null && count > 0 && !ctx.force) {
      throw new ArcaError('CONFLICT', `database "${dbName}" on ${hostOf(target)} already holds ${count} object${count === 1 ? '' : 's'}; use --force to replace it`);
    }
    for (const s of ["SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'", "SET SESSION time_zone = '+00:00'", 'SET SESSION foreign_key_checks = 0']) {
      await query(admin, s);
    }
    await query(admin, `CREATE DATABASE ${quoteIdent(scratch)}${charsetClause(catalog)}`).catch((err: unknown) => {
      throw stepError('creating the scratch database', err);
    });
    scratchCreated = true;
    await query(admin, `USE ${quoteIdent(scratch)}`);
    for (const t of catalog.tables) {
      await query(admin, t.createSql).catch((err: unknown) => {
        throw stepError(`creating table ${t.name}`, err);
      });
    }
    state.files++;
    throwIfAborted(ctx.signal, 'restore');

    for (let i = 0; i < Math.min(RESTORE_JOBS, Math.max(1, catalog.tables.length)); i++) {
      const w = await connect(target, scratch);
      workers.push(w);
      for (const s of LOAD_SETTINGS) await query(w, s);
    }
    const work = [...catalog.tables]
      .sort((a, b) => b.estimatedBytes - a.estimatedBytes)
      .map((table) => {
        const node = tableNodes.find((n) => n.name === table.node);
        if (!node) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} lacks the data of table ${table.name}`);
        return { table, node };
      });
    await runOnPool(
      workers,
      work,
      async (conn, job) => {
        throwIfAborted(ctx.signal, 'restore');
        await loadTable(conn, scratch, job.table, ctx.reader, job.node, expected.get(job.table.name), onBytes);
        // A bulk load may reserve auto-increment values past the source's counter: set it back.
        const counter = /\) ENGINE=\S+ AUTO_INCREMENT=(\d+)/.exec(job.table.createSql)?.[1];
        if (counter) await query(conn, `ALTER TABLE ${quoteIdent(job.table.name)} AUTO_INCREMENT = ${counter}`);
        state.files++;
      },
      () => void killQueries(target, workers),
    );
    throwIfAborted(ctx.signal, 'restore');
    await Promise.all(workers.splice(0).map((w) => close(w)));

    // The swap: from here on a failure drops what reached the target.
    targetTouched = true;
    try {
      if (count === null) await query(admin, `CREATE DATABASE ${quoteIdent(dbName)}${charsetClause(catalog)}`);
      else if (count > 0) {
        await query(admin, `DROP DATABASE ${quoteIdent(dbName)}`);
        await query(admin, `CREATE DATABASE ${quoteIdent(dbName)}${charsetClause(catalog)}`);
      } else if (catalog.database.charset) await query(admin, `ALTER DATABASE ${quoteIdent(dbName)}${charsetClause(catalog)}`);
      if (catalog.tables.length > 0) {
        const moves = catalog.tables.map((t) => `${quoteIdent(scratch)}.${quoteIdent(t.name)} TO ${quoteIdent(dbName)}.${quoteIdent(t.name)}`);
        await query(admin, `RENAME TABLE ${moves.join(', ')}`);
      }
      await query(admin, `DROP DATABASE ${quoteIdent(scratch)}`);
      scratchCreated = false;
      await query(admin, `USE ${quoteIdent(dbName)}`);
    } catch (err) {
      throw stepError(`moving the restored tables into "${dbName}"`, err);
    }
    await createObjects(admin, catalog);
    state.files++;
    targetTouched = false;
    return { target: redactUrl(target), ...state };
  } catch (err) {
    await Promise.all(workers.splice(0).map((w) => close(w, true)));
    await cleanup(target, scratchCreated ? scratch : undefined, targetTouched ? dbName : undefined, existedBefore, catalog);
    if ((aborted || ctx.signal?.aborted) && !isArcaError(err, 'CORRUPT')) throw new ArcaError('ABORTED', 'restore aborted', { cause: err });
    throw stepError('restore', err);
  } finally {
    unregister();
    await close(admin, aborted);
  }
}

/** Drops the scratch database and, after a failed swap, the half-restored target (re-created empty if it existed). */
async function cleanup(url: string, scratch: string | undefined, target: string | undefined, existedBefore: boolean, catalog: MysqlCatalog): Promise<void> {
  let conn: MyConn | undefined;
  try {
    conn = await connect(url, null);
    if (scratch) await query(conn, `DROP DATABASE IF EXISTS ${quoteIdent(scratch)}`).catch(() => undefined);
    if (target) {
      await query(conn, `DROP DATABASE IF EXISTS ${quoteIdent(target)}`).catch(() => undefined);
      if (existedBefore) await query(conn, `CREATE DATABASE ${quoteIdent(target)}${charsetClause(catalog)}`).catch(() => undefined);
    }
  } catch {
    // best effort: the error that brought us here is the one to report
  } finally {
    await close(conn);
  }
}

/** Sets the session an object was created under (we always send UTF-8 text). */
async function objectSession(conn: MyConn, o: SchemaObject, timeZone?: string): Promise<void> {
  await query(conn, 'SET NAMES utf8mb4');
  if (/^utf8(mb3|mb4)?$/i.test(o.charset)) await query(conn, `SET SESSION character_set_client = ${o.charset}`);
  if (o.collation) await query(conn, `SET SESSION collation_connection = ${quoteString(o.collation)}`).catch(() => undefined);
  await query(conn, `SET SESSION sql_mode = ${quoteString(o.sqlMode)}`);
  if (timeZone) await query(conn, `SET SESSION time_zone = ${quoteString(timeZone)}`);
}

/** Views (in dependency order, by retrying), routines, triggers, events. */
async function createObjects(conn: MyConn, catalog: MysqlCatalog): Promise<void> {
  let todo = catalog.views;
  while (todo.length > 0) {
    const failed: SchemaObject[] = [];
    let lastError: unknown;
    for (const v of todo) {
      try {
        await objectSession(conn, v);
        await query(conn, v.createSql);
      } catch (err) {
        failed.push(v);
        lastError = err;
      }
    }
    if (failed.length === todo.length) throw stepError(`creating view ${failed[0]!.name}`, lastError);
    todo = failed;
  }
  const steps: Array<[string, SchemaObject[]]> = [
    ['routine', catalog.routines],
    ['trigger', catalog.triggers],
    ['event', catalog.events],
  ];
  for (const [kind, list] of steps) {
    for (const o of list) {
      try {
        await objectSession(conn, o, kind === 'event' ? o.detail : undefined);
        await query(conn, o.createSql);
      } catch (err) {
        throw stepError(`creating ${kind} ${o.name}`, err);
      }
    }
  }
  await query(conn, "SET SESSION time_zone = '+00:00'");
}
