// Table data: one COPY stream per table (COPY TO through pg-copy-out.ts), saved straight into the volume
// while its checksum (stream-checksum.ts) and row count are taken (never a whole table in memory),
// and loaded back with COPY FROM STDIN, checking the same checksum. A small
// pool runs one job per connection, several connections in parallel.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { assertMatchesRecorded, recordedAlgorithm, streamChecksum, type RecordedChecksum } from '../../content/stream-checksum.js';
import { ArcaError } from '../../errors.js';
import type { BlobReader } from '../../repository/blob-reader.js';
import { saveStream } from '../../repository/stream-saver.js';
import type { TreeNode } from '../../repository/tree.js';
import type { WriteSession } from '../../repository/write-session.js';
import { copyOut, type CopyOut } from './pg-copy-out.js';
import { copyInSql, copyOutSql, type TableEntry } from './pg-catalog.js';
import { qualified, stepError, type PgClient } from './pg-connect.js';

/** The checksum (`blake3`, or `sha256` in older backups) is of the whole COPY stream: all parts, in order. */
export interface TableStats extends RecordedChecksum {
  schema: string;
  name: string;
  rows: number;
  bytes: number;
  /** Number of key-range parts when the table was dumped split (pg-ranges.ts). */
  parts?: number;
}

/** Starts a COPY TO on a client: a new one, or one a backup started early on it (pg-backup.ts). */
export type CopyOpener = (client: PgClient, sql: string) => CopyOut;

/** recycle: the hash and the chunker are done with a buffer when they ask for the next. */
export const openCopy: CopyOpener = (client, sql) => copyOut(client, sql, { recycle: true });

/** Dumps one table in the worker's snapshot; returns its tree node and stats. */
export async function dumpTable(
  client: PgClient,
  t: TableEntry,
  session: WriteSession,
  onBytes: (n: number) => void,
  open: CopyOpener = openCopy,
): Promise<{ node: TreeNode; stats: TableStats }> {
  const hash = streamChecksum();
  const stream = open(client, copyOutSql(t));
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of stream) {
      hash.update(chunk);
      yield chunk;
    }
  }
  let saved;
  try {
    saved = await saveStream(session, hashed(), onBytes);
  } catch (err) {
    stream.cancel(); // when the iteration never started; leaving it early has cancelled already
    throw stepError(`dump of table ${t.schema}.${t.name}`, err);
  }
  return {
    node: { name: t.node, type: 'file', mode: 0o600, size: saved.size, ...saved.fields },
    stats: { schema: t.schema, name: t.name, rows: stream.rowCount, bytes: saved.size, ...hash.record() },
  };
}

/** Loads one table from its stored COPY stream; fails (CORRUPT) unless the bytes match the recorded checksum. */
export async function loadTable(
  client: PgClient,
  t: TableEntry,
  reader: BlobReader,
  node: TreeNode,
  expected: TableStats | undefined,
  onBytes: (n: number) => void,
): Promise<number> {
  const hash = streamChecksum(recordedAlgorithm(expected));
  let bytes = 0;
  async function* content(): AsyncGenerator<Buffer> {
    for await (const chunk of reader.readContent(node)) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(chunk.length);
      yield chunk;
    }
  }
  // As pg_restore does: TRUNCATE in the loading transaction lets the server
  // skip WAL (wal_level minimal) and COPY FREEZE write rows already frozen.
  let sink: ReturnType<typeof copyFrom> | undefined;
  try {
    await client.query(`BEGIN; TRUNCATE ONLY ${qualified(t.schema, t.name)}`);
    sink = client.query(copyFrom(`${copyInSql(t)} WITH (FREEZE)`));
    await pipeline(Readable.from(content()), sink);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw stepError(`loading table ${t.schema}.${t.name}`, err);
  }
  const what = `table ${t.schema}.${t.name}`;
  if (node.size !== undefined && bytes !== node.size) throw new ArcaError('CORRUPT', `${what}: read ${bytes} bytes, the backup recorded ${node.size}`);
  assertMatchesRecorded(expected, hash.digest(), what);
  if (expected && expected.rows !== sink.rowCount) {
    throw new ArcaError('CORRUPT', `${what}: loaded ${sink.rowCount} rows, the backup recorded ${expected.rows}`);
  }
  return bytes;
}

