// Restore of a PostgreSQL backup into the database a `postgres://` target
// URL names. The backup is restored into a new scratch database on the same
// server (`arca_restore_<random>`) and only renamed to the target's name when
// every step succeeded, so a failed or aborted restore leaves the target as
// it was and drops the scratch database:
//   1. pg_restore --section=pre-data   (types, tables, functions; no indexes)
//   2. table data, COPY FROM STDIN on 2 connections, each stream checked
//      against the checksum recorded at backup time; large objects
//   3. sequences' values (setval)
//   4. pg_restore --section=post-data  (indexes, constraints, triggers, rules)
//   5. REFRESH of the materialized views that were populated
//   6. the swap: DROP DATABASE <target> WITH (FORCE) when it exists, then
//      ALTER DATABASE <scratch> RENAME TO <target>.
// A target that exists and holds user tables is refused without `force`
// (CONFLICT); with `force` it is dropped and recreated (step 6: its sessions
// are terminated). A target that exists without user tables is replaced the
// same way; its owner is kept, its database-level settings are not.
//
// Owners and grants: kept (pg_restore without --no-owner) when every role the
// backup refers to exists on the target server; otherwise the restore runs
// with --no-owner --no-privileges and everything belongs to the restoring
// user (a drill on another server still works).

import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertMatchesRecorded, recordedAlgorithm } from '../../content/stream-checksum.js';
import { ArcaError, isArcaError } from '../../errors.js';
import type { BlobReader } from '../../repository/blob-reader.js';
import type { TreeNode } from '../../repository/tree.js';
import type { SourceRestoreContext, SourceRestoreResult } from '../source.js';
import type { PostgresExtra } from './pg-backup.js';
import { CATALOG_NODE, LARGE_OBJECTS_NODE, SCHEMA_NODE, TABLES_DIR, parseCatalog, type PgCatalog, type TableEntry } from './pg-catalog.js';
import { closeClient, connect, onAbort, qualified, quoteIdent, stepError, throwIfAborted, stopBackends, type PgClient } from './pg-connect.js';
import { createLargeObjects, loadLargeObjects } from './pg-large-objects.js';
import { loadTable, type TableStats } from './pg-table-data.js';
import { HeldBytes, OrderedHash } from './pg-ordered-hash.js';
import { dropAbandonedScratch, scratchName } from './pg-scratch.js';
import { loadPart, partNodes } from './pg-table-parts.js';
import { runOnPool } from '../../common/run-on-pool.js';
import { checkTool, restoreSection } from './pg-tools.js';
import { databaseOf, hostOf, normalizePostgresUrl, redactUrl, withDatabase } from './pg-url.js';

const RESTORE_JOBS = 2;
/** Memory for parts of a split table read ahead of the one being hashed (pg-ordered-hash.ts). */
const HELD_BYTES = 64 * 1024 * 1024;

function nodeNamed(nodes: TreeNode[], name: string): TreeNode | undefined {
  return nodes.find((n) => n.name === name);
}

async function readAll(reader: BlobReader, node: TreeNode): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of reader.readContent(node)) parts.push(c);
  return Buffer.concat(parts);
}

/** Writes the schema dump to a private temp file (pg_restore --jobs needs a seekable file). */
async function schemaFile(reader: BlobReader, node: TreeNode): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'arca-pg-'));
  const file = join(dir, SCHEMA_NODE);
  try {
    await pipeline(Readable.from(reader.readContent(node)), createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, file };
}

async function userTableCount(url: string): Promise<number> {
  const c = await connect(url);
  try {
    const r = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
    );
    return r.rows[0]!.n;
  } finally {
    await closeClient(c);
  }
}

