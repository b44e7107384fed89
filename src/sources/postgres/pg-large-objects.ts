// Large objects: their bytes are read in the backup's snapshot with lo_get in
// 1 MiB pieces and stored as one stream of frames
//   [oid u32 BE][length u32 BE][length bytes]   (every object has ≥ 1 frame)
// Their metadata (owner, ACL, comment) is in catalog.json. Restore creates
// each object with its oid, owner and grants (as pg_dump's BLOB entries do),
// then writes the frames with lo_put.

import { assertMatchesRecorded, recordedAlgorithm, streamChecksum, type RecordedChecksum } from '../../content/stream-checksum.js';
import { ArcaError } from '../../errors.js';
import type { BlobReader } from '../../repository/blob-reader.js';
import { saveStream } from '../../repository/stream-saver.js';
import type { TreeNode } from '../../repository/tree.js';
import type { WriteSession } from '../../repository/write-session.js';
import { LARGE_OBJECTS_NODE, type LargeObjectEntry } from './pg-catalog.js';
import { quoteIdent, stepError, type PgClient } from './pg-connect.js';
import type { TableStats } from './pg-table-data.js';

const PIECE = 1 << 20;

export async function dumpLargeObjects(
  client: PgClient,
  objects: LargeObjectEntry[],
  session: WriteSession,
  onBytes: (n: number) => void,
): Promise<{ node: TreeNode; stats: Omit<TableStats, 'schema' | 'name'> }> {
  const hash = streamChecksum();
  async function* frames(): AsyncGenerator<Uint8Array> {
    for (const lo of objects) {
      for (let offset = 0; ; offset += PIECE) {
        const r = await client.query<{ data: Buffer }>('SELECT lo_get($1::oid, $2::bigint, $3) AS data', [lo.oid, offset, PIECE]);
        const data = r.rows[0]!.data;
        const head = Buffer.alloc(8);
        head.writeUInt32BE(lo.oid, 0);
        head.writeUInt32BE(data.length, 4);
        hash.update(head);
        hash.update(data);
        yield head;
        if (data.length > 0) yield data;
        if (data.length < PIECE) break;
      }
    }
  }
  try {
    const saved = await saveStream(session, frames(), onBytes);
    return {
      node: { name: LARGE_OBJECTS_NODE, type: 'file', mode: 0o600, size: saved.size, ...saved.fields },
      stats: { rows: objects.length, bytes: saved.size, ...hash.record() },
    };
  } catch (err) {
    throw stepError('dump of the large objects', err);
  }
}

/** Creates every large object with its oid, and (keepOwners) owner, grants; comments always. */
export async function createLargeObjects(client: PgClient, objects: LargeObjectEntry[], keepOwners: boolean): Promise<void> {
  try {
    for (const lo of objects) {
      await client.query('SELECT lo_create($1::oid)', [lo.oid]);
      if (keepOwners) {
        await client.query(`ALTER LARGE OBJECT ${lo.oid} OWNER TO ${quoteIdent(lo.owner)}`);
        if (lo.acl !== null) {
          await client.query(`REVOKE ALL ON LARGE OBJECT ${lo.oid} FROM PUBLIC`);
          await client.query(`REVOKE ALL ON LARGE OBJECT ${lo.oid} FROM ${quoteIdent(lo.owner)}`);
          const grants = await client.query<{ grantee: string; privilege: string; grantable: boolean }>(
            `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee,
                    a.privilege_type AS privilege, a.is_grantable AS grantable
               FROM aclexplode($1::aclitem[]) a`,
            [lo.acl],
          );
          for (const g of grants.rows) {
            await client.query(`GRANT ${g.privilege} ON LARGE OBJECT ${lo.oid} TO ${g.grantee}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
          }
        }
      }
      if (lo.comment !== null) await client.query(`COMMENT ON LARGE OBJECT ${lo.oid} IS ${client.escapeLiteral(lo.comment)}`);
    }
  } catch (err) {
    throw stepError('creating the large objects', err);
  }
}

/** Writes the stored frames into the (already created) large objects; checks the checksum. */
export async function loadLargeObjects(
  client: PgClient,
  reader: BlobReader,
  node: TreeNode,
  expected: RecordedChecksum | undefined,
  onBytes: (n: number) => void,
): Promise<number> {
  const hash = streamChecksum(recordedAlgorithm(expected));
  const offsets = new Map<number, number>();
  let pending: Buffer = Buffer.alloc(0);
  let bytes = 0;
  try {
    for await (const chunk of reader.readContent(node)) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(chunk.length);
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 8) {
        const oid = pending.readUInt32BE(0);
        const len = pending.readUInt32BE(4);
        if (pending.length < 8 + len) break;
        const offset = offsets.get(oid) ?? 0;
        if (len > 0) await client.query('SELECT lo_put($1::oid, $2::bigint, $3::bytea)', [oid, offset, pending.subarray(8, 8 + len)]);
        offsets.set(oid, offset + len);
        pending = pending.subarray(8 + len);
      }
    }
  } catch (err) {
    throw stepError('loading the large objects', err);
  }
  if (pending.length > 0) throw new ArcaError('CORRUPT', `${LARGE_OBJECTS_NODE} ends in the middle of a frame`);
  assertMatchesRecorded(expected, hash.digest(), 'the large objects');
  return bytes;
}
