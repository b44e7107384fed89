// Reads blobs back: index lookup → ranged get from the pack → open in the
// worker pool (decrypt, decompress, verify id). Streams a file's content in
// order with bounded read-ahead. Any missing or damaged blob fails loudly.

import { isNotFound } from '../backend/backend.js';
import type { BlobPool } from '../content/blob-pool.js';
import { ArcaError, isArcaError } from '../errors.js';
import { packKey } from './object-keys.js';
import type { Repository } from './repository.js';
import { decodeContentList, decodeTree, type Tree, type TreeNode } from './tree.js';

export class BlobReader {
  private readonly treeCache = new Map<string, Tree>();

  constructor(
    readonly repo: Repository,
    private readonly pool: BlobPool,
    private readonly treeCacheSize = 512,
  ) {}

  async read(idHex: string): Promise<Buffer> {
    const id = Buffer.from(idHex, 'hex');
    const loc = this.repo.index.get(id);
    if (!loc) throw new ArcaError('CORRUPT', `blob ${idHex} is missing: no index entry names it`);
    const key = packKey(loc.packIdHex);
    let sealed: Buffer;
    try {
      sealed = await this.repo.backend.get(key, { offset: loc.offset, length: loc.length });
    } catch (err) {
      if (isNotFound(err)) throw new ArcaError('CORRUPT', `pack ${key} is missing (it holds blob ${idHex})`, { cause: err });
      if (isArcaError(err) && /range|past the end|out of range/i.test(err.message)) {
        throw new ArcaError('CORRUPT', `pack ${key} is truncated (it holds blob ${idHex})`, { cause: err });
      }
      throw err;
    }
    try {
      return await this.pool.open(id, sealed, loc.rawLength);
    } catch (err) {
      if (isArcaError(err, 'CORRUPT')) throw new ArcaError('CORRUPT', `${err.message} (in pack ${key})`, { cause: err });
      throw err;
    }
  }

  async readTree(idHex: string): Promise<Tree> {
    const hit = this.treeCache.get(idHex);
    if (hit) return hit;
    const tree = decodeTree(await this.read(idHex), `tree ${idHex}`);
    if (this.treeCache.size >= this.treeCacheSize) this.treeCache.delete(this.treeCache.keys().next().value!);
    this.treeCache.set(idHex, tree);
    return tree;
  }

  /** The data blob ids of a file node, in order (resolving content lists). */
  async contentIds(node: TreeNode): Promise<string[]> {
    if (node.contentLists) {
      const ids: string[] = [];
      for (const list of node.contentLists) ids.push(...decodeContentList(await this.read(list), `content list ${list}`));
      return ids;
    }
    return node.content ?? [];
  }

  /** Streams a file node's bytes in order, reading ahead up to `aheadBytes`. */
  async *readContent(node: TreeNode, aheadBytes = 32 * 1024 * 1024): AsyncGenerator<Buffer> {
    const ids = await this.contentIds(node);
    const queue: Array<Promise<Buffer>> = [];
    let next = 0;
    let queuedBytes = 0;
    const sizes: number[] = [];
    const enqueue = () => {
      while (next < ids.length && (queue.length === 0 || queuedBytes < aheadBytes)) {
        const idHex = ids[next++]!;
        const loc = this.repo.index.get(Buffer.from(idHex, 'hex'));
        const size = loc?.rawLength ?? 0;
        queuedBytes += size;
        sizes.push(size);
        const p = this.read(idHex);
        p.catch(() => undefined); // observed when dequeued
        queue.push(p);
      }
    };
    try {
      enqueue();
      while (queue.length > 0) {
        const buf = await queue.shift()!;
        queuedBytes -= sizes.shift()!;
        enqueue();
        yield buf;
      }
    } finally {
      queue.length = 0;
    }
  }
}
