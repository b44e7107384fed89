// Reads blobs back: index lookup → ranged get from the pack → open in the
// worker pool (decrypt, decompress, verify id). Streams a file's content in
// order with bounded read-ahead. Any missing or damaged blob fails loudly —
// after one reload of the index: a prune beside us may have repacked the blob
// and deleted the pack our index named (format §10.5).

import { BackendError, isNotFound } from '../backend/backend.js';
import type { BlobPool } from '../content/blob-pool.js';
import { ArcaError, isArcaError } from '../errors.js';
import { packKey } from './object-keys.js';
import type { Repository } from './repository.js';
import type { BlobLocation } from './index/blob-index.js';
import { decodeContentList, decodeTree, type Tree, type TreeNode } from './tree.js';

/** A blob our index names in a pack that is gone, or a blob our index does not name. */
class Relocatable extends ArcaError {}

/** Reloads of the index one reader may do (each covers every read that failed before it). */
const MAX_RELOADS = 3;

export class BlobReader {
  private readonly treeCache = new Map<string, Tree>();
  /** Counts index loads done by this reader; a read retries only if the index changed since it looked. */
  private generation = 0;
  private reloading: Promise<void> | undefined;

  constructor(
    readonly repo: Repository,
    private readonly pool: BlobPool,
    private readonly treeCacheSize = 512,
  ) {}

  async read(idHex: string): Promise<Buffer> {
    const seen = this.generation;
    try {
      return await this.readOnce(idHex);
    } catch (err) {
      if (!(err instanceof Relocatable) || !(await this.reload(seen))) throw err;
      return this.readOnce(idHex);
    }
  }

  private async readOnce(idHex: string): Promise<Buffer> {
    const id = Buffer.from(idHex, 'hex');
    const loc = this.locate(id, idHex);
    const sealed = await this.fetch(loc.packIdHex, loc.offset, loc.length, idHex);
    return this.open(id, sealed, loc.rawLength, loc.packIdHex);
  }

  /**
   * Loads the index again unless that happened since generation `seen` (then
   * the caller just retries). False when this reader already reloaded too often.
   */
  private async reload(seen: number): Promise<boolean> {
    if (seen !== this.generation) return true;
    if (!this.reloading) {
      if (this.generation >= MAX_RELOADS) return false;
      this.reloading = this.repo.loadIndex().finally(() => {
        this.generation++;
        this.reloading = undefined;
      });
    }
    await this.reloading;
    return true;
  }

  private locate(id: Buffer, idHex: string): BlobLocation {
    const loc = this.repo.index.get(id);
    if (!loc) throw new Relocatable('CORRUPT', `blob ${idHex} is missing: no index entry names it`);
    return loc;
  }

  /** A byte range of a pack; a missing or short pack is CORRUPT (the volume lost data). */
  private async fetch(packHex: string, offset: number, length: number, what: string): Promise<Buffer> {
    const key = packKey(packHex);
    try {
      return await this.repo.backend.get(key, { offset, length });
    } catch (err) {
      if (isNotFound(err)) throw new Relocatable('CORRUPT', `pack ${key} is missing (it holds blob ${what})`, { cause: err });
      if (err instanceof BackendError && err.pastEnd) {
        throw new ArcaError('CORRUPT', `pack ${key} is truncated (it holds blob ${what})`, { cause: err });
      }
      throw err;
    }
  }

