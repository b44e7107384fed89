// The PostgreSQL source: one consistent backup from one snapshot. A
// coordinator opens a READ ONLY REPEATABLE READ transaction, exports its
// snapshot, reads the catalog and locks the tables (ACCESS SHARE, as pg_dump
// does); pg_dump writes the schema in that snapshot while `jobs` worker
// connections (default 2) that imported it COPY the tables in key order and
// the large objects; a large table with an integer key is COPYed in key
// ranges by all of them at once (pg-ranges.ts, pg-table-parts.ts). Tree:
//   catalog.json           the table list, sequences' values, matviews, LO metadata
//   schema.dump            pg_dump --schema-only --format=custom
//   tables/<s>.<t>.copy    COPY text of each table (names escaped, see escapeName)
//   large-objects.bin      only when there are large objects
// `extra` records per table rows, bytes and the SHA-256 of its whole COPY
// stream (split or not), and `parts` for a split table. `arca backup` calls
// begin() while the volume's key is derived: everything up to the data is
// prepared then, and the first COPY reads ahead (decision 0007).

import { availableParallelism } from 'node:os';
import type { RecordedChecksum } from '../../content/stream-checksum.js';
import { ArcaError } from '../../errors.js';
import { BlobType } from '../../repository/pack/pack-footer.js';
import { saveStream } from '../../repository/stream-saver.js';
import { encodeTree, type TreeNode } from '../../repository/tree.js';
import type { Source, SourceBackupContext, SourceBackupResult } from '../source.js';
import { CATALOG_NODE, SCHEMA_NODE, TABLES_DIR, copyOutSql, lockForCopy, lockTables, readCatalog, type PgCatalog, type TableEntry } from './pg-catalog.js';
import { copyOut, type CopyOut } from './pg-copy-out.js';
import {
  stopBackends,
  closeClient,
  connect,
  onAbort,
  openCoordinator,
  openSnapshotWorker,
  stepError,
  throwIfAborted,
  type PgClient,
} from './pg-connect.js';
import { dumpLargeObjects } from './pg-large-objects.js';
import { dumpTable, openCopy, type CopyOpener, type TableStats } from './pg-table-data.js';
import { HeldBytes, OrderedHash } from './pg-ordered-hash.js';
import { PART_BYTES, planRanges, type KeyRange } from './pg-ranges.js';
import { dumpPart, partsNode, type DumpedPart } from './pg-table-parts.js';
import { runOnPool } from '../../common/run-on-pool.js';
import { checkTool, dumpSchema, prefetchToolVersion, type ToolRun } from './pg-tools.js';

/** Memory for parts read ahead of the one being hashed (see pg-ordered-hash.ts). */
const HELD_BYTES = 64 * 1024 * 1024;
/**
 * What the first COPY of a begun backup may read before the volume is open:
 * the server sends ~150–200 MB/s, and the volume's scrypt leaves it ~0.2 s.
 */
const EARLY_READ_AHEAD = 48 * 1024 * 1024;

type Job = { table: TableEntry; part?: number } | { largeObjects: true };

/** A backup's state before its data: connections, snapshot, catalog, plan, and the COPY begun early. */
interface Prepared {
  coord: PgClient;
  snapshot: string;
  workers: PgClient[];
  catalog: PgCatalog;
  split: Map<TableEntry, { ranges: KeyRange[]; hash: OrderedHash; done: DumpedPart[] }>;
  work: Job[];
  /** Bytes of later key-range parts held until the parts before them are hashed (pg-ordered-hash.ts). */
  held: HeldBytes;
  early: { client: PgClient; sql: string; copy: CopyOut } | undefined;
}

/** Closes a backup's connections (at once when `hard`). */
async function closeConnections(coord: PgClient, workers: PgClient[], hard: boolean): Promise<void> {
  await Promise.all([...workers.map((w) => closeClient(w, hard)), closeClient(coord, hard)]);
}

/** Cancels a COPY begun early if nobody took it, and closes the connections (at once when `hard`). */
async function closePrepared(p: Prepared, hard: boolean): Promise<void> {
  p.early?.copy.cancel();
  await closeConnections(p.coord, p.workers, hard);
}

