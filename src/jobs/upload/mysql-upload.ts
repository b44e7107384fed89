// An uploaded MySQL/MariaDB export: the SQL script of `arca export` or a
// `mariadb-dump`/`mysqldump` dump of ONE database. Valid when it starts like
// one of those, holds no NUL byte, and every statement that creates, drops,
// alters or switches a database (`USE`, `CREATE/DROP DATABASE`, `ALTER
// DATABASE <name>`) names the same one database and stands alone on its line,
// as `--databases NAME` writes them (mysql-script-scan.ts): those lines are
// neutralised in a copy beside the upload, which is loaded instead, so the
// load stays in the scratch database; a dump of several databases is refused.
// Restored like `arca restore`: the `mariadb` client (else `mysql`, from
// PATH) loads the script into a new scratch database on the same server,
// stopping at the first error; only when that succeeded is it swapped in by
// mysql-swap.ts (target dropped and re-created, all tables moved with one
// RENAME TABLE, views, routines, triggers and events re-created from the
// scratch database). A failure before the swap drops the scratch database
// and leaves the target as it was; one during it leaves the target empty,
// never partly restored. The client runs with --no-defaults, --binary-mode
// (no client commands such as \! or connect: the script is SQL only),
// --local-infile=0, and the password only in its environment (MYSQL_PWD).
import { basename } from 'node:path';
import { ArcaError, isArcaError } from '../../errors.js';
import { readCatalog, type MysqlCatalog } from '../../sources/mysql/mysql-catalog.js';
import { close, connect, killQueries, onAbort, query, quoteIdent, stepError, throwIfAborted, type MyConn } from '../../sources/mysql/mysql-connect.js';
import { dropAbandonedScratch, scratchName } from '../../sources/mysql/mysql-scratch.js';
import { cleanupRestore, objectCount, swapIntoTarget } from '../../sources/mysql/mysql-swap.js';
import { connectionOptions, databaseOf, normalizeMysqlUrl, redactUrl } from '../../sources/mysql/mysql-url.js';
import { findOnPath } from '../../common/find-on-path.js';
import { runTool } from './child-tool.js';
import { scanScript } from './mysql-script-scan.js';
import { writeLoadCopy } from './edited-copy.js';
import { readHead } from './sqlite-upload.js';

const HEAD_BYTES = 64 * 1024;
const ARCA_HEAD = /^-- MySQL\/MariaDB export of backup /;
/** mariadb-dump 10.11+ opens with a sandbox-mode comment; then `-- MariaDB dump 10.19 …` or mysqldump's `-- MySQL dump 10.13 …`. */
const DUMP_HEAD = /^(?:\/\*M?!\d+\\- enable the sandbox mode \*\/[ \t]*\r?\n)?-- (?:MySQL|MariaDB) dump \d/;

const NOT_A_DUMP =
  'the upload is not a MySQL/MariaDB export: expected the SQL script of arca export (GET …/backups/{id}/download) ' +
  'or a dump of one database made with mariadb-dump or mysqldump (it starts with "-- MariaDB dump" or "-- MySQL dump")';

/** An upload that passed validation, and the file the client loads: the upload itself, or its rewritten copy beside it. */
export interface MysqlUpload {
  format: 'mysql-sql';
  load: string;
}

/**
 * Proves the file is a MySQL/MariaDB dump of one database; does not touch any
 * database. When its database statements name that one database, writes the
 * copy without them beside the file (`<file>.arca-load`, the caller removes it).
 */
export async function validateMysqlExport(file: string): Promise<MysqlUpload> {
  const head = (await readHead(file, HEAD_BYTES)).toString('latin1');
  if (!ARCA_HEAD.test(head) && !DUMP_HEAD.test(head)) throw new ArcaError('USAGE', NOT_A_DUMP);
  const edits = await scanScript(file);
  return { format: 'mysql-sql', load: await writeLoadCopy(file, edits, 'its database statements') };
}

/** The client character set the script asks for (`SET NAMES x` in its header), utf8mb4 if none. */
export function scriptCharset(head: string): string {
  const m = /^(?:\/\*!\d+ )?SET NAMES ([A-Za-z0-9_]+)/m.exec(head);
  return m ? m[1]!.toLowerCase() : 'utf8mb4';
}

/** The mariadb client, else the mysql one, from PATH. */
export function mysqlClient(): string {
  for (const name of ['mariadb', 'mysql']) {
    const found = findOnPath(name);
    if (found !== null) return found;
  }
  throw new ArcaError('SOURCE', "loading an uploaded MySQL/MariaDB script needs the mariadb (or mysql) client on the Arca server's PATH: install it (e.g. apt install mariadb-client)");
}

