// Restore of a MySQL/MariaDB backup into the database a `mysql://` target
// URL names. MySQL has no RENAME DATABASE, so:
//   1. the tables are created (FOREIGN_KEY_CHECKS=0) in a scratch database
//      on the target server (mysql-scratch.ts; abandoned ones are dropped
//      first) and loaded there with LOAD DATA LOCAL INFILE on 2 connections
//      (UNIQUE_CHECKS=0, strict mode, any warning fails), each stream checked
//      against the SHA-256 and the row count recorded at backup time;
//   2. only when every table loaded and checked, the swap (mysql-swap.ts):
//      the target is created (or emptied with `force`), all tables move in
//      ONE atomic `RENAME TABLE`;
//   3. views (retried until their dependencies exist), routines, triggers and
//      events are created in the target, each under its recorded sql_mode.
// A failure in 1 drops the scratch database and leaves the target untouched;
// a failure in 2–3 drops the target (re-created empty if it existed), so a
// restore never leaves partial data under the target's name.
// A target holding tables, views, routines or events needs `force` (CONFLICT).

import { ArcaError, isArcaError } from '../../errors.js';
import type { BlobReader } from '../../repository/blob-reader.js';
import type { TreeNode } from '../../repository/tree.js';
import type { SourceRestoreContext, SourceRestoreResult } from '../source.js';
import type { MysqlExtra } from './mysql-backup.js';
import { CATALOG_NODE, TABLES_DIR, parseCatalog } from './mysql-catalog.js';
import { close, connect, killQueries, onAbort, query, quoteIdent, stepError, throwIfAborted, type MyConn } from './mysql-connect.js';
import { dropAbandonedScratch, scratchName } from './mysql-scratch.js';
import { charsetClause, cleanupRestore, objectCount, swapIntoTarget } from './mysql-swap.js';
import { loadTable } from './mysql-table-data.js';
import { runOnPool } from '../../common/run-on-pool.js';
import { databaseOf, hostOf, normalizeMysqlUrl, redactUrl } from './mysql-url.js';

const RESTORE_JOBS = 2;
/**
 * The scratch database is ours alone, so a wait for a metadata lock there is
 * a server-side deadlock: fail after 5 minutes (the server's default is a day).
 */
const RESTORE_LOCK_WAIT = 'SET SESSION lock_wait_timeout = 300';

const LOAD_SETTINGS = [
  "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
  "SET SESSION time_zone = '+00:00'",
  'SET SESSION foreign_key_checks = 0',
  'SET SESSION unique_checks = 0',
  'SET SESSION net_read_timeout = 3600',
  RESTORE_LOCK_WAIT,
];

async function readAll(reader: BlobReader, node: TreeNode): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of reader.readContent(node)) parts.push(c);
  return Buffer.concat(parts);
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
  const scratch = scratchName();
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
    await dropAbandonedScratch(admin);
    const count = await objectCount(admin, dbName);
    existedBefore = count !== null;
    if (count !== null && count > 0 && !ctx.force) {
      throw new ArcaError('CONFLICT', `database "${dbName}" on ${hostOf(target)} already holds ${count} object${count === 1 ? '' : 's'}; use --force to replace it`);
    }
    for (const s of ["SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'", "SET SESSION time_zone = '+00:00'", 'SET SESSION foreign_key_checks = 0', RESTORE_LOCK_WAIT]) {
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
        state.files++;
      },
      () => void killQueries(target, workers),
    );
    throwIfAborted(ctx.signal, 'restore');
    await Promise.all(workers.splice(0).map((w) => close(w)));
    // A bulk load may reserve auto-increment values past the source's counter:
    // set them back once every table is loaded, one table after the other.
    // Two such ALTERs at once on tables linked by a foreign key (Sakila's
    // store and staff) deadlocked in MariaDB 10.11, each waiting for the
    // other's metadata lock, with no deadlock error: the restore hung.
    for (const t of catalog.tables) {
      throwIfAborted(ctx.signal, 'restore');
      const counter = /\) ENGINE=\S+ AUTO_INCREMENT=(\d+)/.exec(t.createSql)?.[1];
      if (counter) {
        await query(admin, `ALTER TABLE ${quoteIdent(t.name)} AUTO_INCREMENT = ${counter}`).catch((err: unknown) => {
          throw stepError(`setting the auto-increment counter of ${t.name}`, err);
        });
      }
    }

    // The swap: from here on a failure drops what reached the target.
    targetTouched = true;
    await swapIntoTarget(admin, scratch, dbName, count, catalog);
    scratchCreated = false;
    state.files++;
    targetTouched = false;
    return { target: redactUrl(target), ...state };
  } catch (err) {
    await Promise.all(workers.splice(0).map((w) => close(w, true)));
    await cleanupRestore(target, scratchCreated ? scratch : undefined, targetTouched ? dbName : undefined, existedBefore, catalog);
    if ((aborted || ctx.signal?.aborted) && !isArcaError(err, 'CORRUPT')) throw new ArcaError('ABORTED', 'restore aborted', { cause: err });
    throw stepError('restore', err);
  } finally {
    unregister();
    await close(admin, aborted);
  }
}
