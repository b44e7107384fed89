// `arca export` of a PostgreSQL backup: one plain SQL script for
// `psql -f` (no Arca needed to restore it):
//   1. pre-data as SQL: `pg_restore --section=pre-data -f -` of the stored
//      schema.dump (written to a private temp file; no server connection, so
//      no password is involved),
//   2. each table's stored COPY stream as `COPY t (cols) FROM stdin; … \.`,
//   3. sequences' values (setval),
//   4. large objects: lo_create, owner, grants, comment, then lo_put of each
//      stored piece (base64),
//   5. post-data as SQL (indexes, constraints, triggers), then REFRESH of the
//      materialized views that were populated (in a DO block that retries
//      ones depending on others).

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArcaError, errorMessage } from '../../errors.js';
import type { BlobReader } from '../../repository/blob-reader.js';
import type { TreeNode } from '../../repository/tree.js';
import type { SourceExportContext } from '../source.js';
import { CATALOG_NODE, LARGE_OBJECTS_NODE, SCHEMA_NODE, TABLES_DIR, parseCatalog, type LargeObjectEntry, type PgCatalog } from './pg-catalog.js';
import { qualified, quoteIdent } from './pg-connect.js';
import { checkTool, toolPath } from './pg-tools.js';

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const nodeNamed = (nodes: TreeNode[], name: string) => nodes.find((n) => n.name === name);

async function readAll(reader: BlobReader, node: TreeNode): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of reader.readContent(node)) parts.push(c);
  return Buffer.concat(parts);
}