async function createScratch(admin: PgClient, name: string, catalog: PgCatalog): Promise<void> {
  const db = catalog.database;
  const base = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${admin.escapeLiteral(db.encoding)}`;
  try {
    await admin.query(`${base} LC_COLLATE ${admin.escapeLiteral(db.collate)} LC_CTYPE ${admin.escapeLiteral(db.ctype)}`);
  } catch {
    // The source's locale may not exist here: the server's default locale then.
    try {
      await admin.query(base);
    } catch (err) {
      throw stepError('creating the database', err);
    }
  }
}

export async function restorePostgres(ctx: SourceRestoreContext): Promise<SourceRestoreResult> {
  throwIfAborted(ctx.signal, 'restore');
  const target = normalizePostgresUrl(ctx.target);
  if (!target) throw new ArcaError('USAGE', `restore target ${redactUrl(ctx.target)} is not a postgres:// URL`);
  const dbName = databaseOf(target);
  const root = (await ctx.reader.readTree(ctx.manifest.root)).nodes;
  const catalogNode = nodeNamed(root, CATALOG_NODE);
  const schemaNode = nodeNamed(root, SCHEMA_NODE);
  const tablesDir = nodeNamed(root, TABLES_DIR);
  if (!catalogNode || !schemaNode || !tablesDir?.subtree) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} is not a PostgreSQL backup (missing ${CATALOG_NODE}, ${SCHEMA_NODE} or ${TABLES_DIR}/)`);
  const catalog = parseCatalog(await readAll(ctx.reader, catalogNode));
  const tableNodes = (await ctx.reader.readTree(tablesDir.subtree)).nodes;
  const loNode = nodeNamed(root, LARGE_OBJECTS_NODE);
  const recorded = (ctx.manifest.extra as Partial<PostgresExtra>).postgres;
  const expected = new Map((recorded?.tables ?? []).map((s) => [`${s.schema}\0${s.name}`, s] as const));

  const admin = await connect(withDatabase(target, 'postgres'));
  const scratch = scratchName();
  const scratchUrl = withDatabase(target, scratch);
  let created = false;
  let schema: { dir: string; file: string } | undefined;
  const workers: PgClient[] = [];
  let aborted = false;
  const held = new HeldBytes(HELD_BYTES);
  const cancelAll = () => {
    held.fail(new ArcaError('ABORTED', 'restore stopped'));
    void stopBackends(withDatabase(target, 'postgres'), workers);
  };
  let unregister = () => undefined as void;
  const state = { files: 0, bytesWritten: 0 };
  const onBytes = (n: number) => {
    state.bytesWritten += n;
    ctx.onBytes(n);
  };
  try {
    unregister = onAbort(ctx.signal, 'restore', () => {
      aborted = true;
      cancelAll();
    });
    await dropAbandonedScratch(admin);
    const existing = (await admin.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [dbName])).rows[0];
    if (existing) {
      const n = await userTableCount(target);
      if (n > 0 && !ctx.force) {
        throw new ArcaError('CONFLICT', `database "${dbName}" on ${hostOf(target)} already holds ${n} table${n === 1 ? '' : 's'}; use --force to replace it`);
      }
    }
    const major = Math.floor(Number((await admin.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10000);
    await checkTool('pg_restore', major);
    const roles = new Set((await admin.query<{ r: string }>('SELECT rolname AS r FROM pg_roles')).rows.map((x) => x.r));
    const keepOwners = catalog.roles.every((r) => roles.has(r));

    await createScratch(admin, scratch, catalog);
    created = true;
    throwIfAborted(ctx.signal, 'restore');
    schema = await schemaFile(ctx.reader, schemaNode);
    const sectionOpts = { keepOwners, jobs: RESTORE_JOBS, ...(ctx.signal ? { signal: ctx.signal } : {}) };
    await restoreSection(scratchUrl, 'pre-data', schema.file, sectionOpts);
    state.files++;

    for (let i = 0; i < RESTORE_JOBS; i++) {
      const w = await connect(scratchUrl);
      workers.push(w);
      await w.query("SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET statement_timeout = 0");
    }
    type Job = { table: TableEntry; node: TreeNode; part?: { i: number; hash: OrderedHash } } | { largeObjects: TreeNode | undefined };
    const work: Job[] = [];
    if (catalog.largeObjects.length > 0) work.push({ largeObjects: loNode });
    const split: Array<{ table: TableEntry; node: TreeNode; hash: OrderedHash; rows: number[] }> = [];
    for (const table of [...catalog.tables].sort((a, b) => b.estimatedBytes - a.estimatedBytes)) {
      const node = nodeNamed(tableNodes, table.node);
      if (!node) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} lacks the data of table ${table.schema}.${table.name}`);
      if (table.parts && table.parts.length > 1) {
        // Split at backup time: its parts load side by side (pg-table-parts.ts).
        const hash = new OrderedHash(table.parts.length, held, recordedAlgorithm(expected.get(`${table.schema}\0${table.name}`)));
        split.push({ table, node, hash, rows: [] });
        (await partNodes(ctx.reader, table, node, table.parts)).forEach((part, i) => work.push({ table, node: part, part: { i, hash } }));
      } else work.push({ table, node });
    }
    const rowsOf = new Map<TableEntry, number[]>(split.map((s) => [s.table, s.rows]));
    await runOnPool(
      workers,
      work,
      async (client, job) => {
        throwIfAborted(ctx.signal, 'restore');
        if ('table' in job) {
          if (job.part) rowsOf.get(job.table)![job.part.i] = await loadPart(client, job.table, ctx.reader, job.node, job.part.i, job.part.hash, onBytes);
          else await loadTable(client, job.table, ctx.reader, job.node, expected.get(`${job.table.schema}\0${job.table.name}`), onBytes);
        } else {
          await createLargeObjects(client, catalog.largeObjects, keepOwners);
          if (!job.largeObjects) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} lacks ${LARGE_OBJECTS_NODE}`);
          await loadLargeObjects(client, ctx.reader, job.largeObjects, recorded?.largeObjects ?? undefined, onBytes);
        }
        if (!('part' in job) || job.part === undefined || job.part.i === 0) state.files++;
      },
      cancelAll,
    );
    for (const s of split) checkSplitTable(s, expected.get(`${s.table.schema}\0${s.table.name}`));
    throwIfAborted(ctx.signal, 'restore');
    await restoreSequences(workers[0]!, catalog);
    await restoreSection(scratchUrl, 'post-data', schema.file, sectionOpts);
    await refreshMatviews(workers[0]!, catalog);
    throwIfAborted(ctx.signal, 'restore');
    await Promise.all(workers.splice(0).map((w) => closeClient(w)));

    try {
      if (existing) {
        await admin.query(`ALTER DATABASE ${quoteIdent(scratch)} OWNER TO ${quoteIdent(existing.owner)}`).catch(() => undefined);
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`);
      }
      await admin.query(`ALTER DATABASE ${quoteIdent(scratch)} RENAME TO ${quoteIdent(dbName)}`);
    } catch (err) {
      throw stepError(`renaming the restored database to "${dbName}"`, err);
    }
    created = false;
    return { target: redactUrl(target), ...state };
  } catch (err) {
    if (created) {
      await Promise.all(workers.splice(0).map((w) => closeClient(w, true)));
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch(() => undefined);
    }
    if ((aborted || ctx.signal?.aborted) && !isArcaError(err, 'CORRUPT')) throw new ArcaError('ABORTED', 'restore aborted', { cause: err });
    throw stepError('restore', err);
  } finally {
    unregister();
    if (schema) await rm(schema.dir, { recursive: true, force: true });
    await Promise.all(workers.map((w) => closeClient(w, aborted)));
    await closeClient(admin);
  }
}

