// The MySQL/MariaDB source: one consistent backup from one InnoDB snapshot.
// A single connection runs `START TRANSACTION WITH CONSISTENT SNAPSHOT`
// (REPEATABLE READ, READ ONLY), reads the schema with SHOW CREATE inside that
// transaction, then dumps the tables one after the other in key order (a
// second connection cannot join an InnoDB snapshot, so tables are sequential;
// see README.md). Tree:
//   catalog.json        tables (CREATE, columns, order), views, triggers, routines, events
//   tables/<t>.tsv      rows in LOAD DATA text format, one per line
// `extra.mysql` records per table rows, bytes and the SHA-256 of its stream.

import { ArcaError } from '../../errors.js';
import { BlobType } from '../../repository/pack/pack-footer.js';
import { saveStream } from '../../repository/stream-saver.js';
import { encodeTree, type TreeNode } from '../../repository/tree.js';
import type { Source, SourceBackupContext, SourceBackupResult } from '../source.js';
import { CATALOG_NODE, TABLES_DIR, readCatalog } from './mysql-catalog.js';
import { close, connect, killQueries, onAbort, query, stepError, throwIfAborted, type MyConn } from './mysql-connect.js';
import { dumpTable, type TableStats } from './mysql-table-data.js';
import { databaseOf, lockWaitSecondsOf } from './mysql-url.js';

/** What a MySQL backup records in its manifest's `extra`. */
export interface MysqlExtra {
  mysql: {
    serverVersion: string;
    tables: TableStats[];
    views: number;
    triggers: number;
    routines: number;
    events: number;
    /** Tables whose engine has no snapshot (MyISAM, Aria…): read in the same pass, but not isolated from writers. */
    nonTransactional: string[];
  };
}

const TRANSACTIONAL = new Set(['InnoDB', 'XtraDB', 'RocksDB', 'TokuDB']);

/** Session settings that make SHOW CREATE and the row text stable (dedup) and exact. */
export const STABLE_SETTINGS = [
  "SET SESSION sql_mode = ''",
  "SET SESSION time_zone = '+00:00'",
  'SET SESSION sql_quote_show_create = 1',
  'SET SESSION net_write_timeout = 3600',
  'SET SESSION net_read_timeout = 3600',
];

export class MysqlSource implements Source {
  readonly kind = 'mysql';

  constructor(readonly url: string) {}

  async estimateBytes(signal?: AbortSignal): Promise<number | null> {
    throwIfAborted(signal, 'backup');
    const conn = await connect(this.url);
    try {
      const r = await query<Array<{ n: string | null }>>(
        conn,
        'SELECT SUM(DATA_LENGTH) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = ?',
        [databaseOf(this.url), 'BASE TABLE'],
      );
      return Number(r[0]?.n ?? 0);
    } catch {
      return null;
    } finally {
      await close(conn);
    }
  }

  async backup(ctx: SourceBackupContext): Promise<SourceBackupResult> {
    throwIfAborted(ctx.signal, 'backup');
    let bytesRead = 0;
    const onBytes = (n: number) => {
      bytesRead += n;
      ctx.onBytes(n);
    };
    const db = databaseOf(this.url);
    const conn: MyConn = await connect(this.url);
    let aborted = false;
    let unregister = () => undefined as void;
    try {
      unregister = onAbort(ctx.signal, 'backup', () => {
        aborted = true;
        void killQueries(this.url, [conn]).finally(() => conn.destroy());
      });
      try {
        for (const s of STABLE_SETTINGS) await query(conn, s);
        await query(conn, `SET SESSION lock_wait_timeout = ${lockWaitSecondsOf(this.url)}`);
        await query(conn, 'SET SESSION max_statement_time = 0').catch(() => undefined); // MariaDB only
        await query(conn, 'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        await query(conn, 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      } catch (err) {
        throw stepError('starting the snapshot transaction', err);
      }
      const catalog = await readCatalog(conn, db).catch((err: unknown) => {
        throw stepError('reading the schema', err);
      });
      throwIfAborted(ctx.signal, 'backup');
      await query(conn, 'SET SESSION character_set_results = binary'); // row bytes exactly as stored

      const tableNodes: TreeNode[] = [];
      const stats: TableStats[] = [];
      for (const t of catalog.tables) {
        throwIfAborted(ctx.signal, 'backup');
        const r = await dumpTable(conn, t, ctx.session, onBytes);
        tableNodes.push(r.node);
        stats.push(r.stats);
      }
      await query(conn, 'COMMIT');
      throwIfAborted(ctx.signal, 'backup');

      const tablesTree = (await ctx.session.putBlob(BlobType.tree, encodeTree(tableNodes))).toString('hex');
      const nodes: TreeNode[] = [{ name: TABLES_DIR, type: 'dir', mode: 0o700, subtree: tablesTree }];
      const catalogBytes = Buffer.from(JSON.stringify(catalog, null, 1), 'utf8');
      const savedCatalog = await saveStream(ctx.session, (async function* () {
        yield catalogBytes;
      })());
      nodes.push({ name: CATALOG_NODE, type: 'file', mode: 0o600, size: savedCatalog.size, ...savedCatalog.fields });
      const root = (await ctx.session.putBlob(BlobType.tree, encodeTree(nodes))).toString('hex');
      const extra: MysqlExtra = {
        mysql: {
          serverVersion: catalog.serverVersion,
          tables: stats,
          views: catalog.views.length,
          triggers: catalog.triggers.length,
          routines: catalog.routines.length,
          events: catalog.events.length,
          nonTransactional: catalog.tables.filter((t) => t.engine !== null && !TRANSACTIONAL.has(t.engine)).map((t) => t.name),
        },
      };
      return { root, files: tableNodes.length + 1, bytesRead, extra: extra as unknown as Record<string, unknown> };
    } catch (err) {
      if (aborted || ctx.signal?.aborted) throw new ArcaError('ABORTED', 'backup aborted', { cause: err });
      throw stepError('backup', err);
    } finally {
      unregister();
      await close(conn, aborted);
    }
  }
}
