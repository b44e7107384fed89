// The swap that ends every MySQL/MariaDB restore (from a backup, or from an
// uploaded script loaded into a scratch database): MySQL has no RENAME
// DATABASE, so the target is created (or, holding objects, dropped and
// re-created; an existing empty one keeps its db-level grants), every table
// of the scratch database moves in with ONE atomic `RENAME TABLE`, the
// scratch database is dropped, and the views (retried until their
// dependencies exist), routines, triggers and events are created in the
// target, each under its recorded sql_mode and character set. `RENAME TABLE`
// across databases refuses tables with triggers: the scratch database must
// hold none when the swap starts. After a failure `cleanupRestore` drops the
// scratch database and whatever reached the target (re-created empty if it
// existed), so a restore never leaves partial data under the target's name.

import type { MysqlCatalog, SchemaObject } from './mysql-catalog.js';
import { close, connect, query, quoteIdent, quoteString, stepError, type MyConn } from './mysql-connect.js';

/** Number of tables, views, routines and events in `db`, or null when it does not exist. */
export async function objectCount(conn: MyConn, db: string): Promise<number | null> {
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

export function charsetClause(c: MysqlCatalog): string {
  return c.database.charset ? ` CHARACTER SET ${c.database.charset} COLLATE ${c.database.collation}` : '';
}

/**
 * Moves every table of `catalog` from `scratch` into `target` (which held
 * `existing` objects, null: did not exist), drops `scratch`, and creates the
 * catalog's views, routines, triggers and events in `target`. Leaves `admin`
 * using `target`. On failure the caller runs `cleanupRestore`.
 */
export async function swapIntoTarget(admin: MyConn, scratch: string, target: string, existing: number | null, catalog: MysqlCatalog): Promise<void> {
  try {
    if (existing === null) await query(admin, `CREATE DATABASE ${quoteIdent(target)}${charsetClause(catalog)}`);
    else if (existing > 0) {
      await query(admin, `DROP DATABASE ${quoteIdent(target)}`);
      await query(admin, `CREATE DATABASE ${quoteIdent(target)}${charsetClause(catalog)}`);
    } else if (catalog.database.charset) await query(admin, `ALTER DATABASE ${quoteIdent(target)}${charsetClause(catalog)}`);
    if (catalog.tables.length > 0) {
      const moves = catalog.tables.map((t) => `${quoteIdent(scratch)}.${quoteIdent(t.name)} TO ${quoteIdent(target)}.${quoteIdent(t.name)}`);
      await query(admin, `RENAME TABLE ${moves.join(', ')}`);
    }
    await query(admin, `DROP DATABASE ${quoteIdent(scratch)}`);
    await query(admin, `USE ${quoteIdent(target)}`);
  } catch (err) {
    throw stepError(`moving the restored tables into "${target}"`, err);
  }
  await createObjects(admin, catalog);
}

/** Drops the scratch database and, after a failed swap, the half-restored target (re-created empty if it existed). */
export async function cleanupRestore(url: string, scratch: string | undefined, target: string | undefined, existedBefore: boolean, catalog: MysqlCatalog | undefined): Promise<void> {
  let conn: MyConn | undefined;
  try {
    conn = await connect(url, null);
    if (scratch) await query(conn, `DROP DATABASE IF EXISTS ${quoteIdent(scratch)}`).catch(() => undefined);
    if (target) {
      await query(conn, `DROP DATABASE IF EXISTS ${quoteIdent(target)}`).catch(() => undefined);
      const charset = catalog ? charsetClause(catalog) : '';
      if (existedBefore) await query(conn, `CREATE DATABASE ${quoteIdent(target)}${charset}`).catch(() => undefined);
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
