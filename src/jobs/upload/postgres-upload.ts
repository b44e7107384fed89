// An uploaded PostgreSQL export: Arca's plain SQL script (`arca export`, a
// `pg_dump` plain dump) or a `pg_dump -Fc` custom-format archive. Valid when
// a script starts like a PostgreSQL dump and holds no NUL byte, or when
// `pg_restore --list` reads the archive. Restored like `arca restore`: into
// a new scratch database on the same server (psql -v ON_ERROR_STOP=1 in one
// transaction, or pg_restore --exit-on-error --single-transaction), and
// only when that succeeded swapped in: DROP DATABASE <target> WITH (FORCE),
// ALTER DATABASE <scratch> RENAME TO <target>. A failure drops the scratch
// database and leaves the target as it was. The password travels only in
// the tools' environment.
import { join } from 'node:path';
import { open } from 'node:fs/promises';
import { ArcaError } from '../../errors.js';
import { closeClient, connect, quoteIdent, stepError } from '../../sources/postgres/pg-connect.js';
import { dropAbandonedScratch, scratchName } from '../../sources/postgres/pg-scratch.js';
import { childConnection, databaseOf, withDatabase } from '../../sources/postgres/pg-url.js';
import { runTool } from './child-tool.js';
import { readHead } from './sqlite-upload.js';

export type PgExportFormat = 'pg-sql' | 'pg-custom';

function pgTool(name: 'psql' | 'pg_restore'): string {
  const dir = process.env.ARCA_PG_BINDIR;
  return dir ? join(dir, name) : name;
}

async function hasNul(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return false;
      if (buf.subarray(0, bytesRead).includes(0)) return true;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

export async function validatePostgresExport(file: string): Promise<PgExportFormat> {
  const head = await readHead(file, 4096);
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') {
    await runTool(pgTool('pg_restore'), ['--list', file], { step: 'the uploaded archive is not a valid pg_dump custom-format file (pg_restore --list)', code: 'USAGE' });
    return 'pg-custom';
  }
  const text = head.toString('utf8');
  const looksLikeDump = /^--[^\n]*PostgreSQL (export|database dump)/m.test(text) && /^(--|SET |SELECT |CREATE |\s*$)/.test(text);
  if (!looksLikeDump) throw new ArcaError('USAGE', 'the upload is not a PostgreSQL export (expected the SQL script of arca export or pg_dump, or a pg_dump -Fc archive)');
  if (await hasNul(file)) throw new ArcaError('USAGE', 'the uploaded SQL script holds NUL bytes: it is not a text dump');
  return 'pg-sql';
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
      await runTool(pgTool('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-', dbnameArg], {
        env,
        stdinFile: file,
        ...(onRead ? { onStdinRead: onRead } : {}),
        ...(signal ? { signal } : {}),
        step: 'loading the uploaded script (psql)',
      });
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
