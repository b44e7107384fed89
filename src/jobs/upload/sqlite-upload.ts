// An uploaded SQLite export (the database file itself): valid when it starts
// with the SQLite header and passes PRAGMA integrity_check; restored by
// copying it beside the registered file (temp name, fsync), retiring the old
// file (no other connection, no -wal/-journal left to replay) and renaming
// it into place, as `arca restore` does.
import { randomBytes } from 'node:crypto';
import { copyFile, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ArcaError, errorMessage } from '../../errors.js';
import { retireTarget } from '../../sources/sqlite/sqlite-restore.js';
import { sqlitePath } from '../../sources/sqlite/sqlite-url.js';

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export async function readHead(file: string, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function validateSqliteExport(file: string): Promise<string> {
  if (!(await readHead(file, HEADER.length)).equals(HEADER)) throw new ArcaError('USAGE', 'the upload is not a SQLite database file (no SQLite header)');
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new ArcaError('USAGE', `the uploaded SQLite file fails PRAGMA integrity_check: ${String(check).slice(0, 200)}`);
  } catch (err) {
    if (err instanceof ArcaError) throw err;
    throw new ArcaError('USAGE', `the uploaded SQLite file cannot be read: ${errorMessage(err)}`, { cause: err });
  } finally {
    db?.close();
  }
  return 'sqlite';
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function restoreSqliteExport(url: string, file: string, signal?: AbortSignal): Promise<{ target: string; bytes: number }> {
  const target = sqlitePath(url);
  const tmp = join(dirname(target), `.${basename(target)}.arca-upload-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await copyFile(file, tmp);
    await fsyncPath(tmp);
    if (signal?.aborted) throw new ArcaError('ABORTED', 'restore aborted');
    const exists = await stat(target).then(() => true, () => false);
    if (exists) await retireTarget(target);
    await rename(tmp, target);
    await fsyncPath(dirname(target));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { target, bytes: (await stat(target)).size };
}
