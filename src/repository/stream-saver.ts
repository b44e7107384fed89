// Saves one byte stream (a file's content, a table dump) as data blobs:
// chunk (FastCDC) → putBlob per chunk; returns the node fields that name the
// content, spilling long chunk lists into content-list tree blobs (format §8).

import { Chunker, chunkStream } from '../content/chunker.js';
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
  for await (const chunk of chunkStream(input, chunker)) {
    size += chunk.length;
    onBytes?.(chunk.length);
    pendingIds.push((await session.submit(BlobType.data, chunk)).id);
  }
  const ids = await Promise.all(pendingIds);
  if (ids.length <= MAX_INLINE_CHUNKS) return { size, fields: { content: ids.map((id) => id.toString('hex')) } };
  const lists: string[] = [];
  for (let i = 0; i < ids.length; i += MAX_INLINE_CHUNKS) {
    const listId = await session.putBlob(BlobType.tree, Buffer.concat(ids.slice(i, i + MAX_INLINE_CHUNKS)));
    lists.push(listId.toString('hex'));
  }
  return { size, fields: { contentLists: lists } };
}
