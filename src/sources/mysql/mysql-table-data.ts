// Table data: one stream per table, rows in key order, one row per line in
// LOAD DATA's default text format (fields split by TAB, `\N` for NULL,
// backslash escapes for \ TAB LF CR NUL; raw bytes otherwise, read and
// loaded with character set binary, so no conversion on either side). A
// changed row changes only its own line, which keeps backups dedup-friendly.
// Loaded back with LOAD DATA LOCAL INFILE streamed from the volume, checking
// the checksum (stream-checksum.ts) and the row count recorded at backup time.

import { Readable } from 'node:stream';
import { assertMatchesRecorded, recordedAlgorithm, streamChecksum, type RecordedChecksum } from '../../content/stream-checksum.js';
import { ArcaError, errorMessage } from '../../errors.js';
import type { BlobReader } from '../../repository/blob-reader.js';
import { saveStream } from '../../repository/stream-saver.js';
import type { TreeNode } from '../../repository/tree.js';
import type { WriteSession } from '../../repository/write-session.js';
import type { TableEntry } from './mysql-catalog.js';
import { query, quoteIdent, stepError, type MyConn, type RawRow } from './mysql-connect.js';

/** The checksum is `blake3`, or `sha256` in older backups (stream-checksum.ts). */
export interface TableStats extends RecordedChecksum {
  name: string;
  rows: number;
  bytes: number;
}

const BATCH = 256 * 1024;
const TAB = 0x09;
const LF = 0x0a;

/** The SELECT that dumps a table (generated columns left out; BIT travels as its raw bytes). */
export function selectSql(t: TableEntry): string {
  const cols = t.columns.filter((c) => c.kind !== 'generated').map((c) => quoteIdent(c.name));
  const order = t.orderBy.length > 0 ? ` ORDER BY ${t.orderBy.map(quoteIdent).join(', ')}` : '';
  return `SELECT ${cols.join(', ')} FROM ${quoteIdent(t.name)}${order}`;
}

/**
 * The LOAD DATA statement for a table of `db`. No SET clause: with one,
 * MariaDB 10.11 ignores NO_AUTO_VALUE_ON_ZERO (a key 0 becomes a new value).
 */
export function loadSql(t: TableEntry, db: string): string {
  const list = t.columns.filter((c) => c.kind !== 'generated').map((c) => quoteIdent(c.name));
  return (
    `LOAD DATA LOCAL INFILE 'arca-stream' INTO TABLE ${quoteIdent(db)}.${quoteIdent(t.name)} CHARACTER SET binary ` +
    `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${list.join(', ')})`
  );
}

/** Appends rows in LOAD DATA text format into growing batches. */
class LineWriter {
  private buf = Buffer.allocUnsafe(BATCH * 2);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  row(values: RawRow): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      this.room((v ? v.length * 2 : 2) + 1);
      if (i > 0) this.buf[this.pos++] = TAB;
      if (v === null || v === undefined) {
        this.buf[this.pos++] = 0x5c;
        this.buf[this.pos++] = 0x4e; // \N
        continue;
      }
      for (let j = 0; j < v.length; j++) {
        const b = v[j]!;
        let e = -1;
        if (b === 0x5c) e = 0x5c;
        else if (b === TAB) e = 0x74;
        else if (b === LF) e = 0x6e;
        else if (b === 0x0d) e = 0x72;
        else if (b === 0) e = 0x30;
        if (e < 0) this.buf[this.pos++] = b;
        else {
          this.buf[this.pos++] = 0x5c;
          this.buf[this.pos++] = e;
        }
      }
    }
    this.room(1);
    this.buf[this.pos++] = LF;
  }

  get size(): number {
    return this.pos;
  }

  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}