/** Runs the tasks given to it one at a time, in order (the coordinator's COPYs). */
function oneAtATime(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>) => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** `promise`, or ABORTED as soon as `signal` aborts (the promise goes on: its caller closes what it brings). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const unregister = onAbort(signal, 'backup', () => reject(new ArcaError('ABORTED', 'backup aborted')));
    promise.then(resolve, reject).finally(unregister);
  });
}

/**
 * Part size for key ranges: PART_BYTES, or ARCA_PG_PART_BYTES (a tuning and
 * testing knob: tables above twice the part size are split).
 */
function partOptions(): { partBytes: number; minBytes: number } {
  const env = Number(process.env.ARCA_PG_PART_BYTES);
  const partBytes = Number.isSafeInteger(env) && env > 0 ? env : PART_BYTES;
  return { partBytes, minBytes: 2 * partBytes };
}

/**
 * Whether a split table's parts are spread over all connections: with more
 * than 2 CPUs, or as ARCA_PG_PARALLEL_PARTS (1/0) says (decision 0005).
 */
function parallelParts(): boolean {
  const env = process.env.ARCA_PG_PARALLEL_PARTS;
  if (env === '1' || env === '0') return env === '1';
  return availableParallelism() > 2;
}

export interface PostgresSourceOptions {
  /** Parallel data connections (default 2). */
  jobs?: number;
}

/** What a PostgreSQL backup records in its manifest's `extra`. */
export interface PostgresExtra {
  postgres: {
    serverVersion: string;
    tables: TableStats[];
    /** The checksum as in TableStats: `blake3`, or `sha256` in older backups. */
    largeObjects: ({ count: number; bytes: number } & RecordedChecksum) | null;
    sequences: number;
  };
}

export class PostgresSource implements Source {
  readonly kind = 'postgres';
  /**
   * A backup begun before the volume opened (begin()), for the next backup()
   * or release(), and what stops its prepare (a lock wait, say) early.
   */
  private begun: { prepared: Promise<Prepared>; stop: AbortController } | undefined;

  constructor(
    readonly url: string,
    private readonly opts: PostgresSourceOptions = {},
  ) {}

  /**
   * Begins the backup before the volume is open (Source.begin): connects,
   * takes the snapshot, locks and plans, and starts the first COPY reading up
   * to `readAhead` bytes into memory, so the server works while the volume's
   * key is derived. A failure is kept for backup() to report.
   */
  begin(opts: { jobs?: number; readAhead?: number } = {}): void {
    if (this.begun) return;
    prefetchToolVersion('pg_dump');
    const stop = new AbortController();
    const prepared = this.prepare(this.jobsFor(opts.jobs), stop.signal, opts.readAhead ?? EARLY_READ_AHEAD);
    prepared.catch(() => undefined); // reported by backup()
    this.begun = { prepared, stop };
  }

  /** Ends a begun backup that backup() will not continue: cancels its COPY, closes its connections. */
  async release(): Promise<void> {
    const begun = this.begun;
    this.begun = undefined;
    begun?.stop.abort(); // a prepare still waiting (on a table lock, say) ends now
    const p = await begun?.prepared.catch(() => undefined);
    if (p) await closePrepared(p, true);
  }

  async estimateBytes(signal?: AbortSignal): Promise<number | null> {
    throwIfAborted(signal, 'backup');
    const client = await connect(this.url);
    try {
      const r = await client.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n');
      return Number(r.rows[0]!.n);
    } catch {
      return null;
    } finally {
      await closeClient(client);
    }
  }

  private jobsFor(jobs: number | undefined): number {
    return Math.max(1, Math.floor(jobs ?? this.opts.jobs ?? 2));
  }

