// Copies one backup to another volume (format §13): a write session on the
// target, the tree rebuilt by TreeCopier, then the manifest — last, with the
// same id and fields (level, parent, times, effective expiry, source, extra),
// so a copy is listed only once everything it needs is stored. A failed or
// aborted copy lists nothing; the packs it stored are indexed and reused by
// the next copy (WriteSession.abort).

import { ArcaError } from '../../errors.js';
import type { BlobPool } from '../../content/blob-pool.js';
import { BlobReader } from '../blob-reader.js';
import type { Manifest } from '../manifest.js';
import { snapshotKey } from '../object-keys.js';
import type { Repository } from '../repository.js';
import type { TreeNode } from '../tree.js';
import { WriteSession } from '../write-session.js';
import { contentFields, contentKey, hasContent, type ContentMemo } from './content-memo.js';
import { TreeCopier } from './tree-copier.js';

export interface CopyBackupOptions {
  /** The backup as listed on the source, with its effective expiry (notes applied). */
  manifest: Manifest;
  /** Reads the source volume. */
  source: BlobReader;
  target: Repository;
  /** The target's blob pool (its keys): seals what is stored, opens what is checked. */
  targetPool: BlobPool;
  memo: ContentMemo;
  /** A backup present on both volumes whose trees are walked side by side to seed the memo. */
  pairWith?: string | null;
  signal?: AbortSignal;
  onBytes?: (n: number) => void;
}

export interface CopyBackupResult {
  /** The manifest as written on the target; null when the backup appeared there meanwhile (nothing listed by us). */
  manifest: Manifest | null;
  bytesStreamed: number;
  bytesKnown: number;
  files: number;
}

export async function copyBackup(o: CopyBackupOptions): Promise<CopyBackupResult> {
  const m = o.manifest;
  const session = new WriteSession(o.target, {
    purpose: `copy ${m.database} ${m.id}`,
    pool: o.targetPool,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  try {
    // The lease first, then the index and tombstones (format §9, §10).
    await session.start();
    const targetReader = new BlobReader(o.target, o.targetPool);
    if (o.pairWith) await seedFromPair(o.source, targetReader, o.pairWith, o.memo, o.signal).catch((err: unknown) => {
      // The memo only saves reads: a pair that went away or cannot be read just means reading everything.
      if (err instanceof ArcaError && err.code === 'ABORTED') throw err;
    });
    const copier = new TreeCopier({
      source: o.source,
      session,
      target: targetReader,
      memo: o.memo,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onBytes ? { onBytes: o.onBytes } : {}),
    });
    const root = await copier.copy(m.root);
    const figures = { bytesStreamed: copier.bytesStreamed, bytesKnown: copier.bytesKnown, files: copier.files };
    if ((await o.target.backend.stat(snapshotKey(m.id))) !== undefined) {
      // Another copy wrote it meanwhile: manifests are never rewritten.
      await session.abort();
      return { manifest: null, ...figures };
    }
    const written = await session.commit({
      version: 1,
      id: m.id,
      database: m.database,
      source: m.source,
      level: m.level,
      parent: m.parent,
      startedAt: m.startedAt,
      finishedAt: m.finishedAt,
      expiresAt: m.expiresAt,
      root,
      bytesRead: m.bytesRead,
      files: m.files,
      host: m.host,
      extra: m.extra,
    });
    return { manifest: written, ...figures };
  } catch (err) {
    await session.abort().catch(() => undefined);
    if (o.signal?.aborted && !(err instanceof ArcaError && err.code === 'ABORTED')) {
      throw new ArcaError('ABORTED', 'copy aborted', { cause: err });
    }
    throw err;
  }
}

/**
 * Walks the trees of backup `id` on both volumes side by side (the copy kept
 * names, types and sizes) and offers each file's source content → target
 * content to the memo, unverified (lookup checks the target blobs).
 */
async function seedFromPair(source: BlobReader, target: BlobReader, id: string, memo: ContentMemo, signal?: AbortSignal): Promise<void> {
  const [a, b] = await Promise.all([source.repo.readManifest(id), target.repo.readManifest(id)]);
  const walk = async (srcTree: string, dstTree: string): Promise<void> => {
    if (signal?.aborted) throw new ArcaError('ABORTED', 'copy aborted');
    const [s, t] = await Promise.all([source.readTree(srcTree), target.readTree(dstTree)]);
    const byName = new Map<string, TreeNode>(t.nodes.map((n) => [nameKey(n), n]));
    for (const sn of s.nodes) {
      const tn = byName.get(nameKey(sn));
      if (!tn || tn.type !== sn.type) continue;
      if (sn.type === 'dir' && sn.subtree !== undefined && tn.subtree !== undefined) await walk(sn.subtree, tn.subtree);
      else if (sn.type === 'file' && hasContent(sn) && hasContent(tn) && sn.size === tn.size) memo.offer(contentKey(sn), contentFields(tn), null);
    }
  };
  await walk(a.root, b.root);
}

const nameKey = (n: TreeNode): string => (n.name !== undefined ? `u:${n.name}` : `r:${n.nameRaw ?? ''}`);