/** A split table's parts loaded: their rows and the whole stream's checksum must match the backup's records. */
function checkSplitTable(s: { table: TableEntry; hash: OrderedHash; rows: number[] }, expected: TableStats | undefined): void {
  const what = `table ${s.table.schema}.${s.table.name}`;
  s.table.parts!.forEach((p, i) => {
    if (s.rows[i] !== p.rows) throw new ArcaError('CORRUPT', `${what}: part ${i + 1} loaded ${s.rows[i]} rows, the backup recorded ${p.rows}`);
  });
  assertMatchesRecorded(expected, s.hash.digest(), what);
  const rows = s.rows.reduce((a, b) => a + b, 0);
  if (expected && expected.rows !== rows) throw new ArcaError('CORRUPT', `${what}: loaded ${rows} rows, the backup recorded ${expected.rows}`);
}

async function restoreSequences(client: PgClient, catalog: PgCatalog): Promise<void> {
  try {
    for (const s of catalog.sequences) {
      await client.query('SELECT setval($1::regclass, $2::bigint, $3)', [qualified(s.schema, s.name), s.lastValue, s.isCalled]);
    }
  } catch (err) {
    throw stepError('setting the sequences', err);
  }
}

/** REFRESH the matviews that held data; one that depends on another waits for it (retried until no progress). */
async function refreshMatviews(client: PgClient, catalog: PgCatalog): Promise<void> {
  let todo = catalog.matviews.filter((m) => m.populated);
  while (todo.length > 0) {
    const failed: typeof todo = [];
    let lastError: unknown;
    for (const m of todo) {
      try {
        await client.query(`REFRESH MATERIALIZED VIEW ${qualified(m.schema, m.name)}`);
      } catch (err) {
        failed.push(m);
        lastError = err;
      }
    }
    if (failed.length === todo.length) throw stepError(`refreshing materialized view ${failed[0]!.schema}.${failed[0]!.name}`, lastError);
    todo = failed;
  }
}
