// Reading a backup's stored streams back in tests: a BlobReader on an open
// volume, the SHA-256 of every stream in a backup's tree (what backups made
// before decision 0008 recorded as each table's checksum), and a restore of
// an edited manifest (one the volume does not hold) through a source driver.

import { createHash } from 'node:crypto';
import { BlobPool } from '../../src/content/blob-pool.js';
import type { OpenVolume } from '../../src/jobs/volume-service.js';
import { BlobReader } from '../../src/repository/blob-reader.js';
import type { Manifest } from '../../src/repository/manifest.js';
import type { TreeNode } from '../../src/repository/tree.js';
import type { SourceDriver } from '../../src/sources/source.js';

export async function withReader<T>(volume: OpenVolume, fn: (reader: BlobReader) => Promise<T>): Promise<T> {
  await volume.repo.loadIndex();
  const pool = new BlobPool(volume.repo.keys, { zstdLevel: volume.repo.config.compression.level });
  try {
    return await fn(new BlobReader(volume.repo, pool));
  } finally {
    await pool.close();
  }
}

/** Hex SHA-256 of each stream in the backup, by path (`tables/x.copy`, `large-objects.bin`); folders one level deep. */
export async function streamSha256s(volume: OpenVolume, manifest: Manifest): Promise<Map<string, string>> {
  return withReader(volume, async (reader) => {
    const out = new Map<string, string>();
    const hashOf = async (node: TreeNode) => {
      const h = createHash('sha256');
      for await (const piece of reader.readContent(node)) h.update(piece);
      return h.digest('hex');
    };
    for (const node of (await reader.readTree(manifest.root)).nodes) {
      if (node.subtree) for (const child of (await reader.readTree(node.subtree)).nodes) out.set(`${node.name}/${child.name}`, await hashOf(child));
      else if (node.type === 'file') out.set(node.name ?? '', await hashOf(node));
    }
    return out;
  });
}

/** Restores `manifest` with `driver` into `target` (a URL); resolves to the error, or undefined when it restored. */
export async function restoreManifest(driver: SourceDriver, volume: OpenVolume, manifest: Manifest, target: string): Promise<unknown> {
  try {
    await withReader(volume, (reader) => driver.restore({ reader, manifest, target, force: false, onBytes: () => undefined }));
    return undefined;
  } catch (error) {
    return error;
  }
}