  /**
   * Everything before the data: the coordinator and its snapshot, the tool
   * check, the catalog and its locks, the snapshot workers and the key
   * ranges; with `readAhead`, the first job's COPY is started on the first
   * worker (runOnPool gives job 0 to worker 0). Closes what it opened when
   * it fails. An abort terminates its sessions, so a statement that waits
   * (LOCK TABLE behind an application's exclusive lock) ends at once.
   */
  private async prepare(jobs: number, signal: AbortSignal | undefined, readAhead = 0): Promise<Prepared> {
    const { client: coord, snapshot } = await openCoordinator(this.url);
    const workers: PgClient[] = [];
    let unregister = () => undefined as void;
    try {
      unregister = onAbort(signal, 'backup', () => void stopBackends(this.url, [coord, ...workers]));
      const major = Math.floor(Number((await coord.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10000);
      // Checking pg_dump spawns it (~50 ms): done while the catalog is read and the connections open.
      const toolChecked = checkTool('pg_dump', major);
      toolChecked.catch(() => undefined); // awaited below
      const catalog = await readCatalog(coord);
      await lockTables(coord, catalog);
      const opened = await Promise.allSettled(Array.from({ length: jobs }, () => openSnapshotWorker(this.url, snapshot)));
      for (const o of opened) if (o.status === 'fulfilled') workers.push(o.value); // closed with the rest, whatever happens
      for (const o of opened) if (o.status === 'rejected') throw o.reason;
      await toolChecked;
      throwIfAborted(signal, 'backup');
      const p: Prepared = { coord, snapshot, workers, catalog, split: new Map(), work: [], held: new HeldBytes(HELD_BYTES), early: undefined };
      // Large tables with an integer key are dumped in key ranges (pg-ranges.ts).
      for (const t of catalog.tables) {
        const ranges = await planRanges(coord, t, partOptions());
        if (ranges) p.split.set(t, { ranges, hash: new OrderedHash(ranges.length, p.held), done: [] });
      }
      // Parts go to all connections at once only where the CPU has room for more server backends
      // beside our own threads; on 2 cores that made the (CPU-bound) backup ~20% slower, so there a split
      // table's parts run one after the other on one connection (they still restore in parallel).
      const spread = parallelParts();
      if (catalog.largeObjects.length > 0) p.work.push({ largeObjects: true });
      for (const table of [...catalog.tables].sort((x, y) => y.estimatedBytes - x.estimatedBytes)) {
        const s = p.split.get(table);
        if (s && spread) s.ranges.forEach((_, part) => p.work.push({ table, part }));
        else p.work.push({ table });
      }
      const first = p.work[0];
      if (readAhead > 0 && first && 'table' in first && (await lockForCopy(workers[0]!, first.table))) {
        const range = p.split.get(first.table)?.ranges[first.part ?? 0];
        const sql = copyOutSql(first.table, range);
        p.early = { client: workers[0]!, sql, copy: copyOut(workers[0]!, sql, { recycle: true, readAhead }) };
      }
      return p;
    } catch (err) {
      await closeConnections(coord, workers, true);
      if (signal?.aborted) throw new ArcaError('ABORTED', 'backup aborted', { cause: err });
      throw err;
    } finally {
      unregister();
    }
  }

  async backup(ctx: SourceBackupContext): Promise<SourceBackupResult> {
    const begun = this.begun;
    this.begun = undefined;
    let bytesRead = 0;
    const onBytes = (n: number) => {
      bytesRead += n;
      ctx.onBytes(n);
    };
    let p: Prepared | undefined;
    let preparing: Promise<Prepared> | undefined;
    let dump: ToolRun | undefined;
    let aborted = false;
    const cancelAll = () => {
      dump?.child.kill('SIGTERM');
      p?.held.fail(new ArcaError('ABORTED', 'backup stopped'));
      p?.early?.copy.cancel();
      if (p) void stopBackends(this.url, [p.coord, ...p.workers]);
    };
    const stop = () => {
      aborted = true;
      cancelAll();
    };
    let unregister = () => undefined as void;
    try {
      preparing = begun?.prepared; // closed below whatever happens
      unregister = onAbort(ctx.signal, 'backup', stop);
      preparing ??= this.prepare(this.jobsFor(ctx.jobs), ctx.signal);
      p = await untilAborted(preparing, ctx.signal);
      throwIfAborted(ctx.signal, 'backup');
      const { coord, workers, catalog, split, work, early } = p;
      // The COPY begun early is the first job's, on the first worker; any other COPY is new.
      let pending = early;
      const onCoordinator = oneAtATime();
      const open: CopyOpener = (client, sql) => {
        if (pending && pending.client === client) {
          const e = pending;
          pending = undefined;
          if (e.sql !== sql) throw new ArcaError('INTERNAL', 'the COPY begun early is not the first job');
          return e.copy;
        }
        return openCopy(client, sql);
      };

      const run = dumpSchema(this.url, p.snapshot);
      dump = run;
      const schemaNode = saveStream(ctx.session, run.child.stdout!, onBytes).then(async (saved): Promise<TreeNode> => {
        await run.done;
        return { name: SCHEMA_NODE, type: 'file', mode: 0o600, size: saved.size, ...saved.fields };
      });
      // A failed schema dump stops the tables at once, and its error is the backup's: a pg_dump that
      // could not lock a table leaves a session waiting behind the backup (pg-tools.ts), so it must end soon.
      let schemaFailure: unknown;
      schemaNode.catch((err: unknown) => {
        schemaFailure = err;
        cancelAll();
      });

      const tableNodes: TreeNode[] = [];
      const stats: TableStats[] = [];
      let loNode: TreeNode | undefined;
      let loStats: PostgresExtra['postgres']['largeObjects'] = null;
      await runOnPool(
        workers,
        work,
        async (worker, job) => {
          if ('table' in job) {
            const dump = async (client: PgClient) => {
              const s = split.get(job.table);
              if (s) {
                for (const part of job.part === undefined ? s.ranges.keys() : [job.part]) {
                  s.done[part] = await dumpPart(client, job.table, s.ranges[part]!, part, s.hash, ctx.session, onBytes, open);
                }
                return;
              }
              const r = await dumpTable(client, job.table, ctx.session, onBytes, open);
              tableNodes.push(r.node);
              stats.push(r.stats);
            };
            // Job 0 goes to worker 0 (runOnPool), which locked its table before the COPY begun early.
            const locked = (job === work[0] && early !== undefined) || (await lockForCopy(worker, job.table));
            // Someone waits for an exclusive lock on the table: the coordinator, which holds it, dumps it.
            await (locked ? dump(worker) : onCoordinator(() => dump(coord)));
          } else {
            const r = await dumpLargeObjects(worker, catalog.largeObjects, ctx.session, onBytes);
            loNode = r.node;
            const { rows: count, bytes, ...checksum } = r.stats;
            loStats = { count, bytes, ...checksum };
          }
        },
        cancelAll,
      ).catch((err: unknown) => {
        throw schemaFailure ?? err;
      });
      for (const [t, s] of split) {
        tableNodes.push(await partsNode(ctx.session, t, s.done));
        t.parts = s.ranges.map((r, i) => ({ ...r, bytes: s.done[i]!.saved.size, rows: s.done[i]!.rows }));
        const rows = s.done.reduce((n, p) => n + p.rows, 0);
        const bytes = s.done.reduce((n, p) => n + p.saved.size, 0);
        stats.push({ schema: t.schema, name: t.name, rows, bytes, ...s.hash.record(), parts: s.done.length });
      }
      const nodes: TreeNode[] = [await schemaNode];
      throwIfAborted(ctx.signal, 'backup');

      const tablesTree = (await ctx.session.putBlob(BlobType.tree, encodeTree(tableNodes))).toString('hex');
      nodes.push({ name: TABLES_DIR, type: 'dir', mode: 0o700, subtree: tablesTree });
      const catalogBytes = Buffer.from(JSON.stringify(catalog, null, 1), 'utf8');
      const savedCatalog = await saveStream(ctx.session, (async function* () {
        yield catalogBytes;
      })());
      nodes.push({ name: CATALOG_NODE, type: 'file', mode: 0o600, size: savedCatalog.size, ...savedCatalog.fields });
      if (loNode) nodes.push(loNode);
      const root = (await ctx.session.putBlob(BlobType.tree, encodeTree(nodes))).toString('hex');
      stats.sort((a, b) => (a.schema === b.schema ? cmp(a.name, b.name) : cmp(a.schema, b.schema)));
      const extra: PostgresExtra = { postgres: { serverVersion: catalog.serverVersion, tables: stats, largeObjects: loStats, sequences: catalog.sequences.length } };
      return { root, files: tableNodes.length + nodes.length - 1, bytesRead, extra: extra as unknown as Record<string, unknown> };
    } catch (err) {
      if (aborted || ctx.signal?.aborted) throw new ArcaError('ABORTED', 'backup aborted', { cause: err });
      throw stepError('backup', err);
    } finally {
      unregister();
      if (dump && dump.child.exitCode === null) dump.child.kill('SIGTERM');
      if (p) await closePrepared(p, aborted);
      else {
        // Aborted or failed while it was prepared: a begun prepare stops (its own abort
        // closes what it opened), and whatever it brings later is closed.
        begun?.stop.abort();
        void preparing?.then((late) => closePrepared(late, true), () => undefined);
      }
    }
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