/** Dumps one table on `conn` (in the snapshot transaction); returns its tree node and stats. */
export async function dumpTable(conn: MyConn, t: TableEntry, session: WriteSession, onBytes: (n: number) => void): Promise<{ node: TreeNode; stats: TableStats }> {
  const hash = streamChecksum();
  let rowCount = 0;
  const rowsStream = conn.query({ sql: selectSql(t), rowsAsArray: true, typeCast: false }).stream({ highWaterMark: 512 });
  async function* lines(): AsyncGenerator<Uint8Array> {
    const w = new LineWriter();
    for await (const row of rowsStream as AsyncIterable<RawRow>) {
      w.row(row);
      rowCount++;
      if (w.size >= BATCH) {
        const b = w.take();
        hash.update(b);
        yield b;
      }
    }
    if (w.size > 0) {
      const b = w.take();
      hash.update(b);
      yield b;
    }
  }
  let saved;
  try {
    saved = await saveStream(session, lines(), onBytes);
  } catch (err) {
    rowsStream.destroy();
    throw tableChangedError(t.name, err) ?? stepError(`dump of table ${t.name}`, err);
  }
  return {
    node: { name: t.node, type: 'file', mode: 0o600, size: saved.size, ...saved.fields },
    stats: { name: t.name, rows: rowCount, bytes: saved.size, ...hash.record() },
  };
}

interface OkPacket {
  affectedRows: number;
  warningStatus: number;
}

/** Loads one table of `db` from its stored stream; CORRUPT unless bytes, checksum and rows match the backup. */
export async function loadTable(
  conn: MyConn,
  db: string,
  t: TableEntry,
  reader: BlobReader,
  node: TreeNode,
  expected: TableStats | undefined,
  onBytes: (n: number) => void,
): Promise<number> {
  const hash = streamChecksum(recordedAlgorithm(expected));
  let bytes = 0;
  let readError: unknown;
  const socket = (conn as unknown as { stream: NodeJS.WritableStream & { writableNeedDrain?: boolean } }).stream; // mysql2 keeps its socket on `stream`
  async function* content(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of reader.readContent(node)) {
        hash.update(chunk);
        bytes += chunk.length;
        onBytes(chunk.length);
        // mysql2 writes LOCAL INFILE data without backpressure: wait for the socket to drain, one packet ≤ 1 MiB.
        for (let p = 0; p < chunk.length; p += 1 << 20) {
          if (socket.writableNeedDrain) await new Promise((r) => socket.once('drain', r));
          yield chunk.subarray(p, p + (1 << 20));
        }
      }
    } catch (err) {
      readError = err;
      throw err;
    }
  }
  const what = `table ${t.name}`;
  let ok: OkPacket;
  try {
    ok = await new Promise<OkPacket>((resolve, reject) => {
      conn.query({ sql: loadSql(t, db), infileStreamFactory: () => Readable.from(content()) }, (err, result) => (err ? reject(err) : resolve(result as unknown as OkPacket)));
    });
  } catch (err) {
    throw stepError(`loading ${what}`, readError ?? err);
  }
  if (ok.warningStatus > 0) {
    const w = await query<Array<{ Message: string }>>(conn, 'SHOW WARNINGS LIMIT 3').catch(() => []);
    throw new ArcaError('SOURCE', `loading ${what}: ${ok.warningStatus} warning(s): ${w.map((x) => x.Message).join('; ')}`);
  }
  if (node.size !== undefined && bytes !== node.size) throw new ArcaError('CORRUPT', `${what}: read ${bytes} bytes, the backup recorded ${node.size}`);
  assertMatchesRecorded(expected, hash.digest(), what);
  if (expected && expected.rows !== ok.affectedRows) throw new ArcaError('CORRUPT', `${what}: loaded ${ok.affectedRows} rows, the backup recorded ${expected.rows}`);
  return bytes;
}

/**
 * MySQL keeps no lock on a table across a consistent snapshot: an ALTER,
 * DROP or TRUNCATE by the application after the snapshot makes its rows
 * unreadable as of it (a dropped column, a rebuilt table, a table gone). Such
 * a failure, said so; null for any other.
 */
function tableChangedError(table: string, err: unknown): ArcaError | null {
  const errno = (err as { errno?: number } | undefined)?.errno;
  // 1412 ER_TABLE_DEF_CHANGED, 1054 ER_BAD_FIELD_ERROR (a column dropped), 1146 ER_NO_SUCH_TABLE.
  if (errno !== 1412 && errno !== 1054 && errno !== 1146) return null;
  return new ArcaError(
    'SOURCE',
    `dump of table ${table} failed: the table was changed (ALTER TABLE, DROP, TRUNCATE…) after the backup's snapshot, so its rows ` +
      `can no longer be read as they were then (${errorMessage(err)}); run the backup again`,
    { cause: err },
  );
}
