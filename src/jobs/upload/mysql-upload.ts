// An uploaded MySQL/MariaDB export: the SQL script of `arca export` or a
// `mariadb-dump`/`mysqldump` dump of ONE database. Valid when it starts like
// one of those, holds no NUL byte, and creates, drops or switches no
// database (no `USE`, `CREATE/DROP DATABASE`, `ALTER DATABASE <name>` at the
// start of a line: a dump made with --databases/--all-databases is refused,
// since the load happens in a scratch database). Restored like `arca
// restore`: the `mariadb` client (else `mysql`, from PATH) loads the script
// into a new scratch database on the same server, stopping at the first
// error; only when that succeeded is it swapped in by mysql-swap.ts (target
// dropped and re-created, all tables moved with one RENAME TABLE, views,
// routines, triggers and events re-created from the scratch database). A
// failure before the swap drops the scratch database and leaves the target
// as it was; one during it leaves the target empty, never partly restored.
// The client runs with --no-defaults, --binary-mode (no client commands such
// as \! or connect: the script is SQL only), --local-infile=0, and the
// password only in its environment (MYSQL_PWD).
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { ArcaError, isArcaError } from '../../errors.js';
import { readCatalog, type MysqlCatalog } from '../../sources/mysql/mysql-catalog.js';
import { close, connect, killQueries, onAbort, query, quoteIdent, stepError, throwIfAborted, type MyConn } from '../../sources/mysql/mysql-connect.js';
import { dropAbandonedScratch, scratchName } from '../../sources/mysql/mysql-scratch.js';
import { cleanupRestore, objectCount, swapIntoTarget } from '../../sources/mysql/mysql-swap.js';
import { connectionOptions, databaseOf, normalizeMysqlUrl, redactUrl } from '../../sources/mysql/mysql-url.js';
import { findOnPath } from '../../common/find-on-path.js';
import { runTool } from './child-tool.js';
import { readHead } from './sqlite-upload.js';

const HEAD_BYTES = 64 * 1024;
const ARCA_HEAD = /^-- MySQL\/MariaDB export of backup /;
/** mariadb-dump 10.11+ opens with a sandbox-mode comment; then `-- MariaDB dump 10.19 …` or mysqldump's `-- MySQL dump 10.13 …`. */
const DUMP_HEAD = /^(?:\/\*M?!\d+\\- enable the sandbox mode \*\/[ \t]*\r?\n)?-- (?:MySQL|MariaDB) dump \d/;
/** A statement that creates, drops, alters by name or switches a database, optionally inside a conditional comment. */
const DATABASE_STATEMENT = /^[ \t]*(?:\/\*M?!\d*[ \t]*)?(USE\b|(?:CREATE|DROP)\s+(?:DATABASE|SCHEMA)\b|ALTER\s+(?:DATABASE|SCHEMA)\s+(?!(?:DEFAULT|CHARACTER|CHARSET|COLLATE|COMMENT)\b))/i;
/** First bytes of a line worth testing against DATABASE_STATEMENT: space, tab, '/', a, A, c, C, d, D, u, U. */
const CANDIDATE_START = new Set([0x20, 0x09, 0x2f, 0x61, 0x41, 0x63, 0x43, 0x64, 0x44, 0x75, 0x55]);
const LINE_PREFIX = 96;

const NOT_A_DUMP =
  'the upload is not a MySQL/MariaDB export: expected the SQL script of arca export (GET …/backups/{id}/download) ' +
  'or a dump of one database made with mariadb-dump or mysqldump (it starts with "-- MariaDB dump" or "-- MySQL dump")';

/** Calls `onLine` with the first bytes (latin1) of every line that may start a database statement. */
class LineStarts {
  line = 1;
  private head = '';
  private done = false;

  constructor(private readonly onLine: (start: string, line: number) => void) {}

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.done && this.head === '' && pos < end && !CANDIDATE_START.has(chunk[pos]!)) this.done = true;
      if (!this.done) {
        this.head += chunk.toString('latin1', pos, Math.min(end, pos + LINE_PREFIX - this.head.length));
        if (nl >= 0 || this.head.length >= LINE_PREFIX) this.flush();
      }
      if (nl < 0) return;
      this.line++;
      this.head = '';
      this.done = false;
      pos = nl + 1;
    }
  }

  flush(): void {
    if (!this.done && this.head !== '') this.onLine(this.head, this.line);
    this.done = true;
  }
}

function refuseDatabaseStatement(start: string, line: number): void {
  const m = DATABASE_STATEMENT.exec(start);
  if (!m) return;
  const shown = start.replace(/[^\x20-\x7e]/g, '?').trim().slice(0, 60);
  throw new ArcaError(
    'USAGE',
    `the uploaded script ${m[1]!.toUpperCase().startsWith('USE') ? 'switches' : 'creates, drops or alters'} a database at line ${line} (${JSON.stringify(shown)}): ` +
      'an upload is loaded into a scratch database and swapped in, so it must be a dump of one database without USE or CREATE DATABASE. ' +
      'Dump it again without --databases/--all-databases (mariadb-dump --routines --events DBNAME > FILE) or remove those lines',
  );
}

/** Reads the whole file once: no NUL byte, no statement that leaves the database it is loaded into. */
async function scanScript(file: string): Promise<void> {
  const lines = new LineStarts(refuseDatabaseStatement);
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (chunk.includes(0)) throw new ArcaError('USAGE', 'the uploaded SQL script holds NUL bytes: it is not a text dump (binary values must be escaped, as mariadb-dump and arca export write them)');
      lines.push(chunk);
      pos += bytesRead;
    }
    lines.flush();
  } finally {
    await fh.close();
  }
}

/** Proves the file is a MySQL/MariaDB dump of one database; does not touch any database. */
export async function validateMysqlExport(file: string): Promise<'mysql-sql'> {
  const head = (await readHead(file, HEAD_BYTES)).toString('latin1');
  if (!ARCA_HEAD.test(head) && !DUMP_HEAD.test(head)) throw new ArcaError('USAGE', NOT_A_DUMP);
  await scanScript(file);
  return 'mysql-sql';
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