/** The SQL of one section of the custom-format dump in `file`, streamed from pg_restore. */
async function* section(file: string, which: 'pre-data' | 'post-data'): AsyncGenerator<Buffer> {
  const child = spawn(toolPath('pg_restore'), [`--section=${which}`, '--format=custom', '--file=-', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 8192) stderr += s;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new ArcaError('SOURCE', `cannot run pg_restore: ${errorMessage(err)}`, { cause: err })));
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined);
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const code = await exited;
    if (code !== 0) throw new ArcaError('SOURCE', `export of the schema (${which}): pg_restore failed: ${stderr.trim().split('\n').slice(0, 6).join('; ') || `exit code ${code}`}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}

/** GRANTs of an aclitem[] text such as `{owner=rw/owner,=r/owner,"a b"=r*\/owner}`. */
export function largeObjectGrants(oid: number, acl: string): string[] {
  const items = acl.replace(/^\{|\}$/g, '').match(/("(?:[^"\\]|\\.)*"|[^,])+/g) ?? [];
  const out: string[] = [];
  for (const raw of items) {
    const item = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    const m = /^((?:"(?:[^"]|"")*"|[^=])*)=([a-zA-Z*]*)\//.exec(item);
    if (!m) continue;
    const who = m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!;
    const grantee = who === '' ? 'PUBLIC' : quoteIdent(who);
    for (const [, p, star] of m[2]!.matchAll(/([a-zA-Z])(\*?)/g)) {
      const priv = p === 'r' ? 'SELECT' : p === 'w' ? 'UPDATE' : undefined;
      if (priv) out.push(`GRANT ${priv} ON LARGE OBJECT ${oid} TO ${grantee}${star ? ' WITH GRANT OPTION' : ''};`);
    }
  }
  return out;
}

function largeObjectHeads(objects: LargeObjectEntry[]): string {
  const lines: string[] = [];
  for (const lo of objects) {
    lines.push(`SELECT pg_catalog.lo_create(${lo.oid});`, `ALTER LARGE OBJECT ${lo.oid} OWNER TO ${quoteIdent(lo.owner)};`);
    if (lo.acl !== null) {
      lines.push(`REVOKE ALL ON LARGE OBJECT ${lo.oid} FROM PUBLIC;`, `REVOKE ALL ON LARGE OBJECT ${lo.oid} FROM ${quoteIdent(lo.owner)};`);
      lines.push(...largeObjectGrants(lo.oid, lo.acl));
    }
    if (lo.comment !== null) lines.push(`COMMENT ON LARGE OBJECT ${lo.oid} IS ${literal(lo.comment)};`);
  }
  return lines.join('\n') + '\n';
}

/** `[oid u32][len u32][bytes]` frames → lo_put statements (base64 pieces). */
async function* largeObjectData(ctx: SourceExportContext, node: TreeNode): AsyncGenerator<Buffer> {
  const offsets = new Map<number, number>();
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of ctx.reader.readContent(node)) {
    ctx.onBytes(chunk.length);
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const oid = pending.readUInt32BE(0);
      const len = pending.readUInt32BE(4);
      if (pending.length < 8 + len) break;
      const offset = offsets.get(oid) ?? 0;
      if (len > 0) yield Buffer.from(`SELECT pg_catalog.lo_put(${oid}, ${offset}, decode('${pending.subarray(8, 8 + len).toString('base64')}', 'base64'));\n`);
      offsets.set(oid, offset + len);
      pending = pending.subarray(8 + len);
    }
  }
  if (pending.length > 0) throw new ArcaError('CORRUPT', `${LARGE_OBJECTS_NODE} ends in the middle of a frame`);
}

function refreshMatviews(catalog: PgCatalog): string {
  const todo = catalog.matviews.filter((m) => m.populated).map((m) => literal(qualified(m.schema, m.name)));
  if (todo.length === 0) return '';
  return `
-- Materialized views that held data (retried while one depends on another).
DO $arca$
DECLARE todo text[] := ARRAY[${todo.join(', ')}]; failed text[]; v text; err text;
BEGIN
  WHILE cardinality(todo) > 0 LOOP
    failed := '{}';
    FOREACH v IN ARRAY todo LOOP
      BEGIN EXECUTE 'REFRESH MATERIALIZED VIEW ' || v;
      EXCEPTION WHEN OTHERS THEN failed := failed || v; err := SQLERRM; END;
    END LOOP;
    IF cardinality(failed) = cardinality(todo) THEN RAISE EXCEPTION 'refreshing %: %', failed[1], err; END IF;
    todo := failed;
  END LOOP;
END $arca$;
`;
}

export async function* exportPostgres(ctx: SourceExportContext): AsyncGenerator<Buffer> {
  const root = (await ctx.reader.readTree(ctx.manifest.root)).nodes;
  const catalogNode = nodeNamed(root, CATALOG_NODE);
  const schemaNode = nodeNamed(root, SCHEMA_NODE);
  const tablesDir = nodeNamed(root, TABLES_DIR);
  if (!catalogNode || !schemaNode || !tablesDir?.subtree) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} is not a PostgreSQL backup (missing ${CATALOG_NODE}, ${SCHEMA_NODE} or ${TABLES_DIR}/)`);
  const catalog = parseCatalog(await readAll(ctx.reader, catalogNode));
  const tableNodes = (await ctx.reader.readTree(tablesDir.subtree)).nodes;
  await checkTool('pg_restore', Number(/^(\d+)/.exec(catalog.serverVersion)?.[1] ?? 0));
  const dir = await mkdtemp(join(tmpdir(), 'arca-pg-export-'));
  try {
    const file = join(dir, SCHEMA_NODE);
    await pipeline(Readable.from(ctx.reader.readContent(schemaNode)), createWriteStream(file, { mode: 0o600 }));
    yield Buffer.from(`-- PostgreSQL export of backup ${ctx.manifest.id} (database ${ctx.manifest.database}, ${ctx.manifest.startedAt}), written by Arca.\n-- Restore into an empty database: psql -v ON_ERROR_STOP=1 -f FILE\n\n`);
    yield* section(file, 'pre-data');
    yield Buffer.from("\n-- Table data (COPY text format, UTF-8).\nSET client_encoding = 'UTF8';\nSET DateStyle = 'ISO, YMD';\nSET IntervalStyle = 'postgres';\nSET TimeZone = 'UTC';\n\n");
    for (const table of catalog.tables) {
      if (ctx.signal?.aborted) throw new ArcaError('ABORTED', 'export aborted');
      const node = nodeNamed(tableNodes, table.node);
      if (!node) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} lacks the data of table ${table.schema}.${table.name}`);
      const cols = table.columns.length > 0 ? ` (${table.columns.map(quoteIdent).join(', ')})` : '';
      yield Buffer.from(`COPY ${qualified(table.schema, table.name)}${cols} FROM stdin;\n`);
      let last = 0x0a;
      for await (const chunk of ctx.reader.readContent(node)) {
        ctx.onBytes(chunk.length);
        if (chunk.length > 0) last = chunk[chunk.length - 1]!;
        yield chunk;
      }
      yield Buffer.from(last === 0x0a ? '\\.\n\n' : '\n\\.\n\n');
    }
    if (catalog.sequences.length > 0) {
      const lines = catalog.sequences.map((s) => `SELECT pg_catalog.setval(${literal(qualified(s.schema, s.name))}, ${BigInt(s.lastValue)}, ${s.isCalled});`);
      yield Buffer.from(`-- Sequences.\n${lines.join('\n')}\n\n`);
    }
    if (catalog.largeObjects.length > 0) {
      const loNode = nodeNamed(root, LARGE_OBJECTS_NODE);
      if (!loNode) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} lacks ${LARGE_OBJECTS_NODE}`);
      yield Buffer.from(`-- Large objects.\n${largeObjectHeads(catalog.largeObjects)}`);
      yield* largeObjectData(ctx, loNode);
      yield Buffer.from('\n');
    }
    yield* section(file, 'post-data');
    yield Buffer.from(refreshMatviews(catalog));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
