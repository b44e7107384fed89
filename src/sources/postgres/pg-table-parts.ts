// Tables split into key ranges (pg-ranges.ts): each part is COPYed on any
// worker connection and saved as its own run of chunks (a part starts a new
// chunk, so an unchanged part stores nothing new); the table's tree node
// lists the parts' content lists in key order, so the node is one ordinary
// stream, byte-identical to an unsplit ordered dump, and restores, exports and
// checks like any other. The whole stream's SHA-256 is taken in order
// (pg-ordered-hash.ts). A restore cuts the node's chunk list back into the
// parts (their byte sizes are in catalog.json) and loads them in parallel.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { ArcaError } from '../../errors.js';
import type { BlobReader } from '../../repository/blob-reader.js';
import { BlobType } from '../../repository/pack/pack-footer.js';
import { saveStream, type SavedStream } from '../../repository/stream-saver.js';
import type { TreeNode } from '../../repository/tree.js';
import type { WriteSession } from '../../repository/write-session.js';
import { openCopy, type CopyOpener } from './pg-table-data.js';
import { copyInSql, copyOutSql, type TableEntry, type TablePart } from './pg-catalog.js';
import { stepError, type PgClient } from './pg-connect.js';
import type { OrderedHash } from './pg-ordered-hash.js';
import type { KeyRange } from './pg-ranges.js';

export interface DumpedPart {
  saved: SavedStream;
  rows: number;
}

/** COPYs part `i` (range `r`) of `t` into the session, feeding the table's ordered hash. */
export async function dumpPart(
  client: PgClient,
  t: TableEntry,
  r: KeyRange,
  i: number,
  hash: OrderedHash,
  session: WriteSession,
  onBytes: (n: number) => void,
  open: CopyOpener = openCopy,
): Promise<DumpedPart> {
  // recycle (openCopy): the ordered hash copies what it holds; the chunker is done with a buffer when it asks for the next.
  const stream = open(client, copyOutSql(t, r));
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of stream) {
      await hash.add(i, chunk);
      yield chunk;
    }
    hash.end(i);
  }
  try {
    const saved = await saveStream(session, hashed(), onBytes);
    return { saved, rows: stream.rowCount };
  } catch (err) {
    stream.cancel(); // when the iteration never started; leaving it early has cancelled already
    throw stepError(`dump of table ${t.schema}.${t.name} (part ${i + 1})`, err);
  }
}

/** The table's node: the parts' content, in order, as content lists (an inline part becomes one list). */
export async function partsNode(session: WriteSession, t: TableEntry, parts: DumpedPart[]): Promise<TreeNode> {
  const lists: string[] = [];
  let size = 0;
  for (const p of parts) {
    size += p.saved.size;
    if (p.saved.fields.contentLists) lists.push(...p.saved.fields.contentLists);
    else if (p.saved.fields.content && p.saved.fields.content.length > 0) {
      const ids = Buffer.concat(p.saved.fields.content.map((h) => Buffer.from(h, 'hex')));
      lists.push((await session.putBlob(BlobType.tree, ids)).toString('hex'));
    }
  }
  return { name: t.node, type: 'file', mode: 0o600, size, contentLists: lists };
}

/**
 * Cuts a split table's stored stream back into its parts: one synthetic file
 * node per part, holding that part's chunk ids. Parts start on chunk
 * boundaries; anything else means the backup is damaged.
 */
export async function partNodes(reader: BlobReader, t: TableEntry, node: TreeNode, parts: TablePart[]): Promise<TreeNode[]> {
  const ids = await reader.contentIds(node);
  const out: TreeNode[] = [];
  let at = 0;
  for (const p of parts) {
    const content: string[] = [];
    let bytes = 0;
    while (bytes < p.bytes && at < ids.length) {
      const id = ids[at++]!;
      const loc = reader.repo.index.get(Buffer.from(id, 'hex'));
      if (!loc) throw new ArcaError('CORRUPT', `blob ${id} is missing: no index entry names it`);
      bytes += loc.rawLength;
      content.push(id);
    }
    if (bytes !== p.bytes) throw new ArcaError('CORRUPT', `table ${t.schema}.${t.name}: its stored parts do not match the sizes recorded at backup time`);
    out.push({ type: 'file', size: bytes, content });
  }
  if (at !== ids.length) throw new ArcaError('CORRUPT', `table ${t.schema}.${t.name}: its stored stream is longer than its recorded parts`);
  return out;
}

/**
 * Loads one part with COPY FROM STDIN in its own transaction (parts of one
 * table load side by side, so no TRUNCATE/FREEZE), feeding the table's
 * ordered hash; returns the rows loaded.
 */
export async function loadPart(
  client: PgClient,
  t: TableEntry,
  reader: BlobReader,
  node: TreeNode,
  i: number,
  hash: OrderedHash,
  onBytes: (n: number) => void,
): Promise<number> {
  async function* content(): AsyncGenerator<Buffer> {
    for await (const chunk of reader.readContent(node)) {
      await hash.add(i, chunk);
      onBytes(chunk.length);
      yield chunk;
    }
    hash.end(i);
  }
  const sink = client.query(copyFrom(copyInSql(t)));
  try {
    await pipeline(Readable.from(content()), sink);
  } catch (err) {
    throw stepError(`loading table ${t.schema}.${t.name} (part ${i + 1})`, err);
  }
  return sink.rowCount;
}