/** Arguments and environment for the client loading into `database`; the password goes only into MYSQL_PWD. */
export function clientInvocation(client: string, url: string, database: string, charset: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const o = connectionOptions(url, null);
  // mariadb echoes the failing statement (maybe a long INSERT) before the error: only the error is wanted.
  const quiet = basename(client) === 'mariadb' ? ['--skip-print-query-on-error'] : [];
  const args = ['--no-defaults', ...quiet, '--batch', '--binary-mode', '--local-infile=0', `--default-character-set=${charset}`, '--max-allowed-packet=1G', `--user=${o.user ?? ''}`];
  if (o.socketPath) args.push(`--socket=${o.socketPath}`);
  else args.push('--protocol=TCP', `--host=${o.host ?? 'localhost'}`, `--port=${o.port ?? 3306}`);
  args.push(`--database=${database}`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MYSQL_PWD;
  if (o.password) env.MYSQL_PWD = o.password;
  return { args, env };
}

/** The target's default character set and collation (the scratch database starts with them), or '' when it does not exist. */
async function charsetOf(admin: MyConn, db: string): Promise<string> {
  const r = await query<Array<{ cs: string; co: string }>>(admin, 'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [db]);
  return r[0] ? ` CHARACTER SET ${r[0].cs} COLLATE ${r[0].co}` : '';
}

/** What the script created in the scratch database, as a catalog the swap can move. */
async function scratchCatalog(admin: MyConn, scratch: string): Promise<MysqlCatalog> {
  await query(admin, `USE ${quoteIdent(scratch)}`);
  try {
    return await readCatalog(admin, scratch);
  } catch (err) {
    if (isArcaError(err)) throw new ArcaError(err.code, `the uploaded script created something Arca cannot restore yet: ${err.message}`, { cause: err });
    throw stepError('reading what the uploaded script created', err);
  }
}

/** After an abort: ends the connections still using the scratch database (the killed client's statement may run on). */
async function killScratchSessions(url: string, scratch: string): Promise<void> {
  let conn: MyConn | undefined;
  try {
    conn = await connect(url, null);
    const ids = await query<Array<{ id: string | number }>>(conn, 'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [scratch]);
    for (const { id } of ids) await query(conn, `KILL CONNECTION ${Number(id)}`).catch(() => undefined);
  } catch {
    // best effort: the scratch database is dropped next, or by a later restore
  } finally {
    await close(conn);
  }
}

export async function restoreMysqlExport(url: string, file: string, signal?: AbortSignal, onRead?: (bytes: number) => void): Promise<{ target: string }> {
  throwIfAborted(signal, 'restore');
  const target = normalizeMysqlUrl(url);
  if (!target) throw new ArcaError('USAGE', `${redactUrl(url)} is not a mysql:// URL`);
  const dbName = databaseOf(target);
  const client = mysqlClient();
  const scratch = scratchName();
  const { args, env } = clientInvocation(client, target, scratch, scriptCharset((await readHead(file, HEAD_BYTES)).toString('latin1')));
  let admin: MyConn | undefined = await connect(target, null);
  let scratchCreated = false;
  let targetTouched = false;
  let existedBefore = false;
  let catalog: MysqlCatalog | undefined;
  let aborted = false;
  let unregister = () => undefined as void;
  try {
    unregister = onAbort(signal, 'restore', () => {
      aborted = true;
      void killQueries(target, [admin]);
    });
    await dropAbandonedScratch(admin);
    const count = await objectCount(admin, dbName);
    existedBefore = count !== null;
    await query(admin, `CREATE DATABASE ${quoteIdent(scratch)}${await charsetOf(admin, dbName)}`).catch((err: unknown) => {
      throw stepError('creating the scratch database', err);
    });
    scratchCreated = true;
    // The load may take hours: no idle connection is kept open meanwhile (wait_timeout).
    await close(admin);
    admin = undefined;
    const step = `loading the uploaded script (${basename(client)})`;
    await runTool(client, args, { env, stdinFile: file, ...(signal ? { signal } : {}), ...(onRead ? { onStdinRead: onRead } : {}), step });
    throwIfAborted(signal, 'restore');
    admin = await connect(target, null);
    catalog = await scratchCatalog(admin, scratch);
    // RENAME TABLE refuses to move a table with triggers to another database: they are re-created in the target.
    for (const t of catalog.triggers) await query(admin, `DROP TRIGGER ${quoteIdent(scratch)}.${quoteIdent(t.name)}`);
    throwIfAborted(signal, 'restore');
    targetTouched = true;
    await swapIntoTarget(admin, scratch, dbName, count, catalog);
    targetTouched = false;
    scratchCreated = false;
    return { target: redactUrl(target) };
  } catch (err) {
    if (scratchCreated && (aborted || signal?.aborted)) await killScratchSessions(target, scratch);
    await cleanupRestore(target, scratchCreated ? scratch : undefined, targetTouched ? dbName : undefined, existedBefore, catalog);
    if (aborted || signal?.aborted) throw new ArcaError('ABORTED', 'restore aborted', { cause: err });
    throw stepError('restoring the upload', err);
  } finally {
    unregister();
    await close(admin, aborted);
  }
}
