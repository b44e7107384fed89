// Saves one byte stream (a file's content, a table dump) as data blobs:
// chunk (FastCDC) → putBlob per chunk; returns the node fields that name the
// content, spilling long chunk lists into content-list tree blobs cut at
// content-defined points (format §8).

import { Chunker, chunkStream } from '../content/chunker.js';
import { ChunkSlabs } from '../content/chunk-slabs.js';
import { throttled } from '../common/rate-limit.js';
import { BlobType } from './pack/pack-footer.js';
import { MAX_INLINE_CHUNKS, type TreeNode } from './tree.js';
import type { WriteSession } from './write-session.js';

export interface SavedStream {
  size: number;
  fields: Pick<TreeNode, 'content' | 'contentLists'>;
}

export async function saveStream(
  session: WriteSession,
  input: AsyncIterable<Uint8Array>,
  onBytes?: (n: number) => void,
): Promise<SavedStream> {
  const chunker = new Chunker(session.repo.config.chunker, session.repo.gearTable);
  const pendingIds: Array<Promise<Buffer>> = [];
  let size = 0;
  const source = session.throttle ? throttled(input, session.throttle) : input;
  // Chunk memory is reused once a blob's id has settled: the session (and its
  // workers) read a chunk only until then.
  const slabs = new ChunkSlabs(session.freeSlabs);
  for await (const chunk of chunkStream(source, chunker, slabs)) {
    size += chunk.length;
    onBytes?.(chunk.length);
    let id: Promise<Buffer>;
    try {
      id = (await session.submit(BlobType.data, chunk)).id;
    } catch (err) {
      slabs.release(chunk);
      throw err;
    }
    const release = () => slabs.release(chunk);
    void id.then(release, release);
    pendingIds.push(id);
  }
  slabs.finish();
  const ids = await Promise.all(pendingIds);
  if (ids.length <= MAX_INLINE_CHUNKS) return { size, fields: { content: ids.map((id) => id.toString('hex')) } };
  const lists: string[] = [];
  let start = 0;
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 === ids.length || endsContentList(ids[i]!) || i + 1 - start >= MAX_LIST_IDS) {
      const listId = await session.putBlob(BlobType.tree, Buffer.concat(ids.slice(start, i + 1)));
      lists.push(listId.toString('hex'));
      start = i + 1;
    }
  }
  return { size, fields: { contentLists: lists } };
}

/**
 * Content lists are cut where the content says (format §8): after an id whose
 * first two bytes, little-endian, are below 16 — about one id in 4096, since
 * ids are uniform — so after an edit the lists resynchronize and the unchanged
 * stretches of a large file reuse their list blobs.
 */
function endsContentList(id: Buffer): boolean {
  return (id[0]! | (id[1]! << 8)) < 16;
}

const MAX_LIST_IDS = 16384;
