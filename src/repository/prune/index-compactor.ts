// Index compaction (format §7, §10.4): the index objects of ended sessions
// (and earlier compactions) are rewritten as a few large ones without the
// entries of packs that are being deleted or are gone. Every new object is
// stored before the last one, which lists the old ones as `superseded`; only
// then are the old ones deleted. A stop at any point leaves every entry that
// counts readable (at worst twice).

import { AAD } from '../../content/seal.js';
import { mapLimit } from '../../common/map-limit.js';
import { encodeIndexObject, type IndexPack } from '../index/index-object.js';
import { indexKey } from '../object-keys.js';
import type { Repository } from '../repository.js';
import type { EntryTable } from './entry-table.js';

/** Entries per compacted index object (about 2.5 MB sealed). */
const MAX_ENTRIES = 50_000;

export interface CompactOptions {
  /** Packs whose entries go: deleted now, or already gone from the volume. */
  drop: ReadonlySet<string>;
  /** Sessions whose index objects are left alone (writers still running). */
  liveSessions: ReadonlySet<string>;
  sessionId: Buffer;
}

export interface CompactResult {
  objectsWritten: number;
  objectsDeleted: number;
  bytesWritten: number;
  bytesDeleted: number;
}

export async function compactIndex(repo: Repository, table: EntryTable, opts: CompactOptions): Promise<CompactResult> {
  const result: CompactResult = { objectsWritten: 0, objectsDeleted: 0, bytesWritten: 0, bytesDeleted: 0 };
  const compactable: number[] = [];
  const alreadySuperseded: number[] = [];
  table.objects.forEach((o, i) => {
    if (table.isSuperseded(i)) alreadySuperseded.push(i);
    else if (!opts.liveSessions.has(o.session)) compactable.push(i);
  });
  const chosen = new Set(compactable);
  const keepPacks: string[] = [];
  let dropsSomething = false;
  for (const packHex of table.indexedPacks()) {
    if (!chosen.has(table.sourceOf(packHex))) continue;
    if (opts.drop.has(packHex)) dropsSomething = true;
    else keepPacks.push(packHex);
  }
  const rewrite = compactable.length >= 2 || dropsSomething;
  if (rewrite) {
    const batches: IndexPack[][] = [[]];
    let count = 0;
    for (const packHex of keepPacks) {
      const entries = [...table.entriesOf(packHex)].map((i) => table.entry(i));
      if (count > 0 && count + entries.length > MAX_ENTRIES) {
        batches.push([]);
        count = 0;
      }
      batches.at(-1)!.push({ id: Buffer.from(packHex, 'hex'), entries });
      count += entries.length;
    }
    // All but the last carry no `superseded`: until the last is stored, the old objects still count.
    for (let b = 0; b < batches.length; b++) {
      const last = b === batches.length - 1;
      const superseded = last ? [...compactable, ...alreadySuperseded].map((i) => Buffer.from(table.objects[i]!.hashHex, 'hex')) : [];
      const plain = encodeIndexObject({ sessionId: opts.sessionId, superseded, packs: batches[b]! });
      const stored = await repo.putSealedContent(indexKey, AAD.index, plain);
      result.objectsWritten++;
      result.bytesWritten += stored.size;
    }
  }
  // Objects superseded earlier go first, while what supersedes them still exists.
  for (const group of [alreadySuperseded, rewrite ? compactable : []]) {
    await mapLimit(group, 8, async (i) => {
      const o = table.objects[i]!;
      await repo.backend.delete(o.key);
      result.objectsDeleted++;
      result.bytesDeleted += o.size;
    });
  }
  return result;
}
