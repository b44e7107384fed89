// What a copy already knows about file contents (format §13): a source
// stream, named by its chunk ids, maps to the fields that name the same bytes
// on the target. Entries come from streams copied earlier in this run and from
// a backup present on both volumes (its two trees walked side by side), so an
// unchanged file or table is not read again. An entry made in another write
// session is trusted only after every target blob it names is checked against
// that session's view of the index (tombstoned packs count as absent).

import { createHash } from 'node:crypto';
import type { BlobReader } from '../blob-reader.js';
import { decodeContentList, type TreeNode } from '../tree.js';
import type { WriteSession } from '../write-session.js';

export type ContentFields = Pick<TreeNode, 'content' | 'contentLists'>;

interface Entry {
  fields: ContentFields;
  /** The session whose blobs these are (trusted within it), or null: unverified. */
  session: string | null;
}

/** Entries kept at most (oldest dropped first): about 200 bytes each plus the ids of inline content. */
const MAX_ENTRIES = 100_000;

/** The memo key of a node's content: SHA-256 of how its ids are listed. */
export function contentKey(node: ContentFields): string {
  const h = createHash('sha256');
  if (node.contentLists) h.update('lists:').update(node.contentLists.join(','));
  else h.update('inline:').update((node.content ?? []).join(','));
  return h.digest('hex');
}

export function hasContent(node: TreeNode): boolean {
  return node.content !== undefined || node.contentLists !== undefined;
}

export function contentFields(node: TreeNode): ContentFields {
  return node.contentLists ? { contentLists: node.contentLists } : { content: node.content ?? [] };
}

export class ContentMemo {
  private readonly entries = new Map<string, Entry>();
  hits = 0;

  /** Records a mapping; an existing entry stays (it may already be verified). */
  offer(key: string, fields: ContentFields, session: string | null): void {
    if (this.entries.has(key)) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { fields, session });
  }

  /**
   * The target fields for `key`, if every blob they name may be referenced by
   * `session`; reads the target's content lists through `targetReader` to check.
   */
  async lookup(key: string, session: WriteSession, targetReader: BlobReader): Promise<ContentFields | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.session !== session.sessionId) {
      if (!(await usable(entry.fields, session, targetReader))) {
        this.entries.delete(key);
        return undefined;
      }
      entry.session = session.sessionId;
    }
    this.hits++;
    return entry.fields;
  }
}

async function usable(fields: ContentFields, session: WriteSession, targetReader: BlobReader): Promise<boolean> {
  const has = (hex: string): boolean => session.has(Buffer.from(hex, 'hex'));
  if (!fields.contentLists) return (fields.content ?? []).every(has);
  for (const list of fields.contentLists) {
    if (!has(list)) return false;
    if (!decodeContentList(await targetReader.read(list), `content list ${list}`).every(has)) return false;
  }
  return true;
}
