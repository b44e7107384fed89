// Reachability (format §10.2): which blobs the backups on a volume need. Walks
// every manifest's trees once (a tree or content list already marked is not
// read again, so backups that share most of their trees cost little more than
// one), marking blob ids in a compact set. Also loads the index as an
// EntryTable, which knows every pack a blob is stored in.

import { isNotFound } from '../../backend/backend.js';
import { mapLimit } from '../../common/map-limit.js';
import { AAD, openSealed } from '../../content/seal.js';
import { ArcaError, errorMessage } from '../../errors.js';
import type { BlobReader } from '../blob-reader.js';
import { decodeIndexObject } from '../index/index-object.js';
import { BlobIndex } from '../index/blob-index.js';
import type { Manifest } from '../manifest.js';
import { INDEX_PREFIX, baseName } from '../object-keys.js';
import type { Repository } from '../repository.js';
import { decodeContentList, decodeTree } from '../tree.js';
import { EntryTable } from './entry-table.js';

const NO_PACK = Buffer.alloc(32);

/** A set of blob ids (a BlobIndex whose locations are not used). */
export class BlobSet {
  private readonly set = new BlobIndex();

  add(id: Uint8Array): boolean {
    return this.set.add(id, NO_PACK, 0, 0, 0, 0);
  }

  has(id: Uint8Array): boolean {
    return this.set.has(id);
  }

  get size(): number {
    return this.set.size;
  }
}

/** Reads every index object into an EntryTable (objects that vanish meanwhile are skipped). */
export async function loadEntryTable(repo: Repository): Promise<EntryTable> {
  const objects: Array<{ key: string; size: number }> = [];
  for await (const o of repo.backend.list(INDEX_PREFIX)) objects.push(o);
  const table = new EntryTable();
  await mapLimit(objects, 8, async (o) => {
    let obj;
    try {
      obj = decodeIndexObject(openSealed(repo.keys.encKey, AAD.index, await repo.backend.get(o.key), `index object ${o.key}`), o.key);
    } catch (err) {
      if (isNotFound(err)) return; // superseded and deleted by another compaction
      throw new ArcaError('CORRUPT', `${errorMessage(err)}; prune stopped without deleting data: run arca check`, { cause: err });
    }
    table.addObject(
      { key: o.key, hashHex: baseName(o.key), session: obj.sessionId.toString('hex'), superseded: obj.superseded.map((h) => h.toString('hex')), size: o.size },
      obj.packs,
    );
  });
  table.seal();
  return table;
}

/**
 * Marks every blob the manifests reach (trees, content lists, data) in
 * `reached`. A tree that cannot be read stops prune: it could not tell what
 * the blobs under it are, so it must not delete anything.
 */
export async function markReachable(
  reader: BlobReader,
  manifests: readonly Manifest[],
  reached: BlobSet,
  signal?: AbortSignal,
): Promise<void> {
  const readOrStop = async (idHex: string, what: string, m: Manifest): Promise<Buffer> => {
    try {
      return await reader.read(idHex);
    } catch (err) {
      throw new ArcaError(
        'CORRUPT',
        `backup ${m.id} of ${m.database}: cannot read ${what} ${idHex} (${errorMessage(err)}); ` +
          'prune stopped without deleting data: run arca check',
        { cause: err },
      );
    }
  };
  const visit = async (treeHex: string, m: Manifest): Promise<void> => {
    if (signal?.aborted) throw new ArcaError('ABORTED', 'prune aborted');
    if (!reached.add(Buffer.from(treeHex, 'hex'))) return;
    const tree = decodeTree(await readOrStop(treeHex, 'tree', m), `tree ${treeHex} of backup ${m.id}`);
    for (const node of tree.nodes) {
      if (node.type === 'dir' && node.subtree) await visit(node.subtree, m);
      if (node.type !== 'file') continue;
      for (const id of node.content ?? []) reached.add(Buffer.from(id, 'hex'));
      for (const list of node.contentLists ?? []) {
        if (!reached.add(Buffer.from(list, 'hex'))) continue;
        for (const id of decodeContentList(await readOrStop(list, 'content list', m), `content list ${list}`)) reached.add(Buffer.from(id, 'hex'));
      }
    }
  };
  await mapLimit([...manifests], 4, (m) => visit(m.root, m));
}
