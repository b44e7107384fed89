// Repacking (format §10.4): the blobs prune keeps from mostly unused packs are
// copied, still sealed (each blob is sealed on its own with a fixed AAD, so
// its bytes do not depend on the pack), into new packs; an index object for
// the new packs is stored before anything names the old packs in a tombstone.

import { createHash } from 'node:crypto';
import { isNotFound } from '../../backend/backend.js';
import { AAD } from '../../content/seal.js';
import { ArcaError } from '../../errors.js';
import { encodeIndexObject, type IndexPack } from '../index/index-object.js';
import { indexKey, packKey } from '../object-keys.js';
import { BlobType, type PackEntry } from '../pack/pack-footer.js';
import { PackBuilder } from '../pack/pack-builder.js';
import type { Repository } from '../repository.js';

export interface RepackSource {
  packHex: string;
  /** The blobs to copy out of it. */
  entries: PackEntry[];
}

export interface RepackResult {
  /** Old packs whose blobs now have a copy (they may go). */
  done: string[];
  /** Old packs that could not be read or do not match their name: kept, with why. */
  failed: Array<{ packHex: string; reason: string }>;
  packsWritten: number;
  blobsCopied: number;
  bytesWritten: number;
}

export async function repackBlobs(repo: Repository, sources: readonly RepackSource[], sessionId: Buffer, signal?: AbortSignal): Promise<RepackResult> {
  const result: RepackResult = { done: [], failed: [], packsWritten: 0, blobsCopied: 0, bytesWritten: 0 };
  const builders = new Map<BlobType, PackBuilder>();
  const written: IndexPack[] = [];
  const flush = async (type: BlobType): Promise<void> => {
    const b = builders.get(type);
    builders.delete(type);
    if (!b || b.count === 0) return;
    const pack = b.finish(repo.keys.encKey);
    await repo.backend.put(packKey(pack.idHex), pack.bytes);
    written.push({ id: pack.id, entries: pack.entries });
    result.packsWritten++;
    result.bytesWritten += pack.bytes.length;
  };
  for (const src of sources) {
    if (signal?.aborted) throw new ArcaError('ABORTED', 'prune aborted');
    let bytes: Buffer;
    try {
      bytes = await repo.backend.get(packKey(src.packHex));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      result.failed.push({ packHex: src.packHex, reason: 'pack is missing' });
      continue;
    }
    if (createHash('sha256').update(bytes).digest('hex') !== src.packHex) {
      result.failed.push({ packHex: src.packHex, reason: 'pack content does not match its name; kept as it is (run arca check --read-data)' });
      continue;
    }
    for (const e of src.entries) {
      if (e.offset + e.length > bytes.length) throw new ArcaError('CORRUPT', `pack ${packKey(src.packHex)} is shorter than its index says; run arca check`);
      let b = builders.get(e.type);
      if (!b) builders.set(e.type, (b = new PackBuilder(e.type, e.type === BlobType.data ? repo.config.packSize + (1 << 20) : 1 << 20)));
      b.add(e.id, bytes.subarray(e.offset, e.offset + e.length), e.rawLength);
      result.blobsCopied++;
      if (b.byteLength >= repo.config.packSize) await flush(e.type);
    }
    result.done.push(src.packHex);
  }
  for (const type of [...builders.keys()]) await flush(type);
  if (written.length > 0) {
    const plain = encodeIndexObject({ sessionId, superseded: [], packs: written });
    const stored = await repo.putSealedContent(indexKey, AAD.index, plain);
    result.bytesWritten += stored.size;
  }
  return result;
}