  private async open(id: Buffer, sealed: Buffer, rawLength: number, packHex: string, into?: Buffer): Promise<Buffer> {
    try {
      return await this.pool.open(id, sealed, rawLength, into);
    } catch (err) {
      if (isArcaError(err, 'CORRUPT')) throw new ArcaError('CORRUPT', `${err.message} (in pack ${packKey(packHex)})`, { cause: err });
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

  /**
   * Streams a file node's bytes in order. Consecutive blobs that lie close
   * together in one pack (in any order, with at most half of the span
   * belonging to other blobs) are fetched with one ranged read of up to
   * 4 MiB and yielded as one buffer; runs are read ahead up to `aheadBytes`.
   * Few, large reads matter most on object storage, where each is a request.
   */
  async *readContent(node: TreeNode, aheadBytes = 16 * 1024 * 1024): AsyncGenerator<Buffer> {
    const ids = await this.contentIds(node);
    let runs: Run[];
    const seen = this.generation;
    try {
      runs = this.planRuns(ids);
    } catch (err) {
      if (!(err instanceof Relocatable) || !(await this.reload(seen))) throw err;
      runs = this.planRuns(ids);
    }
    const queue: Array<{ bytes: number; blobs: Promise<Buffer[]> }> = [];
    let next = 0;
    let queued = 0;
    const enqueue = () => {
      while (next < runs.length && (queue.length === 0 || queued < aheadBytes)) {
        const run = runs[next++]!;
        const blobs = this.readRun(run);
        blobs.catch(() => undefined); // observed when dequeued
        queue.push({ bytes: run.length, blobs });
        queued += run.length;
      }
    };
    enqueue();
    while (queue.length > 0) {
      const head = queue.shift()!;
      const blobs = await head.blobs;
      queued -= head.bytes;
      enqueue();
      // One buffer per run: a writer then makes one write call per run, not per 16 KiB blob.
      yield blobs.length === 1 ? blobs[0]! : Buffer.concat(blobs);
    }
  }

  private planRuns(ids: string[]): Run[] {
    const runs: Run[] = [];
    for (const idHex of ids) {
      const id = Buffer.from(idHex, 'hex');
      const loc = this.locate(id, idHex);
      const blob = { id, offset: loc.offset, length: loc.length, rawLength: loc.rawLength };
      const last = runs.at(-1);
      if (last && last.packHex === loc.packIdHex) {
        const offset = Math.min(last.offset, loc.offset);
        const length = Math.max(last.offset + last.length, loc.offset + loc.length) - offset;
        const useful = last.useful + loc.length;
        if (length <= MAX_RUN_BYTES && length - useful <= length * MAX_RUN_WASTE) {
          last.blobs.push(blob);
          Object.assign(last, { offset, length, useful });
          continue;
        }
      }
      runs.push({ packHex: loc.packIdHex, offset: loc.offset, length: loc.length, useful: loc.length, blobs: [blob] });
    }
    return runs;
  }

  private async readRun(run: Run): Promise<Buffer[]> {
    let sealed: Buffer;
    try {
      sealed = await this.fetch(run.packHex, run.offset, run.length, run.blobs[0]!.id.toString('hex'));
    } catch (err) {
      // The pack went away (repacked by a prune): read each blob where the index now says.
      if (!(err instanceof Relocatable)) throw err;
      return Promise.all(run.blobs.map((b) => this.read(b.id.toString('hex'))));
    }
    // The run's plaintext, blob after blob, in one buffer the pool writes into.
    const out = Buffer.allocUnsafeSlow(run.blobs.reduce((n, b) => n + b.rawLength, 0));
    let at = 0;
    await Promise.all(
      run.blobs.map((b) => {
        const into = out.subarray(at, (at += b.rawLength));
        return this.open(b.id, sealed.subarray(b.offset - run.offset, b.offset - run.offset + b.length), b.rawLength, run.packHex, into);
      }),
    );
    return [out];
  }
}

/** The largest read of one run. */
const MAX_RUN_BYTES = 4 * 1024 * 1024;
/** The share of a run's bytes that may belong to blobs it does not need. */
const MAX_RUN_WASTE = 0.5;

/** Blobs near each other in one pack (in the file's order), read with one request covering them all. */
interface Run {
  packHex: string;
  /** The byte range of the pack read. */
  offset: number;
  length: number;
  /** Bytes of the blobs themselves (a blob needed twice counts twice). */
  useful: number;
  blobs: Array<{ id: Buffer; offset: number; length: number; rawLength: number }>;
}
