// The SQLite source: copies a consistent snapshot of the database into a
// private temp file (sqlite-snapshot.ts: the only step that touches the live
// database), checksums its tables, and streams the copy into the volume as
// one file. The tree holds one node, `database.sqlite`: a plain SQLite
// database file whose pages are those of the source, so unchanged pages are
// byte-identical from one backup to the next and dedup.

import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ArcaError, errorMessage } from '../../errors.js';
import { BlobType } from '../../repository/pack/pack-footer.js';
import { saveStream } from '../../repository/stream-saver.js';
import { encodeTree, type TreeNode } from '../../repository/tree.js';
import type { Source, SourceBackupContext, SourceBackupResult } from '../source.js';
import { copySnapshot, DEFAULT_LOCK_TIMEOUT_MS } from './sqlite-snapshot.js';
import { tableStats, type TableStat } from './sqlite-stats.js';
import { lockTimeoutOf, sqlitePath } from './sqlite-url.js';

export const DATABASE_NODE = 'database.sqlite';

export interface SqliteSourceOptions {
  /**
   * Rollback-journal databases only: the longest the backup may hold its read
   * lock (which stalls writers' commits), and wait for it; default: the
   * URL's `lock_timeout_ms`, else 2000 ms.
   */
  lockTimeoutMs?: number;
}

/** What a SQLite backup records in its manifest's `extra`. */
export interface SqliteExtra {
  sqlite: {
    sqliteVersion: string;
    journalMode: string;
    pageSize: number;
    pageCount: number;
    bytes: number;
    encoding: string;
    userVersion: number;
    applicationId: number;
    /** How long the backup held its snapshot (read lock) on the live database. */
    snapshotMs: number;
    tables: TableStat[];
  };
}

export class SqliteSource implements Source {
  readonly kind = 'sqlite';
  private readonly path: string;
  private readonly lockTimeoutMs: number;

  constructor(
    readonly url: string,
    opts: SqliteSourceOptions = {},
  ) {
    this.path = sqlitePath(url);
    this.lockTimeoutMs = opts.lockTimeoutMs ?? lockTimeoutOf(url) ?? DEFAULT_LOCK_TIMEOUT_MS;
  }

  async estimateBytes(): Promise<number | null> {
    return stat(this.path).then(
      (st) => st.size,
      () => null,
    );
  }

  async backup(ctx: SourceBackupContext): Promise<SourceBackupResult> {
    if (ctx.signal?.aborted) throw new ArcaError('ABORTED', 'backup aborted');
    const lockTimeoutMs = this.lockTimeoutMs;
    let mode: number;
    try {
      mode = (await stat(this.path)).mode & 0o7777;
    } catch (err) {
      throw new ArcaError('SOURCE', `cannot read SQLite database ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
    const dir = await mkdtemp(join(tmpdir(), 'arca-sqlite-'));
    try {
      const copy = join(dir, 'snapshot.db');
      const snap = await copySnapshot(this.path, copy, { lockTimeoutMs, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      const db = new Database(copy, { readonly: true, fileMustExist: true });
      let extra: SqliteExtra;
      try {
        const tables = await tableStats(db, ctx.signal);
        const num = (p: string) => Number(db.pragma(p, { simple: true }));
        extra = {
          sqlite: {
            sqliteVersion: String(db.prepare('SELECT sqlite_version() AS v').pluck().get()),
            journalMode: snap.journalMode,
            pageSize: snap.pageSize,
            pageCount: snap.pageCount,
            bytes: (await stat(copy)).size,
            encoding: String(db.pragma('encoding', { simple: true })),
            userVersion: num('user_version'),
            applicationId: num('application_id'),
            snapshotMs: Math.round(snap.heldMs),
            tables,
          },
        };
      } finally {
        db.close();
      }
      let bytesRead = 0;
      const signal = ctx.signal;
      const input = createReadStream(copy, { highWaterMark: 1 << 20 });
      const content = (async function* () {
        for await (const chunk of input as AsyncIterable<Buffer>) {
          if (signal?.aborted) throw new ArcaError('ABORTED', 'backup aborted');
          yield chunk;
        }
      })();
      let saved;
      try {
        saved = await saveStream(ctx.session, content, (n) => {
          bytesRead += n;
          ctx.onBytes(n);
        });
      } finally {
        input.destroy();
      }
      const node: TreeNode = { name: DATABASE_NODE, type: 'file', mode, size: saved.size, ...saved.fields };
      const root = (await ctx.session.putBlob(BlobType.tree, encodeTree([node]))).toString('hex');
      return { root, files: 1, bytesRead, extra: extra as unknown as Record<string, unknown> };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
