// Restore of a SQLite backup: the database file is written to a temp file in
// the target's directory, fsynced, verified (PRAGMA integrity_check, and the
// per-table row counts and checksums against the manifest), and only then
// renamed over the target; any failure removes the temp file, so the target
// is never half written. An existing target needs `force`; replacing it first
// makes sure no other connection uses it and that none of its -wal, -shm or
// -journal files can be replayed onto the new file (see README.md).

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { ArcaError, errorMessage } from '../../errors.js';
import type { SourceRestoreContext, SourceRestoreResult } from '../source.js';
import { DATABASE_NODE, type SqliteExtra } from './sqlite-backup.js';
import { tableStats } from './sqlite-stats.js';
import { restoreTargetPath } from './sqlite-url.js';

const SIDE_FILES = ['-wal', '-shm', '-journal'];

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function checkTarget(target: string, force: boolean): Promise<boolean> {
  const st = await lstat(target).catch(() => undefined);
  if (!st) return false;
  if (!st.isFile()) throw new ArcaError('CONFLICT', `restore target ${target} exists and is not a file`);
  if (!force) throw new ArcaError('CONFLICT', `restore target ${target} exists; use --force to restore over it`);
  return true;
}

/** Checks the restored file against what the backup recorded. */
async function verify(path: string, extra: SqliteExtra['sqlite'] | undefined, signal?: AbortSignal): Promise<void> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    let check: unknown;
    try {
      check = db.pragma('integrity_check', { simple: true });
    } catch (err) {
      throw new ArcaError('CORRUPT', `the restored database fails to open: ${errorMessage(err)}`, { cause: err });
    }
    if (check !== 'ok') throw new ArcaError('CORRUPT', `the restored database fails PRAGMA integrity_check: ${String(check)}`);
    if (!extra) return; // no checksums recorded
    const got = await tableStats(db, signal);
    const want = new Map(extra.tables.map((t) => [t.name, t]));
    const names = new Set([...got.map((t) => t.name), ...want.keys()]);
    for (const name of names) {
      const g = got.find((t) => t.name === name);
      const w = want.get(name);
      if (!g || !w || g.rows !== w.rows || g.sha256 !== w.sha256) {
        throw new ArcaError('CORRUPT', `restored table ${name} differs from the backup (${g ? `${g.rows} rows` : 'missing'}, expected ${w ? `${w.rows} rows` : 'none'} or a different checksum)`);
      }
    }
  } finally {
    db.close();
  }
}

/**
 * Makes an existing target safe to replace: no other connection may use it,
 * and no -wal/-journal of it may survive to be replayed onto the new file.
 */
export async function retireTarget(target: string): Promise<void> {
  let db: Database.Database | undefined;
  try {
    db = new Database(target, { fileMustExist: true, timeout: 0 });
    db.prepare('SELECT count(*) FROM main.sqlite_schema').get(); // rolls back a hot journal
    if (db.pragma('journal_mode', { simple: true }) === 'wal') {
      const r = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
      if (r[0]?.busy) throw new ArcaError('CONFLICT', `restore target ${target} is in use by another connection; stop it before restoring over it`);
    } else {
      db.exec('BEGIN EXCLUSIVE');
      db.exec('ROLLBACK');
    }
  } catch (err) {
    if (err instanceof ArcaError) throw err;
    const code = (err as { code?: string }).code;
    if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_LOCKED')) {
      throw new ArcaError('CONFLICT', `restore target ${target} is in use by another connection; stop it before restoring over it`, { cause: err });
    }
    if (code !== 'SQLITE_NOTADB') throw new ArcaError('CONFLICT', `cannot replace restore target ${target}: ${errorMessage(err)}`, { cause: err });
    // Not a SQLite database: nothing of it to replay; its side files (if any) are stale.
  } finally {
    db?.close(); // the last connection of a WAL database checkpoints and deletes its -wal
  }
  for (const suffix of SIDE_FILES) await rm(target + suffix, { force: true });
}

export async function restoreSqlite(ctx: SourceRestoreContext): Promise<SourceRestoreResult> {
  const target = restoreTargetPath(ctx.target);
  await checkTarget(target, ctx.force);
  const root = await ctx.reader.readTree(ctx.manifest.root);
  const node = root.nodes.find((n) => n.name === DATABASE_NODE && n.type === 'file');
  if (!node) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} holds no ${DATABASE_NODE}`);
  if (!(await exists(dirname(target)))) throw new ArcaError('USAGE', `the directory of restore target ${target} does not exist`);
  const tmp = join(dirname(target), `.${basename(target)}.arca-restore-${randomBytes(6).toString('hex')}.tmp`);
  let written = 0;
  try {
    const content = Readable.from(
      (async function* () {
        for await (const chunk of ctx.reader.readContent(node)) {
          if (ctx.signal?.aborted) throw new ArcaError('ABORTED', 'restore aborted');
          written += chunk.length;
          ctx.onBytes(chunk.length);
          yield chunk;
        }
      })(),
    );
    await pipeline(content, createWriteStream(tmp, { mode: 0o600 }));
    if (node.size !== undefined && written !== node.size) {
      throw new ArcaError('CORRUPT', `restored ${written} bytes of the database, the backup recorded ${node.size}`);
    }
    await fsyncPath(tmp);
    await verify(tmp, (ctx.manifest.extra as Partial<SqliteExtra>).sqlite, ctx.signal);
    await Promise.all(SIDE_FILES.map((s) => rm(tmp + s, { force: true })));
    if (node.mode !== undefined) await chmod(tmp, node.mode);
    if (await checkTarget(target, ctx.force)) await retireTarget(target);
    await rename(tmp, target);
    await fsyncPath(dirname(target));
  } catch (err) {
    await Promise.all(['', ...SIDE_FILES].map((s) => rm(tmp + s, { force: true })));
    throw err;
  }
  return { target, files: 1, bytesWritten: written };
}
