// Rebuilds one backup's tree on another volume (format §13). Every node keeps
// its metadata (names, modes, times, sizes, inodes, link targets); each file's
// content is read through the source's BlobReader and saved through the
// target's WriteSession, re-chunked with the target's chunker, so only blobs
// the target lacks are stored. A file kept as content lists is re-chunked list
// by list: every list boundary of the source stays a chunk boundary of the
// copy, so a stream saved in parts (PostgreSQL key ranges, whose parts start
// on chunk boundaries) still splits at the same byte offsets on the target.

import { ArcaError } from '../../errors.js';
import type { BlobReader } from '../blob-reader.js';
import { BlobType } from '../pack/pack-footer.js';
import { saveStream } from '../stream-saver.js';
import { decodeContentList, encodeTree, type TreeNode } from '../tree.js';
import type { WriteSession } from '../write-session.js';
import { contentKey, hasContent, type ContentFields, type ContentMemo } from './content-memo.js';

export interface TreeCopierOptions {
  /** Reads the source volume. */
  source: BlobReader;
  /** Writes the target volume (started). */
  session: WriteSession;
  /** Reads the target volume (checks memo entries). */
  target: BlobReader;
  memo: ContentMemo;
  signal?: AbortSignal;
  /** Bytes of content copied or found in the memo, as they go. */
  onBytes?: (n: number) => void;
  /** Files copied at once (default 4). */
  streams?: number;
}

export class TreeCopier {
  /** Content bytes read from the source and saved on the target. */
  bytesStreamed = 0;
  /** Content bytes of files whose target content was already known (not read). */
  bytesKnown = 0;
  files = 0;
  private readonly slots: Slots;

  constructor(private readonly o: TreeCopierOptions) {
    this.slots = new Slots(o.streams ?? 4);
  }

  /** Copies the tree `rootHex` and everything it reaches; returns the target's root tree id. */
  async copy(rootHex: string): Promise<string> {
    return this.copyDir(rootHex);
  }

  private async copyDir(idHex: string): Promise<string> {
    const tree = await this.o.source.readTree(idHex);
    const out: TreeNode[] = new Array<TreeNode>(tree.nodes.length);
    const files: Array<Promise<void>> = [];
    for (const [i, node] of tree.nodes.entries()) {
      this.throwIfAborted();
      if (node.type === 'dir' && node.subtree !== undefined) {
        out[i] = { ...node, subtree: await this.copyDir(node.subtree) };
      } else if (node.type === 'file' && hasContent(node)) {
        await this.slots.take(this.o.signal);
        files.push(
          this.copyFile(node)
            .then((copied) => void (out[i] = copied))
            .finally(() => this.slots.give()),
        );
      } else {
        out[i] = { ...node };
      }
    }
    // Every file settles before an error is thrown: none keeps writing behind our back.
    const settled = await Promise.allSettled(files);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    this.throwIfAborted();
    return (await this.o.session.putBlob(BlobType.tree, encodeTree(out))).toString('hex');
  }

  private async copyFile(node: TreeNode): Promise<TreeNode> {
    this.files++;
    const key = contentKey(node);
    const known = await this.o.memo.lookup(key, this.o.session, this.o.target);
    if (known) {
      const size = node.size ?? 0;
      this.bytesKnown += size;
      this.o.onBytes?.(size);
      return withContent(node, known);
    }
    const { fields, size } = node.contentLists ? await this.copyLists(node.contentLists) : await this.copyIds(node.content ?? []);
    if (node.size !== undefined && node.size !== size) {
      throw new ArcaError('CORRUPT', `source file ${node.name ?? '(raw name)'} holds ${size} bytes, its tree node says ${node.size}`);
    }
    this.o.memo.offer(key, fields, this.o.session.sessionId);
    return withContent(node, fields);
  }

  /** Re-chunks the bytes of these data blobs as one stream on the target. */
  private async copyIds(ids: string[]): Promise<{ fields: ContentFields; size: number }> {
    const saved = await saveStream(this.o.session, this.stream(ids), (n) => {
      this.bytesStreamed += n;
      this.o.onBytes?.(n);
    });
    return { fields: saved.fields, size: saved.size };
  }

  /** Re-chunks each content list on its own; the result is always content lists (a short run becomes one list). */
  private async copyLists(lists: string[]): Promise<{ fields: ContentFields; size: number }> {
    const out: string[] = [];
    let size = 0;
    for (const list of lists) {
      const ids = decodeContentList(await this.o.source.read(list), `content list ${list}`);
      const part = await this.copyIds(ids);
      size += part.size;
      if (part.fields.contentLists) out.push(...part.fields.contentLists);
      else if (part.fields.content && part.fields.content.length > 0) {
        const raw = Buffer.concat(part.fields.content.map((h) => Buffer.from(h, 'hex')));
        out.push((await this.o.session.putBlob(BlobType.tree, raw)).toString('hex'));
      }
    }
    return { fields: { contentLists: out }, size };
  }

  private async *stream(ids: string[]): AsyncGenerator<Uint8Array> {
    for await (const bytes of this.o.source.readContent({ type: 'file', content: ids })) {
      this.throwIfAborted();
      yield bytes;
    }
  }

  private throwIfAborted(): void {
    if (this.o.signal?.aborted) throw new ArcaError('ABORTED', 'copy aborted');
  }
}

/** The node with its content fields replaced, every other field (and the key order) kept. */
function withContent(node: TreeNode, fields: ContentFields): TreeNode {
  const out: Record<string, unknown> = {};
  let placed = false;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'content' || k === 'contentLists') {
      if (!placed) Object.assign(out, fields);
      placed = true;
    } else out[k] = v;
  }
  if (!placed) Object.assign(out, fields);
  return out as unknown as TreeNode;
}

/** A counting semaphore for files in flight. */
class Slots {
  private waiters: Array<() => void> = [];
  constructor(private free: number) {}

  async take(signal?: AbortSignal): Promise<void> {
    while (this.free === 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      if (signal?.aborted) throw new ArcaError('ABORTED', 'copy aborted');
    }
    this.free--;
  }

  give(): void {
    this.free++;
    this.waiters.shift()?.();
  }
}
