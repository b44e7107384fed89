// An uploaded PostgreSQL export: Arca's plain SQL script (`arca export`, a
// `pg_dump` plain dump) or a `pg_dump -Fc` custom-format archive. Valid when
// a script starts like a PostgreSQL dump and holds no NUL byte, or when
// `pg_restore --list` reads the archive. A script is loaded by a restricted
// psql (`\restrict`): SQL only, no meta-command such as `\!` (a shell on the
// Arca server) or `\connect` (pg-script-scan.ts). Restored like `arca restore`: into
// a new scratch database on the same server (psql -v ON_ERROR_STOP=1 in one
// transaction, or pg_restore --exit-on-error --single-transaction), and
// only when that succeeded swapped in: DROP DATABASE <target> WITH (FORCE),
// ALTER DATABASE <scratch> RENAME TO <target>. A failure drops the scratch
// database and leaves the target as it was. The password travels only in
// the tools' environment.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ArcaError, isArcaError } from '../../errors.js';
import { closeClient, connect, quoteIdent, stepError } from '../../sources/postgres/pg-connect.js';
import { dropAbandonedScratch, scratchName } from '../../sources/postgres/pg-scratch.js';
import { childConnection, databaseOf, withDatabase } from '../../sources/postgres/pg-url.js';
import { runTool } from './child-tool.js';
import { writeLoadCopy } from './edited-copy.js';
import { scanPgScript } from './pg-script-scan.js';
import { readHead } from './sqlite-upload.js';

export type PgExportFormat = 'pg-sql' | 'pg-custom';

function pgTool(name: 'psql' | 'pg_restore'): string {
  const dir = process.env.ARCA_PG_BINDIR;
  return dir ? join(dir, name) : name;
}

/** A valid upload's format, and the file to load: the upload, or its copy without pg_dump's \restrict lines (pg-script-scan.ts). */
export async function validatePostgresExport(file: string): Promise<{ format: PgExportFormat; load: string }> {
  const head = await readHead(file, 4096);
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') {
    await runTool(pgTool('pg_restore'), ['--list', file], { step: 'the uploaded archive is not a valid pg_dump custom-format file (pg_restore --list)', code: 'USAGE' });
    return { format: 'pg-custom', load: file };
  }
  const text = head.toString('utf8');
  const looksLikeDump = /^--[^\n]*PostgreSQL (export|database dump)/m.test(text) && /^(--|SET |SELECT |CREATE |\s*$)/.test(text);
  if (!looksLikeDump) throw new ArcaError('USAGE', 'the upload is not a PostgreSQL export (expected the SQL script of arca export or pg_dump, or a pg_dump -Fc archive)');
  const edits = await scanPgScript(file);
  return { format: 'pg-sql', load: await writeLoadCopy(file, edits, "pg_dump's \\restrict lines") };
}

/** psql's refusal of a meta-command in a restricted load, as a message a user can act on; null for any other failure. */
function metaCommandRefusal(err: unknown): ArcaError | null {
  if (!isArcaError(err)) return null;
  if (/invalid command \\restrict\b/.test(err.message)) {
    return new ArcaError(
      'SOURCE',
      "loading an uploaded script needs a psql that can restrict it to SQL (\\restrict: psql 15.14, 16.10, 17.6 or newer): upgrade the PostgreSQL client on the Arca server",
      { cause: err },
    );
  }
  const m = /psql:<stdin>:(\d+): error: (backslash commands are restricted|\\unrestrict: wrong key)/.exec(err.message);
  if (!m) return null;
  return new ArcaError(
    'USAGE',
    `the uploaded script holds a psql command on line ${m[1]}: an upload is loaded as SQL only, so psql commands (\\!, \\connect, \\copy, \\i, \\o, \\set …) ` +
      'are refused; remove them from the script, or upload a pg_dump -Fc archive',
    { cause: err },
  );
}

export async function restorePostgresExport(
  url: string,
  file: string,
  format: PgExportFormat,
  signal?: AbortSignal,
  onRead?: (bytes: number) => void,
): Promise<{ target: string }> {
  const dbName = databaseOf(url);
  const admin = await connect(withDatabase(url, 'postgres'));
  const scratch = scratchName();
  let created = false;
  try {
    await dropAbandonedScratch(admin);
    const existing = (
      await admin.query<{ encoding: string; collate: string; ctype: string }>(
        'SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype FROM pg_database WHERE datname = $1',
        [dbName],
      )
    ).rows[0];
    const base = `CREATE DATABASE ${quoteIdent(scratch)} TEMPLATE template0 ENCODING ${admin.escapeLiteral(existing?.encoding ?? 'UTF8')}`;
    try {
      await admin.query(existing ? `${base} LC_COLLATE ${admin.escapeLiteral(existing.collate)} LC_CTYPE ${admin.escapeLiteral(existing.ctype)}` : base);
    } catch {
      try {
        await admin.query(base);
      } catch (err) {
        throw stepError('creating the scratch database', err);
      }
    }
    created = true;
    const { dbnameArg, env } = childConnection(withDatabase(url, scratch));
    if (format === 'pg-sql') {
      // The script on stdin (-f -: --single-transaction is documented with -f), so its progress can be followed (child-tool.ts).
      // Restricted first (a file of one line, before the script): SQL only, no meta-command the script's
      // author did not get our key for. The key is read from a private file, never from psql's argv.
      const restrictFile = `${file}.arca-restrict`;
      await writeFile(restrictFile, `\\restrict ${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
      try {
        await runTool(pgTool('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', restrictFile, '-f', '-', dbnameArg], {
          env,
          stdinFile: file,
          ...(onRead ? { onStdinRead: onRead } : {}),
          ...(signal ? { signal } : {}),
          step: 'loading the uploaded script (psql)',
        });
      } catch (err) {
        throw metaCommandRefusal(err) ?? err;
      } finally {
        await rm(restrictFile, { force: true });
      }
    } else {
      // The archive on stdin too (pg_restore reads stdin when given no file; a file there is seekable,
      // so it can still jump to data blocks), so its progress can be followed.
      await runTool(pgTool('pg_restore'), ['--exit-on-error', '--single-transaction', '--no-owner', dbnameArg], {
        env,
        stdinFile: file,
        ...(onRead ? { onStdinRead: onRead } : {}),
        ...(signal ? { signal } : {}),
        step: 'loading the uploaded archive (pg_restore)',
      });
    }
    if (signal?.aborted) throw new ArcaError('ABORTED', 'restore aborted');
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`);
      await admin.query(`ALTER DATABASE ${quoteIdent(scratch)} RENAME TO ${quoteIdent(dbName)}`);
    } catch (err) {
      throw stepError('swapping the restored database in', err);
    }
    created = false;
    return { target: dbName };
  } finally {
    if (created) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch(() => undefined);
    await closeClient(admin);
  }
}
